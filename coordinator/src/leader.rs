//! Leader election among coordinators, with a fencing token.
//!
//! The leader holds `{prefix}:coordinator:leader` = `<candidate_id>:<token>` with a TTL and
//! refreshes it on every [`LeaderElection::tick`]. The token comes from `INCR` on
//! `{prefix}:coordinator:epoch`, so every new leadership has a higher token than all before it.
//! The lease store's `assign` checks the leader key still holds the caller's token, so a
//! deposed leader (paused past its TTL, say) cannot write leases even if it believes it leads.
//!
//! Candidate ids must be unique per process: a candidate treats a key carrying its own id as
//! its own (that lets a restarted coordinator resume its leadership).

mod error;
mod scripts;
mod value;

#[cfg(test)]
mod tests;

use std::time::Duration;

use redis::aio::ConnectionLike;

pub use error::LeaderError;

use crate::lease_store::keys::Keys;

/// The outcome of one [`LeaderElection::tick`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaderState {
    /// This candidate leads; pass `token` to the lease store's `assign`.
    Leader {
        /// The fencing token of this leadership.
        token: u64,
        /// True when this tick started the leadership (the caller should reload state).
        since_tick: bool,
    },
    /// Another candidate leads, or nobody (`None` only if the key vanished mid-tick).
    Follower {
        /// The leader's id and token.
        leader: Option<(String, u64)>,
    },
}

/// Who leads, as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeaderInfo {
    /// The leader's candidate id.
    pub leader: String,
    /// Its fencing token.
    pub token: u64,
    /// When its leadership began (Redis server time, Unix ms); `None` if not recorded (a
    /// leader elected by an older version).
    pub since_ms: Option<u64>,
}

/// Reads who leads the coordinators under `prefix`, without being a candidate.
///
/// # Errors
/// When Redis fails or the leader key is not `<id>:<token>`.
pub async fn read_leader<C: ConnectionLike + Send>(
    conn: &mut C,
    prefix: &str,
) -> Result<Option<LeaderInfo>, LeaderError> {
    let keys = Keys::new(prefix);
    let (current, since): (Option<String>, Option<String>) = redis::pipe()
        .get(keys.leader())
        .get(keys.leader_since())
        .query_async(conn)
        .await?;
    let Some(current) = current else {
        return Ok(None);
    };
    let (leader, token) =
        value::parse(&current).ok_or_else(|| LeaderError::Malformed(current.clone()))?;
    // The start is recorded as `<value>@<ms>`: it belongs to this leadership only if the
    // value matches.
    let since_ms = since
        .as_deref()
        .and_then(|s| s.rsplit_once('@'))
        .filter(|(value, _)| *value == current)
        .and_then(|(_, ms)| ms.parse().ok());
    Ok(Some(LeaderInfo {
        leader,
        token,
        since_ms,
    }))
}

/// One candidate in the election.
pub struct LeaderElection<C> {
    conn: C,
    keys: Keys,
    candidate_id: String,
    ttl: Duration,
    /// The token of the leadership we held at the last tick, to tell new from continued.
    held: Option<u64>,
}

impl<C: ConnectionLike + Clone + Send> LeaderElection<C> {
    /// A candidate named `candidate_id` (unique per process) whose leadership lapses `ttl`
    /// after its last successful tick; tick well within `ttl` (a third of it, say).
    pub fn new(
        conn: C,
        prefix: &str,
        candidate_id: &str,
        ttl: Duration,
    ) -> Result<Self, LeaderError> {
        if candidate_id.is_empty() {
            return Err(LeaderError::Invalid("the candidate id is empty"));
        }
        if ttl.as_millis() == 0 {
            return Err(LeaderError::Invalid("the leader ttl must be at least 1 ms"));
        }
        Ok(Self {
            conn,
            keys: Keys::new(prefix),
            candidate_id: candidate_id.to_owned(),
            ttl,
            held: None,
        })
    }

    /// This candidate's id.
    pub fn candidate_id(&self) -> &str {
        &self.candidate_id
    }

    /// Becomes leader if nobody is, or stays leader by refreshing the TTL if we are.
    ///
    /// On an error the caller must act as a follower until a tick succeeds again.
    pub async fn tick(&mut self) -> Result<LeaderState, LeaderError> {
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        let (code, current): (i64, String) = scripts::TICK
            .key(self.keys.leader())
            .key(self.keys.epoch())
            .key(self.keys.leader_since())
            .arg(&self.candidate_id)
            .arg(ttl_ms)
            .invoke_async(&mut self.conn)
            .await
            .inspect_err(|_| self.held = None)?;
        let (leader, token) =
            value::parse(&current).ok_or_else(|| LeaderError::Malformed(current.clone()))?;
        match code {
            scripts::TICK_REFRESHED | scripts::TICK_ACQUIRED => {
                let since_tick = self.held != Some(token);
                if since_tick {
                    tracing::info!(candidate = %self.candidate_id, token, "became coordinator leader");
                }
                self.held = Some(token);
                Ok(LeaderState::Leader { token, since_tick })
            }
            scripts::TICK_FOLLOWER => {
                if self.held.take().is_some() {
                    tracing::warn!(candidate = %self.candidate_id, %leader, token, "lost coordinator leadership");
                }
                Ok(LeaderState::Follower {
                    leader: Some((leader, token)),
                })
            }
            _ => Err(LeaderError::Malformed(format!("tick reply {code}"))),
        }
    }

    /// Gives up leadership at once (iff we hold it), so another candidate can take over on
    /// its next tick instead of waiting for the TTL.
    pub async fn resign(&mut self) -> Result<(), LeaderError> {
        self.held = None;
        let _deleted: i64 = scripts::RESIGN
            .key(self.keys.leader())
            .arg(&self.candidate_id)
            .invoke_async(&mut self.conn)
            .await?;
        Ok(())
    }

    /// The current leader's id and token, if anyone leads.
    pub async fn current(&self) -> Result<Option<(String, u64)>, LeaderError> {
        let mut conn = self.conn.clone();
        let current: Option<String> = redis::cmd("GET")
            .arg(self.keys.leader())
            .query_async(&mut conn)
            .await?;
        match current {
            None => Ok(None),
            Some(current) => value::parse(&current)
                .map(Some)
                .ok_or(LeaderError::Malformed(current)),
        }
    }
}

//! Negotiated connections: the secret connection token a transport request presents, mapped to
//! the public connection id, hub and user fixed at negotiate time.
//!
//! A negotiated connection is pending until its transport connects, and expires if that does
//! not happen within the negotiate timeout. A token can be claimed once: a second WebSocket for
//! the same token is refused (409), an unknown or expired one is not found (404).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use herald_proto::ids::{ConnectionId, HubName, NodeId};
use rand::RngCore;

/// At most this many negotiated-but-not-connected connections are kept; beyond it negotiate
/// answers 503 rather than growing without limit.
pub const MAX_PENDING: usize = 100_000;

/// What negotiate fixed for a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Public id, safe to show to application servers.
    pub connection_id: ConnectionId,
    /// The hub the client negotiated with.
    pub hub: HubName,
    /// The user from the client's token, if any.
    pub user: Option<String>,
}

/// Why a transport request could not claim a connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error(
        "no connection with this id: it was never negotiated, has expired or is closed; negotiate again"
    )]
    NotFound,
    #[error("this connection already has an active transport")]
    AlreadyActive,
    #[error("this connection was negotiated for another hub")]
    WrongHub,
}

/// Why negotiate could not register a connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiateError {
    #[error("too many connections are waiting to connect ({MAX_PENDING}); retry later")]
    TooManyPending,
    #[error("the node is draining and accepts no new connections; connect to another node")]
    Draining,
}

#[derive(Debug)]
enum State {
    Pending { expires: Instant },
    Active,
}

#[derive(Debug)]
struct Entry {
    negotiated: Negotiated,
    state: State,
}

/// The node's negotiated connections. Cheap to clone.
#[derive(Clone)]
pub struct Connections {
    inner: Arc<Inner>,
}

struct Inner {
    /// This node's id, embedded in every connection id it hands out.
    node: NodeId,
    /// How long a negotiated connection waits for its transport.
    negotiate_timeout: Duration,
    /// Token → connection.
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    entries: HashMap<String, Entry>,
    pending: usize,
    active: usize,
    draining: bool,
}

impl Connections {
    /// An empty table for `node`.
    pub fn new(node: NodeId, negotiate_timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                node,
                negotiate_timeout,
                table: Mutex::new(Table::default()),
            }),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.inner
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a new connection; returns its record and the token the transport must present.
    /// With `separate_token` false (negotiate v0) the token is the connection id itself.
    pub fn negotiate(
        &self,
        hub: HubName,
        user: Option<String>,
        separate_token: bool,
        now: Instant,
    ) -> Result<(Negotiated, String), NegotiateError> {
        let connection_id = ConnectionId::generate(&self.inner.node, random_bytes());
        let token = if separate_token {
            herald_proto::ids::base64url(&random_bytes())
        } else {
            connection_id.to_string()
        };
        let negotiated = Negotiated {
            connection_id,
            hub,
            user,
        };
        let mut table = self.table();
        if table.draining {
            return Err(NegotiateError::Draining);
        }
        if table.pending >= MAX_PENDING {
            sweep(&mut table, now);
            if table.pending >= MAX_PENDING {
                return Err(NegotiateError::TooManyPending);
            }
        }
        let expires = now + self.inner.negotiate_timeout;
        table.entries.insert(
            token.clone(),
            Entry {
                negotiated: negotiated.clone(),
                state: State::Pending { expires },
            },
        );
        table.pending += 1;
        Ok((negotiated, token))
    }

    /// A transport presents `token` for `hub`: marks the connection active.
    pub fn claim(
        &self,
        token: &str,
        hub: &HubName,
        now: Instant,
    ) -> Result<Negotiated, ClaimError> {
        let mut table = self.table();
        let table = &mut *table;
        let entry = table.entries.get_mut(token).ok_or(ClaimError::NotFound)?;
        if &entry.negotiated.hub != hub {
            return Err(ClaimError::WrongHub);
        }
        match entry.state {
            State::Active => Err(ClaimError::AlreadyActive),
            State::Pending { expires } if expires <= now => {
                table.entries.remove(token);
                table.pending -= 1;
                Err(ClaimError::NotFound)
            }
            State::Pending { .. } => {
                entry.state = State::Active;
                table.pending -= 1;
                table.active += 1;
                Ok(entry.negotiated.clone())
            }
        }
    }

    /// Registers a connection that skipped negotiation (WebSockets with `skipNegotiation`):
    /// active at once, under a fresh token. Returns the record and that token.
    pub fn open_direct(
        &self,
        hub: HubName,
        user: Option<String>,
    ) -> Result<(Negotiated, String), NegotiateError> {
        let connection_id = ConnectionId::generate(&self.inner.node, random_bytes());
        let token = connection_id.to_string();
        let negotiated = Negotiated {
            connection_id,
            hub,
            user,
        };
        let mut table = self.table();
        if table.draining {
            return Err(NegotiateError::Draining);
        }
        table.entries.insert(
            token.clone(),
            Entry {
                negotiated: negotiated.clone(),
                state: State::Active,
            },
        );
        table.active += 1;
        Ok((negotiated, token))
    }

    /// The transport of `token` ended: forget the connection.
    pub fn release(&self, token: &str) {
        let mut table = self.table();
        if let Some(entry) = table.entries.remove(token) {
            match entry.state {
                State::Active => table.active -= 1,
                State::Pending { .. } => table.pending -= 1,
            }
        }
    }

    /// Drops pending connections whose transport never came; returns how many.
    pub fn sweep(&self, now: Instant) -> usize {
        sweep(&mut self.table(), now)
    }

    /// Refuses new connections from now on (shutdown).
    pub fn start_draining(&self) {
        self.table().draining = true;
    }

    /// Connections with an active transport.
    pub fn active(&self) -> usize {
        self.table().active
    }

    /// Negotiated connections still waiting for their transport.
    pub fn pending(&self) -> usize {
        self.table().pending
    }
}

fn sweep(table: &mut Table, now: Instant) -> usize {
    let before = table.entries.len();
    table
        .entries
        .retain(|_, e| !matches!(e.state, State::Pending { expires } if expires <= now));
    let removed = before - table.entries.len();
    table.pending -= removed;
    removed
}

fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> (Connections, HubName, Instant) {
        (
            Connections::new("n1".parse().unwrap(), Duration::from_secs(15)),
            "chat".parse().unwrap(),
            Instant::now(),
        )
    }

    #[test]
    fn a_token_is_claimed_once() {
        let (c, hub, now) = table();
        let (neg, token) = c
            .negotiate(hub.clone(), Some("u".into()), true, now)
            .unwrap();
        assert_ne!(
            token,
            neg.connection_id.as_str(),
            "v1 keeps the token secret"
        );
        assert_eq!(neg.connection_id.owner().unwrap().as_str(), "n1");
        assert_eq!(c.pending(), 1);
        assert_eq!(c.claim(&token, &hub, now), Ok(neg.clone()));
        assert_eq!((c.pending(), c.active()), (0, 1));
        assert_eq!(c.claim(&token, &hub, now), Err(ClaimError::AlreadyActive));
        c.release(&token);
        assert_eq!(c.active(), 0);
        assert_eq!(c.claim(&token, &hub, now), Err(ClaimError::NotFound));
    }

    #[test]
    fn v0_tokens_are_the_connection_id() {
        let (c, hub, now) = table();
        let (neg, token) = c.negotiate(hub, None, false, now).unwrap();
        assert_eq!(token, neg.connection_id.as_str());
    }

    #[test]
    fn wrong_hub_and_unknown_tokens_are_refused() {
        let (c, hub, now) = table();
        let (_, token) = c.negotiate(hub.clone(), None, true, now).unwrap();
        assert_eq!(
            c.claim(&token, &"other".parse().unwrap(), now),
            Err(ClaimError::WrongHub)
        );
        assert_eq!(c.claim("nope", &hub, now), Err(ClaimError::NotFound));
    }

    #[test]
    fn pending_connections_expire() {
        let (c, hub, now) = table();
        let (_, t1) = c.negotiate(hub.clone(), None, true, now).unwrap();
        let (_, _t2) = c.negotiate(hub.clone(), None, true, now).unwrap();
        let later = now + Duration::from_secs(15);
        assert_eq!(c.claim(&t1, &hub, later), Err(ClaimError::NotFound));
        assert_eq!(c.pending(), 1);
        assert_eq!(c.sweep(later), 1);
        assert_eq!(c.pending(), 0);
    }

    #[test]
    fn draining_refuses_new_connections() {
        let (c, hub, now) = table();
        c.start_draining();
        assert_eq!(
            c.negotiate(hub.clone(), None, true, now).unwrap_err(),
            NegotiateError::Draining
        );
        assert_eq!(
            c.open_direct(hub, None).unwrap_err(),
            NegotiateError::Draining
        );
    }

    #[test]
    fn direct_connections_are_active_at_once() {
        let (c, hub, _) = table();
        let (_, token) = c.open_direct(hub, None).unwrap();
        assert_eq!(c.active(), 1);
        c.release(&token);
        assert_eq!(c.active(), 0);
    }
}

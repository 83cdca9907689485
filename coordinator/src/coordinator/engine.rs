//! The coordinator's tick as plain async code: elect, read, plan, write, publish.
//!
//! Kept apart from the actor so the loop body is ordinary sequential code: the actor only
//! decides *when* it runs (and makes sure two ticks never overlap).

use redis::aio::ConnectionLike;

use super::error::CoordinatorError;
use super::settings::CoordinatorSettings;
use super::status::CoordinatorStatus;
use super::summary::{Summary, assignments_channel};
use crate::balancer::{LeaseState, plan};
use crate::leader::{LeaderElection, LeaderState};
use crate::lease_store::{LeaseError, LeaseRecord, LeaseStore};
use crate::membership::live_nodes;

/// Everything one tick needs, owned so the tick's future can be `'static`.
pub(crate) struct Engine<C> {
    conn: C,
    election: LeaderElection<C>,
    store: LeaseStore<C>,
    settings: CoordinatorSettings,
    /// The leadership token under which the configured leases were last ensured: they are
    /// created once per leadership, not on every tick.
    ensured: Option<u64>,
}

impl<C: ConnectionLike + Clone + Send + 'static> Engine<C> {
    /// An engine over `conn`; fails on settings the election rejects.
    pub(crate) fn new(conn: C, settings: CoordinatorSettings) -> Result<Self, CoordinatorError> {
        let election = LeaderElection::new(
            conn.clone(),
            &settings.prefix,
            &settings.candidate_id,
            settings.leader_ttl,
        )?;
        Ok(Self {
            store: LeaseStore::new(conn.clone(), &settings.prefix),
            conn,
            election,
            settings,
            ensured: None,
        })
    }

    /// The settings this engine runs with.
    pub(crate) fn settings(&self) -> &CoordinatorSettings {
        &self.settings
    }

    /// One tick. Never fails: an error ends the tick early and lands in `last_error`, and the
    /// lease table and nodes of `previous` are kept when they could not be read again.
    pub(crate) async fn tick(&mut self, previous: &CoordinatorStatus) -> CoordinatorStatus {
        let mut status = CoordinatorStatus {
            leases: previous.leases.clone(),
            nodes: previous.nodes.clone(),
            ..CoordinatorStatus::default()
        };
        if let Err(error) = self.run(&mut status).await {
            tracing::warn!(candidate = %self.settings.candidate_id, %error, "coordinator tick failed");
            status.last_error = Some(error.to_string());
        }
        status
    }

    /// Gives up leadership at once (if held) so another coordinator takes over on its next
    /// tick instead of after the TTL.
    pub(crate) async fn resign(&mut self) -> Result<(), CoordinatorError> {
        self.ensured = None;
        self.election.resign().await?;
        Ok(())
    }

    async fn run(&mut self, status: &mut CoordinatorStatus) -> Result<(), CoordinatorError> {
        let token = match self.election.tick().await {
            Ok(LeaderState::Leader { token, .. }) => token,
            Ok(LeaderState::Follower { .. }) => {
                self.ensured = None;
                return self.observe(status).await;
            }
            Err(error) => {
                self.ensured = None;
                return Err(error.into());
            }
        };
        status.is_leader = true;
        status.token = Some(token);
        if self.ensured != Some(token) {
            self.store.ensure(&self.settings.lease_ids).await?;
            self.ensured = Some(token);
        }
        self.observe(status).await?;
        let result = self.rebalance(token, status).await;
        if let Err(CoordinatorError::Lease(LeaseError::Fenced { .. })) = result {
            // Deposed while writing: act as a follower until the election says otherwise.
            status.is_leader = false;
            status.token = None;
            self.ensured = None;
        }
        result
    }

    /// Reads the lease table and the live nodes into `status`.
    async fn observe(&mut self, status: &mut CoordinatorStatus) -> Result<(), CoordinatorError> {
        status.leases = self.store.all().await?;
        status.nodes = live_nodes(&mut self.conn, &self.settings.prefix).await?;
        Ok(())
    }

    /// Plans from `status` and writes the moves under `token`; publishes once if any applied.
    async fn rebalance(
        &mut self,
        token: u64,
        status: &mut CoordinatorStatus,
    ) -> Result<(), CoordinatorError> {
        let states: Vec<LeaseState> = status.leases.iter().map(to_state).collect();
        let moves = plan(&states, &status.nodes);
        if moves.is_empty() {
            return Ok(());
        }
        let mut moved = 0;
        let mut failure = None;
        for m in &moves {
            let id = m.lease().as_str();
            let expected = m.epoch().saturating_sub(1);
            match self
                .store
                .assign(id, m.new_owner(), expected, m.epoch(), token)
                .await
            {
                Ok(true) => moved += 1,
                // Someone else wrote it since we read: the next tick plans from fresh records.
                Ok(false) => tracing::debug!(lease = id, "lease epoch moved; replanning next tick"),
                Err(error @ LeaseError::Fenced { .. }) => return Err(error.into()),
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        if moved > 0 {
            tracing::info!(candidate = %self.settings.candidate_id, token, moved, planned = moves.len(), "reassigned leases");
            status.leases = self.store.all().await?;
            self.publish(token, moved, &status.leases).await?;
        }
        failure.map_or(Ok(()), |error| Err(error.into()))
    }

    async fn publish(
        &mut self,
        token: u64,
        moved: usize,
        leases: &[LeaseRecord],
    ) -> Result<(), CoordinatorError> {
        let command = if self.settings.sharded_pubsub {
            "SPUBLISH"
        } else {
            "PUBLISH"
        };
        let _receivers: i64 = redis::cmd(command)
            .arg(assignments_channel(&self.settings.prefix))
            .arg(Summary::new(token, moved, leases).to_json())
            .query_async(&mut self.conn)
            .await
            .map_err(CoordinatorError::Publish)?;
        Ok(())
    }
}

fn to_state(record: &LeaseRecord) -> LeaseState {
    LeaseState::new(record.id.as_str(), record.owner.as_deref(), record.epoch)
}

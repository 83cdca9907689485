//! Handles what other nodes publish: deliveries to local recipients, commands for local
//! connections (answered with a reply), replies to our commands, and user-group changes.
//! One task, in arrival order, so deliveries from one origin keep their order.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use bytestring::ByteString;
use herald_proto::backplane::{
    BackplaneMessage, Command, CommandOp, Delivery, Envelope, ReplyOutcome, Target, UserGroupOp,
    UserGroupsChange, decode_envelope,
};
use herald_proto::ids::{ConnectionId, HubName};
use tokio::sync::{mpsc, watch};

use super::Cluster;
use crate::backplane::Incoming;
use crate::hub::actor::{Exists, Membership};
use crate::hub::registry::Scope;
use crate::hub::{Hubs, fan_out};
use crate::metrics::Metrics;
use crate::session::close_reason::CloseReason;
use crate::session::link::{Frame, Payload};
use crate::telemetry::{propagation, spans};
use tracing::Instrument as _;

/// The coordinators' announcements of lease assignments: their channel, and the watch cell
/// bumped for each (the feed runner re-reads the lease table when it changes).
pub struct Announcements {
    /// `<prefix>:assignments`.
    pub channel: String,
    /// Bumped per announcement.
    pub bump: watch::Sender<u64>,
}

/// The share of `cluster.request_timeout` a node spends waiting for a join's subscription on
/// behalf of another node, so its answer arrives before the caller gives up.
const JOIN_BUDGET: f64 = 0.75;

/// Starts the router on the current runtime.
pub fn spawn(
    cluster: Cluster,
    hubs: Hubs,
    incoming: mpsc::Receiver<Incoming>,
    metrics: Metrics,
    announcements: Option<Announcements>,
) {
    tokio::spawn(run(cluster, hubs, incoming, metrics, announcements));
}

async fn run(
    cluster: Cluster,
    hubs: Hubs,
    mut incoming: mpsc::Receiver<Incoming>,
    metrics: Metrics,
    announcements: Option<Announcements>,
) {
    while let Some(message) = incoming.recv().await {
        if let Some(a) = &announcements
            && message.channel == a.channel
        {
            // A JSON summary, not an envelope: only its arrival matters.
            a.bump.send_modify(|generation| *generation += 1);
            metrics.feed_announcement();
            continue;
        }
        match decode_envelope(&message.payload) {
            Ok(Envelope {
                message: BackplaneMessage::Deliver(delivery),
                trace: Some(trace),
            }) => {
                // A traced delivery: its receive span continues the publisher's trace.
                let span = spans::backplane_receive(
                    &message.channel,
                    &delivery.origin,
                    delivery.sequence,
                    &delivery.hub,
                );
                propagation::continue_from(&span, &trace);
                let decoded = BackplaneMessage::Deliver(delivery);
                handle(&cluster, &hubs, &metrics, decoded)
                    .instrument(span)
                    .await;
            }
            Ok(envelope) => handle(&cluster, &hubs, &metrics, envelope.message).await,
            Err(error) => {
                metrics.backplane_rejected();
                tracing::warn!(channel = %message.channel, %error, "ignoring an undecodable backplane message");
            }
        }
    }
}

async fn handle(cluster: &Cluster, hubs: &Hubs, metrics: &Metrics, message: BackplaneMessage) {
    match message {
        BackplaneMessage::Deliver(delivery) => {
            if delivery.origin != cluster.node().as_str() {
                metrics.backplane_delivery();
                deliver(hubs, delivery).await;
            }
        }
        BackplaneMessage::Command(command) => {
            let origin = command.origin.clone();
            let request_id = command.request_id;
            let joins = matches!(command.op, CommandOp::AddToGroup { .. });
            let outcome = execute(hubs, command).await;
            if joins && matches!(outcome, ReplyOutcome::Done { .. }) {
                // The join answers once Redis confirmed the group's subscription; waiting is
                // done aside, so the router keeps serving (commands were applied in order).
                let cluster = cluster.clone();
                tokio::spawn(async move {
                    let outcome = match cluster.confirm_subscriptions_within(JOIN_BUDGET).await {
                        Ok(()) => outcome,
                        Err(error) => ReplyOutcome::Unconfirmed {
                            message: error.to_string(),
                        },
                    };
                    cluster.reply(&origin, request_id, outcome);
                });
            } else {
                cluster.reply(&origin, request_id, outcome);
            }
        }
        BackplaneMessage::Reply(reply) => cluster.complete(reply),
        BackplaneMessage::CloseConnections(close) => {
            if close.origin == cluster.node().as_str() {
                return;
            }
            let Ok(hub) = close.hub.parse::<HubName>() else {
                return;
            };
            let Some(handle) = hubs.get(&hub) else { return };
            let Some(scope) = scope_of(close.target) else {
                return;
            };
            let excluded = close
                .excluded
                .iter()
                .filter_map(|id| id.parse().ok())
                .collect();
            let _ = handle
                .close(
                    scope,
                    excluded,
                    CloseReason::ClosedByApplication(close.reason),
                )
                .await;
        }
        BackplaneMessage::UserGroups(change) => {
            if change.origin != cluster.node().as_str() {
                apply_user_groups(hubs, change).await;
            }
        }
        BackplaneMessage::UserGroupsAcked { request_id, change } => {
            // Every receiver answers, the publisher included: it counted itself.
            let origin = change.origin.clone();
            let outcome = apply_user_groups(hubs, change).await;
            let cluster = cluster.clone();
            tokio::spawn(async move {
                let outcome = match outcome {
                    ReplyOutcome::Done { .. } => {
                        match cluster.confirm_subscriptions_within(JOIN_BUDGET).await {
                            Ok(()) => outcome,
                            Err(error) => ReplyOutcome::Unconfirmed {
                                message: error.to_string(),
                            },
                        }
                    }
                    failed => failed,
                };
                cluster.reply(&origin, request_id, outcome);
            });
        }
    }
}

/// Applies a user-group change to this node's hub; `Done` also when the hub or the change is
/// moot here (no connection of the hub, an expired membership).
async fn apply_user_groups(hubs: &Hubs, change: UserGroupsChange) -> ReplyOutcome {
    let done = ReplyOutcome::Done { changed: false };
    let Ok(hub) = change.hub.parse::<HubName>() else {
        return done;
    };
    let Some(handle) = hubs.get(&hub) else {
        return done;
    };
    let user = change.user;
    let membership = match change.change {
        UserGroupOp::Add {
            group,
            expires_at_ms,
        } => match remaining(expires_at_ms) {
            Some(ttl) => Membership::AddUserToGroup { user, group, ttl },
            None => return done,
        },
        UserGroupOp::Remove { group } => Membership::RemoveUserFromGroup { user, group },
        UserGroupOp::RemoveAll => Membership::RemoveUserFromAllGroups { user },
    };
    match handle.membership(membership).await {
        Ok(Ok(changed)) => ReplyOutcome::Done { changed },
        Ok(Err(_)) => done,
        Err(error) => ReplyOutcome::Failed {
            message: error.to_string(),
        },
    }
}

/// Time left until `expires_at_ms`: `Some(None)` for no expiry, `None` when already expired.
pub fn remaining(expires_at_ms: Option<u64>) -> Option<Option<Duration>> {
    let Some(at) = expires_at_ms else {
        return Some(None);
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    (at > now).then(|| Some(Duration::from_millis(at - now)))
}

fn scope_of(target: Target) -> Option<Scope> {
    Some(match target {
        Target::All => Scope::All,
        Target::User(user) => Scope::User(user),
        Target::Group(group) => Scope::Group(group),
        Target::Connection(id) => Scope::Connection(id.parse().ok()?),
    })
}

async fn deliver(hubs: &Hubs, delivery: Delivery) {
    let Ok(hub) = delivery.hub.parse::<HubName>() else {
        return;
    };
    // A hub with no local connection has no recipients here.
    let Some(handle) = hubs.get(&hub) else { return };
    let Some(scope) = scope_of(delivery.target) else {
        return;
    };
    let excluded: Vec<ConnectionId> = delivery
        .excluded
        .iter()
        .filter_map(|id| id.parse().ok())
        .collect();
    let Ok(json) = ByteString::try_from(Bytes::from(delivery.json)) else {
        tracing::warn!(origin = %delivery.origin, "ignoring a delivery whose JSON frame is not UTF-8");
        return;
    };
    let payload = Payload {
        json: Frame::Text(json),
        msgpack: Frame::Binary(Bytes::from(delivery.msgpack)),
    };
    if let Err(error) = fan_out(&handle, &hub, scope, excluded, payload).await {
        tracing::warn!(%error, "could not deliver a message from another node");
    }
}

async fn execute(hubs: &Hubs, command: Command) -> ReplyOutcome {
    let (Ok(hub), Ok(id)) = (
        command.hub.parse::<HubName>(),
        command.connection.parse::<ConnectionId>(),
    ) else {
        return ReplyOutcome::NotFound;
    };
    let Some(handle) = hubs.get(&hub) else {
        return ReplyOutcome::NotFound;
    };
    let failed = |e: crate::hub::actor::HubStopped| ReplyOutcome::Failed {
        message: e.to_string(),
    };
    let membership = |change| async { handle.membership(change).await };
    match command.op {
        CommandOp::AddToGroup { group } => {
            match membership(Membership::AddToGroup { id, group }).await {
                Ok(Ok(changed)) => ReplyOutcome::Done { changed },
                Ok(Err(_)) => ReplyOutcome::NotFound,
                Err(e) => failed(e),
            }
        }
        CommandOp::RemoveFromGroup { group } => {
            match membership(Membership::RemoveFromGroup { id, group }).await {
                Ok(Ok(changed)) => ReplyOutcome::Done { changed },
                Ok(Err(_)) => ReplyOutcome::NotFound,
                Err(e) => failed(e),
            }
        }
        CommandOp::RemoveFromAllGroups => {
            match membership(Membership::RemoveFromAllGroups { id }).await {
                Ok(Ok(changed)) => ReplyOutcome::Done { changed },
                Ok(Err(_)) => ReplyOutcome::NotFound,
                Err(e) => failed(e),
            }
        }
        CommandOp::Close { reason } => {
            match handle
                .close(
                    Scope::Connection(id),
                    Vec::new(),
                    CloseReason::ClosedByApplication(reason),
                )
                .await
            {
                Ok(0) => ReplyOutcome::NotFound,
                Ok(_) => ReplyOutcome::Done { changed: true },
                Err(e) => failed(e),
            }
        }
        CommandOp::Exists => match handle.exists(Exists::Connection(id)).await {
            Ok(true) => ReplyOutcome::Done { changed: false },
            Ok(false) => ReplyOutcome::NotFound,
            Err(e) => failed(e),
        },
    }
}

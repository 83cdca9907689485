//! What REST calls do, across the cluster: local recipients are served by this node's hub
//! actors; recipients elsewhere through the backplane; operations on a connection of another
//! node are sent to that node, which answers; existence checks read the Redis mirror.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use herald_proto::backplane::{CommandOp, ReplyOutcome, UserGroupOp};
use herald_proto::ids::{ConnectionId, HubName};

use crate::cluster::ClusterError;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::hub::actor::{Exists, HubStopped, Membership};
use crate::hub::fan_out;
use crate::hub::registry::Scope;
use crate::session::close_reason::CloseReason;
use crate::session::link::Payload;
use crate::telemetry::spans;
use tracing::Instrument as _;

fn stopped(e: HubStopped) -> ApiError {
    ApiError::unavailable(e.to_string())
}

fn cluster_error(e: ClusterError) -> ApiError {
    match e {
        ClusterError::Timeout { .. } => ApiError::new(
            actix_web::http::StatusCode::GATEWAY_TIMEOUT,
            "NodeTimeout",
            e.to_string(),
        ),
        ClusterError::NotSubscribed { .. }
        | ClusterError::Unconfirmed { .. }
        | ClusterError::JoinUnconfirmed { .. } => ApiError::new(
            actix_web::http::StatusCode::GATEWAY_TIMEOUT,
            "SubscriptionTimeout",
            e.to_string(),
        ),
        _ => ApiError::unavailable(e.to_string()),
    }
}

fn store_error(e: crate::cluster::store::StoreError) -> ApiError {
    ApiError::unavailable(format!("cluster state unavailable: {e}"))
}

/// Bounds a Redis call by `cluster.request_timeout`, so no REST call hangs while Redis is down.
async fn timed<T>(
    state: &AppState,
    call: impl std::future::Future<Output = Result<T, crate::cluster::store::StoreError>>,
) -> Result<T, ApiError> {
    let limit = state.config.cluster.request_timeout;
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result.map_err(store_error),
        Err(_) => Err(ApiError::unavailable(format!(
            "redis did not answer within {limit:?} (cluster.request_timeout); the cluster state is unavailable, retry later"
        ))),
    }
}

fn not_connected(id: &ConnectionId, hub: &HubName) -> ApiError {
    ApiError::not_found(format!("connection {id} is not connected to hub {hub}"))
}

/// Sends to the recipients of `scope`, here and on other nodes. Returns local deliveries.
pub async fn send(
    state: &AppState,
    hub: &HubName,
    scope: Scope,
    excluded: Vec<ConnectionId>,
    payload: Payload,
) -> Result<usize, ApiError> {
    let span = spans::dispatch(hub.as_str(), scope.kind());
    let local = async {
        let remote_only = matches!(&scope, Scope::Connection(id) if !state.cluster.owns(id) && state.cluster.is_clustered());
        state
            .cluster
            .publish_delivery(hub, &scope, &excluded, &payload);
        if remote_only {
            return Ok(0);
        }
        // A hub nobody connected to here has no local recipients.
        match state.hubs.get(hub) {
            Some(handle) => fan_out(&handle, hub, scope, excluded, payload)
                .await
                .map_err(stopped),
            None => Ok(0),
        }
    }
    .instrument(span.clone())
    .await;
    if let Ok(written) = &local {
        span.record("herald.recipients", *written);
    }
    local
}

/// Closes the connections of `scope`; a single connection of another node is closed by it.
pub async fn close(
    state: &AppState,
    hub: &HubName,
    scope: Scope,
    excluded: Vec<ConnectionId>,
    reason: String,
) -> Result<usize, ApiError> {
    if let Scope::Connection(id) = &scope
        && state.cluster.is_clustered()
        && !state.cluster.owns(id)
    {
        return remote(state, hub, id, CommandOp::Close { reason })
            .await
            .map(|_| 1);
    }
    let single = matches!(scope, Scope::Connection(_));
    if !single {
        state.cluster.publish_close(hub, &scope, &excluded, &reason);
    }
    let closed = match state.hubs.get(hub) {
        Some(handle) => handle
            .close(scope, excluded, CloseReason::ClosedByApplication(reason))
            .await
            .map_err(stopped)?,
        None => 0,
    };
    if single && closed == 0 {
        return Err(ApiError::not_found(format!(
            "the connection is not connected to hub {hub}"
        )));
    }
    Ok(closed)
}

/// Sends `op` to the node owning `id` and maps its answer.
async fn remote(
    state: &AppState,
    hub: &HubName,
    id: &ConnectionId,
    op: CommandOp,
) -> Result<bool, ApiError> {
    let Some(owner) = id.owner() else {
        return Err(not_connected(id, hub));
    };
    let result = state.cluster.command(&owner, hub, id, op).await;
    state
        .metrics
        .node_command(if result.is_ok() { "ok" } else { "error" });
    match result.map_err(cluster_error)? {
        ReplyOutcome::Done { changed } => Ok(changed),
        ReplyOutcome::NotFound => Err(not_connected(id, hub)),
        ReplyOutcome::Failed { message } => Err(ApiError::unavailable(message)),
        ReplyOutcome::Unconfirmed { message } => Err(cluster_error(ClusterError::Unconfirmed {
            node: owner.to_string(),
            message,
        })),
    }
}

/// Changes the groups of connection `id`, on whichever node owns it. An add answers once the
/// owning node's subscription to the group is confirmed by Redis, so every send made after
/// the answer reaches the connection.
pub async fn connection_groups(
    state: &AppState,
    hub: &HubName,
    id: &ConnectionId,
    local: Membership,
    op: CommandOp,
) -> Result<bool, ApiError> {
    if state.cluster.is_clustered() && !state.cluster.owns(id) {
        return remote(state, hub, id, op).await;
    }
    let joins = matches!(local, Membership::AddToGroup { .. });
    let handle = state.hubs.get(hub).ok_or_else(|| not_connected(id, hub))?;
    let changed = handle
        .membership(local)
        .await
        .map_err(stopped)?
        .map_err(|_| not_connected(id, hub))?;
    if joins {
        state
            .cluster
            .confirm_subscriptions()
            .await
            .map_err(cluster_error)?;
    }
    Ok(changed)
}

/// Whether a connection, user or group exists anywhere in the cluster.
pub async fn exists(state: &AppState, hub: &HubName, query: Exists) -> Result<bool, ApiError> {
    let local = match state.hubs.get(hub) {
        Some(handle) => handle.exists(query.clone()).await.map_err(stopped)?,
        None => false,
    };
    let Some(store) = state.cluster.store().filter(|_| !local) else {
        return Ok(local);
    };
    let hub_name = hub.as_str();
    match query {
        Exists::Connection(id) => match id.owner() {
            Some(owner) if &owner != state.cluster.node() => {
                timed(
                    state,
                    store.connection_exists(owner.as_str(), hub_name, id.as_str()),
                )
                .await
            }
            _ => Ok(false),
        },
        Exists::User(user) => {
            let (nodes, _) = timed(state, store.nodes()).await?;
            timed(state, store.user_exists(&nodes, hub_name, &user)).await
        }
        Exists::Group(group) => {
            let (nodes, _) = timed(state, store.nodes()).await?;
            timed(state, store.group_exists(&nodes, hub_name, &group)).await
        }
        Exists::UserInGroup { user, group } => {
            let groups = timed(state, store.user_groups(hub_name, &user)).await?;
            let now = now_ms();
            Ok(groups
                .iter()
                .any(|(g, expires)| g == &group && expires.is_none_or(|at| at > now)))
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What to do with a user's persistent group membership.
pub enum UserGroupChange {
    Add {
        group: String,
        ttl: Option<Duration>,
    },
    Remove {
        group: String,
    },
    RemoveAll,
}

/// Changes a user's persistent groups: stored in Redis (cluster), applied here, and announced
/// to the nodes with connections of that user.
pub async fn user_groups(
    state: &AppState,
    hub: &HubName,
    user: &str,
    change: UserGroupChange,
) -> Result<(), ApiError> {
    if let Some(store) = state.cluster.store() {
        match &change {
            UserGroupChange::Add { group, ttl } => {
                let expires = ttl.map(|t| now_ms() + t.as_millis() as u64);
                timed(
                    state,
                    store.add_user_group(hub.as_str(), user, group, expires),
                )
                .await?;
                // Every node with connections of the user (this one too) applies the join and
                // answers once its subscription to the group is confirmed; a connection made
                // later loads the membership from Redis.
                let join = UserGroupOp::Add {
                    group: group.clone(),
                    expires_at_ms: expires,
                };
                return state
                    .cluster
                    .join_user_group(hub, user, join)
                    .await
                    .map_err(cluster_error);
            }
            UserGroupChange::Remove { group } => {
                timed(state, store.remove_user_group(hub.as_str(), user, group)).await?;
                state.cluster.publish_user_groups(
                    hub,
                    user,
                    UserGroupOp::Remove {
                        group: group.clone(),
                    },
                );
            }
            UserGroupChange::RemoveAll => {
                timed(state, store.remove_user_all_groups(hub.as_str(), user)).await?;
                state
                    .cluster
                    .publish_user_groups(hub, user, UserGroupOp::RemoveAll);
            }
        }
    }
    let user = user.to_owned();
    let membership = match change {
        UserGroupChange::Add { group, ttl } => {
            // Persistent state: without Redis the local hub holds it for future connections.
            let handle = state.hubs.get_or_start(hub);
            return handle
                .membership(Membership::AddUserToGroup { user, group, ttl })
                .await
                .map_err(stopped)
                .map(|_| ());
        }
        UserGroupChange::Remove { group } => Membership::RemoveUserFromGroup { user, group },
        UserGroupChange::RemoveAll => Membership::RemoveUserFromAllGroups { user },
    };
    if let Some(handle) = state.hubs.get(hub) {
        let _ = handle.membership(membership).await.map_err(stopped)?;
    }
    Ok(())
}

//! Where a feed's pushes go: [`PushSink`]. A node sends them to its hubs and through the
//! backplane ([`AppState`]); a test can record them instead, so the reader's rules (push
//! before checkpoint, retry, fencing) are tested without clients.

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use herald_proto::ids::HubName;
use serde_json::Value;

use crate::http::AppState;
use crate::hub::registry::Scope;
use crate::session::link::Payload;

/// One message for the clients of a hub.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPush {
    /// The hub.
    pub hub: HubName,
    /// Who in the hub.
    pub scope: Scope,
    /// The client method invoked.
    pub target: String,
    /// Its arguments.
    pub arguments: Vec<Value>,
}

/// Sends pushes; an error means "not sent, try again" (the reader retries, never skips).
pub trait PushSink: Send + Sync {
    /// Sends one push.
    fn push(&self, push: FeedPush) -> BoxFuture<'_, Result<(), String>>;
}

impl PushSink for AppState {
    fn push(&self, push: FeedPush) -> BoxFuture<'_, Result<(), String>> {
        async move {
            let payload = Payload::invocation(&push.target, &push.arguments);
            crate::http::rest::ops::send(self, &push.hub, push.scope, Vec::new(), payload)
                .await
                .map(|_| ())
                .map_err(|error| error.to_string())
        }
        .boxed()
    }
}

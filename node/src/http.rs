//! The HTTP edge: client endpoints (negotiate, transports), the REST API and the admin API.
//! Request types of actix-web stop here; everything below speaks in hubs, sessions and frames.

pub mod admin;
pub mod client;
pub mod error;
pub mod limited_body;
pub mod rest;

use std::sync::Arc;

use tokio::sync::watch;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::connections::Connections;
use crate::hub::Hubs;
use crate::metrics::Metrics;
use crate::session::core::SessionSettings;

/// Everything a request handler may need; cloned into each HTTP worker.
#[derive(Clone)]
pub struct AppState {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Checks client and REST tokens.
    pub auth: Authenticator,
    /// The hubs of this node.
    pub hubs: Hubs,
    /// Negotiated connections.
    pub connections: Connections,
    /// Where to count.
    pub metrics: Metrics,
    /// Whether the node accepts work (false before start-up finished and while draining).
    pub ready: watch::Receiver<bool>,
    /// Session timings and limits, derived from config once.
    pub session: SessionSettings,
    /// The link to other nodes (backplane, requests, Redis state).
    pub cluster: crate::cluster::Cluster,
    /// The HTTP client for requests forwarded to the node owning their connection.
    pub forwarder: reqwest::Client,
    /// Forwards client invocations and connection events, when configured.
    pub upstream: Option<crate::upstream::Upstream>,
}

/// The value of the request's token: `Authorization: Bearer` first, then `access_token` in the
/// query (browsers cannot set headers on WebSocket and EventSource requests).
pub fn request_token(req: &actix_web::HttpRequest) -> Option<String> {
    if let Some(token) = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::auth::bearer_token)
    {
        return Some(token.to_owned());
    }
    query_values(req.query_string(), "access_token")
        .into_iter()
        .next()
}

/// Every value of `key` in a query string (repeated keys kept, percent-decoded).
pub fn query_values(query: &str, key: &str) -> Vec<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// The first value of `key` in a query string.
pub fn query_value(query: &str, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

//! A feed's `handler`: user code, like an Azure Function with a SignalR output binding. Each
//! batch of changes is POSTed to it as JSON and it answers with the messages to send.
//!
//! Request (`Content-Type: application/json`):
//!
//! ```json
//! { "feed": "orders", "partition": "2", "hub": "orders",
//!   "changes": [ { "document": { "id": "o-17", ... }, "position": "1714-0", "key": "o-17:1714-0" } ] }
//! ```
//!
//! signed like the upstream webhook: `X-Herald-Signature: sha256=<HEX>`, the HMAC-SHA256 of
//! the request body with each access key, joined with `,` (no header without a key).
//!
//! Answer: a 2xx with a JSON array (an empty body or 204 means nothing to send) of
//! `{ "target", "arguments", "to" }`, `to` being `"all"` (the default), `{ "group" }`,
//! `{ "user" }` or `{ "connection" }`; the Azure output-binding fields `groupName`, `userId`
//! and `connectionId` are accepted in place of `to`. Anything else is an error the reader logs
//! with the answer quoted, and retries: the checkpoint does not move past a batch whose
//! messages were not decided.

use std::time::Duration;

use herald_proto::ids::{ConnectionId, HubName};
use serde::Serialize;
use serde_json::{Map, Value};
use url::Url;

use super::sink::FeedPush;
use crate::auth::AccessKey;
use crate::hub::registry::Scope;
use crate::telemetry::{propagation, spans};
use tracing::Instrument as _;

/// Longest part of an answer quoted in an error.
const QUOTE_LIMIT: usize = 512;
/// Largest answer read.
const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// One change as the handler receives it.
#[derive(Debug, Clone, Serialize)]
pub struct HandlerChange<'a> {
    /// The JSON document.
    pub document: &'a Value,
    /// Where it is in its partition.
    pub position: &'a str,
    /// The dedupe key (document id + position).
    pub key: String,
}

#[derive(Serialize)]
struct Request<'a> {
    feed: &'a str,
    partition: &'a str,
    hub: &'a str,
    changes: &'a [HandlerChange<'a>],
}

/// Why a call failed; every variant is retried.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// No answer (connection refused, timeout, ...).
    #[error("the handler {url} could not be reached: {message}: check that it is running")]
    Unreachable {
        /// The handler (without its query).
        url: String,
        /// What failed.
        message: String,
    },
    /// A non-2xx answer.
    #[error("the handler {url} answered {status}: {body}")]
    Status {
        /// The handler (without its query).
        url: String,
        /// The status code.
        status: u16,
        /// The start of its body.
        body: String,
    },
    /// A 2xx answer that is not a list of messages.
    #[error(
        "the handler {url} answered something that is not a list of messages ({why}): {body}; expected [{{\"target\": \"...\", \"arguments\": [...], \"to\": \"all\" | {{\"group\": \"...\"}} | {{\"user\": \"...\"}} | {{\"connection\": \"...\"}}}}]"
    )]
    Malformed {
        /// The handler (without its query).
        url: String,
        /// What is wrong.
        why: String,
        /// The start of its body.
        body: String,
    },
}

impl HandlerError {
    /// The `outcome` label of `herald_feed_handler_calls_total`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Unreachable { .. } => "unreachable",
            Self::Status { .. } => "status",
            Self::Malformed { .. } => "malformed",
        }
    }
}

/// A configured handler.
#[derive(Clone)]
pub struct FeedHandler {
    client: reqwest::Client,
    url: Url,
    keys: Vec<AccessKey>,
}

impl FeedHandler {
    /// A handler at `url`, signed with `keys`, each call bounded by `timeout`.
    pub fn new(url: Url, keys: Vec<AccessKey>, timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("herald/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the handler's HTTP client: {e}"))?;
        Ok(Self { client, url, keys })
    }

    /// The handler's address without its query (which often carries a function key).
    pub fn shown_url(&self) -> String {
        let mut url = self.url.clone();
        url.set_query(None);
        url.to_string()
    }

    /// POSTs one batch and returns the messages it asks for, for hub `hub`.
    pub async fn call(
        &self,
        feed: &str,
        partition: &str,
        hub: &HubName,
        changes: &[HandlerChange<'_>],
    ) -> Result<Vec<FeedPush>, HandlerError> {
        let body = serde_json::to_vec(&Request {
            feed,
            partition,
            hub: hub.as_str(),
            changes,
        })
        .map_err(|e| self.unreachable(format!("cannot encode the batch: {e}")))?;
        let span = spans::feed_handler(feed, &self.shown_url(), changes.len());
        let mut request = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Herald-Feed", feed)
            .header("X-Herald-Partition", partition);
        for (name, value) in propagation::headers_of(&span) {
            request = request.header(name, value);
        }
        // The body is JSON, hence UTF-8; the signature is over exactly these bytes.
        let text = String::from_utf8_lossy(&body);
        if let Some(signature) = crate::upstream::signature::signature(&text, &self.keys) {
            request = request.header("X-Herald-Signature", signature);
        }
        let mut response = request
            .body(body)
            .send()
            .instrument(span.clone())
            .await
            .map_err(|e| {
                span.record("otel.status_code", "ERROR");
                self.unreachable(e.to_string())
            })?;
        let status = response.status();
        spans::record_status(&span, status.as_u16());
        let mut answer = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.unreachable(format!("the answer broke off: {e}")))?
        {
            if answer.len() + chunk.len() > MAX_ANSWER {
                return Err(HandlerError::Malformed {
                    url: self.shown_url(),
                    why: format!("longer than {MAX_ANSWER} bytes"),
                    body: quote(&answer),
                });
            }
            answer.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(HandlerError::Status {
                url: self.shown_url(),
                status: status.as_u16(),
                body: quote(&answer),
            });
        }
        parse_answer(hub, &answer).map_err(|why| HandlerError::Malformed {
            url: self.shown_url(),
            why,
            body: quote(&answer),
        })
    }

    fn unreachable(&self, message: String) -> HandlerError {
        HandlerError::Unreachable {
            url: self.shown_url(),
            message,
        }
    }
}

/// The messages of an answer body, for hub `hub`.
pub fn parse_answer(hub: &HubName, body: &[u8]) -> Result<Vec<FeedPush>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Array(items) = value else {
        return Err("not a JSON array".to_owned());
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| message(hub, item).map_err(|why| format!("message {index}: {why}")))
        .collect()
}

fn message(hub: &HubName, item: Value) -> Result<FeedPush, String> {
    let Value::Object(mut fields) = item else {
        return Err("not a JSON object".to_owned());
    };
    let target = match fields.remove("target") {
        Some(Value::String(t)) if !t.is_empty() && !t.chars().any(char::is_whitespace) => t,
        Some(other) => return Err(format!("target must be a method name, got {other}")),
        None => return Err("no target".to_owned()),
    };
    let arguments = match fields.remove("arguments") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(arguments)) => arguments,
        Some(other) => return Err(format!("arguments must be an array, got {other}")),
    };
    let scope = scope(&mut fields)?;
    Ok(FeedPush {
        hub: hub.clone(),
        scope,
        target,
        arguments,
    })
}

/// The recipients: `to`, or the Azure output binding's fields, or everyone.
fn scope(fields: &mut Map<String, Value>) -> Result<Scope, String> {
    let named = |kind: &str, value: Value| -> Result<Scope, String> {
        let Value::String(name) = value else {
            return Err(format!("{kind} must be a string, got {value}"));
        };
        if name.is_empty() {
            return Err(format!("{kind} is empty"));
        }
        match kind {
            "group" | "groupName" => Ok(Scope::Group(name)),
            "user" | "userId" => Ok(Scope::User(name)),
            _ => name
                .parse::<ConnectionId>()
                .map(Scope::Connection)
                .map_err(|e| e.to_string()),
        }
    };
    match fields.remove("to") {
        Some(Value::String(all)) if all == "all" => Ok(Scope::All),
        Some(Value::Object(to)) if to.len() == 1 => {
            let Some((kind, value)) = to.into_iter().next() else {
                return Err("to is empty".to_owned());
            };
            match kind.as_str() {
                "group" | "user" | "connection" => named(&kind, value),
                other => Err(format!(
                    "to.{other} is unknown: use group, user or connection"
                )),
            }
        }
        Some(other) => Err(format!(
            "to must be \"all\", {{\"group\"}}, {{\"user\"}} or {{\"connection\"}}, got {other}"
        )),
        None => {
            let given: Vec<&str> = ["groupName", "userId", "connectionId"]
                .into_iter()
                .filter(|k| fields.get(*k).is_some_and(|v| !v.is_null()))
                .collect();
            match given.as_slice() {
                [] => Ok(Scope::All),
                [kind] => {
                    let value = fields.remove(*kind).unwrap_or(Value::Null);
                    named(kind, value)
                }
                many => Err(format!("give one of {many:?}, not several")),
            }
        }
    }
}

/// The start of `body` as text, for logs and errors.
fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.len() <= QUOTE_LIMIT {
        return text.into_owned();
    }
    let mut end = QUOTE_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], body.len())
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;

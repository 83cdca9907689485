//! Upstream webhooks: client events forwarded to an application over HTTP, the way Azure
//! SignalR Service's serverless mode calls its "upstream" (what an Azure Functions
//! `SignalRTrigger` receives).
//!
//! The protocol, as Herald implements it (sources: Azure docs `concept-upstream`, "Serverless
//! protocols"; the emulator in `Azure/azure-signalr` `src/Microsoft.Azure.SignalR.Emulator`,
//! which is Azure's own sender; the trigger in
//! `Azure/azure-functions-signalrservice-extension` / `azure-sdk-for-net`, its receiver):
//! - one `POST` per event to the [`UrlTemplate`] with `{hub}`, `{category}` (`connections` or
//!   `messages`) and `{event}` (`connected`, `disconnected`, or the invoked method) filled in;
//! - headers `X-ASRS-Connection-Id`, `X-ASRS-Hub`, `X-ASRS-Category`, `X-ASRS-Event`, and
//!   when known `X-ASRS-User-Id`, `X-ASRS-User-Claims`, `X-ASRS-Client-Query` (formats in
//!   `context`); `X-ASRS-Signature` (in `signature`) when an access key is configured;
//! - bodies in `body`: `{"type":10}` for connected, `{"Type":11,"Error":...}` for
//!   disconnected, the client's Invocation unframed in its own protocol for messages;
//! - the answer to an invocation in `outcome`: 204 or an empty 200 is void, a 200 body holds
//!   a framed Completion in the client's protocol, other statuses are failures.
//!
//! Without an access key Herald sends no `X-ASRS-Signature`. Azure always has keys (primary
//! and secondary) and always signs, and a Functions `SignalRTrigger` refuses unsigned
//! requests with 401: to serve one, give Herald the same `AccessKey` as the function's
//! connection string.
//!
//! Differences from Azure: one URL template without hub/category/event rules (the
//! `connections` events sent are chosen by `upstream.events`); no managed-identity token;
//! redirects are not followed (a 3xx is an error); https trusts the public web PKI only.

mod body;
mod context;
mod error;
mod event;
mod outcome;
pub(crate) mod signature;
mod url_template;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use herald_proto::hub_protocol::Decoded;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use crate::auth::AccessKey;
use crate::config::Config;
use crate::telemetry::{propagation, spans};
use tracing::Instrument as _;

pub use context::UpstreamContext;
pub use error::UpstreamError;
pub use event::{Category, ConnectionEvent, UnknownConnectionEvent};
pub use outcome::InvocationOutcome;
pub use url_template::{UrlTemplate, UrlTemplateError};

/// Longest body read for an error excerpt; the rest is not waited for.
const ERROR_BODY_BYTES: usize = 4096;

/// The upstream of this node: cheap to clone, shared by every session on every worker.
///
/// Holds one pooled HTTP/1.1 client (connections are reused across sessions and threads).
#[derive(Clone)]
pub struct Upstream {
    inner: Arc<Inner>,
}

struct Inner {
    /// Pooled client with `upstream.timeout` as its per-request deadline.
    client: reqwest::Client,
    /// Where requests go.
    template: UrlTemplate,
    /// Reported in timeout errors.
    timeout: Duration,
    /// Which `connections` events are sent; the others return at once.
    events: Vec<ConnectionEvent>,
    /// Signing keys; empty sends no signature.
    keys: Vec<AccessKey>,
}

/// One request to send: its event, body and the connection it is about.
struct Call<'a> {
    /// The connection, for the `X-ASRS-*` headers and the signature.
    ctx: &'a UpstreamContext,
    /// `{category}` and `X-ASRS-Category`.
    category: Category,
    /// `{event}` and `X-ASRS-Event`: `connected`, `disconnected` or the method name.
    event: &'a str,
    /// The serialized serverless message.
    body: Vec<u8>,
    /// JSON, or MessagePack for invocations of MessagePack clients.
    content_type: &'static str,
}

/// A response whose status is known and whose body is not read yet.
struct Answer {
    /// The redacted URL, for errors.
    url: String,
    /// Status and headers received; the body is read only when it matters.
    response: reqwest::Response,
}

impl Upstream {
    /// The upstream `config` describes; `None` without `upstream.url_template`, or (logged as
    /// an error) if the HTTP client cannot be created. See [`Upstream::try_from_config`].
    pub fn from_config(config: &Config) -> Option<Upstream> {
        match Self::try_from_config(config) {
            Ok(upstream) => upstream,
            Err(error) => {
                tracing::error!(%error, "upstream disabled");
                None
            }
        }
    }

    /// Like [`Upstream::from_config`], with client creation failures as errors.
    pub fn try_from_config(config: &Config) -> Result<Option<Upstream>, UpstreamError> {
        let settings = &config.upstream;
        let Some(template) = settings.url_template.clone() else {
            return Ok(None);
        };
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("herald/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| UpstreamError::Client {
                message: e.to_string(),
            })?;
        let keys = config
            .connection_string
            .as_ref()
            .and_then(|c| c.access_key())
            .cloned()
            .into_iter()
            .collect();
        Ok(Some(Upstream {
            inner: Arc::new(Inner {
                client,
                template,
                timeout: settings.timeout,
                events: settings.events.clone(),
                keys,
            }),
        }))
    }

    /// Whether `event` is sent (it is listed in `upstream.events`).
    pub fn forwards(&self, event: ConnectionEvent) -> bool {
        self.inner.events.contains(&event)
    }

    /// Tells the upstream a client connected; does nothing unless `connected` is forwarded.
    pub async fn connected(&self, ctx: &UpstreamContext) -> Result<(), UpstreamError> {
        self.connection_event(ctx, ConnectionEvent::Connected, body::connected())
            .await
    }

    /// Tells the upstream a client left, with the error that closed it if any; does nothing
    /// unless `disconnected` is forwarded.
    pub async fn disconnected(
        &self,
        ctx: &UpstreamContext,
        error: Option<&str>,
    ) -> Result<(), UpstreamError> {
        self.connection_event(
            ctx,
            ConnectionEvent::Disconnected,
            body::disconnected(error),
        )
        .await
    }

    /// Forwards a client's hub method call and returns what its Completion must carry.
    ///
    /// `message` is the client's Invocation exactly as decoded from the client's protocol.
    /// Without an invocation id the client expects no answer: any 2xx is [`InvocationOutcome::Void`].
    pub async fn invoke(
        &self,
        ctx: &UpstreamContext,
        message: &Decoded,
    ) -> Result<InvocationOutcome, UpstreamError> {
        let (body, content_type) =
            body::invocation(message).map_err(|kind| UpstreamError::NotAnInvocation { kind })?;
        let target = message.target().unwrap_or_default();
        let call = Call {
            ctx,
            category: Category::Messages,
            event: target,
            body,
            content_type,
        };
        let Answer { url, mut response } = self.post(call).await?;
        let status = response.status().as_u16();
        let Some(invocation_id) = message.invocation_id() else {
            return if response.status().is_success() {
                Ok(InvocationOutcome::Void)
            } else {
                Err(self.status_error(url, response).await)
            };
        };
        match status {
            204 => return Ok(InvocationOutcome::Void),
            200 => {}
            _ => return Err(self.status_error(url, response).await),
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (bytes, complete) = self
            .read(&url, &mut response, outcome::MAX_RESPONSE_BYTES)
            .await?;
        let invalid = |message: String| UpstreamError::InvalidResponse {
            url: url.clone(),
            message,
            body_excerpt: error::excerpt(&bytes),
        };
        if !complete {
            return Err(invalid("larger than 16 MiB".to_owned()));
        }
        let outcome = outcome::from_body(
            &bytes,
            content_type.as_deref(),
            message.protocol(),
            invocation_id,
        )
        .map_err(invalid)?;
        tracing::debug!(%url, invocation_id, ?outcome, "upstream answered an invocation");
        Ok(outcome)
    }

    async fn connection_event(
        &self,
        ctx: &UpstreamContext,
        event: ConnectionEvent,
        body: Vec<u8>,
    ) -> Result<(), UpstreamError> {
        if !self.forwards(event) {
            return Ok(());
        }
        let call = Call {
            ctx,
            category: Category::Connections,
            event: event.as_str(),
            body,
            content_type: body::JSON,
        };
        let Answer { url, response } = self.post(call).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(self.status_error(url, response).await)
        }
    }

    /// Sends `call` and waits for the response head.
    async fn post(&self, call: Call<'_>) -> Result<Answer, UpstreamError> {
        let hub = call.ctx.hub.as_str();
        let target = self
            .inner
            .template
            .expand(hub, call.category, call.event)
            .map_err(|e| UpstreamError::InvalidUrl {
                hub: hub.to_owned(),
                event: call.event.to_owned(),
                message: e.to_string(),
            })?;
        let url = url_template::redacted_url(&target);
        tracing::debug!(%url, hub, category = %call.category, event = call.event, connection = %call.ctx.connection_id, "calling upstream");
        let category = call.category.to_string();
        let span = spans::upstream(hub, &category, call.event, &url);
        let mut headers = self.headers(&call);
        for (name, value) in propagation::headers_of(&span) {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        let result = self
            .inner
            .client
            .post(target)
            .headers(headers)
            .body(call.body)
            .send()
            .instrument(span.clone())
            .await;
        match result {
            Ok(response) => {
                spans::record_status(&span, response.status().as_u16());
                Ok(Answer { url, response })
            }
            Err(e) => {
                span.record("otel.status_code", "ERROR");
                Err(self.transport_error(url, e))
            }
        }
    }

    /// The `Content-Type` and `X-ASRS-*` headers of a call.
    fn headers(&self, call: &Call<'_>) -> HeaderMap {
        let ctx = call.ctx;
        let mut headers = HeaderMap::new();
        let mut set = |name: &'static str, value: Option<String>| {
            let Some(value) = value else { return };
            match HeaderValue::from_bytes(context::header_text(&value).as_bytes()) {
                Ok(value) => {
                    headers.insert(HeaderName::from_static(name), value);
                }
                Err(_) => tracing::debug!(
                    header = name,
                    "dropping an upstream header that is not valid HTTP"
                ),
            }
        };
        set("content-type", Some(call.content_type.to_owned()));
        set("x-asrs-connection-id", Some(ctx.connection_id.to_string()));
        set("x-asrs-hub", Some(ctx.hub.to_string()));
        set("x-asrs-category", Some(call.category.as_str().to_owned()));
        set("x-asrs-event", Some(call.event.to_owned()));
        set("x-asrs-user-id", ctx.user_id_header());
        set("x-asrs-user-claims", ctx.claims_header());
        set("x-asrs-client-query", ctx.client_query_header());
        set(
            "x-asrs-signature",
            signature::signature(ctx.connection_id.as_str(), &self.inner.keys),
        );
        headers
    }

    /// Reads up to `limit` bytes of the body; `false` when there was more.
    async fn read(
        &self,
        url: &str,
        response: &mut reqwest::Response,
        limit: usize,
    ) -> Result<(Vec<u8>, bool), UpstreamError> {
        let mut bytes = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if bytes.len() + chunk.len() > limit => {
                    let room = limit - bytes.len();
                    bytes.extend_from_slice(chunk.get(..room).unwrap_or_default());
                    return Ok((bytes, false));
                }
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) => return Ok((bytes, true)),
                Err(e) => return Err(self.transport_error(url.to_owned(), e)),
            }
        }
    }

    /// A [`UpstreamError::Status`] quoting the start of the body (best effort).
    async fn status_error(&self, url: String, mut response: reqwest::Response) -> UpstreamError {
        let status = response.status().as_u16();
        let body = match self.read(&url, &mut response, ERROR_BODY_BYTES).await {
            Ok((bytes, _)) => bytes,
            Err(_) => Vec::new(),
        };
        let error = UpstreamError::Status {
            url,
            status,
            body_excerpt: error::excerpt(&body),
        };
        tracing::debug!(%error, "upstream refused");
        error
    }

    fn transport_error(&self, url: String, error: reqwest::Error) -> UpstreamError {
        let error = if error.is_timeout() {
            UpstreamError::Timeout {
                url,
                after: self.inner.timeout,
            }
        } else {
            UpstreamError::Transport {
                url,
                message: describe(error.without_url()),
            }
        };
        tracing::debug!(%error, "upstream call failed");
        error
    }
}

impl fmt::Debug for Upstream {
    /// The template (redacted) and settings; never the keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("template", &self.inner.template)
            .field("timeout", &self.inner.timeout)
            .field("events", &self.inner.events)
            .field("signed", &!self.inner.keys.is_empty())
            .finish()
    }
}

/// The error and its causes on one line; `error` must have its URL removed (it has the query).
fn describe(error: reqwest::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.dedup();
    parts.join(": ")
}

#[cfg(test)]
mod test_server;
#[cfg(test)]
mod tests;

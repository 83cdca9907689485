//! Every span Herald records, with its name and attributes, in one place (the README's
//! "Traces" table lists the same).
//!
//! Spans are at `TRACE` level and named `herald.*`: only the OpenTelemetry layer (present
//! when an exporter is configured) is interested in them, so without one each costs a cached
//! interest check and records nothing. `otel.name` and `otel.kind` are read by
//! tracing-opentelemetry as the span's name and kind.

use opentelemetry::KeyValue;
use tracing::field::Empty;
use tracing::{Level, Span, span};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// A REST API request (server): continues the caller's `traceparent`.
pub fn rest_request(method: &str, route: &str, path: &str) -> Span {
    span!(
        Level::TRACE,
        "herald.rest",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method,
        http.route = route,
        url.path = path,
        http.response.status_code = Empty,
        otel.status_code = Empty,
    )
}

/// Records the answer of a server span.
pub fn record_status(span: &Span, status: u16) {
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
}

/// Sending to the recipients of one scope, here and through the backplane.
pub fn dispatch(hub: &str, scope: &'static str) -> Span {
    span!(
        Level::TRACE,
        "herald.dispatch",
        herald.hub = hub,
        herald.scope = scope,
        herald.recipients = Empty,
    )
}

/// One publish on the backplane (producer); its context travels in the envelope.
pub fn backplane_publish(channel: &str, sequence: u64) -> Span {
    span!(
        Level::TRACE,
        "herald.backplane.publish",
        otel.kind = "producer",
        messaging.system = "redis",
        messaging.operation.type = "send",
        messaging.destination.name = channel,
        herald.sequence = sequence,
    )
}

/// A delivery received from another node (consumer), a child of its publish.
pub fn backplane_receive(channel: &str, origin: &str, sequence: u64, hub: &str) -> Span {
    span!(
        Level::TRACE,
        "herald.backplane.receive",
        otel.kind = "consumer",
        messaging.system = "redis",
        messaging.operation.type = "receive",
        messaging.destination.name = channel,
        herald.origin = origin,
        herald.sequence = sequence,
        herald.hub = hub,
    )
}

/// Writing one message to this node's connections of a scope: one span per fan-out, with
/// the number of connections written, never one per connection.
pub fn fanout(hub: &str) -> Span {
    span!(
        Level::TRACE,
        "herald.fanout",
        herald.hub = hub,
        herald.connections = Empty,
    )
}

/// One batch of a change feed: the root of the trace of its changes.
pub fn feed_batch(feed: &str, partition: &str, changes: usize, first: &str, last: &str) -> Span {
    span!(
        parent: None,
        Level::TRACE,
        "herald.feed.batch",
        herald.feed = feed,
        herald.partition = partition,
        herald.changes = changes,
        herald.position.first = first,
        herald.position.last = last,
    )
}

/// A call of a feed's handler webhook (client); it receives the batch's `traceparent`.
pub fn feed_handler(feed: &str, url: &str, changes: usize) -> Span {
    span!(
        Level::TRACE,
        "herald.feed.handler",
        otel.kind = "client",
        http.request.method = "POST",
        url.full = url,
        herald.feed = feed,
        herald.changes = changes,
        http.response.status_code = Empty,
        otel.status_code = Empty,
    )
}

/// A call to the upstream (client): a client's invocation or connection event.
pub fn upstream(hub: &str, category: &str, event: &str, url: &str) -> Span {
    span!(
        Level::TRACE,
        "herald.upstream",
        otel.kind = "client",
        http.request.method = "POST",
        url.full = url,
        herald.hub = hub,
        herald.upstream.category = category,
        herald.upstream.event = event,
        http.response.status_code = Empty,
        otel.status_code = Empty,
    )
}

/// A negotiate request (server).
pub fn negotiate(hub: &str) -> Span {
    span!(
        Level::TRACE,
        "herald.negotiate",
        otel.kind = "server",
        herald.hub = hub,
        herald.connection_id = Empty,
        http.response.status_code = Empty,
        otel.status_code = Empty,
    )
}

/// A connection's session starting on its first transport request: the parent of the
/// connection's handshake and close.
pub fn connect(hub: &str, connection_id: &str, transport: &str) -> Span {
    span!(
        Level::TRACE,
        "herald.connect",
        herald.hub = hub,
        herald.connection_id = connection_id,
        herald.transport = transport,
    )
}

/// The handshake of a connection; a failure is an event on it.
pub fn handshake(connection_id: &str) -> Span {
    span!(
        Level::TRACE,
        "herald.handshake",
        herald.connection_id = connection_id,
        herald.protocol = Empty,
        otel.status_code = Empty,
    )
}

/// A connection closing; the reason is an event on it.
pub fn close(connection_id: &str, reason: &str) -> Span {
    span!(
        Level::TRACE,
        "herald.close",
        herald.connection_id = connection_id,
        herald.close_reason = reason,
    )
}

/// Records the end of a traced connection's handshake: a `herald.handshake` span under its
/// `herald.connect`, with the protocol, or an error event with why it failed; returned so the
/// caller can log inside it. Untraced connections (`parent` is `None`) get [`Span::none`].
pub fn record_handshake(
    parent: Option<&herald_proto::backplane::TraceContext>,
    connection_id: &str,
    outcome: Result<&str, &str>,
) -> Span {
    let Some(parent) = parent else {
        return Span::none();
    };
    let span = handshake(connection_id);
    super::propagation::continue_from(&span, parent);
    match outcome {
        Ok(protocol) => {
            span.record("herald.protocol", protocol);
        }
        Err(why) => {
            span.record("otel.status_code", "ERROR");
            span.add_event(
                "handshake failed",
                vec![KeyValue::new("error.message", why.to_owned())],
            );
        }
    }
    span
}

/// Records a traced connection's end: a `herald.close` span under its `herald.connect`, with
/// a `connection closed` event carrying the reason and the error sent to the client.
pub fn record_close(
    parent: Option<&herald_proto::backplane::TraceContext>,
    connection_id: &str,
    reason: &str,
    error: Option<&str>,
) {
    let Some(parent) = parent else { return };
    let span = close(connection_id, reason);
    super::propagation::continue_from(&span, parent);
    let mut attributes = vec![KeyValue::new("herald.close_reason", reason.to_owned())];
    if let Some(error) = error {
        attributes.push(KeyValue::new("error.message", error.to_owned()));
    }
    // An OpenTelemetry event only: a log line per close would flood the logs.
    span.add_event("connection closed", attributes);
}

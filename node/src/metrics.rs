//! Prometheus metrics, owned by the node and passed to whoever counts (no global recorder).
//!
//! Label values are bounded: hubs come from clients that passed validation (and the optional
//! allow-list), transports and protocols are fixed sets, close reasons and REST routes are
//! static labels.

pub mod activity;
pub mod feed_progress;

use std::sync::Arc;

use activity::Activity;
use feed_progress::FeedProgress;
use herald_proto::hub_protocol::Protocol;
use herald_proto::ids::HubName;
use metrics::{
    Counter, CounterFn, Gauge, Key, KeyName, Label, Level, Metadata, Recorder, SharedString, Unit,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::telemetry::export_queue::SpanCounters;

const METADATA: Metadata<'static> = Metadata::new("herald", Level::INFO, Some(module_path!()));

/// Every metric name with its help text; rendered as `# HELP` lines.
const DESCRIPTIONS: &[(&str, &str)] = &[
    (
        "herald_build_info",
        "Always 1; the label `version` is the Herald version this process runs.",
    ),
    (
        "herald_node_ready",
        "1 while this node is ready (backplane up, not draining): what /readyz answers.",
    ),
    (
        "herald_backplane_up",
        "1 while this node's backplane link is up (always 1 in standalone mode).",
    ),
    (
        "herald_connections",
        "Client connections open now, by hub, transport and protocol.",
    ),
    (
        "herald_connections_opened_total",
        "Client connections whose handshake completed.",
    ),
    (
        "herald_connections_closed_total",
        "Client connections closed, by reason.",
    ),
    (
        "herald_negotiations_total",
        "Negotiate requests answered, by hub.",
    ),
    (
        "herald_messages_received_total",
        "Hub protocol messages received from clients, by hub.",
    ),
    (
        "herald_messages_delivered_total",
        "Messages queued for delivery to local connections, by hub.",
    ),
    (
        "herald_slow_consumers_total",
        "Connections closed because their outbound queue was full, by hub.",
    ),
    (
        "herald_rest_requests_total",
        "REST API requests, by route and status.",
    ),
    (
        "herald_upstream_requests_total",
        "Requests to the upstream, by category (connections, messages) and result.",
    ),
    (
        "herald_long_polls_total",
        "Long polls answered, by outcome (first, data, timeout, superseded, closed).",
    ),
    (
        "herald_sse_streams_total",
        "Server-Sent Events streams opened.",
    ),
    (
        "herald_stateful_reconnects_total",
        "WebSockets that resumed a session with stateful reconnect.",
    ),
    (
        "herald_replayed_messages_total",
        "Messages replayed to clients after a stateful reconnect.",
    ),
    (
        "herald_backplane_deliveries_total",
        "Deliveries received from other nodes.",
    ),
    (
        "herald_backplane_rejected_total",
        "Backplane messages that could not be decoded.",
    ),
    (
        "herald_trace_spans_exported_total",
        "Spans the OTLP collector accepted (only while traces are exported).",
    ),
    (
        "herald_trace_spans_dropped_total",
        "Spans dropped, by reason: queue_full (the export queue, OTEL_BSP_MAX_QUEUE_SIZE, was full) or export_failed (the collector did not take them).",
    ),
    (
        "herald_trace_export_errors_total",
        "Export requests to the OTLP collector that failed.",
    ),
    (
        "herald_forwarded_requests_total",
        "Client requests forwarded to the node owning their connection, by result.",
    ),
    (
        "herald_node_commands_total",
        "Membership and close requests sent to other nodes, by result.",
    ),
    (
        "herald_backplane_published_total",
        "Messages published to Redis by this node.",
    ),
    (
        "herald_backplane_received_total",
        "Messages received from Redis on subscribed channels.",
    ),
    (
        "herald_backplane_reconnects_total",
        "Times the Redis backplane reconnected and resubscribed.",
    ),
    (
        "herald_backplane_resubscribed_total",
        "Channels subscribed again after Redis dropped them (a slot migrated or its shard failed over).",
    ),
    (
        "herald_backplane_buffered_bytes",
        "Bytes of publishes waiting to be sent (the outage buffer while Redis is down).",
    ),
    (
        "herald_backplane_dropped_total",
        "Backplane messages lost: beyond the outage buffer, refused by Redis, or beyond the router's queue.",
    ),
    (
        "herald_feed_changes_total",
        "Changes read from feeds, by feed and outcome (pushed, bad_document, unroutable).",
    ),
    (
        "herald_feed_checkpoints_total",
        "Checkpoint writes, by feed and result (written, rejected: the lease moved).",
    ),
    (
        "herald_feed_batches_total",
        "Non-empty batches read from feeds, by feed.",
    ),
    (
        "herald_feed_read_errors_total",
        "Failed reads of a feed partition, by feed and kind (unavailable, no_partition, bad_checkpoint, replaced, protocol, throttled, unauthorized, not_a_partition); retried.",
    ),
    (
        "herald_feed_handler_calls_total",
        "Calls of a feed's handler, by feed and outcome (ok, unreachable, status, malformed); failures are retried.",
    ),
    (
        "herald_feed_announcements_total",
        "Lease assignment announcements received from the coordinators (each makes the node re-read the lease table).",
    ),
    (
        "herald_feed_leases",
        "Feed leases this node currently reads.",
    ),
    (
        "herald_feed_lag",
        "Changes of a feed partition after the reader's position (entries behind).",
    ),
    (
        "herald_coordinator_leader",
        "1 while this coordinator is the elected leader.",
    ),
    (
        "herald_coordinator_leader_changes_total",
        "Times the cluster's leader token changed, as seen by this coordinator.",
    ),
    (
        "herald_coordinator_lease_moves_total",
        "Lease owner changes seen by this coordinator.",
    ),
    (
        "herald_coordinator_leases",
        "Leases in the table, by state (owned, unowned).",
    ),
];

/// The node's metrics registry. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    /// Holds the metric values.
    recorder: PrometheusRecorder,
    /// Renders them as Prometheus text.
    handle: PrometheusHandle,
    /// Recent rates for the admin API (Prometheus counters cannot be read back).
    activity: Activity,
    /// Feed lease progress for the admin API.
    feeds: FeedProgress,
    /// The trace exporter's counts, when traces are exported.
    spans: std::sync::OnceLock<Arc<SpanCounters>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// An empty registry with every metric described.
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new().build_recorder();
        for (name, help) in DESCRIPTIONS {
            let unit: Option<Unit> = None;
            let help = SharedString::const_str(help);
            if name.ends_with("_total") {
                recorder.describe_counter(KeyName::from_const_str(name), unit, help);
            } else {
                recorder.describe_gauge(KeyName::from_const_str(name), unit, help);
            }
        }
        let handle = recorder.handle();
        let metrics = Self {
            inner: Arc::new(Inner {
                recorder,
                handle,
                activity: Activity::default(),
                feeds: FeedProgress::default(),
                spans: std::sync::OnceLock::new(),
            }),
        };
        metrics
            .gauge(
                "herald_build_info",
                vec![Label::new("version", env!("CARGO_PKG_VERSION"))],
            )
            .set(1.0);
        metrics
    }

    /// Recent message and change rates.
    pub fn activity(&self) -> &Activity {
        &self.inner.activity
    }

    /// The progress of this node's feed leases.
    pub fn feed_progress(&self) -> &FeedProgress {
        &self.inner.feeds
    }

    fn counter(&self, name: &'static str, labels: Vec<Label>) -> Counter {
        self.inner
            .recorder
            .register_counter(&Key::from_parts(name, labels), &METADATA)
    }

    fn gauge(&self, name: &'static str, labels: Vec<Label>) -> Gauge {
        self.inner
            .recorder
            .register_gauge(&Key::from_parts(name, labels), &METADATA)
    }

    /// Shows the trace exporter's counts (`herald_trace_*`) from now on.
    pub fn attach_span_counters(&self, counters: Arc<SpanCounters>) {
        let _ = self.inner.spans.set(counters);
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        if let Some(spans) = self.inner.spans.get() {
            let load =
                |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
            self.counter("herald_trace_spans_exported_total", Vec::new())
                .absolute(load(&spans.exported));
            for (reason, count) in [
                ("queue_full", &spans.dropped_queue_full),
                ("export_failed", &spans.dropped_export_failed),
            ] {
                self.counter(
                    "herald_trace_spans_dropped_total",
                    vec![Label::new("reason", reason)],
                )
                .absolute(load(count));
            }
            self.counter("herald_trace_export_errors_total", Vec::new())
                .absolute(load(&spans.export_errors));
        }
        self.inner.handle.run_upkeep();
        self.inner.handle.render()
    }

    /// Counters for one hub, registered once and kept by the hub actor.
    pub fn hub(&self, hub: &HubName) -> HubMetrics {
        let labels = || vec![Label::new("hub", hub.to_string())];
        HubMetrics {
            activity: self.inner.activity.clone(),
            delivered: self.counter("herald_messages_delivered_total", labels()),
            slow_consumers: self.counter("herald_slow_consumers_total", labels()),
        }
    }

    /// Counts a completed handshake and returns the guard that keeps the open-connections
    /// gauge up until the session drops it.
    pub fn connection_opened(
        &self,
        hub: &HubName,
        transport: &'static str,
        protocol: Protocol,
    ) -> ConnectionGauge {
        let labels = || {
            vec![
                Label::new("hub", hub.to_string()),
                Label::new("transport", transport),
                Label::new("protocol", protocol.name()),
            ]
        };
        self.counter("herald_connections_opened_total", labels())
            .increment(1);
        let gauge = self.gauge("herald_connections", labels());
        gauge.increment(1.0);
        ConnectionGauge { gauge }
    }

    /// Counts a closed connection.
    pub fn connection_closed(&self, reason: &'static str) {
        self.counter(
            "herald_connections_closed_total",
            vec![Label::new("reason", reason)],
        )
        .increment(1);
    }

    /// Counts a negotiate request.
    pub fn negotiated(&self, hub: &HubName) {
        self.counter(
            "herald_negotiations_total",
            vec![Label::new("hub", hub.to_string())],
        )
        .increment(1);
    }

    /// The counter of messages received from clients of `hub`, for a session to keep.
    pub fn messages_received_counter(&self, hub: &HubName) -> Counter {
        let counter = self.counter(
            "herald_messages_received_total",
            vec![Label::new("hub", hub.to_string())],
        );
        Counter::from_arc(Arc::new(ReceivedCounter {
            counter,
            activity: self.inner.activity.clone(),
        }))
    }

    /// Counts a REST request by route pattern and status.
    pub fn rest_request(&self, route: String, status: u16) {
        let labels = vec![
            Label::new("route", route),
            Label::new("status", status.to_string()),
        ];
        self.counter("herald_rest_requests_total", labels)
            .increment(1);
    }
}

impl Metrics {
    /// Counts an answered long poll.
    pub fn long_poll(&self, outcome: &'static str) {
        self.counter(
            "herald_long_polls_total",
            vec![Label::new("outcome", outcome)],
        )
        .increment(1);
    }

    /// Counts an upstream request.
    pub fn upstream_request(&self, category: &'static str, ok: bool) {
        let labels = vec![
            Label::new("category", category),
            Label::new("result", if ok { "ok" } else { "error" }),
        ];
        self.counter("herald_upstream_requests_total", labels)
            .increment(1);
    }

    /// The handles the Redis backplane updates.
    pub fn backplane_counters(&self) -> crate::backplane::redis::BackplaneCounters {
        crate::backplane::redis::BackplaneCounters {
            published: self.counter("herald_backplane_published_total", Vec::new()),
            received: self.counter("herald_backplane_received_total", Vec::new()),
            reconnects: self.counter("herald_backplane_reconnects_total", Vec::new()),
            resubscribed: self.counter("herald_backplane_resubscribed_total", Vec::new()),
            buffered_bytes: self.gauge("herald_backplane_buffered_bytes", Vec::new()),
            dropped: self.counter("herald_backplane_dropped_total", Vec::new()),
        }
    }

    /// Counts a change read from a feed.
    pub fn feed_change(&self, feed: &str, outcome: &'static str) {
        let labels = vec![
            Label::new("feed", feed.to_owned()),
            Label::new("outcome", outcome),
        ];
        self.counter("herald_feed_changes_total", labels)
            .increment(1);
        if outcome == "pushed" {
            self.inner.activity.change(feed);
        }
    }

    /// Reports how many changes of a partition are waiting to be read.
    pub fn feed_lag(&self, feed: &str, partition: &str, lag: u64) {
        let labels = vec![
            Label::new("feed", feed.to_owned()),
            Label::new("partition", partition.to_owned()),
        ];
        self.gauge("herald_feed_lag", labels).set(lag as f64);
        self.inner.feeds.lag(feed, partition, lag);
    }

    /// Counts a non-empty batch read from a feed partition.
    pub fn feed_batch(&self, feed: &str, partition: &str) {
        let labels = vec![Label::new("feed", feed.to_owned())];
        self.counter("herald_feed_batches_total", labels)
            .increment(1);
        self.inner.feeds.batch(feed, partition, unix_ms());
    }

    /// Counts a failed read of a feed partition.
    pub fn feed_read_error(&self, feed: &str, kind: &'static str) {
        let labels = vec![
            Label::new("feed", feed.to_owned()),
            Label::new("kind", kind),
        ];
        self.counter("herald_feed_read_errors_total", labels)
            .increment(1);
        self.inner.feeds.error(feed);
    }

    /// Counts a call of a feed's handler.
    pub fn feed_handler_call(&self, feed: &str, outcome: &'static str) {
        let labels = vec![
            Label::new("feed", feed.to_owned()),
            Label::new("outcome", outcome),
        ];
        self.counter("herald_feed_handler_calls_total", labels)
            .increment(1);
        if outcome != "ok" {
            self.inner.feeds.error(feed);
        }
    }

    /// Counts an assignment announcement from a coordinator.
    pub fn feed_announcement(&self) {
        self.counter("herald_feed_announcements_total", Vec::new())
            .increment(1);
    }

    /// Reports how many feed leases this node reads.
    pub fn feed_leases(&self, count: usize) {
        self.gauge("herald_feed_leases", Vec::new())
            .set(count as f64);
    }

    /// Counts a checkpoint write.
    pub fn feed_checkpoint(&self, feed: &str, written: bool) {
        let result = if written { "written" } else { "rejected" };
        let labels = vec![
            Label::new("feed", feed.to_owned()),
            Label::new("result", result),
        ];
        self.counter("herald_feed_checkpoints_total", labels)
            .increment(1);
    }

    /// Records what readiness is now made of.
    pub fn readiness(&self, ready: bool, backplane_up: bool) {
        self.gauge("herald_node_ready", Vec::new())
            .set(if ready { 1.0 } else { 0.0 });
        self.gauge("herald_backplane_up", Vec::new())
            .set(if backplane_up { 1.0 } else { 0.0 });
    }

    /// Reports the coordinator's view after a status read.
    pub fn coordinator(&self, is_leader: bool, owned: usize, unowned: usize) {
        self.gauge("herald_coordinator_leader", Vec::new())
            .set(if is_leader { 1.0 } else { 0.0 });
        self.gauge(
            "herald_coordinator_leases",
            vec![Label::new("state", "owned")],
        )
        .set(owned as f64);
        self.gauge(
            "herald_coordinator_leases",
            vec![Label::new("state", "unowned")],
        )
        .set(unowned as f64);
    }

    /// Counts leader changes and lease moves seen by the coordinator.
    pub fn coordinator_changes(&self, leader_changes: u64, lease_moves: u64) {
        self.counter("herald_coordinator_leader_changes_total", Vec::new())
            .increment(leader_changes);
        self.counter("herald_coordinator_lease_moves_total", Vec::new())
            .increment(lease_moves);
    }

    /// Counts a delivery received from another node.
    pub fn backplane_delivery(&self) {
        self.counter("herald_backplane_deliveries_total", Vec::new())
            .increment(1);
    }

    /// Counts a backplane message that could not be decoded.
    pub fn backplane_rejected(&self) {
        self.counter("herald_backplane_rejected_total", Vec::new())
            .increment(1);
    }

    /// Counts a client request forwarded to its connection's owner.
    pub fn forwarded(&self, result: &'static str) {
        self.counter(
            "herald_forwarded_requests_total",
            vec![Label::new("result", result)],
        )
        .increment(1);
    }

    /// Counts a request sent to another node.
    pub fn node_command(&self, result: &'static str) {
        self.counter(
            "herald_node_commands_total",
            vec![Label::new("result", result)],
        )
        .increment(1);
    }

    /// Counts an opened Server-Sent Events stream.
    pub fn sse_stream(&self) {
        self.counter("herald_sse_streams_total", Vec::new())
            .increment(1);
    }

    /// Counts a stateful reconnect and the messages it replayed.
    pub fn stateful_reconnect(&self, replayed: u64) {
        self.counter("herald_stateful_reconnects_total", Vec::new())
            .increment(1);
        self.counter("herald_replayed_messages_total", Vec::new())
            .increment(replayed);
    }
}

/// The current time in Unix milliseconds (0 before 1970, which no clock here reports).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `herald_messages_received_total` of one hub that also feeds the activity rates.
struct ReceivedCounter {
    counter: Counter,
    activity: Activity,
}

impl CounterFn for ReceivedCounter {
    fn increment(&self, value: u64) {
        self.counter.increment(value);
        self.activity.messages_in(value);
    }

    fn absolute(&self, value: u64) {
        self.counter.absolute(value);
    }
}

/// The counters a hub actor bumps on its hot path, registered once.
#[derive(Clone)]
pub struct HubMetrics {
    activity: Activity,
    delivered: Counter,
    slow_consumers: Counter,
}

impl HubMetrics {
    /// Counts messages queued to local connections.
    pub fn delivered(&self, count: u64) {
        if count > 0 {
            self.delivered.increment(count);
            self.activity.messages_out(count);
        }
    }

    /// Counts connections closed as slow consumers.
    pub fn slow_consumers(&self, count: u64) {
        self.slow_consumers.increment(count);
    }
}

/// Keeps `herald_connections` raised while a session is open; lowers it when dropped, so the
/// gauge returns to zero however a session ends.
pub struct ConnectionGauge {
    gauge: Gauge,
}

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        self.gauge.decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_returns_to_zero_and_counters_render() {
        let metrics = Metrics::new();
        let hub: HubName = "chat".parse().unwrap();
        let guard = metrics.connection_opened(&hub, "WebSockets", Protocol::Json);
        let text = metrics.render();
        assert!(
            text.contains(
                r#"herald_connections{hub="chat",transport="WebSockets",protocol="json"} 1"#
            ),
            "{text}"
        );
        drop(guard);
        metrics.connection_closed("client_closed");
        metrics.hub(&hub).delivered(3);
        let text = metrics.render();
        assert!(
            text.contains(
                r#"herald_connections{hub="chat",transport="WebSockets",protocol="json"} 0"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"herald_connections_closed_total{reason="client_closed"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"herald_messages_delivered_total{hub="chat"} 3"#),
            "{text}"
        );
        assert!(
            text.contains("# HELP herald_connections Client connections open now"),
            "{text}"
        );
    }

    #[test]
    fn names_follow_prometheus_conventions_and_labels_are_bounded() {
        let metrics = Metrics::new();
        let hub: HubName = "chat".parse().unwrap();
        // Touch every kind of series once.
        let _guard = metrics.connection_opened(&hub, "WebSockets", Protocol::Json);
        metrics.connection_closed("client_closed");
        metrics.negotiated(&hub);
        metrics.messages_received_counter(&hub).increment(1);
        metrics.hub(&hub).delivered(1);
        metrics.rest_request("/api/v1/hubs/{hub}".to_owned(), 202);
        metrics.feed_change("orders", "pushed");
        metrics.feed_lag("orders", "0", 3);
        metrics.feed_batch("orders", "0");
        metrics.feed_read_error("orders", "unavailable");
        metrics.coordinator(true, 1, 0);
        let text = metrics.render();
        assert!(
            text.contains(&format!(
                "herald_build_info{{version=\"{}\"}} 1",
                env!("CARGO_PKG_VERSION")
            )),
            "{text}"
        );
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            let mut parts = line.split_whitespace().skip(2);
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            assert!(name.starts_with("herald_"), "{line}");
            match kind {
                "counter" => assert!(name.ends_with("_total"), "a counter ends in _total: {line}"),
                _ => assert!(
                    !name.ends_with("_total"),
                    "only counters end in _total: {line}"
                ),
            }
        }
        for (name, _) in DESCRIPTIONS {
            // Units in the name: durations in seconds, sizes in bytes.
            assert!(!name.contains("_ms") && !name.contains("millis"), "{name}");
            assert!(!name.ends_with("_kb") && !name.ends_with("_size"), "{name}");
        }
        // No label may carry a per-connection or per-user value.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            if let Some(labels) = line.split_once('{').map(|(_, rest)| rest) {
                for pair in labels.split(',') {
                    let label = pair.split('=').next().unwrap_or_default();
                    assert!(
                        !matches!(
                            label,
                            "connection" | "connection_id" | "user" | "user_id" | "id"
                        ),
                        "unbounded label {label}: {line}"
                    );
                }
            }
        }
    }
}

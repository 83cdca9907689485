//! A small OTLP/HTTP trace receiver: what a collector's `otlp` receiver on port 4318 does,
//! enough for tests. It records every `POST /v1/traces`, answers with an empty
//! `ExportTraceServiceResponse`, and decodes the protobuf bodies with the protocol's own
//! types (`opentelemetry-proto`), so what the tests read is what a real collector would.

use std::collections::BTreeMap;
use std::time::Instant;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message as _;

use crate::upstream_server::UpstreamServer;

/// One span as received, with its resource's attributes.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// 16 hex digits; empty for a root span.
    pub parent_span_id: String,
    /// The span name.
    pub name: String,
    /// The OTLP `SpanKind` (1 internal, 2 server, 3 client, 4 producer, 5 consumer).
    pub kind: i32,
    /// The span's attributes, values as text.
    pub attributes: BTreeMap<String, String>,
    /// The names of the span's events with their attributes.
    pub events: Vec<(String, BTreeMap<String, String>)>,
    /// The resource's attributes (`service.name`, `service.instance.id`, ...).
    pub resource: BTreeMap<String, String>,
}

impl ReceivedSpan {
    /// An attribute's value.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }

    /// The `service.instance.id` of the process that recorded it.
    pub fn instance(&self) -> &str {
        self.resource
            .get("service.instance.id")
            .map_or("", String::as_str)
    }
}

/// The running receiver; it stops with the test process.
pub struct OtlpReceiver {
    server: UpstreamServer,
}

impl Default for OtlpReceiver {
    fn default() -> Self {
        Self::start()
    }
}

impl OtlpReceiver {
    /// Starts listening on a free loopback port.
    pub fn start() -> Self {
        let empty = ExportTraceServiceResponse::default().encode_to_vec();
        let server = UpstreamServer::start(move |request| {
            if request.method == "POST" && request.path == "/v1/traces" {
                (200, "application/x-protobuf", empty.clone())
            } else {
                (404, "text/plain", b"not an OTLP traces path".to_vec())
            }
        });
        Self { server }
    }

    /// The value for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port())
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        let mut spans = Vec::new();
        for request in self.server.requests() {
            if request.path != "/v1/traces" {
                continue;
            }
            assert_eq!(
                request.header("content-type"),
                Some("application/x-protobuf"),
                "OTLP/HTTP protobuf is the default protocol"
            );
            let export = ExportTraceServiceRequest::decode(request.body.as_slice())
                .expect("an OTLP export request");
            for resource_spans in export.resource_spans {
                let resource = resource_spans
                    .resource
                    .map(|r| attributes(&r.attributes))
                    .unwrap_or_default();
                for scope in resource_spans.scope_spans {
                    for span in scope.spans {
                        spans.push(ReceivedSpan {
                            trace_id: hex(&span.trace_id),
                            span_id: hex(&span.span_id),
                            parent_span_id: hex(&span.parent_span_id),
                            name: span.name,
                            kind: span.kind,
                            attributes: attributes(&span.attributes),
                            events: span
                                .events
                                .iter()
                                .map(|e| (e.name.clone(), attributes(&e.attributes)))
                                .collect(),
                            resource: resource.clone(),
                        });
                    }
                }
            }
        }
        spans
    }

    /// The spans of trace `trace_id` once `complete` accepts them; `None` at the deadline.
    pub fn wait_for_trace(
        &self,
        trace_id: &str,
        deadline: Instant,
        complete: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Option<Vec<ReceivedSpan>> {
        crate::poll_until(deadline, || {
            let spans: Vec<ReceivedSpan> = self
                .spans()
                .into_iter()
                .filter(|s| s.trace_id == trace_id)
                .collect();
            complete(&spans).then_some(spans)
        })
    }
}

fn attributes(pairs: &[KeyValue]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value.as_ref().map_or_else(String::new, text),
            )
        })
        .collect()
}

fn text(value: &AnyValue) -> String {
    match &value.value {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

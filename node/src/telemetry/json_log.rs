//! [`WithTraceIds`]: JSON log lines that carry the `trace_id` and `span_id` of the trace they
//! were written in, so a log search and a trace view lead to each other.
//!
//! The ids are those of the OpenTelemetry context the current span activated; outside a
//! recorded trace (or without an exporter) the line is exactly what the wrapped format writes.

use std::fmt::Write as _;

use opentelemetry::trace::TraceContextExt;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Wraps a JSON event format (one object per line) and appends the trace ids to the object.
pub struct WithTraceIds<F>(pub F);

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let context = opentelemetry::Context::current();
        let span = context.span();
        let ids = span.span_context();
        if !ids.is_valid() {
            return self.0.format_event(ctx, writer, event);
        }
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        writer.write_str(&append_ids(
            &line,
            &ids.trace_id().to_string(),
            &ids.span_id().to_string(),
        ))
    }
}

/// `line` (one JSON object and a newline) with `trace_id` and `span_id` added to the object;
/// unchanged when it is not an object.
fn append_ids(line: &str, trace_id: &str, span_id: &str) -> String {
    let body = line.trim_end_matches('\n');
    let Some(open) = body.strip_suffix('}') else {
        return line.to_owned();
    };
    let mut out = String::with_capacity(line.len() + 80);
    out.push_str(open);
    if !open.trim_end().ends_with('{') {
        out.push(',');
    }
    let _ = write!(
        out,
        "\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\"}}"
    );
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::append_ids;

    #[test]
    fn ids_are_appended_to_the_object() {
        let line = append_ids(
            "{\"level\":\"INFO\",\"fields\":{\"message\":\"x\"}}\n",
            "ab",
            "cd",
        );
        assert_eq!(
            line,
            "{\"level\":\"INFO\",\"fields\":{\"message\":\"x\"},\"trace_id\":\"ab\",\"span_id\":\"cd\"}\n"
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["trace_id"], "ab");
        assert_eq!(
            append_ids("{}\n", "ab", "cd"),
            "{\"trace_id\":\"ab\",\"span_id\":\"cd\"}\n"
        );
        assert_eq!(append_ids("not json\n", "ab", "cd"), "not json\n");
    }
}

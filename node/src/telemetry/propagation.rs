//! W3C Trace Context in and out: `traceparent` / `tracestate` on HTTP requests (REST calls in,
//! handler and upstream calls out) and the [`TraceContext`] of backplane envelopes.
//!
//! Without an exporter no span records anything, the spans' contexts are empty, and every
//! function here returns nothing: no header is added and envelopes stay version 1.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use herald_proto::backplane::TraceContext;

/// The header names.
pub const TRACEPARENT: &str = "traceparent";
/// The header names.
pub const TRACESTATE: &str = "tracestate";

/// The trace context of `span`, to send along; `None` when the span records nothing.
pub fn context_of(span: &tracing::Span) -> Option<TraceContext> {
    if span.is_disabled() {
        return None;
    }
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = Carrier::default();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.traceparent.map(|traceparent| TraceContext {
        traceparent,
        tracestate: carrier.tracestate.unwrap_or_default(),
    })
}

/// Makes `span` a child of the remote span `context` names; an invalid context is ignored
/// (the span starts a trace of its own).
pub fn continue_from(span: &tracing::Span, context: &TraceContext) {
    let carrier = Carrier {
        traceparent: Some(context.traceparent.clone()),
        tracestate: Some(context.tracestate.clone()),
    };
    set_parent(span, &carrier);
}

/// Makes `span` a child of the caller's span named by the request's `traceparent` header.
pub fn continue_from_headers(span: &tracing::Span, headers: &actix_web::http::header::HeaderMap) {
    if span.is_disabled() {
        return;
    }
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let carrier = Carrier {
        traceparent: text(TRACEPARENT),
        tracestate: text(TRACESTATE),
    };
    if carrier.traceparent.is_some() {
        set_parent(span, &carrier);
    }
}

/// The headers that pass `span`'s context to the server being called.
pub fn headers_of(span: &tracing::Span) -> Vec<(&'static str, String)> {
    match context_of(span) {
        None => Vec::new(),
        Some(context) => {
            let mut headers = vec![(TRACEPARENT, context.traceparent)];
            if !context.tracestate.is_empty() {
                headers.push((TRACESTATE, context.tracestate));
            }
            headers
        }
    }
}

fn set_parent(span: &tracing::Span, carrier: &Carrier) {
    if span.is_disabled() {
        return;
    }
    let parent = TraceContextPropagator::new().extract(carrier);
    if parent.span().span_context().is_valid() {
        // Fails only for a span that records nothing.
        let _ = span.set_parent(parent);
    }
}

#[derive(Default)]
struct Carrier {
    traceparent: Option<String>,
    tracestate: Option<String>,
}

impl Injector for Carrier {
    fn set(&mut self, key: &str, value: String) {
        match key {
            TRACEPARENT => self.traceparent = Some(value),
            TRACESTATE => self.tracestate = Some(value),
            _ => {}
        }
    }
}

impl Extractor for Carrier {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            TRACEPARENT => self.traceparent.as_deref(),
            TRACESTATE => self.tracestate.as_deref().filter(|s| !s.is_empty()),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT, TRACESTATE]
    }
}

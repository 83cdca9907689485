//! [`TraceContext`] and [`Envelope`]: the W3C trace context a message travels with, so the
//! spans of the node that receives it continue the trace of the node that published it.

use serde::{Deserialize, Serialize};

use super::BackplaneMessage;

/// The W3C Trace Context of the span that published a message: the `traceparent` and
/// `tracestate` header values, as they would be sent over HTTP.
///
/// Carried as text, not as parsed ids: the receiver's propagator validates it like any
/// incoming header, and an invalid one only starts a new trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceContext {
    /// `version-traceid-parentid-flags`, e.g.
    /// `00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01`.
    pub traceparent: String,
    /// Vendor entries (`key=value,...`); empty when there are none.
    pub tracestate: String,
}

/// A decoded message with the trace context it was published with, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The message.
    pub message: BackplaneMessage,
    /// Present for messages published inside a recorded trace.
    pub trace: Option<TraceContext>,
}

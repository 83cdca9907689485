//! [`UpstreamError`]: why an upstream call did not produce an answer.
//!
//! URLs in messages are redacted (no query, no user info): function keys live there.

use std::time::Duration;

use herald_proto::hub_protocol::MessageType;

/// Longest body excerpt quoted in an error, in characters.
pub(crate) const EXCERPT_CHARS: usize = 200;

/// An upstream call that failed; each message names the URL and what to check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    #[error(
        "upstream {url} did not answer within {after:?}: check that it is running and reachable from herald, or raise upstream.timeout"
    )]
    Timeout {
        /// The redacted URL called.
        url: String,
        /// The configured `upstream.timeout`.
        after: Duration,
    },
    #[error(
        "upstream {url} answered HTTP {status}{}: check the upstream's logs, and that upstream.url_template and the access key match its configuration",
        quoted(.body_excerpt)
    )]
    Status {
        /// The redacted URL called.
        url: String,
        /// The HTTP status; for invocations anything but 200 and 204 (Azure's rule).
        status: u16,
        /// At most 200 characters of the response body, for the log.
        body_excerpt: String,
    },
    #[error(
        "cannot reach upstream {url}: {message}: check the host, port and scheme in upstream.url_template (https needs a certificate from a public CA)"
    )]
    Transport {
        /// The redacted URL called.
        url: String,
        /// What the HTTP client reported.
        message: String,
    },
    #[error(
        "upstream {url} answered an invocation with a body herald cannot read ({message}){}: answer 204, or 200 with a Completion message in the client's protocol",
        quoted(.body_excerpt)
    )]
    InvalidResponse {
        /// The redacted URL called.
        url: String,
        /// What is wrong with the body.
        message: String,
        /// At most 200 characters of the body.
        body_excerpt: String,
    },
    #[error(
        "upstream url for hub {hub}, event {event} is invalid: {message}: check the placeholders in upstream.url_template"
    )]
    InvalidUrl {
        /// The hub the event belongs to.
        hub: String,
        /// The event (a method name for invocations) that made the URL invalid.
        event: String,
        /// Why the filled-in template is not a URL.
        message: String,
    },
    #[error(
        "only Invocation messages are forwarded upstream, got {kind:?}: streaming hub methods are not available in serverless mode"
    )]
    NotAnInvocation {
        /// The kind of message that was passed.
        kind: MessageType,
    },
    #[error("cannot create the upstream HTTP client: {message}: check the TLS setup of this host")]
    Client {
        /// What the HTTP client builder reported.
        message: String,
    },
}

impl UpstreamError {
    /// The error text for the client's Completion: what Azure sends for the same failure
    /// where it is known, and never the URL.
    pub fn client_message(&self) -> String {
        match self {
            Self::Status { status, .. } => format!("Invocation failed, status code {status}"),
            Self::Timeout { .. } => {
                "Invocation failed, the upstream did not answer in time.".to_owned()
            }
            Self::NotAnInvocation { .. } => "Streaming hub methods are not supported.".to_owned(),
            Self::Transport { .. }
            | Self::InvalidResponse { .. }
            | Self::InvalidUrl { .. }
            | Self::Client { .. } => "Invocation failed.".to_owned(),
        }
    }
}

/// At most [`EXCERPT_CHARS`] characters of `body` as text, control characters escaped, with
/// `…` when cut.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == EXCERPT_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `: "excerpt"` for a non-empty excerpt, nothing otherwise.
fn quoted(excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!(": {excerpt:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_printable() {
        assert_eq!(excerpt(b"oops\n"), "oops\\n");
        let long = "é".repeat(300);
        let cut = excerpt(long.as_bytes());
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(excerpt(&[0x93, 0x03]), "\u{fffd}\\u{3}");
    }

    #[test]
    fn messages_name_the_url_and_what_to_check() {
        let e = UpstreamError::Status {
            url: "https://f.example/api?<redacted>".into(),
            status: 500,
            body_excerpt: "boom".into(),
        };
        assert_eq!(
            e.to_string(),
            "upstream https://f.example/api?<redacted> answered HTTP 500: \"boom\": check the upstream's logs, and that upstream.url_template and the access key match its configuration"
        );
        assert_eq!(e.client_message(), "Invocation failed, status code 500");
        let e = UpstreamError::Timeout {
            url: "http://h/x".into(),
            after: Duration::from_millis(200),
        };
        assert!(
            e.to_string()
                .starts_with("upstream http://h/x did not answer within 200ms")
        );
    }
}

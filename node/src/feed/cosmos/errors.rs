//! From the SDK's errors to [`SourceError`]s that say what to check.
//!
//! The SDK already retries what is worth retrying at once (429 up to its throttling budget,
//! 410 partition-gone by refreshing its routing map, transient network faults), so an error
//! that reaches us is reported, and the reader retries the read from the same checkpoint:
//! nothing is skipped.

use std::time::Duration;

use azure_core::http::StatusCode;
use azure_data_cosmos::CosmosError;

use crate::feed::source::SourceError;

/// How long to hold a throttled range when the service named no wait.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Longest wait a `retry-after` may impose; a larger one is a service fault, not advice.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Where an error happened and how the account is signed in to, for its message.
pub(crate) struct ErrorContext<'a> {
    /// The feed's name.
    pub feed: &'a str,
    /// The partition read.
    pub partition: &'a str,
    /// What to check when the account refuses Herald (depends on `source.auth`).
    pub auth_hint: &'a str,
}

/// Whether the SDK gave up on a 410 (partition gone): the caller re-reads the topology.
pub(crate) fn is_gone(error: &CosmosError) -> bool {
    error.status().status_code() == StatusCode::Gone
}

/// Whether a request was refused before it left the process because it was malformed, which
/// for a change feed read from a checkpoint means the checkpoint is not a continuation of
/// this container.
pub(crate) fn is_client_bad_request(error: &CosmosError) -> bool {
    error.status().status_code() == StatusCode::BadRequest && !error.is_from_wire()
}

/// The wait the service asked for after a 429.
pub(crate) fn retry_after(error: &CosmosError) -> Duration {
    error
        .response()
        .and_then(|response| response.headers().retry_after_ms)
        .map_or(DEFAULT_RETRY_AFTER, Duration::from_millis)
        .min(MAX_RETRY_AFTER)
}

/// The [`SourceError`] for `error`.
pub(crate) fn classify(error: &CosmosError, at: &ErrorContext<'_>) -> SourceError {
    let status = error.status();
    let code = status.status_code();
    let what = one_line(error);
    match code {
        StatusCode::TooManyRequests => SourceError::Throttled {
            feed: at.feed.to_owned(),
            partition: at.partition.to_owned(),
            retry_after: retry_after(error),
        },
        StatusCode::Unauthorized => SourceError::Unauthorized {
            feed: at.feed.to_owned(),
            partition: at.partition.to_owned(),
            message: format!(
                "the account refused Herald's credentials (401: {what}): {}",
                at.auth_hint
            ),
        },
        StatusCode::Forbidden => SourceError::Unauthorized {
            feed: at.feed.to_owned(),
            partition: at.partition.to_owned(),
            message: format!(
                "the account forbids this read (403: {what}): give the identity a data-plane role that can read the container, such as \"Cosmos DB Built-in Data Reader\", and check the account's firewall allows this network"
            ),
        },
        StatusCode::NotFound => SourceError::Unavailable {
            feed: at.feed.to_owned(),
            partition: at.partition.to_owned(),
            message: format!(
                "the database or container does not exist (404: {what}): check source.database and source.container"
            ),
        },
        _ => SourceError::Unavailable {
            feed: at.feed.to_owned(),
            partition: at.partition.to_owned(),
            message: format!("{} ({what})", u16::from(code)),
        },
    }
}

/// The error's text on one line, without the SDK's multi-line diagnostics.
fn one_line(error: &CosmosError) -> String {
    let text = error.to_string();
    let first = text.lines().next().unwrap_or_default().trim();
    const LIMIT: usize = 300;
    if first.len() <= LIMIT {
        return first.to_owned();
    }
    let mut end = LIMIT;
    while !first.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &first[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_data_cosmos::CosmosStatus;

    fn error(code: StatusCode, message: &str) -> CosmosError {
        CosmosError::builder()
            .with_status(CosmosStatus::new(code))
            .with_message(message.to_owned())
            .build()
    }

    fn at() -> ErrorContext<'static> {
        ErrorContext {
            feed: "stocks",
            partition: "..40",
            auth_hint: "check source.key",
        }
    }

    #[test]
    fn each_status_becomes_an_error_that_says_what_to_check() {
        let throttled = classify(&error(StatusCode::TooManyRequests, "busy"), &at());
        assert!(
            matches!(&throttled, SourceError::Throttled { retry_after, .. } if *retry_after == DEFAULT_RETRY_AFTER),
            "{throttled:?}"
        );
        assert_eq!(throttled.kind(), "throttled");
        assert!(
            throttled
                .to_string()
                .contains("raise the container's throughput")
        );

        let refused = classify(&error(StatusCode::Unauthorized, "bad signature"), &at());
        assert_eq!(refused.kind(), "unauthorized");
        let text = refused.to_string();
        assert!(text.contains("feed stocks partition ..40"), "{text}");
        assert!(text.contains("bad signature"), "{text}");
        assert!(text.contains("check source.key"), "{text}");

        let forbidden = classify(&error(StatusCode::Forbidden, "no rbac"), &at());
        assert!(
            forbidden
                .to_string()
                .contains("Cosmos DB Built-in Data Reader")
        );

        let missing = classify(&error(StatusCode::NotFound, "gone"), &at());
        assert_eq!(missing.kind(), "unavailable");
        assert!(missing.to_string().contains("source.container"));

        let other = classify(&error(StatusCode::ServiceUnavailable, "down"), &at());
        assert_eq!(other.kind(), "unavailable");
        assert!(other.to_string().contains("503"), "{other}");
    }

    #[test]
    fn gone_and_client_side_bad_requests_are_recognized() {
        assert!(is_gone(&error(StatusCode::Gone, "split")));
        assert!(!is_gone(&error(StatusCode::NotFound, "x")));
        assert!(is_client_bad_request(&error(
            StatusCode::BadRequest,
            "token"
        )));
        assert!(!is_client_bad_request(&error(StatusCode::Conflict, "x")));
    }

    #[test]
    fn long_messages_are_cut_on_one_line() {
        let long = format!("{}\nsecond line", "é".repeat(400));
        let text = one_line(&error(StatusCode::InternalServerError, &long));
        assert!(!text.contains('\n'));
        assert!(text.chars().count() <= 301, "{}", text.len());
    }
}

//! What can go wrong between `herald ctl` and the admin API, and the exit code each one means.
//!
//! Scripts branch on the exit code, so the variants follow its meaning: the API could not be
//! used at all (unreachable, or the token refused: 3) versus the API answered that this request
//! cannot be done (1).

use std::time::Duration;

/// A failed admin API call.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// No HTTP answer: refused, unresolvable, reset, or no answer within the timeout.
    #[error("cannot reach the admin API at {admin}: {reason}; check --admin or HERALD_ADMIN_URL")]
    Unreachable {
        /// The base URL, as the user gave it.
        admin: String,
        /// The innermost cause, such as `connection refused`.
        reason: String,
    },

    /// No answer within the per-request timeout; as unusable as [`CtlError::Unreachable`].
    #[error(
        "the admin API at {admin} did not answer within {}; check --admin or HERALD_ADMIN_URL",
        humantime::format_duration(*after)
    )]
    Timeout { admin: String, after: Duration },

    /// `401`: the token is missing or wrong.
    #[error("the admin API refused the token (401); check --token or HERALD_ADMIN_TOKEN")]
    Unauthorized,

    /// Any other non-2xx answer (`400`, `403`, `404`, `5xx`), with the API's own explanation.
    #[error("{message} ({status})")]
    Api { status: u16, message: String },

    /// A 2xx answer that is not the JSON the admin API documents (a proxy's page, another
    /// service on that port, or a server of another version).
    #[error(
        "the admin API at {admin} answered with something other than the expected JSON ({reason}); check --admin"
    )]
    BadAnswer { admin: String, reason: String },

    /// The API handed out the same page cursor twice; following it would never end.
    #[error("the admin API repeated the page cursor {cursor:?}; the listing stopped there")]
    CursorLoop { cursor: String },

    /// Standard output is gone (a closed pipe, a full disk).
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
}

impl CtlError {
    /// Whether this means "the admin API cannot be used" (exit code 3) rather than "this
    /// request failed" (exit code 1).
    pub fn is_unusable(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. } | Self::Timeout { .. } | Self::Unauthorized
        )
    }
}

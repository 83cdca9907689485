//! Authentication, compatible with Azure SignalR Service.
//!
//! Application servers and clients prove themselves with HS256 JWTs signed with the
//! `AccessKey` of an Azure-style connection string; the audience binds each token to this
//! Herald's public endpoint and to what the token is for (a REST path or a client hub).
//! Without an access key Herald runs anonymously and checks nothing.

mod access_key;
mod audience;
mod authenticator;
mod connection_string;
mod error;
mod identity;
mod token;

pub use access_key::AccessKey;
pub use authenticator::{Authenticator, RestCaller};
pub use connection_string::{ConnectionString, ConnectionStringError};
pub use error::AuthError;
pub use identity::ClientIdentity;

/// The token in an `Authorization` header value such as `Bearer eyJ...`.
///
/// The scheme is matched case-insensitively, as RFC 7235 asks; `None` when the value is not
/// a bearer credential or carries no token.
pub fn bearer_token(header_value: &str) -> Option<&str> {
    let value = header_value.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn bearer_prefix_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer abc.def.ghi"), Some("abc.def.ghi"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("  BEARER   abc  "), Some("abc"));
        assert_eq!(bearer_token("Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token(""), None);
    }
}

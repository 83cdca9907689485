//! Why a token was refused or could not be minted.

/// An authentication failure. Every variant maps to HTTP 401 except [`AuthError::NoAccessKey`]
/// and [`AuthError::Signing`], which are configuration or internal problems.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error(
        "no access token: send \"Authorization: Bearer <token>\" (clients may use ?access_token=<token>) signed with the AccessKey"
    )]
    MissingToken,
    #[error("the access token is malformed ({0}): send a compact HS256 JWT")]
    Malformed(String),
    #[error(
        "the token's signature does not match: sign it with the AccessKey of this Herald's connection string"
    )]
    BadSignature,
    #[error("the token has expired: mint a new one")]
    Expired,
    #[error(
        "the token is not valid yet (its nbf is in the future): check the clock of the machine that minted it"
    )]
    NotYetValid,
    #[error("the token has no valid {0:?} claim: mint it with one")]
    MissingClaim(String),
    #[error(
        "the token's audience {found:?} does not match {expected:?}: mint it for this Herald endpoint"
    )]
    WrongAudience { expected: String, found: String },
    #[error(
        "the token is signed with {0:?}, but only HS256 is accepted: sign it with HS256 and the AccessKey"
    )]
    UnsupportedAlgorithm(String),
    #[error(
        "no AccessKey is configured, so no token can be minted: set connection_string to \"Endpoint=...;AccessKey=<key>;Version=1.0;\""
    )]
    NoAccessKey,
    #[error("could not sign the token: {0}")]
    Signing(String),
}

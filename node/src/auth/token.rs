//! HS256 signing and verification of JWTs, and nothing else (audiences are checked by the
//! caller, which knows what the token is for).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};

use super::{AccessKey, AuthError};

/// Clock skew tolerated on `exp` and `nbf`, between the minting server and Herald.
pub(crate) const LEEWAY: Duration = Duration::from_secs(5);
/// Longest token looked at; anything longer is refused before any decoding work.
pub(crate) const MAX_TOKEN_LEN: usize = 16 * 1024;
/// The only algorithm Azure SignalR Service uses with access keys.
const ALGORITHM: &str = "HS256";

/// The claims of a token.
pub(crate) type Claims = Map<String, Value>;

/// Signs and verifies with one access key.
pub(crate) struct Hs256 {
    /// Signing half of the key, for minted tokens.
    encoding: EncodingKey,
    /// Verifying half of the key.
    decoding: DecodingKey,
    /// HS256 only, `exp` required, `nbf` checked, audience left to the caller.
    validation: Validation,
}

impl Hs256 {
    pub(crate) fn new(key: &AccessKey) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp"]);
        Self {
            encoding: EncodingKey::from_secret(key.secret()),
            decoding: DecodingKey::from_secret(key.secret()),
            validation,
        }
    }

    /// Signs `claims` as a compact HS256 JWT.
    pub(crate) fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AuthError::Signing(e.to_string()))
    }

    /// Checks shape, algorithm, signature, `exp` and `nbf`; returns the claims.
    pub(crate) fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::Malformed(format!(
                "it is longer than {MAX_TOKEN_LEN} bytes"
            )));
        }
        check_algorithm(token)?;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| from_jwt_error(e.into_kind()))
    }
}

/// Seconds since the Unix epoch, as JWT time claims count them.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Reads the header's `alg` before the library does, so `none`, RS256 and friends are
/// reported by name instead of as a generic decoding failure.
fn check_algorithm(token: &str) -> Result<(), AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed(
            "expected three base64url parts separated by '.'".to_owned(),
        ));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|_| AuthError::Malformed("the header is not base64url".to_owned()))?;
    let header: Value = serde_json::from_slice(&bytes)
        .map_err(|_| AuthError::Malformed("the header is not JSON".to_owned()))?;
    match header.get("alg").and_then(Value::as_str) {
        Some(ALGORITHM) => Ok(()),
        Some(other) => Err(AuthError::UnsupportedAlgorithm(other.to_owned())),
        None => Err(AuthError::Malformed(
            "the header has no \"alg\" string".to_owned(),
        )),
    }
}

fn from_jwt_error(kind: ErrorKind) -> AuthError {
    match kind {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::MissingRequiredClaim(claim) => AuthError::MissingClaim(claim),
        ErrorKind::InvalidClaimFormat(claim) => {
            AuthError::Malformed(format!("the {claim:?} claim is not a number of seconds"))
        }
        ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => {
            AuthError::UnsupportedAlgorithm("unknown".to_owned())
        }
        ErrorKind::InvalidToken => {
            AuthError::Malformed("expected three base64url parts separated by '.'".to_owned())
        }
        ErrorKind::Base64(_) => AuthError::Malformed("a part is not base64url".to_owned()),
        ErrorKind::Json(_) => {
            AuthError::Malformed("the header or claims are not a JSON object".to_owned())
        }
        ErrorKind::Utf8(_) => AuthError::Malformed("a part is not UTF-8".to_owned()),
        other => AuthError::Malformed(format!("{other:?}").to_lowercase()),
    }
}

#[cfg(test)]
mod tests;

//! Matching a token's `aud` claim against what the token is used for.
//!
//! Azure SDKs do not agree on one spelling of an audience: newer ones build it from the
//! endpoint's scheme and host only (no port, no path), older ones keep a non-default port,
//! the Management SDK leaves `?api-version=...` on REST audiences, and hub names are
//! sometimes lowercased. So the host is compared case-insensitively, a missing port is
//! accepted, the query of a REST audience is ignored, percent-escapes are decoded and a
//! trailing '/' does not matter. The host is always the configured endpoint's, never the
//! request's Host header, which the caller controls.

use herald_proto::ids::HubName;
use serde_json::Value;
use url::Url;

use super::AuthError;
use super::token::Claims;

/// What a token must have been minted for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target<'a> {
    /// A REST call on this request path (without query), e.g. `/api/v1/hubs/chat`.
    Rest(&'a str),
    /// A client connection to this hub.
    Client(&'a HubName),
}

/// The audience Herald mints for `target` under `base`, and names in errors.
pub(crate) fn expected(base: &Url, target: Target<'_>) -> String {
    let base = base.as_str().trim_end_matches('/');
    match target {
        Target::Rest(path) => format!("{base}{}", request_path(path)),
        Target::Client(hub) => format!("{base}/client/?hub={hub}"),
    }
}

/// Accepts the token when any of its audiences fits `target` under any of `bases`
/// (the endpoint first, then the client endpoint if one is configured).
pub(crate) fn check(claims: &Claims, bases: &[&Url], target: Target<'_>) -> Result<(), AuthError> {
    let audiences: Vec<&str> = match claims.get("aud") {
        None | Some(Value::Null) => return Err(AuthError::MissingClaim("aud".to_owned())),
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(_) => {
            return Err(AuthError::Malformed(
                "the \"aud\" claim is not a string".to_owned(),
            ));
        }
    };
    let fits = audiences
        .iter()
        .any(|aud| bases.iter().any(|base| matches(aud, base, target)));
    if fits {
        return Ok(());
    }
    Err(AuthError::WrongAudience {
        expected: bases
            .first()
            .map(|base| expected(base, target))
            .unwrap_or_default(),
        found: audiences.join(" "),
    })
}

fn matches(aud: &str, base: &Url, target: Target<'_>) -> bool {
    let Ok(aud) = Url::parse(aud) else {
        return false;
    };
    let same_origin = aud.scheme() == base.scheme()
        && aud
            .host_str()
            .zip(base.host_str())
            .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
        && (aud.port().is_none() || aud.port_or_known_default() == base.port_or_known_default());
    if !same_origin {
        return false;
    }
    let aud_path = decoded(aud.path());
    let aud_path = trim_slash(&aud_path);
    let prefix = decoded(base.path());
    let prefix = trim_slash(&prefix);
    // SDKs that build audiences from scheme and host alone drop a path prefix.
    let prefixes: &[&str] = if prefix.is_empty() {
        &[""]
    } else {
        &[prefix, ""]
    };
    prefixes.iter().any(|prefix| {
        let Some(rest) = aud_path.strip_prefix(prefix) else {
            return false;
        };
        match target {
            Target::Rest(path) => rest == trim_slash(&decoded(&request_path(path))),
            Target::Client(hub) => {
                let hub = hub.as_str();
                (rest == "/client"
                    && aud
                        .query_pairs()
                        .any(|(k, v)| k.eq_ignore_ascii_case("hub") && v.eq_ignore_ascii_case(hub)))
                    || rest
                        .strip_prefix("/hubs/")
                        .is_some_and(|h| h.eq_ignore_ascii_case(hub))
            }
        }
    })
}

/// The path part of `path`, with a leading '/' and without query.
fn request_path(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let path = trim_slash(path);
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

fn trim_slash(path: &str) -> &str {
    path.trim_end_matches('/')
}

/// Decodes `%XX` escapes; malformed escapes and non-UTF-8 results are kept as written.
fn decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| path.to_owned())
}

#[cfg(test)]
mod tests;

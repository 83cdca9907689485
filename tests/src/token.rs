//! Azure SignalR Service style JWTs: HS256, signed with the AccessKey's UTF-8 bytes.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Map, Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// Lifetime of the tokens tests mint when they want a valid one.
pub const VALID_FOR_SECONDS: i64 = 3600;

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
        .try_into()
        .expect("seconds fit in i64")
}

/// Signs arbitrary `claims` with HS256 and `key`.
pub fn sign(key: &str, claims: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )
    .expect("HS256 signing cannot fail")
}

/// The claims of a token for `audience`, valid from now for `valid_for` seconds (negative: already
/// expired), optionally naming a user with `nameid`.
pub fn claims(audience: &str, user: Option<&str>, valid_for: i64) -> Value {
    let expires = now() + valid_for;
    // An expired token was issued an hour before it expired; a valid one is issued now.
    let issued = now().min(expires - VALID_FOR_SECONDS);
    let mut map = Map::new();
    map.insert("aud".into(), json!(audience));
    map.insert("iat".into(), json!(issued));
    map.insert("nbf".into(), json!(issued));
    map.insert("exp".into(), json!(expires));
    if let Some(user) = user {
        map.insert("nameid".into(), json!(user));
    }
    Value::Object(map)
}

/// A client token for `hub` on the server at `base_url` (`http://127.0.0.1:<port>`): its
/// audience is `<base_url>/client/?hub=<hub>`, as the Azure management SDK mints it.
pub fn client_token(key: &str, base_url: &str, hub: &str, user: Option<&str>) -> String {
    sign(
        key,
        &claims(&client_audience(base_url, hub), user, VALID_FOR_SECONDS),
    )
}

/// The audience of client tokens for `hub`.
pub fn client_audience(base_url: &str, hub: &str) -> String {
    format!("{base_url}/client/?hub={hub}")
}

/// A REST token whose audience is `url` without its query string.
pub fn rest_token(key: &str, url: &str) -> String {
    sign(key, &claims(strip_query(url), None, VALID_FOR_SECONDS))
}

/// `url` up to (not including) its `?`.
pub fn strip_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(path, _)| path)
}

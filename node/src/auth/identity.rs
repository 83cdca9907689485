//! Who a client is, as its token says.

use serde_json::{Map, Value};

/// Claims that name the user, most specific first: Azure's own, then the short and the
/// long ASP.NET Core spellings of `ClaimTypes.NameIdentifier`, then the JWT standard one.
pub(crate) const USER_ID_CLAIMS: [&str; 4] = [
    "asrs.s.uid",
    "nameid",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier",
    "sub",
];

/// The identity of an authenticated client connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientIdentity {
    /// The user id that `/users/{id}` REST calls address; `None` for anonymous clients.
    pub user_id: Option<String>,
    /// Every claim of the token, for features that read roles or custom claims later;
    /// empty in anonymous mode.
    pub claims: Map<String, Value>,
}

impl ClientIdentity {
    /// The identity a verified token describes.
    pub(crate) fn from_claims(claims: Map<String, Value>) -> Self {
        Self {
            user_id: user_id(&claims),
            claims,
        }
    }
}

/// The first non-empty user id claim; numbers are accepted as their decimal text.
fn user_id(claims: &Map<String, Value>) -> Option<String> {
    USER_ID_CLAIMS
        .iter()
        .find_map(|name| match claims.get(*name)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::ClientIdentity;

    fn identity(claims: Value) -> ClientIdentity {
        let Value::Object(map) = claims else {
            panic!("test claims must be an object")
        };
        ClientIdentity::from_claims(map)
    }

    #[test]
    fn user_id_claims_in_order_of_preference() {
        let long = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier";
        let all = json!({"asrs.s.uid": "a", "nameid": "b", long: "c", "sub": "d"});
        assert_eq!(identity(all).user_id.as_deref(), Some("a"));
        let no_asrs = json!({"nameid": "b", long: "c", "sub": "d"});
        assert_eq!(identity(no_asrs).user_id.as_deref(), Some("b"));
        assert_eq!(
            identity(json!({long: "c", "sub": "d"})).user_id.as_deref(),
            Some("c")
        );
        assert_eq!(identity(json!({"sub": "d"})).user_id.as_deref(), Some("d"));
        assert_eq!(identity(json!({"sub": 42})).user_id.as_deref(), Some("42"));
        assert_eq!(
            identity(json!({"nameid": "", "sub": "d"}))
                .user_id
                .as_deref(),
            Some("d")
        );
        assert_eq!(identity(json!({"role": "admin"})).user_id, None);
        assert_eq!(
            identity(json!({})),
            ClientIdentity {
                user_id: None,
                claims: Map::new()
            }
        );
    }
}

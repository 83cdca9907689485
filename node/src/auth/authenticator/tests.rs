use std::time::Duration;

use herald_proto::ids::HubName;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use url::Url;

use super::{Authenticator, RestCaller};
use crate::auth::token::unix_now;
use crate::auth::{AccessKey, AuthError, ClientIdentity};
use crate::config::Config;

const KEY: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdef=";
const ENDPOINT: &str = "https://x.service.signalr.net";

fn auth() -> Authenticator {
    Authenticator::new(Url::parse(ENDPOINT).unwrap(), AccessKey::new(KEY))
}

fn anonymous() -> Authenticator {
    Authenticator::new(Url::parse(ENDPOINT).unwrap(), None)
}

fn hub(s: &str) -> HubName {
    s.parse().unwrap()
}

/// A token as an Azure SDK or a forger would make it.
fn token(key: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

const REST_PATH: &str = "/api/v1/hubs/chat/users/u1";
const REST_AUD: &str = "https://x.service.signalr.net/api/v1/hubs/chat/users/u1";

#[test]
fn rest_token_accepted() {
    let t = token(
        KEY,
        json!({"aud": REST_AUD, "exp": unix_now() + 60, "iat": unix_now()}),
    );
    let caller = auth().verify_rest(Some(&bearer(&t)), REST_PATH).unwrap();
    assert!(!caller.anonymous);
    assert_eq!(caller.claims.get("aud"), Some(&json!(REST_AUD)));
}

#[test]
fn rest_token_failures() {
    let now = unix_now();
    let a = auth();
    let expired = token(KEY, json!({"aud": REST_AUD, "exp": now - 60}));
    assert_eq!(
        a.verify_rest(Some(&bearer(&expired)), REST_PATH),
        Err(AuthError::Expired)
    );

    let other_path = token(KEY, json!({"aud": REST_AUD, "exp": now + 60}));
    let err = a
        .verify_rest(Some(&bearer(&other_path)), "/api/v1/hubs/chat")
        .unwrap_err();
    assert_eq!(
        err,
        AuthError::WrongAudience {
            expected: "https://x.service.signalr.net/api/v1/hubs/chat".to_owned(),
            found: REST_AUD.to_owned(),
        }
    );

    let forged = token("not-the-key", json!({"aud": REST_AUD, "exp": now + 60}));
    assert_eq!(
        a.verify_rest(Some(&bearer(&forged)), REST_PATH),
        Err(AuthError::BadSignature)
    );

    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none"})),
        b64(&json!({"aud": REST_AUD, "exp": now + 60}))
    );
    assert_eq!(
        a.verify_rest(Some(&bearer(&none)), REST_PATH),
        Err(AuthError::UnsupportedAlgorithm("none".to_owned()))
    );

    assert!(matches!(
        a.verify_rest(Some("Bearer not.a.jwt"), REST_PATH),
        Err(AuthError::Malformed(_))
    ));
    assert!(matches!(
        a.verify_rest(Some("Basic dTpw"), REST_PATH),
        Err(AuthError::Malformed(_))
    ));
    assert_eq!(a.verify_rest(None, REST_PATH), Err(AuthError::MissingToken));
    assert_eq!(
        a.verify_rest(Some("  "), REST_PATH),
        Err(AuthError::MissingToken)
    );
}

fn b64(value: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

#[test]
fn management_sdk_style_rest_audience() {
    // Newer Azure SDKs: no port, lowercase hub, api-version left in the audience.
    let a = Authenticator::new(
        Url::parse("http://localhost:8080").unwrap(),
        AccessKey::new(KEY),
    );
    let aud = "http://localhost/api/hubs/chat/:send?api-version=2022-06-01";
    let t = token(KEY, json!({"aud": aud, "exp": unix_now() + 60}));
    assert!(
        a.verify_rest(
            Some(&bearer(&t)),
            "/api/hubs/chat/:send?api-version=2022-06-01"
        )
        .is_ok()
    );
}

#[test]
fn client_user_id_claims() {
    let a = auth();
    let aud = "https://x.service.signalr.net/client/?hub=chat";
    let exp = unix_now() + 60;
    let long = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier";
    let cases = [
        (
            json!({"aud": aud, "exp": exp, "asrs.s.uid": "u1", "nameid": "x", "sub": "y"}),
            Some("u1"),
        ),
        (
            json!({"aud": aud, "exp": exp, "nameid": "u2", long: "x", "sub": "y"}),
            Some("u2"),
        ),
        (
            json!({"aud": aud, "exp": exp, long: "u3", "sub": "y"}),
            Some("u3"),
        ),
        (json!({"aud": aud, "exp": exp, "sub": "u4"}), Some("u4")),
        (json!({"aud": aud, "exp": exp}), None),
    ];
    for (claims, user) in cases {
        let identity = a
            .verify_client(Some(&token(KEY, claims.clone())), &hub("Chat"))
            .unwrap();
        assert_eq!(identity.user_id.as_deref(), user, "{claims}");
        assert_eq!(identity.claims.get("exp"), Some(&json!(exp)));
    }
}

#[test]
fn client_token_failures() {
    let a = auth();
    let exp = unix_now() + 60;
    let t = token(
        KEY,
        json!({"aud": "https://x.service.signalr.net/client/?hub=chat", "exp": exp}),
    );
    let err = a.verify_client(Some(&t), &hub("news")).unwrap_err();
    assert!(matches!(err, AuthError::WrongAudience { .. }));
    assert!(
        err.to_string()
            .contains("\"https://x.service.signalr.net/client/?hub=news\""),
        "{err}"
    );
    assert_eq!(
        a.verify_client(None, &hub("chat")),
        Err(AuthError::MissingToken)
    );
    assert_eq!(
        a.verify_client(Some(""), &hub("chat")),
        Err(AuthError::MissingToken)
    );
    let forged = token(
        "guess",
        json!({"aud": "https://x.service.signalr.net/hubs/chat", "exp": exp}),
    );
    assert_eq!(
        a.verify_client(Some(&forged), &hub("chat")),
        Err(AuthError::BadSignature)
    );
    // A REST token is not a client token.
    let rest = token(
        KEY,
        json!({"aud": "https://x.service.signalr.net/api/v1/hubs/chat", "exp": exp}),
    );
    assert!(matches!(
        a.verify_client(Some(&rest), &hub("chat")),
        Err(AuthError::WrongAudience { .. })
    ));
}

#[test]
fn minted_tokens_verify() {
    let a = auth();
    let ttl = Duration::from_secs(60);
    let client = a
        .mint_client_token(Some("alice"), &hub("chat"), ttl)
        .unwrap();
    let identity = a.verify_client(Some(&client), &hub("chat")).unwrap();
    assert_eq!(identity.user_id.as_deref(), Some("alice"));
    assert_eq!(
        identity.claims.get("aud"),
        Some(&json!("https://x.service.signalr.net/client/?hub=chat"))
    );
    let exp = identity.claims.get("exp").and_then(Value::as_u64).unwrap();
    let iat = identity.claims.get("iat").and_then(Value::as_u64).unwrap();
    assert_eq!(exp - iat, 60);

    let nobody = a.mint_client_token(None, &hub("chat"), ttl).unwrap();
    assert_eq!(
        a.verify_client(Some(&nobody), &hub("chat"))
            .unwrap()
            .user_id,
        None
    );

    let rest = a.mint_rest_token("/api/v1/hubs/chat/:send", ttl).unwrap();
    assert!(
        a.verify_rest(Some(&bearer(&rest)), "/api/v1/hubs/chat/:send")
            .is_ok()
    );
    assert!(
        a.verify_rest(Some(&bearer(&rest)), "/api/v1/hubs/chat")
            .is_err()
    );
    // Tokens from another key do not verify here.
    let other = Authenticator::new(Url::parse(ENDPOINT).unwrap(), AccessKey::new("other"));
    assert_eq!(
        other.verify_client(Some(&client), &hub("chat")),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn client_endpoint_from_config_is_minted_for_and_accepted() {
    let vars = vec![(
        "HERALD_CONNECTION_STRING".to_owned(),
        format!(
            "Endpoint=http://10.0.0.5;Port=8080;ClientEndpoint=https://push.example.com;AccessKey={KEY}"
        ),
    )];
    let config = Config::load(None, vars).unwrap();
    let a = Authenticator::from_config(&config);
    assert!(!a.is_anonymous());
    assert_eq!(a.endpoint().as_str(), "http://10.0.0.5:8080/");
    let t = a
        .mint_client_token(Some("bob"), &hub("chat"), Duration::from_secs(30))
        .unwrap();
    let identity = a.verify_client(Some(&t), &hub("chat")).unwrap();
    assert_eq!(
        identity.claims.get("aud"),
        Some(&json!("https://push.example.com/client/?hub=chat"))
    );
    let direct = token(
        KEY,
        json!({"aud": "http://10.0.0.5:8080/client/?hub=chat", "exp": unix_now() + 60}),
    );
    assert!(a.verify_client(Some(&direct), &hub("chat")).is_ok());
    let rest = a
        .mint_rest_token("/api/v1/hubs/chat", Duration::from_secs(30))
        .unwrap();
    assert!(
        a.verify_rest(Some(&bearer(&rest)), "/api/v1/hubs/chat")
            .is_ok()
    );
}

#[test]
fn anonymous_mode_checks_nothing_and_mints_nothing() {
    let a = anonymous();
    assert!(a.is_anonymous());
    assert!(Authenticator::from_config(&Config::default()).is_anonymous());
    assert_eq!(
        a.verify_rest(None, "/api/v1/hubs/chat"),
        Ok(RestCaller {
            anonymous: true,
            claims: serde_json::Map::new()
        })
    );
    assert_eq!(
        a.verify_rest(Some("Bearer garbage"), "/x")
            .map(|c| c.anonymous),
        Ok(true)
    );
    let t = token("whatever", json!({"aud": "x", "exp": 1, "sub": "mallory"}));
    assert_eq!(
        a.verify_client(Some(&t), &hub("chat")),
        Ok(ClientIdentity::default())
    );
    assert_eq!(
        a.verify_client(None, &hub("chat")),
        Ok(ClientIdentity::default())
    );
    assert_eq!(
        a.mint_client_token(Some("u"), &hub("chat"), Duration::from_secs(1)),
        Err(AuthError::NoAccessKey)
    );
    assert_eq!(
        a.mint_rest_token("/api", Duration::from_secs(1)),
        Err(AuthError::NoAccessKey)
    );
}

#[test]
fn debug_does_not_leak_the_key() {
    let shown = format!("{:?}", auth());
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("anonymous: false"), "{shown}");
}

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::{Hs256, MAX_TOKEN_LEN, unix_now};
use crate::auth::{AccessKey, AuthError};

fn hs(key: &str) -> Hs256 {
    Hs256::new(&AccessKey::new(key).unwrap())
}

fn claims(value: Value) -> super::Claims {
    match value {
        Value::Object(map) => map,
        other => panic!("claims must be an object, got {other}"),
    }
}

/// A token with any header, signed (or not) by hand.
fn raw_token(header: &Value, payload: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    )
}

#[test]
fn signs_and_verifies() {
    let now = unix_now();
    let token = hs("key")
        .sign(&claims(json!({"exp": now + 60, "x": 1})))
        .unwrap();
    let verified = hs("key").verify(&token).unwrap();
    assert_eq!(verified.get("x"), Some(&json!(1)));
}

#[test]
fn another_key_is_a_bad_signature() {
    let token = hs("key")
        .sign(&claims(json!({"exp": unix_now() + 60})))
        .unwrap();
    assert_eq!(hs("other").verify(&token), Err(AuthError::BadSignature));
    // Flip a character inside the signature (the last one carries padding bits only).
    let at = token.len() - 10;
    let flipped = if &token[at..=at] == "A" { "B" } else { "A" };
    let tampered = format!("{}{flipped}{}", &token[..at], &token[at + 1..]);
    assert_eq!(hs("key").verify(&tampered), Err(AuthError::BadSignature));
}

#[test]
fn expiry_allows_five_seconds_of_skew() {
    let now = unix_now();
    let key = hs("key");
    let just_expired = key.sign(&claims(json!({"exp": now - 2}))).unwrap();
    assert!(key.verify(&just_expired).is_ok());
    let expired = key.sign(&claims(json!({"exp": now - 30}))).unwrap();
    assert_eq!(key.verify(&expired), Err(AuthError::Expired));
    let early = key
        .sign(&claims(json!({"exp": now + 600, "nbf": now + 2})))
        .unwrap();
    assert!(key.verify(&early).is_ok());
    let future = key
        .sign(&claims(json!({"exp": now + 600, "nbf": now + 60})))
        .unwrap();
    assert_eq!(key.verify(&future), Err(AuthError::NotYetValid));
}

#[test]
fn exp_is_required_and_numeric() {
    let key = hs("key");
    let no_exp = key.sign(&claims(json!({"iat": unix_now()}))).unwrap();
    assert_eq!(
        key.verify(&no_exp),
        Err(AuthError::MissingClaim("exp".to_owned()))
    );
    let text_exp = key.sign(&claims(json!({"exp": "tomorrow"}))).unwrap();
    // The library treats an unreadable exp as a missing one.
    assert!(matches!(
        key.verify(&text_exp),
        Err(AuthError::Malformed(_) | AuthError::MissingClaim(_))
    ));
}

#[test]
fn only_hs256_is_accepted() {
    let payload = json!({"exp": unix_now() + 60});
    let none = raw_token(&json!({"alg": "none", "typ": "JWT"}), &payload, "");
    assert_eq!(
        hs("key").verify(&none),
        Err(AuthError::UnsupportedAlgorithm("none".to_owned()))
    );
    let rs = raw_token(&json!({"alg": "RS256"}), &payload, "c2ln");
    assert_eq!(
        hs("key").verify(&rs),
        Err(AuthError::UnsupportedAlgorithm("RS256".to_owned()))
    );
    let hs512 = raw_token(&json!({"alg": "HS512"}), &payload, "c2ln");
    assert!(matches!(
        hs("key").verify(&hs512),
        Err(AuthError::UnsupportedAlgorithm(_))
    ));
    let no_alg = raw_token(&json!({"typ": "JWT"}), &payload, "c2ln");
    assert!(matches!(
        hs("key").verify(&no_alg),
        Err(AuthError::Malformed(_))
    ));
}

#[test]
fn malformed_tokens_are_refused_without_panicking() {
    let key = hs("key");
    for token in [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.b.c",
        "e30.e30.e30",
        "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln",
        "eyJhbGciOiJIUzI1NiJ9.W10.c2ln",
    ] {
        let result = key.verify(token);
        assert!(
            matches!(
                result,
                Err(AuthError::Malformed(_) | AuthError::BadSignature)
            ),
            "{token}: {result:?}"
        );
    }
    let huge = "a".repeat(MAX_TOKEN_LEN + 1);
    assert!(matches!(key.verify(&huge), Err(AuthError::Malformed(_))));
}

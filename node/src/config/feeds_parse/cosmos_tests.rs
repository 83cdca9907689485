//! `source = { kind = "cosmos", ... }`: every accepted shape, and every refusal with its exact
//! key and what to write instead.

use std::time::Duration;

use crate::config::feeds_tests::invalid_key;
use crate::config::tests::from_toml;
use crate::config::{CosmosAccount, CosmosAuth, DEFAULT_COSMOS_POLL_DELAY, FeedSource};

const ENDPOINT: &str = "https://acct.documents.azure.com:443/";

/// A feed whose source is `{ kind = "cosmos", database = "d", container = "c", <fields> }`.
fn cosmos_feed(fields: &str) -> String {
    let sep = if fields.is_empty() { "" } else { ", " };
    format!(
        "[[feeds]]\nname = \"f\"\nsource = {{ kind = \"cosmos\", database = \"d\", container = \"c\"{sep}{fields} }}\nhub = \"h\"\ntarget = \"t\"\nto = \"all\"\n"
    )
}

fn source(fields: &str) -> FeedSource {
    let config = from_toml(&cosmos_feed(fields)).unwrap();
    config.feeds[0].source.clone()
}

fn account(fields: &str) -> CosmosAccount {
    match source(fields) {
        FeedSource::Cosmos { account, .. } => account,
        other => panic!("a cosmos source: {other:?}"),
    }
}

#[test]
fn no_endpoint_is_the_embedded_account_with_the_default_poll_delay() {
    assert_eq!(
        source(""),
        FeedSource::Cosmos {
            database: "d".to_owned(),
            container: "c".to_owned(),
            account: CosmosAccount::Embedded,
            poll_delay: DEFAULT_COSMOS_POLL_DELAY,
        }
    );
    assert_eq!(DEFAULT_COSMOS_POLL_DELAY, Duration::from_secs(1));
    let FeedSource::Cosmos { poll_delay, .. } = source("poll_delay = \"250ms\"") else {
        panic!("a cosmos source");
    };
    assert_eq!(poll_delay, Duration::from_millis(250));
}

#[test]
fn every_auth_kind_is_read() {
    let CosmosAccount::Remote { endpoint, auth } = account(&format!(
        "endpoint = \"{ENDPOINT}\", key = \"c2VjcmV0a2V5\""
    )) else {
        panic!("a remote account");
    };
    assert_eq!(endpoint.host_str(), Some("acct.documents.azure.com"));
    let CosmosAuth::Key(key) = &auth else {
        panic!("key auth without auth = ...: {auth:?}");
    };
    assert_eq!(key.expose(), "c2VjcmV0a2V5");
    assert!(!format!("{auth:?}").contains("c2VjcmV0a2V5"), "{auth:?}");
    let local = account("endpoint = \"http://localhost:8081/\", key = \"a2V5\"");
    assert!(
        matches!(&local, CosmosAccount::Remote { endpoint, .. } if endpoint.port() == Some(8081)),
        "a local emulator may use http: {local:?}"
    );

    let cases = [
        (
            "auth = \"workload-identity\"",
            CosmosAuth::WorkloadIdentity { client_id: None },
        ),
        (
            "auth = \"workload-identity\", client_id = \"11111111-2222-3333-4444-555555555555\"",
            CosmosAuth::WorkloadIdentity {
                client_id: Some("11111111-2222-3333-4444-555555555555".to_owned()),
            },
        ),
        (
            "auth = \"managed-identity\"",
            CosmosAuth::ManagedIdentity { client_id: None },
        ),
        (
            "auth = \"managed-identity\", client_id = \"abc\"",
            CosmosAuth::ManagedIdentity {
                client_id: Some("abc".to_owned()),
            },
        ),
        ("auth = \"developer\"", CosmosAuth::Developer),
    ];
    for (fields, expected) in cases {
        let CosmosAccount::Remote { auth, .. } =
            account(&format!("endpoint = \"{ENDPOINT}\", {fields}"))
        else {
            panic!("a remote account for {fields}");
        };
        assert_eq!(auth, expected, "{fields}");
    }
}

#[test]
fn the_summary_shows_the_account_but_never_the_key() {
    let text = cosmos_feed(&format!(
        "endpoint = \"{ENDPOINT}\", key = \"c2VjcmV0a2V5\", poll_delay = \"2s\""
    ));
    let summary = from_toml(&text).unwrap().summary();
    let line = "feeds[0].source = cosmos d/c at https://acct.documents.azure.com/ (auth key), poll_delay 2s";
    assert!(summary.lines().any(|l| l == line), "{line} in {summary}");
    assert!(!summary.contains("c2VjcmV0a2V5"), "{summary}");
    let summary = from_toml(&cosmos_feed("")).unwrap().summary();
    assert!(
        summary.lines().any(|l| l == "feeds[0].source = cosmos d/c"),
        "{summary}"
    );
}

#[test]
fn each_bad_cosmos_value_names_its_key() {
    let remote = |fields: &str| format!("endpoint = \"{ENDPOINT}\", {fields}");
    let cases: Vec<(String, &str, &str)> = vec![
        (
            "endpoint = \"acct.documents.azure.com\"".to_owned(),
            "feeds[0].source.endpoint",
            "expected the account's https URI",
        ),
        (
            "endpoint = \"ftp://acct/\", key = \"k\"".to_owned(),
            "feeds[0].source.endpoint",
            "expected the account's https URI",
        ),
        (
            "endpoint = \"http://acct.documents.azure.com/\", key = \"k\"".to_owned(),
            "feeds[0].source.endpoint",
            "http only for a local emulator",
        ),
        (
            "key = \"k\"".to_owned(),
            "feeds[0].source.key",
            "has no effect without endpoint",
        ),
        (
            "auth = \"developer\"".to_owned(),
            "feeds[0].source.auth",
            "add endpoint = ",
        ),
        (
            "client_id = \"x\"".to_owned(),
            "feeds[0].source.client_id",
            "has no effect without endpoint",
        ),
        (
            format!("endpoint = \"{ENDPOINT}\""),
            "feeds[0].source.auth",
            "missing: say how to sign in",
        ),
        (
            remote("auth = \"password\""),
            "feeds[0].source.auth",
            "expected \"key\" (with key = ...), \"workload-identity\"",
        ),
        (
            remote("auth = \"key\""),
            "feeds[0].source.key",
            "missing: auth = \"key\" needs key = ",
        ),
        (
            remote("key = \"a b\""),
            "feeds[0].source.key",
            "without spaces",
        ),
        (
            remote("auth = \"developer\", key = \"k\""),
            "feeds[0].source.key",
            "is only used with auth = \"key\"",
        ),
        (
            remote("key = \"k\", client_id = \"x\""),
            "feeds[0].source.client_id",
            "is only used with auth = \"workload-identity\"",
        ),
        (
            remote("auth = \"managed-identity\", client_id = \"\""),
            "feeds[0].source.client_id",
            "expected the identity's client id",
        ),
        (
            "poll_delay = \"10ms\"".to_owned(),
            "feeds[0].source.poll_delay",
            "expected a duration from 100ms to 5m",
        ),
        (
            "poll_delay = \"soon\"".to_owned(),
            "feeds[0].source.poll_delay",
            "expected a duration",
        ),
        (
            "poll_delay = 1".to_owned(),
            "feeds[0].source",
            "invalid type",
        ),
        (
            "endpont = \"x\"".to_owned(),
            "feeds[0].source",
            "unknown field `endpont`",
        ),
        (
            "partitions = 4".to_owned(),
            "feeds[0].source",
            "unknown field `partitions`",
        ),
    ];
    for (fields, expected_key, hint) in cases {
        let (key, message) = invalid_key(&cosmos_feed(&fields));
        assert_eq!(key, expected_key, "{fields}: {message}");
        assert!(message.contains(hint), "{fields}: {message}");
        assert!(!message.contains('\n'), "{message}");
        assert!(!message.contains("c2VjcmV0a2V5"), "{message}");
    }
    let (key, message) = invalid_key(&cosmos_feed("").replace(
        "kind = \"cosmos\"",
        "kind = \"redis-stream\", partitions = 2",
    ));
    assert_eq!(key, "feeds[0].source", "{message}");
}

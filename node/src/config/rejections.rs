//! Refused configurations: every error names the key, variable or file, and the expected form.

use super::tests::{env, error_text, from_env, from_toml};
use super::{Config, ConfigError};

#[test]
fn unknown_toml_keys_are_named() {
    let text = error_text(from_toml("[client]\nkeep_alive_interval = \"5s\""));
    assert!(
        text.starts_with("unknown config key \"client.keep_alive_interval\" in the given TOML"),
        "{text}"
    );
    let text = error_text(from_toml("lisen = \"127.0.0.1:1\""));
    assert_eq!(
        text,
        "unknown config key \"lisen\" in the given TOML (did you mean listen?)"
    );
    let text = error_text(from_toml("[kafka]\nbrokers = \"k:9092\""));
    assert!(text.starts_with("unknown config key \"kafka\""), "{text}");
    let text = error_text(from_toml("client = 5"));
    assert!(
        text.starts_with("config key client: expected a table [client], got 5"),
        "{text}"
    );
}

#[test]
fn files_are_named_in_errors() {
    let dir = std::env::temp_dir().join(format!("herald-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("herald.toml");
    std::fs::write(&path, "[client]\nkeep_alive_interval = \"5s\"\n").unwrap();
    let text = error_text(Config::load(Some(&path), env(&[])));
    let expected = format!(
        "unknown config key \"client.keep_alive_interval\" in {}",
        path.display()
    );
    assert!(text.starts_with(&expected), "{text}");
    std::fs::write(&path, "listen = \"0.0.0.0:1234\"\n").unwrap();
    assert_eq!(
        Config::load(Some(&path), env(&[])).unwrap().listen.port(),
        1234
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let err = Config::load(Some(&path), env(&[])).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(
        err.to_string().starts_with("cannot read config file"),
        "{err}"
    );
}

#[test]
fn toml_syntax_errors_give_a_position() {
    let text = error_text(from_toml("listen = \"a\"\n[client\n"));
    assert!(
        text.starts_with("invalid TOML in the given TOML: line 2, column"),
        "{text}"
    );
    assert!(!text.contains('\n'), "{text}");
}

#[test]
fn unknown_env_vars_are_named() {
    let text = error_text(from_env(&[("HERALD_LISTNE", "127.0.0.1:1")]));
    assert_eq!(
        text,
        "unknown environment variable HERALD_LISTNE (did you mean HERALD_LISTEN?)"
    );
    let text = error_text(from_env(&[("HERALD_KAFKA_BROKERS", "x")]));
    assert!(
        text.starts_with("unknown environment variable HERALD_KAFKA_BROKERS: remove it"),
        "{text}"
    );
}

#[test]
fn bad_values_name_key_and_expected_form() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "HERALD_CLIENT_MAX_MESSAGE_SIZE",
            "abc",
            "config key client.max_message_size: expected a whole number of bytes between 1024 and 16777216, got \"abc\" (from HERALD_CLIENT_MAX_MESSAGE_SIZE)",
        ),
        (
            "HERALD_CLIENT_MAX_MESSAGE_SIZE",
            "1023",
            "between 1024 and 16777216, got \"1023\"",
        ),
        (
            "HERALD_CLIENT_MAX_MESSAGE_SIZE",
            "16777217",
            "got \"16777217\"",
        ),
        (
            "HERALD_CLIENT_TIMEOUT",
            "soon",
            "config key client.timeout: expected a duration such as \"15s\"",
        ),
        (
            "HERALD_CLIENT_TIMEOUT",
            "0s",
            "config key client.timeout: expected a duration",
        ),
        (
            "HERALD_AUTH_TOKEN_TTL",
            "400days",
            "config key auth.token_ttl: expected a duration",
        ),
        (
            "HERALD_LISTEN",
            "localhost:80",
            "config key listen: expected an address such as",
        ),
        (
            "HERALD_AUTH_ALLOW_ANONYMOUS",
            "yes please",
            "config key auth.allow_anonymous: expected true or false, got \"yes please\"",
        ),
        (
            "HERALD_CLIENT_OUTBOUND_QUEUE",
            "15",
            "config key client.outbound_queue: expected a whole number between 16 and",
        ),
        (
            "HERALD_CLIENT_TRANSPORTS",
            "",
            "config key client.transports: expected a non-empty list",
        ),
        (
            "HERALD_CLIENT_TRANSPORTS",
            "WebSockets,Carrier",
            "got \"Carrier\"",
        ),
        (
            "HERALD_CLIENT_TRANSPORTS",
            "websockets,WebSockets",
            "config key client.transports: lists transport \"WebSockets\" twice",
        ),
        (
            "HERALD_HUBS",
            "chat,chat-room",
            "config key hubs: expected a list of hub names",
        ),
        (
            "HERALD_HUBS",
            "chat,chat",
            "config key hubs: lists hub \"chat\" twice",
        ),
        (
            "HERALD_NODE_ID",
            "Node_1",
            "config key node_id: expected 1-63 lowercase letters",
        ),
        (
            "HERALD_LOG_FORMAT",
            "xml",
            "config key log.format: expected \"text\" or \"json\", got \"xml\"",
        ),
        (
            "HERALD_LOG_LEVEL",
            "herald=loud",
            "config key log.level: expected a tracing filter",
        ),
        (
            "HERALD_REST_MAX_BODY_SIZE",
            "-1",
            "config key rest.max_body_size: expected a whole number of bytes",
        ),
    ];
    for (var, value, expected) in cases {
        let text = error_text(from_env(&[(var, value)]));
        assert!(text.contains(expected), "{var}={value}: {text}");
    }
}

#[test]
fn bad_toml_values_name_key_and_file() {
    let text = error_text(from_toml("[client]\nkeep_alive = 15"));
    assert!(
        text.starts_with("config key client.keep_alive: expected a duration"),
        "{text}"
    );
    assert!(text.ends_with("got 15 (in the given TOML)"), "{text}");
    let text = error_text(from_toml("[auth]\nallow_anonymous = \"true\""));
    assert!(
        text.contains("expected true or false, got \"true\""),
        "{text}"
    );
    let text = error_text(from_toml("hubs = \"chat\""));
    assert!(
        text.contains("config key hubs: expected a list of hub names"),
        "{text}"
    );
    let text = error_text(from_toml("[client]\nmax_message_size = -5"));
    assert!(text.contains("got -5"), "{text}");
}

#[test]
fn cross_field_validation() {
    let text = error_text(from_env(&[("HERALD_CLIENT_KEEP_ALIVE", "30s")]));
    assert!(
        text.starts_with(
            "config key client.keep_alive: must be shorter than client.timeout, got 30s against 30s"
        ),
        "{text}"
    );
    let text = error_text(from_env(&[("HERALD_ADMIN_LISTEN", "127.0.0.1:8080")]));
    assert!(
        text.starts_with("config key admin_listen: must differ from listen"),
        "{text}"
    );
    let both_ephemeral = from_env(&[
        ("HERALD_LISTEN", "127.0.0.1:0"),
        ("HERALD_ADMIN_LISTEN", "127.0.0.1:0"),
    ]);
    assert!(both_ephemeral.is_ok());
}

#[test]
fn upstream_errors_name_the_key_and_hide_the_url() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "HERALD_UPSTREAM_URL_TEMPLATE",
            "https://fn.example/api/{hub}/{method}?code=s3cret",
            "config key upstream.url_template: unknown placeholder {method}: use only {hub}, {category} and {event}",
        ),
        (
            "HERALD_UPSTREAM_URL_TEMPLATE",
            "https://fn.example/api?code={@Microsoft.KeyVault(SecretUri=https://v/s3cret)}",
            "config key upstream.url_template: Key Vault references ({@Microsoft.KeyVault(...)}) are not supported",
        ),
        (
            "HERALD_UPSTREAM_URL_TEMPLATE",
            "https://fn.example/api/{hub?code=s3cret",
            "config key upstream.url_template: unbalanced '{' or '}' at byte 23",
        ),
        (
            "HERALD_UPSTREAM_URL_TEMPLATE",
            "fn.example/api/{hub}?code=s3cret",
            "config key upstream.url_template: not an absolute http:// or https:// URL",
        ),
        (
            "HERALD_UPSTREAM_URL_TEMPLATE",
            "ws://fn.example/{hub}?code=s3cret",
            "the scheme is \"ws\"",
        ),
        (
            "HERALD_UPSTREAM_TIMEOUT",
            "0s",
            "config key upstream.timeout: expected a duration",
        ),
        (
            "HERALD_UPSTREAM_EVENTS",
            "connected,message",
            "config key upstream.events: expected a list of \"connected\" and \"disconnected\" (may be empty), got \"message\"",
        ),
        (
            "HERALD_UPSTREAM_EVENTS",
            "connected,Connected",
            "config key upstream.events: lists event \"connected\" twice",
        ),
    ];
    for (var, value, expected) in cases {
        let text = error_text(from_env(&[(var, value)]));
        assert!(text.contains(expected), "{var}={value}: {text}");
        assert!(!text.contains("s3cret"), "{var}={value}: {text}");
        assert!(text.ends_with(&format!("(from {var})")), "{text}");
    }
    let text = error_text(from_toml("[upstream]\nurl_template = 5"));
    assert!(
        text.starts_with("config key upstream.url_template: expected a string"),
        "{text}"
    );
    let text = error_text(from_toml("[upstream]\nevents = \"connected\""));
    assert!(
        text.contains("config key upstream.events: expected a list"),
        "{text}"
    );
    let text = error_text(from_toml("[upstream]\nurl = \"http://h\""));
    assert!(
        text.starts_with("unknown config key \"upstream.url\" in the given TOML"),
        "{text}"
    );
}

#[test]
fn connection_string_errors_name_the_key_and_hide_the_secret() {
    let text = error_text(from_env(&[(
        "HERALD_CONNECTION_STRING",
        "AccessKey=sup3rs3cret;Version=1.0",
    )]));
    assert!(
        text.starts_with("config key connection_string: connection string: missing Endpoint="),
        "{text}"
    );
    assert!(!text.contains("sup3rs3cret"), "{text}");
    let text = error_text(from_toml("connection_string = 5"));
    assert!(
        text.starts_with("config key connection_string: expected a string"),
        "{text}"
    );
}

use super::{ConnectionString, ConnectionStringError};

fn parse(s: &str) -> Result<ConnectionString, ConnectionStringError> {
    s.parse()
}

#[test]
fn parses_the_azure_portal_form() {
    let cs =
        parse("Endpoint=https://x.service.signalr.net;AccessKey=abc+/def==;Version=1.0;").unwrap();
    assert_eq!(cs.endpoint.as_str(), "https://x.service.signalr.net/");
    assert_eq!(cs.access_key().unwrap().secret(), b"abc+/def==");
    assert_eq!(cs.version, "1.0");
    assert!(cs.client_endpoint.is_none());
}

#[test]
fn keys_are_case_insensitive_in_any_order_without_trailing_semicolon() {
    let cs = parse(" accesskey = k1 ; VERSION=1.0;endpoint=http://localhost").unwrap();
    assert_eq!(cs.endpoint.as_str(), "http://localhost/");
    assert_eq!(cs.access_key().unwrap().secret(), b"k1");
}

#[test]
fn version_defaults_and_access_key_is_optional() {
    let cs = parse("Endpoint=http://herald.local").unwrap();
    assert_eq!(cs.version, "1.0");
    assert!(cs.access_key().is_none());
}

#[test]
fn port_replaces_the_endpoint_port() {
    let cs = parse("Endpoint=http://localhost:7000;Port=8080;AccessKey=k;Version=1.0").unwrap();
    assert_eq!(cs.endpoint.as_str(), "http://localhost:8080/");
    let cs = parse("Endpoint=https://h;Port=8443;AccessKey=k").unwrap();
    assert_eq!(cs.endpoint.port(), Some(8443));
}

#[test]
fn bad_port_is_named() {
    for port in ["0", "65536", "abc", ""] {
        let err = parse(&format!("Endpoint=http://h;Port={port}")).unwrap_err();
        assert_eq!(err, ConnectionStringError::BadPort(port.to_owned()));
        assert!(
            err.to_string()
                .contains("Port must be a number between 1 and 65535")
        );
    }
}

#[test]
fn client_and_server_endpoints() {
    let cs = parse(
        "Endpoint=http://10.0.0.1:8080;ClientEndpoint=https://push.example.com;ServerEndpoint=http://internal:8080;AccessKey=k",
    )
    .unwrap();
    assert_eq!(
        cs.client_endpoint.as_ref().map(|u| u.as_str()),
        Some("https://push.example.com/")
    );
    let err = parse("Endpoint=http://h;ServerEndpoint=ftp://x").unwrap_err();
    assert!(matches!(
        err,
        ConnectionStringError::BadUrl {
            key: "ServerEndpoint",
            ..
        }
    ));
}

#[test]
fn missing_endpoint_is_named() {
    for s in ["AccessKey=k;Version=1.0;", "", "Endpoint=;AccessKey=k"] {
        let err = parse(s).unwrap_err();
        assert_eq!(err, ConnectionStringError::MissingEndpoint);
        assert!(
            err.to_string()
                .starts_with("connection string: missing Endpoint=")
        );
    }
}

#[test]
fn bad_urls_are_named() {
    for endpoint in [
        "not a url",
        "ftp://h",
        "https://h/?x=1",
        "https://user:pw@h",
        "http://",
    ] {
        let err = parse(&format!("Endpoint={endpoint};AccessKey=k")).unwrap_err();
        assert!(
            matches!(
                err,
                ConnectionStringError::BadUrl {
                    key: "Endpoint",
                    ..
                }
            ),
            "{endpoint}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.starts_with("connection string: Endpoint must be"),
            "{text}"
        );
        assert!(!text.contains("pw"), "{text}");
    }
}

#[test]
fn malformed_parts_duplicates_and_empty_keys() {
    let err = parse("Endpoint=http://h;AccessKeyabc").unwrap_err();
    assert_eq!(err, ConnectionStringError::NotKeyValue(2));
    assert!(!err.to_string().contains("abc"));
    let err = parse("Endpoint=http://h;endpoint=http://g").unwrap_err();
    assert_eq!(err, ConnectionStringError::Duplicate("Endpoint".to_owned()));
    let err = parse("Endpoint=http://h;AccessKey=").unwrap_err();
    assert_eq!(err, ConnectionStringError::EmptyAccessKey);
}

#[test]
fn entra_id_auth_is_refused_rather_than_silently_open() {
    let err = parse("Endpoint=https://h;AuthType=azure.msi;ClientId=123").unwrap_err();
    assert_eq!(
        err,
        ConnectionStringError::UnsupportedAuthType("azure.msi".to_owned())
    );
}

#[test]
fn unknown_keys_are_ignored() {
    assert!(parse("Endpoint=https://h;AccessKey=k;TenantId=t;Whatever=1").is_ok());
}

#[test]
fn debug_and_display_redact_the_key() {
    let cs = parse(
        "Endpoint=https://h:8443/base;AccessKey=topsecret;Version=1.0;ClientEndpoint=https://c",
    )
    .unwrap();
    let shown = cs.to_string();
    assert_eq!(
        shown,
        "Endpoint=https://h:8443/base;ClientEndpoint=https://c;AccessKey=<redacted>;Version=1.0;"
    );
    let debug = format!("{cs:?}");
    assert!(!debug.contains("topsecret"), "{debug}");
    assert!(debug.contains("AccessKey(<redacted>)"), "{debug}");
}

//! The `[admin]` table: the token (literal, `env:NAME`, redacted) and the advertised URL.

use super::Config;
use super::tests::{error_text, from_env, from_toml};

#[test]
fn no_token_by_default_and_the_admin_url_follows_the_listener() {
    let c = from_toml("").unwrap();
    assert!(c.admin.token.is_none());
    assert_eq!(c.admin_advertise_url(), "http://127.0.0.1:9090");
}

#[test]
fn a_wildcard_admin_listener_is_advertised_on_the_cluster_host() {
    let c = from_toml(
        "admin_listen = \"0.0.0.0:9090\"\n[cluster]\nadvertise_url = \"http://10.0.0.7:8080\"\n",
    )
    .unwrap();
    assert_eq!(c.admin_advertise_url(), "http://10.0.0.7:9090");
    let c = from_toml("[admin]\nadvertise_url = \"http://node-1.internal:9999/\"\n").unwrap();
    assert_eq!(c.admin_advertise_url(), "http://node-1.internal:9999");
}

#[test]
fn the_token_comes_from_toml_env_or_a_named_variable_and_is_redacted() {
    let c = from_toml("[admin]\ntoken = \"t0ps3cret\"\n").unwrap();
    assert_eq!(c.admin.token.as_ref().unwrap().expose(), "t0ps3cret");
    let summary = c.summary();
    assert!(
        summary.lines().any(|l| l == "admin.token = (redacted)"),
        "{summary}"
    );
    assert!(!summary.contains("t0ps3cret"));

    let c = from_env(&[("HERALD_ADMIN_TOKEN", "from-env")]).unwrap();
    assert_eq!(c.admin.token.as_ref().unwrap().expose(), "from-env");

    let c = from_env(&[
        ("HERALD_ADMIN_TOKEN", "env:ADMIN_SECRET"),
        ("ADMIN_SECRET", "mounted"),
    ])
    .unwrap();
    assert_eq!(c.admin.token.as_ref().unwrap().expose(), "mounted");

    let text = error_text(from_env(&[("HERALD_ADMIN_TOKEN", "env:MISSING")]));
    assert!(
        text.contains("admin.token") && text.contains("MISSING"),
        "{text}"
    );
    let c: Config = from_env(&[("HERALD_ADMIN_TOKEN", "")]).unwrap();
    assert!(c.admin.token.is_none(), "empty means none");
}

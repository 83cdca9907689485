//! `herald check` validates a configuration as the command it names would load it: exit 0 with
//! the effective settings, or exit 2 with the key and what is wrong. It connects to nothing.

use std::path::Path;
use std::process::{Command, Output};

use herald_tests::binary::herald_binary;

const KEY: &str =
    "Endpoint=http://herald.example;AccessKey=0123456789abcdef0123456789abcdef;Version=1.0;";

/// Runs `herald check ARGS` with only `env` (plus PATH) in the environment.
fn check(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(herald_binary())
        .arg("check")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("run herald check")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(dir: &Path, name: &str, toml: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, toml).expect("write the config file");
    path.display().to_string()
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(herald_tests::unique("herald-check"));
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}

#[test]
fn a_valid_node_configuration_prints_its_settings_with_secrets_redacted() {
    let dir = temp_dir();
    let file = write(
        &dir,
        "herald.toml",
        "hubs = [\"chat\"]\n[redis]\nurl = \"redis://redis:6379\"\n[admin]\ntoken = \"env:ADMIN_TOKEN\"\n\
         [[feeds]]\nname = \"orders\"\nsource = { kind = \"redis-stream\", partitions = 4 }\n\
         hub = \"chat\"\ntarget = \"orderChanged\"\nto = \"all\"\n",
    );
    let out = check(
        &["--config", &file],
        &[
            ("HERALD_CONNECTION_STRING", KEY),
            ("ADMIN_TOKEN", "t0ps3cret"),
            ("HERALD_CLIENT_KEEP_ALIVE", "20s"),
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("configuration OK for `herald node`"),
        "{stdout}"
    );
    for line in [
        "redis.url = redis://redis:6379",
        "client.keep_alive = 20s",
        "admin.token = (redacted)",
        "feeds[0].source = redis-stream (4 partitions)",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "no {line:?} in:\n{stdout}"
        );
    }
    assert!(!stdout.contains("t0ps3cret") && !stdout.contains("0123456789abcdef"));
}

/// Arguments, environment, and what the error must name.
type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);

#[test]
fn each_error_names_its_key_and_exits_2() {
    let dir = temp_dir();
    let typo = write(&dir, "typo.toml", "[client]\nkeep_alve = \"15s\"\n");
    let bad = write(&dir, "bad.toml", "[client]\nkeep_alive = \"soon\"\n");
    let cases: Vec<Case> = vec![
        (
            vec!["--config", &typo, "--mode", "standalone"],
            vec![],
            "client.keep_alve",
        ),
        (
            vec!["--config", &bad, "--mode", "standalone"],
            vec![],
            "client.keep_alive",
        ),
        (
            vec!["--mode", "standalone"],
            vec![("HERALD_LISTN", "0.0.0.0:1")],
            "HERALD_LISTN",
        ),
        (
            vec!["--mode", "node"],
            vec![("HERALD_CONNECTION_STRING", KEY)],
            "redis.url",
        ),
        (vec!["--mode", "coordinator"], vec![], "redis.url"),
        (
            vec!["--mode", "node"],
            vec![("HERALD_REDIS_URL", "redis://redis:6379")],
            "connection_string",
        ),
        (
            vec!["--mode", "standalone"],
            vec![("HERALD_ADMIN_TOKEN", "env:MISSING_SECRET")],
            "admin.token",
        ),
        (
            vec!["--config", "/nonexistent/herald.toml"],
            vec![],
            "/nonexistent/herald.toml",
        ),
    ];
    for (args, env, named) in cases {
        let out = check(&args, &env);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {stderr}");
        assert!(
            stderr.contains(named),
            "{args:?} {env:?} does not name {named}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
    }
}

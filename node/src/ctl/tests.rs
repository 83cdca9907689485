//! `herald ctl` end to end against a canned admin API: the command line, the requests it makes,
//! what it prints and its exit code.

use clap::Parser;
use serde_json::Value;

use super::samples::{CLUSTER, CONNECTIONS_PAGE_1, CONNECTIONS_PAGE_2, GROUP, HEALTHY_CLUSTER};
use super::test_server::{Reply, TestServer, refused_url};
use super::*;

/// `herald ctl`'s arguments on their own, as `main` nests them.
#[derive(Debug, Parser)]
#[command(name = "ctl")]
struct Cli {
    #[command(flatten)]
    args: CtlArgs,
}

fn parse(argv: &[&str]) -> CtlArgs {
    let argv = std::iter::once("ctl").chain(argv.iter().copied());
    Cli::try_parse_from(argv).expect("valid arguments").args
}

/// Runs `herald ctl ARGV`: exit, stdout, stderr.
fn ctl(argv: &[&str]) -> (Exit, String, String) {
    let args = parse(argv);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let exit = execute(&args, &mut out, &mut err);
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("utf-8 output");
    (exit, text(out), text(err))
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

#[test]
fn status_with_problems_prints_them_under_the_table_and_exits_1() {
    let server = TestServer::start(vec![Reply::json(200, CLUSTER)]);
    let (exit, out, err) = ctl(&["--admin", &server.url, "status"]);
    assert_eq!((exit, exit.code()), (Exit::Problems, 1));
    assert_eq!(out, render::status(&json(CLUSTER)));
    assert!(
        out.ends_with(
            "problems:\n  node node-b is draining\n  node node-c is unreachable: no answer within \
             2s\n  lease orders/3 has no owner\n"
        ),
        "{out}"
    );
    assert_eq!(err, "");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].target, "/api/admin/cluster");
    assert_eq!(requests[0].header("authorization"), None);
}

#[test]
fn status_json_prints_the_body_unchanged_and_exits_0_when_all_is_well() {
    let server = TestServer::start(vec![Reply::json(200, HEALTHY_CLUSTER)]);
    let (exit, out, err) = ctl(&["status", "--json", "--admin", &server.url]);
    assert_eq!((exit, exit.code()), (Exit::Ok, 0));
    assert_eq!(out, format!("{HEALTHY_CLUSTER}\n"));
    assert_eq!(err, "");
}

#[test]
fn status_json_still_exits_1_for_problems() {
    let server = TestServer::start(vec![Reply::json(200, CLUSTER)]);
    let (exit, out, _) = ctl(&["--json", "--admin", &server.url, "status"]);
    assert_eq!(exit, Exit::Problems);
    assert_eq!(out, format!("{CLUSTER}\n"));
}

#[test]
fn a_refused_token_exits_3_and_says_which_flag_to_check() {
    let server = TestServer::start(vec![Reply::json(
        401,
        r#"{"code": "Unauthorized", "message": "missing or wrong admin token"}"#,
    )]);
    let (exit, out, err) = ctl(&["--admin", &server.url, "--token", "s3cret", "status"]);
    assert_eq!((exit, exit.code()), (Exit::Unreachable, 3));
    assert_eq!(out, "");
    assert_eq!(
        err,
        "herald ctl: the admin API refused the token (401); check --token or HERALD_ADMIN_TOKEN\n"
    );
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer s3cret")
    );
}

#[test]
fn an_unreachable_admin_api_exits_3_and_names_the_url() {
    let url = refused_url();
    let (exit, out, err) = ctl(&["--admin", &url, "nodes"]);
    assert_eq!((exit, exit.code()), (Exit::Unreachable, 3));
    assert_eq!(out, "");
    assert_eq!(
        err,
        format!(
            "herald ctl: cannot reach the admin API at {url}: connection refused; check --admin \
             or HERALD_ADMIN_URL\n"
        )
    );
}

#[test]
fn connections_follow_the_cursor_across_pages_and_warn_about_unreachable_nodes() {
    let server = TestServer::start(vec![
        Reply::json(200, CONNECTIONS_PAGE_1)
            .header("Herald-Next-Cursor", "node-a.XyZ2")
            .header("Herald-Unreachable-Nodes", "node-c, node-d"),
        Reply::json(200, CONNECTIONS_PAGE_2).header("Herald-Unreachable-Nodes", "node-c"),
    ]);
    let (exit, out, err) = ctl(&["--admin", &server.url, "connections", "--hub", "chat"]);
    assert_eq!(exit, Exit::Ok);
    let mut all = json(CONNECTIONS_PAGE_1)
        .as_array()
        .cloned()
        .unwrap_or_default();
    all.extend(
        json(CONNECTIONS_PAGE_2)
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    assert_eq!(out, render::connections(&all));
    assert_eq!(
        err,
        "herald ctl: warning: could not ask node-c, node-d; their connections are missing from \
         this listing\n"
    );
    let targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        [
            "/api/admin/connections?hub=chat&limit=1000",
            "/api/admin/connections?hub=chat&limit=1000&cursor=node-a.XyZ2",
        ]
    );
}

#[test]
fn connections_json_is_one_array_of_every_page() {
    let server = TestServer::start(vec![
        Reply::json(200, CONNECTIONS_PAGE_1).header("Herald-Next-Cursor", "c1"),
        Reply::json(200, "[]").header("Herald-Next-Cursor", "c2"),
        Reply::json(200, CONNECTIONS_PAGE_2),
    ]);
    let (exit, out, err) = ctl(&["--admin", &server.url, "--json", "connections"]);
    assert_eq!(exit, Exit::Ok);
    assert_eq!(err, "");
    let page = |text: &str| {
        let text = text.trim();
        text[1..text.len() - 1].trim().to_owned()
    };
    assert_eq!(
        out,
        format!(
            "[{},{}]\n",
            page(CONNECTIONS_PAGE_1),
            page(CONNECTIONS_PAGE_2)
        )
    );
    let ids: Vec<Value> = json(&out)
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["id"].clone())
        .collect();
    assert_eq!(ids, ["node-a.AbC1", "node-a.XyZ2", "node-b.QrS3"]);
}

#[test]
fn connections_stop_at_the_limit_asking_only_for_what_is_missing() {
    let server = TestServer::start(vec![
        Reply::json(200, CONNECTIONS_PAGE_1).header("Herald-Next-Cursor", "node-a.XyZ2"),
        Reply::json(200, CONNECTIONS_PAGE_2).header("Herald-Next-Cursor", "node-b.QrS3"),
    ]);
    let argv = [
        "--admin",
        &server.url,
        "connections",
        "--hub",
        "chat",
        "--user",
        "bob",
        "--limit",
        "3",
    ];
    let (exit, out, _) = ctl(&argv);
    assert_eq!(exit, Exit::Ok);
    assert!(out.ends_with("\n3 connections\n"), "{out}");
    let targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        [
            "/api/admin/connections?hub=chat&user=bob&limit=3",
            "/api/admin/connections?hub=chat&user=bob&limit=1&cursor=node-a.XyZ2",
        ]
    );
}

#[test]
fn a_repeated_cursor_ends_the_listing_with_an_error() {
    let server = TestServer::start(vec![
        Reply::json(200, CONNECTIONS_PAGE_1).header("Herald-Next-Cursor", "same"),
        Reply::json(200, CONNECTIONS_PAGE_2).header("Herald-Next-Cursor", "same"),
    ]);
    let (exit, out, err) = ctl(&["--admin", &server.url, "connections"]);
    assert_eq!(exit, Exit::Failed);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "herald ctl: the admin API repeated the page cursor \"same\"; the listing stopped there\n"
    );
}

#[test]
fn groups_percent_encode_their_path_and_warn_about_unreachable_nodes() {
    let server = TestServer::start(vec![Reply::json(200, GROUP)]);
    let (exit, out, err) = ctl(&["--admin", &server.url, "groups", "chat", "room 1/a?b%"]);
    assert_eq!(exit, Exit::Ok);
    assert_eq!(out, render::group(&json(GROUP)));
    assert_eq!(
        err,
        "herald ctl: warning: could not ask node node-c: no answer within 2s; its part is \
         missing\n"
    );
    assert_eq!(
        server.requests()[0].target,
        "/api/admin/hubs/chat/groups/room%201%2Fa%3Fb%25"
    );
}

#[test]
fn users_ask_below_a_proxy_prefix() {
    let server = TestServer::start(vec![Reply::json(200, super::samples::USER)]);
    let admin = format!("{}/herald/", server.url);
    let (exit, out, _) = ctl(&["--admin", &admin, "users", "chat", "alice"]);
    assert_eq!(exit, Exit::Ok);
    assert!(
        out.starts_with("user alice of hub chat: 1 connection\n"),
        "{out}"
    );
    assert_eq!(
        server.requests()[0].target,
        "/herald/api/admin/hubs/chat/users/alice"
    );
}

#[test]
fn drain_posts_with_the_token_and_reports_the_new_state() {
    let server = TestServer::start(vec![
        Reply::json(202, r#"{"node": "node-b", "state": "draining"}"#),
        Reply::json(202, r#"{"node": "node-b", "state": "ready"}"#),
    ]);
    let (exit, out, _) = ctl(&["--admin", &server.url, "--token", "t", "drain", "node-b"]);
    assert_eq!((exit, out.as_str()), (Exit::Ok, "node node-b: draining\n"));
    let (exit, out, _) = ctl(&["--admin", &server.url, "--token", "t", "undrain", "node-b"]);
    assert_eq!((exit, out.as_str()), (Exit::Ok, "node node-b: ready\n"));
    let requests = server.requests();
    let calls: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.target.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("POST", "/api/admin/nodes/node-b/drain"),
            ("POST", "/api/admin/nodes/node-b/undrain"),
        ]
    );
    assert!(
        requests
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer t"))
    );
}

#[test]
fn api_errors_print_their_message_and_exit_1_not_3() {
    let server = TestServer::start(vec![
        Reply::json(
            404,
            r#"{"code": "NotFound", "message": "node node-x is not live"}"#,
        ),
        Reply::json(
            403,
            r#"{"code": "Forbidden", "message": "set admin.token to enable admin actions"}"#,
        ),
        Reply::json(
            400,
            r#"{"code": "BadRequest", "message": "group needs hub"}"#,
        ),
    ]);
    let (exit, _, err) = ctl(&["--admin", &server.url, "drain", "node-x"]);
    assert_eq!((exit, exit.code()), (Exit::Failed, 1));
    assert_eq!(err, "herald ctl: node node-x is not live (404)\n");
    let (exit, _, err) = ctl(&["--admin", &server.url, "undrain", "node-b"]);
    assert_eq!(exit, Exit::Failed);
    assert_eq!(
        err,
        "herald ctl: set admin.token to enable admin actions (403)\n"
    );
    let (exit, _, err) = ctl(&["--admin", &server.url, "leases", "--feed", "orders"]);
    assert_eq!(exit, Exit::Failed);
    assert_eq!(err, "herald ctl: group needs hub (400)\n");
}

#[test]
fn an_error_without_json_quotes_the_body() {
    let server = TestServer::start(vec![Reply::json(502, "upstream down")]);
    let (exit, _, err) = ctl(&["--admin", &server.url, "nodes"]);
    assert_eq!(exit, Exit::Failed);
    assert_eq!(
        err,
        "herald ctl: the admin API answered Bad Gateway: upstream down (502)\n"
    );
}

#[test]
fn a_2xx_that_is_not_json_is_a_bad_answer() {
    let server = TestServer::start(vec![Reply::json(200, "<html>hello</html>")]);
    let (exit, _, err) = ctl(&["--admin", &server.url, "nodes"]);
    assert_eq!(exit, Exit::Failed);
    assert!(
        err.starts_with(&format!(
            "herald ctl: the admin API at {} answered with something other than the expected JSON",
            server.url
        )),
        "{err}"
    );
}

#[test]
fn leases_pass_the_feed_filter() {
    let server = TestServer::start(vec![Reply::json(200, "[]")]);
    let (exit, out, _) = ctl(&["--admin", &server.url, "leases", "--feed", "orders"]);
    assert_eq!((exit, out.as_str()), (Exit::Ok, "no leases\n"));
    assert_eq!(server.requests()[0].target, "/api/admin/leases?feed=orders");
}

#[tokio::test]
async fn watch_redraws_each_frame_and_exits_as_the_last_one() {
    let (server, asked_for_more) = TestServer::start_then_signal(vec![
        Reply::json(200, CLUSTER),
        Reply::json(502, "restarting"),
        Reply::json(200, HEALTHY_CLUSTER),
    ]);
    let client =
        AdminClient::new(parse(&["--admin", &server.url, "status"]).admin, None).expect("client");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut command = Command {
        client: &client,
        json: false,
        out: &mut out,
        err: &mut err,
    };
    let stop = async {
        let _ = asked_for_more.await;
    };
    let exit = command.watch(Duration::ZERO, stop).await.expect("watch");
    assert_eq!(exit, Exit::Ok);
    let expected = [
        render::status(&json(CLUSTER)),
        "herald ctl: the admin API answered Bad Gateway: restarting (502)\nretrying every 0s; \
         Ctrl-C to stop\n"
            .to_owned(),
        render::status(&json(HEALTHY_CLUSTER)),
    ]
    .map(|frame| format!("{CLEAR_SCREEN}{frame}"))
    .concat();
    assert_eq!(String::from_utf8(out).expect("utf-8"), expected);
    assert!(err.is_empty());
}

#[tokio::test]
async fn watch_gives_up_on_a_refused_token() {
    let server = TestServer::start(vec![Reply::json(401, "{}")]);
    let client =
        AdminClient::new(parse(&["--admin", &server.url, "status"]).admin, None).expect("client");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut command = Command {
        client: &client,
        json: false,
        out: &mut out,
        err: &mut err,
    };
    let result = command.watch(Duration::ZERO, std::future::pending()).await;
    assert!(matches!(result, Err(CtlError::Unauthorized)), "{result:?}");
}

#[test]
fn flags_work_before_and_after_the_command_and_env_defaults_apply() {
    let args = parse(&["status", "--watch", "--json", "--admin", "10.0.0.7:9090"]);
    assert_eq!(args.admin.as_str(), "http://10.0.0.7:9090/");
    assert!(args.json);
    assert!(matches!(args.command, CtlCommand::Status { watch: true }));
    if std::env::var_os("HERALD_ADMIN_URL").is_none() {
        assert_eq!(parse(&["nodes"]).admin.as_str(), "http://127.0.0.1:9090/");
    }
}

#[test]
fn usage_errors_are_clap_errors() {
    let bad = [
        &["connections", "--user", "alice"][..],
        &["connections", "--limit", "0"],
        &["--admin", "ftp://example.com", "status"],
        &["groups", "chat"],
        &["reboot"],
    ];
    for argv in bad {
        let argv = std::iter::once("ctl").chain(argv.iter().copied());
        let error = Cli::try_parse_from(argv).expect_err("a usage error");
        assert_eq!(error.exit_code(), 2, "{error}");
    }
}

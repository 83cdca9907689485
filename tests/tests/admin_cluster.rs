//! The cluster-wide admin API and `herald ctl` against real processes: three nodes, two
//! coordinators and a four-partition feed on one Redis. Any node answers for the whole
//! cluster; a wrong token is refused; a node drained over the API hands its clients and leases
//! over and stays up; a SIGKILLed node drops out of the view within its TTL.

use herald_tests::ctl::ctl;
use herald_tests::raw_http::RawHttp;
use herald_tests::rest::{Auth, Rest};
use herald_tests::wait::{deadline_in, wait_until};
use herald_tests::{FeedSandbox, HeraldConfig, JsClient, JsOptions, RedisServer, unique};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

const TOKEN: &str = "admin-token-for-tests";
const FEEDS: &str = r#"
[[feeds]]
name = "orders"
source = { kind = "redis-stream", partitions = 4 }
start_from = "beginning"
hub = "orders"
target = "orderChanged"
to = "all"
"#;
const COORDINATORS: [&str; 2] = ["c1", "c2"];
const NODES: [&str; 3] = ["n1", "n2", "n3"];

fn ids(list: &Value, field: &str) -> BTreeSet<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected a JSON list, got {list}"))
        .iter()
        .map(|item| item[field].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Owners of the four leases per `herald ctl leases --json` on `admin`.
fn owners(admin: &str) -> Vec<Option<String>> {
    let run = ctl(admin, Some(TOKEN), &["--json", "leases"]);
    if run.code != 0 {
        return Vec::new();
    }
    run.json()
        .as_array()
        .map(|leases| {
            leases
                .iter()
                .map(|l| l["owner"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn admin(
    process: &herald_tests::HeraldProcess,
    method: &str,
    path: &str,
    token: &str,
) -> (u16, Value) {
    let reply = Rest::new(&process.admin_url(), None).request(
        method,
        path,
        None,
        &Auth::Bearer(token.to_owned()),
    );
    let body = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    (reply.status, body)
}

#[test]
fn any_node_shows_the_whole_cluster_to_ctl_and_follows_drain_and_kill() {
    let redis = RedisServer::start();
    let mut sandbox = FeedSandbox::new(&redis.url(), FEEDS).env("HERALD_ADMIN_TOKEN", TOKEN);
    for id in COORDINATORS {
        sandbox.start_coordinator(id);
    }
    for id in NODES {
        sandbox.start_node(id);
    }
    let hub = unique("board");
    let client = |node: &str, user: &str| {
        JsClient::connect(&JsOptions::new(
            &sandbox.node(node).client_url(&hub),
            Some(sandbox.client_token(&hub, user)),
            &["news"],
        ))
    };
    let a = client("n1", "alice");
    let b = client("n1", "bob");
    let mut c = client("n2", "carol");
    let d = client("n3", "dave");
    let opened = set(&[
        a.connection_id(),
        b.connection_id(),
        c.connection_id(),
        d.connection_id(),
    ]);
    // A group with members on two nodes, joined through a third.
    let rest = sandbox.node("n3").rest();
    for member in [a.connection_id(), c.connection_id()] {
        rest.group_connection("PUT", &hub, "room", member)
            .assert_status(202);
    }
    let admin_n1 = sandbox.node("n1").admin_url();
    let admin_n2 = sandbox.node("n2").admin_url();

    // Four owned leases, spread over the three nodes.
    let owned = wait_until(deadline_in(30), || {
        let owners = owners(&admin_n1);
        owners.len() == 4 && owners.iter().all(Option::is_some)
    });
    assert!(
        owned,
        "leases never all owned: {:?}\n{}",
        owners(&admin_n1),
        sandbox.logs()
    );

    // Every node answers with the same nodes and connections.
    for admin_url in [&admin_n1, &admin_n2] {
        let nodes = ctl(admin_url, Some(TOKEN), &["--json", "nodes"]);
        assert_eq!(nodes.code, 0, "{nodes:?}");
        assert_eq!(ids(&nodes.json(), "id"), set(&NODES));
        let listed = ctl(
            admin_url,
            Some(TOKEN),
            &["--json", "connections", "--hub", &hub],
        );
        assert_eq!(listed.code, 0, "{listed:?}");
        let run = format!("{listed:?}");
        let listed = listed.json();
        assert_eq!(ids(&listed, "id"), opened, "{run}");
        let carol = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["user"] == "carol")
            .expect("carol is listed");
        assert_eq!(carol["node"], "n2");
        assert_eq!(carol["transport"], "WebSockets");
        assert_eq!(carol["protocol"], "json");
        assert_eq!(carol["groups"], serde_json::json!(["room"]));
    }
    let group = ctl(&admin_n2, Some(TOKEN), &["--json", "groups", &hub, "room"]).json();
    assert_eq!(
        ids(&group["members"], "id"),
        set(&[a.connection_id(), c.connection_id()])
    );
    assert_eq!(ids(&group["members"], "node"), set(&["n1", "n2"]));
    let user = ctl(&admin_n2, Some(TOKEN), &["--json", "users", &hub, "bob"]).json();
    assert_eq!(ids(&user["connections"], "id"), set(&[b.connection_id()]));
    let cluster = ctl(&admin_n1, Some(TOKEN), &["--json", "status"]);
    assert_eq!(cluster.code, 0, "a healthy cluster: {cluster:?}");
    let status = ctl(&admin_n1, Some(TOKEN), &["status"]);
    assert_eq!(status.code, 0, "{status:?}");
    for node in NODES {
        assert!(
            status.stdout.contains(node),
            "status names {node}:\n{}",
            status.stdout
        );
    }

    // Paging: one connection per page, cursors to the end, every id once.
    let mut paged = BTreeSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let mut path = format!("/api/admin/connections?hub={hub}&limit=1");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let admin_addr = sandbox.node("n2").admin_url().replace("http://", "");
        let bearer = format!("Bearer {TOKEN}");
        let reply = RawHttp::start(
            &admin_addr,
            "GET",
            &path,
            &[("Authorization", &bearer), ("Connection", "close")],
        )
        .response(deadline_in(10))
        .expect("a page within 10 s");
        assert_eq!(reply.status, 200, "{}", reply.body);
        let page: Value = serde_json::from_str(&reply.body).expect("a JSON page");
        assert_eq!(page.as_array().map(Vec::len), Some(1), "{page}");
        paged.extend(ids(&page, "id"));
        cursor = reply
            .headers
            .iter()
            .find(|(name, _)| name == "herald-next-cursor")
            .map(|(_, value)| value.clone());
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(paged, opened);

    // Bad input and a wrong token.
    let (status, body) = admin(
        sandbox.node("n1"),
        "GET",
        "/api/admin/connections?limit=5000",
        TOKEN,
    );
    assert_eq!(status, 400, "{body}");
    let (status, body) = admin(
        sandbox.node("n1"),
        "POST",
        "/api/admin/nodes/nobody/drain",
        TOKEN,
    );
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "UnknownNode");
    let (status, body) = admin(sandbox.node("n1"), "GET", "/api/admin/nodes", "wrong");
    assert_eq!(status, 401, "{body}");
    let wrong = ctl(&admin_n1, Some("wrong"), &["nodes"]);
    assert_eq!(wrong.code, 3, "{wrong:?}");
    assert!(!wrong.stderr.trim().is_empty());
    assert_eq!(
        sandbox.node("n1").admin_get("/healthz").0,
        200,
        "probes stay open"
    );
    assert_eq!(
        sandbox.node("n1").admin_get("/metrics").0,
        200,
        "scrapes stay open"
    );
    let coordinator = sandbox.coordinator("c1");
    assert_eq!(
        coordinator.admin_get("/api/admin/coordinator").0,
        401,
        "the coordinator's admin API needs the token too"
    );
    assert_eq!(coordinator.admin_get("/metrics").0, 200);
    assert!(sandbox.status("c1").is_some(), "with the token it answers");

    // Drain n2 through n1: its client is closed, its leases move, it stays up and unready.
    let drain = ctl(&admin_n1, Some(TOKEN), &["drain", "n2"]);
    assert_eq!(drain.code, 0, "{drain:?}");
    c.wait_for_event("closed", Duration::from_secs(15));
    let moved = wait_until(deadline_in(20), || {
        let owners = owners(&admin_n1);
        owners.len() == 4
            && owners
                .iter()
                .all(|o| o.as_deref().is_some_and(|o| o != "n2"))
    });
    assert!(moved, "n2's leases did not move: {:?}", owners(&admin_n1));
    assert_eq!(sandbox.node("n2").admin_get("/readyz").0, 503);
    let scraped = sandbox.node("n2").admin_get("/metrics").1;
    for line in ["herald_node_ready 0", "herald_backplane_up 1"] {
        assert!(
            scraped.lines().any(|l| l == line),
            "no {line:?} in:\n{scraped}"
        );
    }
    let nodes = ctl(&admin_n1, Some(TOKEN), &["--json", "nodes"]).json();
    let n2 = nodes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "n2")
        .cloned();
    assert_eq!(
        n2.expect("a draining node is still listed")["state"],
        "draining"
    );
    let unhealthy = ctl(&admin_n1, Some(TOKEN), &["status"]);
    assert_eq!(
        unhealthy.code, 1,
        "a draining node is a problem: {unhealthy:?}"
    );
    let undrain = ctl(&admin_n1, Some(TOKEN), &["undrain", "n2"]);
    assert_eq!(undrain.code, 0, "{undrain:?}");
    assert!(wait_until(deadline_in(10), || sandbox
        .node("n2")
        .admin_get("/readyz")
        .0
        == 200));

    // SIGKILL n3: within the node TTL it is gone from the view, with its connection and leases.
    sandbox.node_mut("n3").kill();
    let converged = wait_until(deadline_in(30), || {
        let nodes = ctl(&admin_n1, Some(TOKEN), &["--json", "nodes"]);
        let listed = ctl(
            &admin_n1,
            Some(TOKEN),
            &["--json", "connections", "--hub", &hub],
        );
        let owners = owners(&admin_n1);
        nodes.code == 0
            && ids(&nodes.json(), "id") == set(&["n1", "n2"])
            && listed.code == 0
            && ids(&listed.json(), "id") == set(&[a.connection_id(), b.connection_id()])
            && owners.len() == 4
            && owners
                .iter()
                .all(|o| matches!(o.as_deref(), Some("n1" | "n2")))
    });
    assert!(
        converged,
        "view did not converge after the kill: {:?}\n{:?}",
        ctl(&admin_n1, Some(TOKEN), &["--json", "nodes"]),
        owners(&admin_n1)
    );
    drop(d);
    sandbox.assert_no_panic();
}

#[test]
fn without_a_token_the_admin_api_reads_but_refuses_to_drain() {
    let server = HeraldConfig::new().start();
    let rest = Rest::new(&server.admin_url(), None);
    let cluster = rest.request("GET", "/api/admin/cluster", None, &Auth::None);
    assert_eq!(cluster.status, 200, "{}", cluster.body);
    let view: Value = serde_json::from_str(&cluster.body).unwrap();
    assert_eq!(view["clustered"], false);
    assert_eq!(view["nodes"].as_array().map(Vec::len), Some(1));
    assert_eq!(view["nodes"][0]["state"], "ready");
    let id = view["nodes"][0]["id"].as_str().unwrap().to_owned();
    let drain = rest.request(
        "POST",
        &format!("/api/admin/nodes/{id}/drain"),
        None,
        &Auth::None,
    );
    assert_eq!(drain.status, 403, "{}", drain.body);
    assert!(drain.body.contains("admin.token"), "{}", drain.body);
    assert_eq!(server.admin_get("/readyz").0, 200, "still ready");
    let unknown = rest.request("GET", "/api/admin/nowhere", None, &Auth::None);
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    server.assert_no_panic();
}

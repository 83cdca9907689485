//! The cluster dashboard at `/` of a node's admin listener, in headless Chromium, against a
//! real cluster (node/docs/admin-api.md): it shows every node ready, the coordinator leader and
//! the leases with their owners; a SIGKILLed node shows as unreachable with its error, then
//! drops out of the view once its registry record expires, while the page keeps refreshing.
//! With an admin token the page asks for it after a 401 and shows the cluster once given it.

use herald_tests::dashboard::{ApiAnswer, Dashboard, DashboardState, screenshot_path};
use herald_tests::{ClusterBuilder, FeedSandbox, RedisServer, unique};
use std::time::Duration;

const FEEDS: &str = r#"
[[feeds]]
name = "orders"
source = { kind = "redis-stream", partitions = 3 }
start_from = "beginning"
hub = "orders"
target = "orderChanged"
to = "all"
"#;
const LEASES: [&str; 3] = ["orders/0", "orders/1", "orders/2"];
const COORDINATOR: &str = "c1";
const NODES: [&str; 3] = ["n1", "n2", "n3"];
const VICTIM: &str = "n3";
/// Heartbeats every 1 s (the sandbox's default) and records kept 6 s: after the kill the
/// record lives on for more than 5 s, long enough for a few 2 s refreshes to show the node
/// unreachable before it drops out.
const NODE_TTL: &str = "6s";
/// Starting, electing a leader and assigning every lease.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(40);
/// A change in the cluster reaches the page within a refresh or two.
const SHOW_TIMEOUT: Duration = Duration::from_secs(15);
/// The killed node's record expires (6 s), the coordinator moves its leases, the page refreshes.
const EXPIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Every lease shown exactly once, each owned by one of `owners`.
fn leases_owned_by(state: &DashboardState, owners: &[&str]) -> bool {
    state.leases.keys().map(String::as_str).eq(LEASES)
        && state
            .leases
            .values()
            .all(|l| !l.unowned && owners.contains(&l.owner.as_str()))
}

fn assert_png(path: &std::path::Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 1000,
        "{} is not a screenshot",
        path.display()
    );
}

#[test]
fn the_dashboard_shows_the_cluster_and_a_killed_node_dropping_out() {
    let redis = RedisServer::start();
    let mut sandbox =
        FeedSandbox::new(&redis.url(), FEEDS).env("HERALD_CLUSTER_NODE_TTL", NODE_TTL);
    sandbox.start_coordinator(COORDINATOR);
    for id in NODES {
        sandbox.start_node(id);
    }
    let mut page = Dashboard::open(&format!("{}/", sandbox.node(NODES[0]).admin_url()));

    let ready = page.wait_for(
        "three nodes ready, leader c1, every lease owned",
        SETTLE_TIMEOUT,
        |s| {
            s.shows_ready(&NODES)
                && s.leader == COORDINATOR
                && leases_owned_by(s, &NODES)
                && s.error.is_empty()
        },
    );
    assert_eq!(ready.status, "live");
    assert!(
        !ready.login,
        "the login form shows without a token configured"
    );
    assert!(
        ready.refreshes >= 1 && !ready.updated.is_empty(),
        "{ready:?}"
    );
    for (id, node) in &ready.nodes {
        assert_eq!(node.backplane, "up", "{id}: {ready:?}");
        assert_eq!(node.connections, "0", "{id}: {ready:?}");
        assert_eq!(node.error, "", "{id}: {ready:?}");
    }
    let before = screenshot_path("dashboard.png");
    page.screenshot(&before);
    assert_png(&before);

    sandbox.node_mut(VICTIM).kill();
    let killed_at = page.current().map_or(0, |s| s.refreshes);

    // The record is still there: the node is listed, unreachable, with the reason.
    let unreachable = page.wait_for("n3 unreachable with its error", SHOW_TIMEOUT, |s| {
        s.nodes
            .get(VICTIM)
            .is_some_and(|n| n.state == "unreachable" && !n.error.is_empty())
    });
    assert_eq!(
        unreachable.nodes[VICTIM].connections, "–",
        "{unreachable:?}"
    );
    assert!(
        unreachable.problems.iter().any(|p| p.contains(VICTIM)),
        "no problem names {VICTIM}: {unreachable:?}"
    );
    assert_eq!(unreachable.error, "");

    // The record expired: the node is gone, its leases moved, and the page keeps refreshing.
    let survivors = &NODES[..2];
    let gone = page.wait_for(
        "n3 gone, n1 and n2 ready and owning every lease",
        EXPIRE_TIMEOUT,
        |s| {
            s.shows_ready(survivors)
                && leases_owned_by(s, survivors)
                && s.refreshes > killed_at
                && s.error.is_empty()
        },
    );
    assert!(
        !gone.problems.iter().any(|p| p.contains(VICTIM)),
        "{gone:?}"
    );
    let later = page.wait_for("another refresh", SHOW_TIMEOUT, |s| {
        s.refreshes > gone.refreshes
    });
    assert!(later.shows_ready(survivors), "{later:?}");
    let after = screenshot_path("dashboard-after-kill.png");
    page.screenshot(&after);
    assert_png(&after);

    // Without admin.token the API is open: no token was sent and none was refused.
    let answers = page.api_answers();
    assert!(!answers.is_empty());
    assert!(
        answers.iter().all(|a| *a
            == ApiAnswer {
                status: 200,
                authorized: false
            }),
        "{answers:?}"
    );
    assert_eq!(page.page_errors(), Vec::<String>::new());
    page.close();
    sandbox.assert_no_panic();
}

#[test]
fn with_an_admin_token_the_dashboard_asks_for_it_and_then_shows_the_nodes() {
    let redis = RedisServer::start();
    let token = unique("admin");
    let cluster = ClusterBuilder::new(&redis.url(), 2)
        .env("HERALD_ADMIN_TOKEN", &token)
        .start();
    let ids = ["n1", "n2"];
    // The page itself is served without the token (Dashboard::open checks the 200).
    let mut page = Dashboard::open(&format!("{}/", cluster.node(0).admin_url()));

    let asked = page.wait_for("the login form after a 401", SHOW_TIMEOUT, |s| {
        s.login && s.status == "unauthorized"
    });
    assert!(asked.nodes.is_empty(), "{asked:?}");
    assert_eq!(asked.refreshes, 0);
    assert!(asked.error.contains("401"), "{asked:?}");
    let unauthorized = ApiAnswer {
        status: 401,
        authorized: false,
    };
    let answers = page.wait_for_answers("a 401", SHOW_TIMEOUT, |a| !a.is_empty());
    assert!(answers.iter().all(|a| *a == unauthorized), "{answers:?}");

    page.login(&format!("{token}x"));
    let refused = page.wait_for("the wrong token refused", SHOW_TIMEOUT, |s| {
        s.login && s.error.contains("refused")
    });
    assert!(refused.nodes.is_empty(), "{refused:?}");

    page.login(&token);
    let shown = page.wait_for("both nodes ready after the login", SHOW_TIMEOUT, |s| {
        s.shows_ready(&ids) && !s.login && s.error.is_empty()
    });
    assert_eq!(shown.status, "live");
    let authorized = ApiAnswer {
        status: 200,
        authorized: true,
    };
    page.wait_for_answers("a 200 to the token", SHOW_TIMEOUT, |a| {
        a.last() == Some(&authorized)
    });

    // The token is kept for the tab: a reload shows the nodes without asking again.
    let answered = page.api_answers().len();
    page.reload();
    let reloaded = page.wait_for("the nodes after a reload", SHOW_TIMEOUT, |s| {
        s.loaded_at != shown.loaded_at && s.refreshes >= 1 && s.shows_ready(&ids)
    });
    assert!(!reloaded.login, "{reloaded:?}");
    let after_reload = page
        .wait_for_answers("an answer after the reload", SHOW_TIMEOUT, |a| {
            a.len() > answered
        })
        .split_off(answered);
    assert!(
        after_reload.iter().all(|a| *a == authorized),
        "{after_reload:?}"
    );
    assert_eq!(page.page_errors(), Vec::<String>::new());
    page.close();
    cluster.assert_no_panic();
}

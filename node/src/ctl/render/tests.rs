use serde_json::{Value, json};

use super::*;
use crate::ctl::samples::{
    CLUSTER, CONNECTIONS_PAGE_1, CONNECTIONS_PAGE_2, GROUP, HEALTHY_CLUSTER, USER,
};

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("sample is JSON")
}

/// The lines, each ending in `\n` (literals per line keep leading spaces visible).
fn lines(lines: &[&str]) -> String {
    lines.iter().map(|line| format!("{line}\n")).collect()
}

#[test]
fn status_shows_nodes_unowned_leases_feeds_and_problems() {
    assert_eq!(
        status(&parse(CLUSTER)),
        lines(&[
            "cluster as seen by node-a at 2025-12-06T05:46:40Z",
            "coordinator leader: coord-1 (token 7, since 2025-12-06T05:30:00Z)",
            "3 nodes, 3 connections (not counting node-c)",
            "",
            "NODE    STATE        CONNECTIONS  BACKPLANE  IN/S  OUT/S  UPTIME  LEASES",
            "node-a  ready                  3  up          0.5   12.0  2h 46m       2",
            "node-b  draining               0  up          0.0    0.4  59s          0",
            "node-c  unreachable            -  -             -      -  2d 21h       -",
            "",
            "unowned leases: orders/3",
            "",
            "FEED    LEASES  OWNED  LAG  CHANGES/S  ERRORS",
            "orders       4      3   12        3.0       0",
            "",
            "problems:",
            "  node node-b is draining",
            "  node node-c is unreachable: no answer within 2s",
            "  lease orders/3 has no owner",
        ])
    );
}

#[test]
fn status_of_a_healthy_empty_cluster_says_none_for_each_part() {
    assert_eq!(
        status(&parse(HEALTHY_CLUSTER)),
        lines(&[
            "cluster as seen by node-a at 2025-12-06T05:46:40Z",
            "coordinator leader: coord-1 (token 7, since 2025-12-06T05:30:00Z)",
            "0 nodes, 0 connections",
            "",
            "NODE  STATE  CONNECTIONS  BACKPLANE  IN/S  OUT/S  UPTIME  LEASES",
            "",
            "unowned leases: none",
            "",
            "feeds: none",
            "",
            "problems: none",
        ])
    );
}

#[test]
fn status_of_a_standalone_node_without_a_leader() {
    let view = json!({
        "answered_by": "herald-0", "clustered": false, "generated_at_ms": 1765000000000u64,
        "coordinator": null, "nodes": [], "leases": [], "feeds": [],
        "problems": ["no coordinator leader"]
    });
    let text = status(&view);
    assert!(
        text.starts_with(
            "standalone node as seen by herald-0 at 2025-12-06T05:46:40Z\n\
             coordinator leader: none\n"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("\nproblems:\n  no coordinator leader\n"),
        "{text}"
    );
    assert_eq!(problems(&view), ["no coordinator leader"]);
}

#[test]
fn nodes_lists_each_node_then_the_errors() {
    let cluster = parse(CLUSTER);
    assert_eq!(
        nodes(&cluster["nodes"]),
        lines(&[
            "ID      STATE        VERSION  UPTIME  CONNECTIONS  BACKPLANE  IN/S  OUT/S  LEASES             ADMIN URL",
            "node-a  ready        0.1.0    2h 46m            3  up          0.5   12.0  orders/0,orders/2  http://10.0.0.7:9090",
            "node-b  draining     0.1.0    59s               0  up          0.0    0.4  -                  http://10.0.0.8:9090",
            "node-c  unreachable  0.1.0    2d 21h            -  -             -      -  -                  http://10.0.0.9:9090",
            "",
            "node-c: no answer within 2s",
        ])
    );
    assert_eq!(nodes(&json!([])), "no nodes\n");
}

#[test]
fn leases_show_unknowns_as_dashes() {
    let cluster = parse(CLUSTER);
    assert_eq!(
        leases(&cluster["leases"]),
        lines(&[
            "ID        OWNER   EPOCH  LAG  CHECKPOINT       LAST BATCH",
            "orders/0  node-a      4    0  1764999999999-0  2025-12-06T05:46:38Z",
            "orders/1  node-c      2    -  1764999000000-3  -",
            "orders/2  node-a      4   12  1764999999001-0  2025-12-06T05:46:38Z",
            "orders/3  -           5    -  -                -",
        ])
    );
    assert_eq!(leases(&json!([])), "no leases\n");
}

#[test]
fn connections_of_several_pages_form_one_table_and_a_count() {
    let mut all = parse(CONNECTIONS_PAGE_1)
        .as_array()
        .cloned()
        .unwrap_or_default();
    all.extend(
        parse(CONNECTIONS_PAGE_2)
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    assert_eq!(
        connections(&all),
        lines(&[
            "ID           NODE    HUB   USER   TRANSPORT         PROTOCOL     CONNECTED             GROUPS",
            "node-a.AbC1  node-a  chat  alice  WebSockets        json         2025-12-06T05:30:00Z  room-1,vip",
            "node-a.XyZ2  node-a  chat  -      -                 messagepack  2025-12-06T05:46:39Z  -",
            "node-b.QrS3  node-b  chat  bob    ServerSentEvents  json         2025-12-06T05:46:38Z  room-1",
            "",
            "3 connections",
        ])
    );
    assert_eq!(connections(&[]), "no connections\n");
}

#[test]
fn group_lists_its_members() {
    let view = parse(GROUP);
    assert_eq!(
        group(&view),
        lines(&[
            "group room-1 of hub chat: 2 members",
            "",
            "ID           NODE    HUB   USER   TRANSPORT         PROTOCOL  CONNECTED             GROUPS",
            "node-a.AbC1  node-a  chat  alice  WebSockets        json      2025-12-06T05:30:00Z  room-1,vip",
            "node-b.QrS3  node-b  chat  bob    ServerSentEvents  json      2025-12-06T05:46:38Z  room-1",
        ])
    );
    assert_eq!(unreachable(&view), ["node-c: no answer within 2s"]);
}

#[test]
fn user_lists_connections_and_user_groups() {
    let view = parse(USER);
    assert_eq!(
        user(&view),
        lines(&[
            "user alice of hub chat: 1 connection",
            "",
            "ID           NODE    HUB   USER   TRANSPORT   PROTOCOL  CONNECTED             GROUPS",
            "node-a.AbC1  node-a  chat  alice  WebSockets  json      2025-12-06T05:30:00Z  room-1,vip",
            "",
            "USER GROUP  EXPIRES",
            "vip         never",
            "trial       2025-12-06T05:46:40Z",
        ])
    );
    assert!(unreachable(&view).is_empty());
}

#[test]
fn a_user_without_connections_or_groups() {
    let view = json!({"hub": "chat", "user": "carol", "connections": [], "user_groups": [],
                      "unreachable": []});
    assert_eq!(
        user(&view),
        "user carol of hub chat: 0 connections\n\nuser groups: none\n"
    );
}

#[test]
fn drain_answers_name_the_node_and_its_state() {
    assert_eq!(
        drain(&json!({"node": "node-b", "state": "draining"})),
        "node node-b: draining\n"
    );
    assert_eq!(
        drain(&json!({"node": "node-b", "state": "ready"})),
        "node node-b: ready\n"
    );
}

#[test]
fn uptime_keeps_the_two_largest_units() {
    let cases = [
        (0, "0s"),
        (59, "59s"),
        (60, "1m 0s"),
        (3599, "59m 59s"),
        (3600, "1h 0m"),
        (86399, "23h 59m"),
        (86400, "1d 0h"),
        (10 * 86400 + 5 * 3600 + 7, "10d 5h"),
    ];
    for (seconds, shown) in cases {
        assert_eq!(uptime(&json!(seconds)), shown, "{seconds}");
    }
    assert_eq!(uptime(&Value::Null), "-");
}

//! The admin API's JSON as the text `herald ctl` prints without `--json`.
//!
//! Rendering reads `serde_json::Value`s leniently: a field that is missing, `null` or of an
//! unexpected type shows as `-` instead of failing, so a newer or older server (or an
//! `unreachable` node, whose live fields are `null`) still gives a readable screen.

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;

use super::table::Table;

/// What an unknown or absent value shows as.
const NONE: &str = "-";

/// `GET /api/admin/cluster` as one screen: who answered, the coordinator, totals, the nodes,
/// unowned leases, the feeds and the problems.
pub fn status(cluster: &Value) -> String {
    let nodes = items(&cluster["nodes"]);
    let mut out = String::new();
    let kind = match cluster["clustered"] {
        Value::Bool(false) => "standalone node",
        _ => "cluster",
    };
    let _ = writeln!(
        out,
        "{kind} as seen by {} at {}",
        text(&cluster["answered_by"]),
        time(&cluster["generated_at_ms"])
    );
    let coordinator = &cluster["coordinator"];
    let _ = match coordinator["leader"] {
        Value::Null => writeln!(out, "coordinator leader: none"),
        _ => writeln!(
            out,
            "coordinator leader: {} (token {}, since {})",
            text(&coordinator["leader"]),
            text(&coordinator["token"]),
            time(&coordinator["since_ms"])
        ),
    };
    let total: u64 = nodes
        .iter()
        .filter_map(|node| node["connections"]["total"].as_u64())
        .sum();
    let uncounted: Vec<String> = nodes
        .iter()
        .filter(|node| node["connections"]["total"].as_u64().is_none())
        .map(|node| text(&node["id"]))
        .collect();
    let _ = write!(
        out,
        "{}, {}",
        plural(nodes.len(), "node"),
        plural_u64(total, "connection")
    );
    if !uncounted.is_empty() {
        let _ = write!(out, " (not counting {})", uncounted.join(", "));
    }
    out.push_str("\n\n");

    let mut table = Table::new()
        .left("NODE")
        .left("STATE")
        .right("CONNECTIONS")
        .left("BACKPLANE")
        .right("IN/S")
        .right("OUT/S")
        .left("UPTIME")
        .right("LEASES");
    for node in nodes {
        table.push(vec![
            text(&node["id"]),
            text(&node["state"]),
            text(&node["connections"]["total"]),
            text(&node["backplane"]["state"]),
            rate(&node["rates"]["messages_in_per_second"]),
            rate(&node["rates"]["messages_out_per_second"]),
            uptime(&node["uptime_seconds"]),
            count(&node["leases"]),
        ]);
    }
    out.push_str(&table.render());

    let unowned: Vec<String> = items(&cluster["leases"])
        .iter()
        .filter(|lease| lease["owner"].is_null())
        .map(|lease| text(&lease["id"]))
        .collect();
    let _ = writeln!(
        out,
        "\nunowned leases: {}",
        if unowned.is_empty() {
            "none".to_owned()
        } else {
            unowned.join(", ")
        }
    );

    let feeds = items(&cluster["feeds"]);
    if feeds.is_empty() {
        out.push_str("\nfeeds: none\n");
    } else {
        let mut table = Table::new()
            .left("FEED")
            .right("LEASES")
            .right("OWNED")
            .right("LAG")
            .right("CHANGES/S")
            .right("ERRORS");
        for feed in feeds {
            table.push(vec![
                text(&feed["feed"]),
                text(&feed["leases"]),
                text(&feed["owned"]),
                text(&feed["lag"]),
                rate(&feed["changes_per_second"]),
                text(&feed["errors_total"]),
            ]);
        }
        out.push('\n');
        out.push_str(&table.render());
    }

    let problems = problems(cluster);
    if problems.is_empty() {
        out.push_str("\nproblems: none\n");
    } else {
        out.push_str("\nproblems:\n");
        for problem in problems {
            let _ = writeln!(out, "  {problem}");
        }
    }
    out
}

/// The cluster view's `problems`: what makes `herald ctl status` exit 1.
pub fn problems(cluster: &Value) -> Vec<String> {
    items(&cluster["problems"]).iter().map(text).collect()
}

/// `GET /api/admin/nodes`: one row per node, then the error of each node that has one.
pub fn nodes(nodes: &Value) -> String {
    let nodes = items(nodes);
    if nodes.is_empty() {
        return "no nodes\n".to_owned();
    }
    let mut table = Table::new()
        .left("ID")
        .left("STATE")
        .left("VERSION")
        .left("UPTIME")
        .right("CONNECTIONS")
        .left("BACKPLANE")
        .right("IN/S")
        .right("OUT/S")
        .left("LEASES")
        .left("ADMIN URL");
    let mut errors = String::new();
    for node in nodes {
        table.push(vec![
            text(&node["id"]),
            text(&node["state"]),
            text(&node["version"]),
            uptime(&node["uptime_seconds"]),
            text(&node["connections"]["total"]),
            text(&node["backplane"]["state"]),
            rate(&node["rates"]["messages_in_per_second"]),
            rate(&node["rates"]["messages_out_per_second"]),
            joined(&node["leases"]),
            text(&node["admin_url"]),
        ]);
        if !node["error"].is_null() {
            let _ = writeln!(errors, "{}: {}", text(&node["id"]), text(&node["error"]));
        }
        if !node["backplane"]["error"].is_null() {
            let _ = writeln!(
                errors,
                "{} backplane: {}",
                text(&node["id"]),
                text(&node["backplane"]["error"])
            );
        }
    }
    let mut out = table.render();
    if !errors.is_empty() {
        out.push('\n');
        out.push_str(&errors);
    }
    out
}

/// `GET /api/admin/leases`: one row per lease.
pub fn leases(leases: &Value) -> String {
    let leases = items(leases);
    if leases.is_empty() {
        return "no leases\n".to_owned();
    }
    let mut table = Table::new()
        .left("ID")
        .left("OWNER")
        .right("EPOCH")
        .right("LAG")
        .left("CHECKPOINT")
        .left("LAST BATCH");
    for lease in leases {
        table.push(vec![
            text(&lease["id"]),
            text(&lease["owner"]),
            text(&lease["epoch"]),
            text(&lease["lag"]),
            text(&lease["checkpoint"]),
            time(&lease["last_batch_at_ms"]),
        ]);
    }
    table.render()
}

/// Connections (of every page of `GET /api/admin/connections`), then their count.
pub fn connections(connections: &[Value]) -> String {
    if connections.is_empty() {
        return "no connections\n".to_owned();
    }
    let mut out = connection_table(connections);
    let _ = writeln!(out, "\n{}", plural(connections.len(), "connection"));
    out
}

/// `GET /api/admin/hubs/{hub}/groups/{group}`.
pub fn group(group: &Value) -> String {
    let members = items(&group["members"]);
    let mut out = format!(
        "group {} of hub {}: {}\n",
        text(&group["group"]),
        text(&group["hub"]),
        plural(members.len(), "member")
    );
    if !members.is_empty() {
        out.push('\n');
        out.push_str(&connection_table(members));
    }
    out
}

/// `GET /api/admin/hubs/{hub}/users/{user}`: the user's connections, then the persistent
/// user-group memberships.
pub fn user(user: &Value) -> String {
    let connections = items(&user["connections"]);
    let mut out = format!(
        "user {} of hub {}: {}\n",
        text(&user["user"]),
        text(&user["hub"]),
        plural(connections.len(), "connection")
    );
    if !connections.is_empty() {
        out.push('\n');
        out.push_str(&connection_table(connections));
    }
    let groups = items(&user["user_groups"]);
    if groups.is_empty() {
        out.push_str("\nuser groups: none\n");
    } else {
        let mut table = Table::new().left("USER GROUP").left("EXPIRES");
        for group in groups {
            let expires = match group["expires_at_ms"] {
                Value::Null => "never".to_owned(),
                ref at => time(at),
            };
            table.push(vec![text(&group["group"]), expires]);
        }
        out.push('\n');
        out.push_str(&table.render());
    }
    out
}

/// The answer of `POST .../drain` or `.../undrain`.
pub fn drain(answer: &Value) -> String {
    format!(
        "node {}: {}\n",
        text(&answer["node"]),
        text(&answer["state"])
    )
}

/// The `unreachable` of a group or user view as `node: error` lines' parts.
pub fn unreachable(view: &Value) -> Vec<String> {
    items(&view["unreachable"])
        .iter()
        .map(|entry| match entry {
            Value::Object(_) => format!("{}: {}", text(&entry["node"]), text(&entry["error"])),
            other => text(other),
        })
        .collect()
}

fn connection_table(connections: &[Value]) -> String {
    let mut table = Table::new()
        .left("ID")
        .left("NODE")
        .left("HUB")
        .left("USER")
        .left("TRANSPORT")
        .left("PROTOCOL")
        .left("CONNECTED")
        .left("GROUPS");
    for connection in connections {
        table.push(vec![
            text(&connection["id"]),
            text(&connection["node"]),
            text(&connection["hub"]),
            text(&connection["user"]),
            text(&connection["transport"]),
            text(&connection["protocol"]),
            time(&connection["connected_at_ms"]),
            joined(&connection["groups"]),
        ]);
    }
    table.render()
}

/// The elements of an array, none for anything else.
fn items(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// A scalar as text; `-` for `null` or missing.
fn text(value: &Value) -> String {
    match value {
        Value::Null => NONE.to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A rate per second with one decimal.
fn rate(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(|| NONE.to_owned(), |rate| format!("{rate:.1}"))
}

/// Unix milliseconds as an RFC 3339 UTC time to the second.
fn time(value: &Value) -> String {
    value.as_u64().map_or_else(
        || NONE.to_owned(),
        |ms| {
            let at = UNIX_EPOCH + Duration::from_millis(ms);
            humantime::format_rfc3339_seconds(at).to_string()
        },
    )
}

/// Seconds as the two largest units (`42s`, `5m 3s`, `2h 46m`, `3d 4h`): enough to tell a
/// node that just restarted from one that has run for days.
fn uptime(value: &Value) -> String {
    let Some(s) = value.as_u64() else {
        return NONE.to_owned();
    };
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

/// The length of an array; `-` for `null`.
fn count(value: &Value) -> String {
    value
        .as_array()
        .map_or_else(|| NONE.to_owned(), |items| items.len().to_string())
}

/// An array's elements joined with commas; `-` when empty or `null`.
fn joined(value: &Value) -> String {
    let items = items(value);
    if items.is_empty() {
        return NONE.to_owned();
    }
    items.iter().map(text).collect::<Vec<_>>().join(",")
}

fn plural(n: usize, noun: &str) -> String {
    plural_u64(n as u64, noun)
}

fn plural_u64(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests;

//! The startup summary: every effective setting on its own line, secrets redacted.

use std::collections::BTreeMap;

use serde::Serializer;
use serde_json::Value;

use super::Config;
use super::keys::KEYS;
use crate::auth::ConnectionString;

/// Serializes a connection string through its redacting `Display`.
pub(crate) fn redacted<S: Serializer>(
    connection: &Option<ConnectionString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match connection {
        Some(connection) => s.collect_str(connection),
        None => s.serialize_none(),
    }
}

/// `key = value` lines in the order of the key table.
pub(crate) fn render(config: &Config) -> String {
    let mut leaves = leaves(config);
    let mut lines = Vec::with_capacity(leaves.len());
    for key in KEYS {
        if let Some(value) = leaves.remove(key.key) {
            lines.push(format!("{} = {}", key.key, shown(&value)));
        }
    }
    // Anything not in the table still shows (the coverage test keeps this empty).
    lines.extend(leaves.iter().map(|(k, v)| format!("{k} = {}", shown(v))));
    for (index, feed) in config.feeds.iter().enumerate() {
        let mut fields = BTreeMap::new();
        if let Ok(value) = serde_json::to_value(feed) {
            flatten(&format!("feeds[{index}]"), value, &mut fields);
        }
        // Fields in declaration order would need another table; sorted keys read fine.
        lines.extend(fields.iter().map(|(k, v)| format!("{k} = {}", shown(v))));
    }
    lines.join("\n")
}

/// Every leaf of the serialized configuration, by dotted key.
pub(crate) fn leaves(config: &Config) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    // Serializing plain structs, strings and numbers into a `Value` cannot fail.
    if let Ok(value) = serde_json::to_value(config) {
        flatten("", value, &mut out);
    }
    out
}

fn flatten(prefix: &str, value: Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) => {
            for (name, inner) in map {
                let key = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(&key, inner, out);
            }
        }
        leaf => {
            out.insert(prefix.to_owned(), leaf);
        }
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::Null => "(not set)".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(shown).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

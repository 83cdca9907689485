//! Reading `[[feeds]]` from TOML: each field on its own, so every error names its exact key
//! (`feeds[1].to.group`) and says what to write instead.

use std::collections::HashSet;

use herald_proto::ids::HubName;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::feed_route::parse_route;
use super::feed_time::parse_start_from;
use super::feeds::{DEFAULT_BATCH_SIZE, FeedConfig, FeedSource, Route};
use super::{Config, ConfigError, suggest};

mod cosmos;
#[cfg(test)]
mod cosmos_tests;

/// The keys a feed may have.
const FIELDS: &[&str] = &[
    "name",
    "source",
    "start_from",
    "hub",
    "target",
    "to",
    "project",
    "handler",
    "batch_size",
];

/// Most partitions a redis-stream feed may have; each is a lease, a stream and a reader.
const MAX_PARTITIONS: u32 = 1024;
/// Largest `batch_size`: a batch is held in memory and published at once.
const MAX_BATCH_SIZE: usize = 10_000;

/// `source`, checked by serde: the kind picks the variant, and stray keys are refused.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
enum RawSource {
    RedisStream { partitions: u32 },
    Cosmos(cosmos::RawCosmos),
}

/// Parses the value of the top-level `feeds` key of the TOML document `origin`.
pub(crate) fn parse(value: &toml::Value, origin: &str) -> Result<Vec<FeedConfig>, ConfigError> {
    let Some(items) = value.as_array() else {
        return Err(invalid(
            "feeds",
            format!("expected an array of tables written as [[feeds]], got {value}"),
        ));
    };
    let mut feeds: Vec<FeedConfig> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let key = format!("feeds[{index}]");
        let Some(table) = item.as_table() else {
            return Err(invalid(
                &key,
                format!("expected a table written as [[feeds]], got {item}"),
            ));
        };
        let feed = parse_feed(table, &key, origin)?;
        if let Some(first) = feeds.iter().position(|f| f.name == feed.name) {
            return Err(invalid(
                &format!("{key}.name"),
                format!(
                    "{:?} is already the name of feeds[{first}]: give every feed its own name",
                    feed.name
                ),
            ));
        }
        feeds.push(feed);
    }
    Ok(feeds)
}

/// Checks that need the whole configuration: a feed's hub must be one clients may use.
pub(crate) fn validate(config: &Config) -> Result<(), ConfigError> {
    if config.hubs.is_empty() {
        return Ok(());
    }
    for (index, feed) in config.feeds.iter().enumerate() {
        if !config.hubs.contains(&feed.hub) {
            let hubs: Vec<&str> = config.hubs.iter().map(HubName::as_str).collect();
            return Err(invalid(
                &format!("feeds[{index}].hub"),
                format!(
                    "{:?} is not one of hubs {hubs:?}: add it to hubs or pick a listed hub",
                    feed.hub.as_str()
                ),
            ));
        }
    }
    Ok(())
}

fn parse_feed(table: &toml::Table, key: &str, origin: &str) -> Result<FeedConfig, ConfigError> {
    for name in table.keys() {
        if !FIELDS.contains(&name.as_str()) {
            return Err(ConfigError::UnknownKey {
                key: format!("{key}.{name}"),
                origin: origin.to_owned(),
                suggestion: suggest::closest(name, FIELDS.iter().copied()),
            });
        }
    }
    let name: String = required(table, key, "name", "a name such as \"stocks\"")?;
    if !is_feed_name(&name) {
        return Err(invalid(
            &format!("{key}.name"),
            format!("expected 1 to 64 of a-z, 0-9, '_' or '-', got {name:?}"),
        ));
    }
    let source = parse_source(table, key)?;
    let start_from = match table.get("start_from") {
        None => super::feeds::StartFrom::Now,
        Some(value) => parse_start_from(value)
            .map_err(|message| invalid(&format!("{key}.start_from"), message))?,
    };
    let hub: String = required(table, key, "hub", "a hub name such as \"stocks\"")?;
    let hub = hub.parse::<HubName>().map_err(|_| {
        invalid(
            &format!("{key}.hub"),
            format!(
                "expected a hub name (a letter followed by letters, digits or '_'), got {hub:?}"
            ),
        )
    })?;
    let handler = optional::<String>(table, key, "handler", "an http:// or https:// URL")?
        .map(|text| parse_handler(&text, key))
        .transpose()?;
    let target = match optional::<String>(table, key, "target", "a client method name")? {
        Some(target) => Some(parse_target(target, key)?),
        None if handler.is_some() => None,
        None => {
            return Err(invalid(
                &format!("{key}.target"),
                "missing: name the client method invoked, such as \"stockUpdated\" (or give a handler that answers with messages)".to_owned(),
            ));
        }
    };
    let to = match (&target, table.get("to")) {
        (Some(_), _) => parse_route(table, key, origin)?,
        (None, None) => Route::All,
        (None, Some(_)) => {
            return Err(invalid(
                &format!("{key}.to"),
                "has no effect without target: add target = \"<client method>\", or remove `to` and let the handler choose recipients".to_owned(),
            ));
        }
    };
    let project = parse_project(table, key)?;
    let batch_size = optional::<i64>(table, key, "batch_size", "a whole number")?.map_or(
        Ok(DEFAULT_BATCH_SIZE),
        |n| {
            usize::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_BATCH_SIZE).contains(n))
                .ok_or_else(|| {
                    invalid(
                        &format!("{key}.batch_size"),
                        format!("expected 1 to {MAX_BATCH_SIZE}, got {n}"),
                    )
                })
        },
    )?;
    Ok(FeedConfig {
        name,
        source,
        start_from,
        hub,
        target,
        to,
        project,
        handler,
        batch_size,
    })
}

/// `[a-z0-9_-]{1,64}`: safe in Redis keys, metric labels and URLs as is.
fn is_feed_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn parse_source(table: &toml::Table, key: &str) -> Result<FeedSource, ConfigError> {
    let key = format!("{key}.source");
    let hint = "write source = { kind = \"redis-stream\", partitions = 4 } or { kind = \"cosmos\", database = \"db\", container = \"items\" }";
    let Some(value) = table.get("source") else {
        return Err(invalid(&key, format!("missing: {hint}")));
    };
    let raw: RawSource = value
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| invalid(&key, format!("{}: {hint}", one_line(&e))))?;
    match raw {
        RawSource::RedisStream { partitions } if (1..=MAX_PARTITIONS).contains(&partitions) => {
            Ok(FeedSource::RedisStream { partitions })
        }
        RawSource::RedisStream { partitions } => Err(invalid(
            &format!("{key}.partitions"),
            format!("expected 1 to {MAX_PARTITIONS}, got {partitions}"),
        )),
        RawSource::Cosmos(raw) => cosmos::parse(raw, &key),
    }
}

/// A client method name: non-empty, without spaces or control characters.
fn parse_target(target: String, key: &str) -> Result<String, ConfigError> {
    if target.is_empty() || target.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid(
            &format!("{key}.target"),
            format!(
                "expected a client method name without spaces, such as \"stockUpdated\", got {target:?}"
            ),
        ));
    }
    Ok(target)
}

fn parse_project(table: &toml::Table, key: &str) -> Result<Option<Vec<String>>, ConfigError> {
    let Some(fields) = optional::<Vec<String>>(table, key, "project", "a list of field names")?
    else {
        return Ok(None);
    };
    let mut seen = HashSet::new();
    for field in &fields {
        if field.is_empty() || !seen.insert(field) {
            return Err(invalid(
                &format!("{key}.project"),
                format!(
                    "expected distinct, non-empty top-level field names, got {field:?} in {fields:?}"
                ),
            ));
        }
    }
    Ok(Some(fields))
}

fn parse_handler(text: &str, key: &str) -> Result<Url, ConfigError> {
    Url::parse(text)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .ok_or_else(|| {
            invalid(
                &format!("{key}.handler"),
                "expected an absolute http:// or https:// URL such as \"http://app:7071/api/changed\"".to_owned(),
            )
        })
}

/// The field `name` of the feed `key`, which must be present.
fn required<T: DeserializeOwned>(
    table: &toml::Table,
    key: &str,
    name: &str,
    what: &str,
) -> Result<T, ConfigError> {
    optional(table, key, name, what)?.ok_or_else(|| {
        invalid(
            &format!("{key}.{name}"),
            format!("missing: add {name} = {what}"),
        )
    })
}

/// The field `name` of the feed `key`, if present, of type `T` (described as `what`).
fn optional<T: DeserializeOwned>(
    table: &toml::Table,
    key: &str,
    name: &str,
    what: &str,
) -> Result<Option<T>, ConfigError> {
    table
        .get(name)
        .map(|value| {
            value.clone().try_into().map_err(|_| {
                invalid(
                    &format!("{key}.{name}"),
                    format!("expected {what}, got {value}"),
                )
            })
        })
        .transpose()
}

fn one_line(error: &toml::de::Error) -> String {
    error.message().trim().replace('\n', " ")
}

pub(super) fn invalid(key: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        message,
    }
}

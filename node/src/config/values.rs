//! Reading one raw value (a TOML value or an environment string) into its typed field.

use std::collections::HashSet;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use serde::Serializer;
use url::Url;

use super::keys::{Key, Kind};
use super::{Config, ConfigError, LogFormat, TransportType};
use crate::auth::ConnectionString;
use crate::backplane::redis::RedisTarget;
use crate::upstream::{ConnectionEvent, UrlTemplate};

/// Durations above this are refused: nobody means them, and timers overflow on them.
const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// A value as written, before parsing.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Raw<'a> {
    /// From the TOML file named by `origin`.
    Toml {
        value: &'a toml::Value,
        origin: &'a str,
    },
    /// From the environment variable `var`.
    Env { value: &'a str, var: &'a str },
}

impl Raw<'_> {
    /// A single string: TOML strings, or any environment value.
    fn text(&self) -> Option<&str> {
        match self {
            Raw::Toml { value, .. } => value.as_str(),
            Raw::Env { value, .. } => Some(value.trim()),
        }
    }

    /// A list of strings: a TOML array of strings, or a comma-separated variable.
    fn list(&self) -> Option<Vec<&str>> {
        match self {
            Raw::Toml { value, .. } => value.as_array()?.iter().map(toml::Value::as_str).collect(),
            Raw::Env { value, .. } => Some(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .collect(),
            ),
        }
    }

    /// A whole non-negative number.
    fn number(&self) -> Option<u64> {
        match self {
            Raw::Toml { value, .. } => value.as_integer().and_then(|n| u64::try_from(n).ok()),
            Raw::Env { value, .. } => value.trim().parse().ok(),
        }
    }

    fn boolean(&self) -> Option<bool> {
        match self {
            Raw::Toml { value, .. } => value.as_bool(),
            Raw::Env { value, .. } => match value.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
        }
    }

    /// The value as the user wrote it, for "got ..." in messages.
    fn shown(&self) -> String {
        match self {
            Raw::Toml { value, .. } => value.to_string(),
            Raw::Env { value, .. } => format!("{value:?}"),
        }
    }

    /// Where the value came from, for the end of messages.
    fn source(&self) -> String {
        match self {
            Raw::Toml { origin, .. } => format!("in {origin}"),
            Raw::Env { var, .. } => format!("from {var}"),
        }
    }
}

impl Key {
    /// Parses `raw` and stores it in this setting's field of `config`.
    pub(crate) fn apply(&self, config: &mut Config, raw: Raw<'_>) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            key: self.key.to_owned(),
            message: format!("{message} ({})", raw.source()),
        };
        let expected = |what: &str| invalid(format!("expected {what}, got {}", raw.shown()));
        match self.kind {
            Kind::Addr(field) => {
                *field(config) = parsed(raw.text()).ok_or_else(|| {
                    expected("an address such as \"127.0.0.1:8080\" or \"[::]:8080\"")
                })?;
            }
            Kind::NodeId(field) => {
                *field(config) = parsed(raw.text()).ok_or_else(|| {
                    expected("1-63 lowercase letters, digits and '-', starting and ending with a letter or digit")
                })?;
            }
            Kind::ConnectionString(field) => {
                let text = raw.text().ok_or_else(|| {
                    // Never echo the value: it may hold the access key.
                    invalid(
                        "expected a string \"Endpoint=...;AccessKey=...;Version=1.0;\"".to_owned(),
                    )
                })?;
                *field(config) = match text.trim() {
                    "" => None,
                    text => Some(
                        text.parse::<ConnectionString>()
                            .map_err(|e| invalid(e.to_string()))?,
                    ),
                };
            }
            Kind::Hubs(field) => {
                let what = "a list of hub names, each a letter followed by letters, digits or '_'";
                let items = raw.list().ok_or_else(|| expected(what))?;
                *field(config) = parsed_list(
                    &items,
                    "hub",
                    |bad| invalid(format!("expected {what}, got {bad:?}")),
                    &invalid,
                )?;
            }
            Kind::LogFilter(field) => {
                let what = "a tracing filter such as \"info\" or \"herald=debug,actix_web=warn\"";
                let text = raw
                    .text()
                    .filter(|t| !t.trim().is_empty())
                    .filter(|t| tracing_subscriber::EnvFilter::builder().parse(t).is_ok())
                    .ok_or_else(|| expected(what))?;
                *field(config) = text.trim().to_owned();
            }
            Kind::LogFormat(field) => {
                *field(config) = match raw.text().map(|t| t.trim().to_ascii_lowercase()).as_deref()
                {
                    Some("text") => LogFormat::Text,
                    Some("json") => LogFormat::Json,
                    _ => return Err(expected("\"text\" or \"json\"")),
                };
            }
            Kind::Bool(field) => {
                *field(config) = raw.boolean().ok_or_else(|| expected("true or false"))?;
            }
            Kind::Duration(field) => {
                *field(config) = raw
                    .text()
                    .and_then(|t| humantime::parse_duration(t.trim()).ok())
                    .filter(|d| !d.is_zero() && *d <= MAX_DURATION)
                    .ok_or_else(|| {
                        expected("a duration such as \"15s\", \"2m\" or \"1h 30m\" (more than zero, at most 365 days)")
                    })?;
            }
            Kind::Bytes { min, max, field } => {
                *field(config) = bounded(raw.number(), min, max).ok_or_else(|| {
                    expected(&format!("a whole number of bytes between {min} and {max}"))
                })?;
            }
            Kind::Count { min, max, field } => {
                *field(config) = bounded(raw.number(), min, max)
                    .ok_or_else(|| expected(&format!("a whole number between {min} and {max}")))?;
            }
            Kind::Transports(field) => {
                let what = "a non-empty list of WebSockets, ServerSentEvents and LongPolling";
                let items = raw
                    .list()
                    .filter(|items| !items.is_empty())
                    .ok_or_else(|| expected(what))?;
                *field(config) = parsed_list::<TransportType>(
                    &items,
                    "transport",
                    |bad| invalid(format!("expected {what}, got {bad:?}")),
                    &invalid,
                )?;
            }
            Kind::UrlTemplate(field) => {
                let text = raw.text().ok_or_else(|| {
                    // Never echo the value: its query usually holds a function key.
                    invalid(
                        "expected a string such as \"https://host/api/{hub}/{category}/{event}\""
                            .to_owned(),
                    )
                })?;
                *field(config) = match text.trim() {
                    "" => None,
                    text => Some(
                        text.parse::<UrlTemplate>()
                            .map_err(|e| invalid(e.to_string()))?,
                    ),
                };
            }
            Kind::ConnectionEvents(field) => {
                let what = "a list of \"connected\" and \"disconnected\" (may be empty)";
                let items = raw.list().ok_or_else(|| expected(what))?;
                *field(config) = parsed_list::<ConnectionEvent>(
                    &items,
                    "event",
                    |bad| invalid(format!("expected {what}, got {bad:?}")),
                    &invalid,
                )?;
            }
            Kind::RedisUrl(field) => {
                let text = raw.text().ok_or_else(|| {
                    // Never echo the value: it may hold a password.
                    invalid("expected a string such as \"redis://host:6379\"".to_owned())
                })?;
                *field(config) = match text.trim() {
                    "" => None,
                    text => Some(
                        text.parse::<RedisTarget>()
                            .map_err(|e| invalid(e.to_string()))?,
                    ),
                };
            }
            Kind::Prefix(field) => {
                *field(config) = raw
                    .text()
                    .map(str::trim)
                    .filter(|t| !t.is_empty() && !t.contains(char::is_whitespace))
                    .ok_or_else(|| {
                        expected("a non-empty prefix without whitespace, such as \"herald\"")
                    })?
                    .to_owned();
            }
            Kind::Secret(field) => {
                let text = raw.text().ok_or_else(|| {
                    // Never echo the value.
                    invalid("expected a string (or \"env:NAME\" to read it from NAME)".to_owned())
                })?;
                *field(config) = match text.trim() {
                    "" => None,
                    text => Some(super::SecretText::new(text.to_owned())),
                };
            }
            Kind::File(field) => {
                let text = raw
                    .text()
                    .ok_or_else(|| expected("a file path (or \"\" for none)"))?;
                *field(config) = match text.trim() {
                    "" => None,
                    path => {
                        let path = std::path::PathBuf::from(path);
                        std::fs::File::open(&path).map_err(|e| {
                            invalid(format!(
                                "cannot read {}: {e}: mount the file there or fix the path",
                                path.display()
                            ))
                        })?;
                        Some(path)
                    }
                };
            }
            Kind::HttpUrl(field) => {
                let what = "an absolute http:// or https:// URL such as \"http://10.0.0.7:8080\" (or \"\" for none)";
                let text = raw.text().ok_or_else(|| expected(what))?;
                *field(config) = match text.trim() {
                    "" => None,
                    text => Some(
                        Url::parse(text)
                            .ok()
                            .filter(|u| {
                                matches!(u.scheme(), "http" | "https") && u.host().is_some()
                            })
                            .ok_or_else(|| expected(what))?,
                    ),
                };
            }
        }
        Ok(())
    }
}

fn parsed<T: FromStr>(text: Option<&str>) -> Option<T> {
    text?.trim().parse().ok()
}

fn bounded(number: Option<u64>, min: usize, max: usize) -> Option<usize> {
    number
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| (min..=max).contains(n))
}

/// Parses every item, refusing bad and repeated ones.
fn parsed_list<T: FromStr + Display>(
    items: &[&str],
    noun: &str,
    bad_item: impl Fn(&str) -> ConfigError,
    invalid: &impl Fn(String) -> ConfigError,
) -> Result<Vec<T>, ConfigError> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let value: T = item.trim().parse().map_err(|_| bad_item(item))?;
        if !seen.insert(value.to_string()) {
            return Err(invalid(format!(
                "lists {noun} {value:?} twice: name each {noun} once",
                value = value.to_string()
            )));
        }
        out.push(value);
    }
    Ok(out)
}

/// Serializes a duration the way it is written in the configuration ("15s", "1h").
pub(crate) fn serialize_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_duration(*d))
}

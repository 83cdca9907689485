//! A feed's `to`: "all", `{ group = "<template>" }` or `{ user = "<template>" }`, with
//! errors naming the exact key (`feeds[0].to.group`).

use super::feeds::{Route, Template};
use super::feeds_parse::invalid;
use super::{ConfigError, suggest};

/// Parses the `to` of the feed `key` in `table`; `origin` names the file in unknown-key errors.
pub(super) fn parse_route(
    table: &toml::Table,
    key: &str,
    origin: &str,
) -> Result<Route, ConfigError> {
    let key = format!("{key}.to");
    let hint = "write to = \"all\", to = { group = \"{field}\" } or to = { user = \"{field}\" }";
    match table.get("to") {
        None => Err(invalid(&key, format!("missing: {hint}"))),
        Some(toml::Value::String(s)) if s == "all" => Ok(Route::All),
        Some(toml::Value::Table(inner)) if inner.len() == 1 => {
            let Some((name, value)) = inner.iter().next() else {
                return Err(invalid(&key, hint.to_owned()));
            };
            let inner_key = format!("{key}.{name}");
            let make: fn(Template) -> Route = match name.as_str() {
                "group" => Route::Group,
                "user" => Route::User,
                _ => {
                    return Err(ConfigError::UnknownKey {
                        key: inner_key,
                        origin: origin.to_owned(),
                        suggestion: suggest::closest(name, ["group", "user"].into_iter()),
                    });
                }
            };
            let Some(text) = value.as_str() else {
                return Err(invalid(
                    &inner_key,
                    format!("expected a template string such as \"{{symbol}}\", got {value}"),
                ));
            };
            Template::parse(text)
                .map(make)
                .map_err(|message| invalid(&inner_key, message))
        }
        Some(other) => Err(invalid(&key, format!("{hint}, not {other}"))),
    }
}

//! The TOML and environment layers, applied over the defaults in that order.

use super::keys::{self, KEYS};
use super::values::Raw;
use super::{Config, ConfigError, feeds_parse, suggest};

/// Applies every key of the TOML document `text`; `origin` names it in errors.
pub(crate) fn apply_toml(config: &mut Config, text: &str, origin: &str) -> Result<(), ConfigError> {
    let mut table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Parse {
        origin: origin.to_owned(),
        message: describe_toml_error(text, &e),
    })?;
    // `[[feeds]]` is not in the key table: its entries are structured, not scalar settings.
    if let Some(feeds) = table.remove("feeds") {
        config.feeds = feeds_parse::parse(&feeds, origin)?;
    }
    apply_table(config, &table, "", origin)
}

fn apply_table(
    config: &mut Config,
    table: &toml::Table,
    prefix: &str,
    origin: &str,
) -> Result<(), ConfigError> {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        if let Some(setting) = keys::by_key(&key) {
            setting.apply(config, Raw::Toml { value, origin })?;
        } else if keys::is_table(&key) {
            let Some(inner) = value.as_table() else {
                return Err(ConfigError::Invalid {
                    message: format!("expected a table [{key}], got {value} (in {origin})"),
                    key,
                });
            };
            apply_table(config, inner, &key, origin)?;
        } else {
            let suggestion = suggest::closest(&key, KEYS.iter().map(|k| k.key));
            return Err(ConfigError::UnknownKey {
                key,
                origin: origin.to_owned(),
                suggestion,
            });
        }
    }
    Ok(())
}

/// Applies every `HERALD_*` variable of `env`; other variables are ignored.
pub(crate) fn apply_env(config: &mut Config, env: &[(String, String)]) -> Result<(), ConfigError> {
    for (var, value) in env {
        if !var.starts_with("HERALD_") || keys::is_exempt_env(var) {
            continue;
        }
        let Some(setting) = keys::by_env(var) else {
            return Err(ConfigError::UnknownEnv {
                var: var.clone(),
                suggestion: suggest::closest(var, KEYS.iter().map(|k| k.env)),
            });
        };
        setting.apply(config, Raw::Env { value, var })?;
    }
    Ok(())
}

/// "line 3, column 7: <what>" from a TOML error, on one line.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', " ");
    let Some(span) = error.span() else {
        return message;
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}: {message}")
}

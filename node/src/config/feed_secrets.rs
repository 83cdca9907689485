//! Secrets of `[[feeds]]` read from the environment: a Cosmos DB `key = "env:NAME"` is
//! replaced by the value of the variable `NAME` when the configuration is loaded, so the key can
//! come from a Kubernetes Secret exposed as an environment variable instead of the file.

use super::ConfigError;
use super::feeds::{CosmosAccount, CosmosAuth, FeedConfig, FeedSource, SecretText};
use super::sections::{AdminConfig, RedisConfig};

/// The prefix that names an environment variable instead of a literal key.
const ENV_PREFIX: &str = "env:";

/// Replaces an `admin.token = "env:NAME"` by the value of `NAME` in `env`; a missing or empty
/// variable is an error naming the key and the variable. An empty token means none.
pub(crate) fn resolve_admin_token(
    admin: &mut AdminConfig,
    env: &[(String, String)],
) -> Result<(), ConfigError> {
    resolve_optional("admin.token", "the admin token", &mut admin.token, env)
}

/// Replaces a `redis.password = "env:NAME"` by the value of `NAME` in `env`.
pub(crate) fn resolve_redis_password(
    redis: &mut RedisConfig,
    env: &[(String, String)],
) -> Result<(), ConfigError> {
    resolve_optional(
        "redis.password",
        "the Redis password",
        &mut redis.password,
        env,
    )
}

/// Replaces an optional secret `key = "env:NAME"` by the value of `NAME`; a missing or empty
/// variable is an error naming the key, the variable and `what` it should hold.
fn resolve_optional(
    key: &str,
    what: &str,
    secret: &mut Option<SecretText>,
    env: &[(String, String)],
) -> Result<(), ConfigError> {
    let Some(text) = secret.as_ref() else {
        return Ok(());
    };
    let Some(name) = text.expose().strip_prefix(ENV_PREFIX).map(str::to_owned) else {
        return Ok(());
    };
    let value = env
        .iter()
        .rev()
        .find(|(var, _)| *var == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty());
    match value {
        Some(value) => {
            *secret = Some(SecretText::new(value.to_owned()));
            Ok(())
        }
        None => Err(ConfigError::Invalid {
            key: key.to_owned(),
            message: format!(
                "names the environment variable {name}, which is not set or empty: set it to {what}"
            ),
        }),
    }
}

/// Replaces every `env:NAME` key of `feeds` by the value of `NAME` in `env`; a missing or empty
/// variable is an error naming the key and the variable.
pub(crate) fn resolve(
    feeds: &mut [FeedConfig],
    env: &[(String, String)],
) -> Result<(), ConfigError> {
    for (index, feed) in feeds.iter_mut().enumerate() {
        let FeedSource::Cosmos {
            account:
                CosmosAccount::Remote {
                    auth: CosmosAuth::Key(secret),
                    ..
                },
            ..
        } = &mut feed.source
        else {
            continue;
        };
        let Some(name) = secret.expose().strip_prefix(ENV_PREFIX).map(str::to_owned) else {
            continue;
        };
        let value = env
            .iter()
            .rev()
            .find(|(var, _)| *var == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty());
        let Some(value) = value else {
            return Err(ConfigError::Invalid {
                key: format!("feeds[{index}].source.key"),
                message: format!(
                    "names the environment variable {name}, which is not set or empty: set it to the account key"
                ),
            });
        };
        *secret = SecretText::new(value.to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const FEED: &str = "[[feeds]]\nname = \"f\"\nhub = \"h\"\ntarget = \"t\"\nto = \"all\"\nsource = { kind = \"cosmos\", database = \"d\", container = \"c\", endpoint = \"https://acct.documents.azure.com:443/\", key = \"env:COSMOS_KEY\" }\n";

    fn load(env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = std::env::temp_dir().join(format!("herald-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(format!("{}.toml", env.len()));
        std::fs::write(&path, FEED).expect("write config");
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let loaded = Config::load(Some(&path), env);
        let _ = std::fs::remove_file(&path);
        loaded
    }

    #[test]
    fn an_env_key_is_read_from_the_environment() {
        let config = load(&[("COSMOS_KEY", "c2VjcmV0")]).expect("valid");
        let FeedSource::Cosmos {
            account:
                CosmosAccount::Remote {
                    auth: CosmosAuth::Key(secret),
                    ..
                },
            ..
        } = &config.feeds[0].source
        else {
            panic!("a remote key account: {:?}", config.feeds[0].source);
        };
        assert_eq!(secret.expose(), "c2VjcmV0");
    }

    #[test]
    fn a_missing_variable_names_the_key_and_the_variable() {
        let error = load(&[]).expect_err("missing variable").to_string();
        assert!(error.contains("feeds[0].source.key"), "{error}");
        assert!(error.contains("COSMOS_KEY"), "{error}");
    }
}

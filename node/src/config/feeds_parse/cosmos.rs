//! `source = { kind = "cosmos", ... }`: the container, the account and how to sign in to it,
//! checked field by field so every error names its exact key (`feeds[0].source.auth`).
//!
//! Without `endpoint` the feed reads the embedded in-memory account of standalone mode, so
//! `auth`, `key` and `client_id` are refused there rather than silently ignored.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::super::feeds::{
    CosmosAccount, CosmosAuth, DEFAULT_COSMOS_POLL_DELAY, FeedSource, SecretText,
};
use super::invalid;
use crate::config::ConfigError;

/// Shortest `poll_delay`: below it an idle feed range costs more request units than it saves
/// latency (each empty read is a billed request).
const MIN_POLL_DELAY: Duration = Duration::from_millis(100);
/// Longest `poll_delay`: beyond it nobody would call the pushes live.
const MAX_POLL_DELAY: Duration = Duration::from_secs(300);

/// The `auth` values, in the order the error messages list them.
const AUTH_VALUES: &str =
    "\"key\" (with key = ...), \"workload-identity\", \"managed-identity\" or \"developer\"";

/// The fields of a cosmos `source`, as written (serde refuses stray keys and wrong types).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCosmos {
    database: String,
    container: String,
    endpoint: Option<String>,
    auth: Option<String>,
    key: Option<String>,
    client_id: Option<String>,
    poll_delay: Option<String>,
}

/// Checks a cosmos source; `key` is the source's own key (`feeds[0].source`).
pub(super) fn parse(raw: RawCosmos, key: &str) -> Result<FeedSource, ConfigError> {
    for (field, value) in [("database", &raw.database), ("container", &raw.container)] {
        if value.trim().is_empty() {
            return Err(invalid(
                &format!("{key}.{field}"),
                format!("is empty: name the Cosmos DB {field}"),
            ));
        }
    }
    let poll_delay = match &raw.poll_delay {
        None => DEFAULT_COSMOS_POLL_DELAY,
        Some(text) => parse_poll_delay(text, key)?,
    };
    let account = match &raw.endpoint {
        None => {
            for (field, value) in [
                ("auth", &raw.auth),
                ("key", &raw.key),
                ("client_id", &raw.client_id),
            ] {
                if value.is_some() {
                    return Err(invalid(
                        &format!("{key}.{field}"),
                        "has no effect without endpoint (no endpoint means the embedded in-memory account of standalone mode): add endpoint = \"https://<account>.documents.azure.com:443/\", or remove it".to_owned(),
                    ));
                }
            }
            CosmosAccount::Embedded
        }
        Some(endpoint) => CosmosAccount::Remote {
            endpoint: parse_endpoint(endpoint, key)?,
            auth: parse_auth(&raw, key)?,
        },
    };
    Ok(FeedSource::Cosmos {
        database: raw.database,
        container: raw.container,
        account,
        poll_delay,
    })
}

fn parse_endpoint(text: &str, key: &str) -> Result<Url, ConfigError> {
    Url::parse(text.trim())
        .ok()
        .filter(|url| url.username().is_empty() && url.password().is_none())
        .filter(|url| match (url.scheme(), url.host_str()) {
            ("https", Some(_)) => true,
            // The local Cosmos DB emulator (Docker) may run without TLS; accounts never do.
            ("http", Some(host)) => matches!(host, "localhost" | "127.0.0.1" | "[::1]"),
            _ => false,
        })
        .ok_or_else(|| {
            invalid(
                &format!("{key}.endpoint"),
                format!(
                    "expected the account's https URI such as \"https://myaccount.documents.azure.com:443/\" (Azure portal: Keys, URI; http only for a local emulator), got {text:?}"
                ),
            )
        })
}

fn parse_auth(raw: &RawCosmos, key: &str) -> Result<CosmosAuth, ConfigError> {
    let name = match (raw.auth.as_deref(), &raw.key) {
        (Some(name), _) => name,
        (None, Some(_)) => "key",
        (None, None) => {
            return Err(invalid(
                &format!("{key}.auth"),
                format!("missing: say how to sign in to the account: auth = {AUTH_VALUES}"),
            ));
        }
    };
    if name != "key" && raw.key.is_some() {
        return Err(invalid(
            &format!("{key}.key"),
            format!("is only used with auth = \"key\", not with auth = {name:?}: remove it"),
        ));
    }
    let client_id = parse_client_id(raw, key, name)?;
    match name {
        "key" => {
            let Some(secret) = &raw.key else {
                return Err(invalid(
                    &format!("{key}.key"),
                    "missing: auth = \"key\" needs key = \"<the account's primary or read-only key>\" (Azure portal: Keys)".to_owned(),
                ));
            };
            if secret.trim().is_empty() || secret.chars().any(char::is_whitespace) {
                return Err(invalid(
                    &format!("{key}.key"),
                    "expected the account key as shown in the Azure portal (Keys), without spaces"
                        .to_owned(),
                ));
            }
            Ok(CosmosAuth::Key(SecretText::new(secret.clone())))
        }
        "workload-identity" => Ok(CosmosAuth::WorkloadIdentity { client_id }),
        "managed-identity" => Ok(CosmosAuth::ManagedIdentity { client_id }),
        "developer" => Ok(CosmosAuth::Developer),
        other => Err(invalid(
            &format!("{key}.auth"),
            format!("expected {AUTH_VALUES}, got {other:?}"),
        )),
    }
}

/// `client_id`, which only the identity-based `auth` values use.
fn parse_client_id(raw: &RawCosmos, key: &str, auth: &str) -> Result<Option<String>, ConfigError> {
    let Some(client_id) = &raw.client_id else {
        return Ok(None);
    };
    if !matches!(auth, "workload-identity" | "managed-identity") {
        return Err(invalid(
            &format!("{key}.client_id"),
            format!(
                "is only used with auth = \"workload-identity\" or \"managed-identity\", not with auth = {auth:?}: remove it"
            ),
        ));
    }
    let id = client_id.trim();
    if id.is_empty() || id.chars().any(char::is_whitespace) {
        return Err(invalid(
            &format!("{key}.client_id"),
            format!(
                "expected the identity's client id such as \"00000000-0000-0000-0000-000000000000\", got {client_id:?}"
            ),
        ));
    }
    Ok(Some(id.to_owned()))
}

fn parse_poll_delay(text: &str, key: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(text.trim())
        .ok()
        .filter(|d| (MIN_POLL_DELAY..=MAX_POLL_DELAY).contains(d))
        .ok_or_else(|| {
            invalid(
                &format!("{key}.poll_delay"),
                format!(
                    "expected a duration from 100ms to 5m such as \"1s\" (shorter: changes seen sooner, more request units while idle), got {text:?}"
                ),
            )
        })
}

//! `[[feeds]]`: change feeds turned into pushes (see "Change feeds → pushes" in
//! ARCHITECTURE.md). Unlike the scalar settings of the key table, a feed is a structured
//! entry of an array, so it is parsed by `feeds_parse` and has no environment variables.

use std::time::{Duration, SystemTime};

use herald_proto::ids::HubName;
use serde::Serialize;
use serde::ser::Serializer;
use url::Url;

pub use super::feed_template::Template;

/// Changes per read when `batch_size` is not given.
pub const DEFAULT_BATCH_SIZE: usize = 100;

/// One configured feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedConfig {
    /// Unique name: part of stream keys, lease names and the `feed` of every push.
    pub name: String,
    /// Where the changes come from.
    #[serde(serialize_with = "shown")]
    pub source: FeedSource,
    /// Where a partition starts when it has no checkpoint yet.
    #[serde(serialize_with = "shown")]
    pub start_from: StartFrom,
    /// The hub whose clients receive the pushes.
    #[serde(serialize_with = "shown")]
    pub hub: HubName,
    /// The client method invoked by the declarative route; `None` when only the handler
    /// decides what is sent.
    pub target: Option<String>,
    /// Which clients of the hub receive a change (with `target`).
    #[serde(serialize_with = "shown")]
    pub to: Route,
    /// Top-level fields sent; `None` sends the whole document.
    pub project: Option<Vec<String>>,
    /// User code that turns a batch into messages; shown redacted, since its query usually
    /// carries a function key.
    #[serde(serialize_with = "redacted_url")]
    pub handler: Option<Url>,
    /// Most changes read (and published) at once.
    pub batch_size: usize,
}

/// Where a feed's changes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedSource {
    /// `{prefix}:feed:{name}:{partition}` Redis streams, one per partition.
    RedisStream {
        /// How many streams, numbered from 0.
        partitions: u32,
    },
    /// An Azure Cosmos DB container's change feed, one partition per feed range.
    Cosmos {
        /// The database.
        database: String,
        /// The container within it.
        container: String,
        /// Which account: a real one, or the embedded in-memory one of standalone mode.
        account: CosmosAccount,
        /// Least time between two requests for one feed range while its pages come back
        /// empty: each empty poll costs request units, so this trades latency for RU.
        poll_delay: Duration,
    },
}

/// `poll_delay` when not given: a change is seen within about a second, at the price of one
/// (cheap, ~1 RU) empty read per feed range per second while nothing changes. The SDKs'
/// change feed processors default to 5 s.
pub const DEFAULT_COSMOS_POLL_DELAY: Duration = Duration::from_secs(1);

/// The Cosmos DB account a `cosmos` feed reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CosmosAccount {
    /// No `endpoint`: the embedded in-memory account that standalone mode runs (the SDK's
    /// emulator); a cluster node refuses it, since its data would live in one process only.
    Embedded,
    /// A real account.
    Remote {
        /// `https://<account>.documents.azure.com:443/`.
        endpoint: Url,
        /// How Herald proves who it is.
        auth: CosmosAuth,
    },
}

/// How Herald authenticates to a real Cosmos DB account (`source.auth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CosmosAuth {
    /// `auth = "key"`: the account's primary or secondary key (or a read-only key).
    Key(SecretText),
    /// `auth = "workload-identity"`: Entra ID through Kubernetes workload identity (the
    /// `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_TENANT_ID` and `AZURE_CLIENT_ID` the webhook
    /// injects); `client_id` overrides the injected client id.
    WorkloadIdentity {
        /// The app registration or user-assigned identity to sign in as.
        client_id: Option<String>,
    },
    /// `auth = "managed-identity"`: the VM's, App Service's or pod's managed identity; with
    /// `client_id`, that user-assigned identity instead of the system-assigned one.
    ManagedIdentity {
        /// The user-assigned identity's client id.
        client_id: Option<String>,
    },
    /// `auth = "developer"`: the developer's `az login` or `azd auth login`, for local runs.
    Developer,
}

impl CosmosAuth {
    /// The `auth` value that selects this.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Key(_) => "key",
            Self::WorkloadIdentity { .. } => "workload-identity",
            Self::ManagedIdentity { .. } => "managed-identity",
            Self::Developer => "developer",
        }
    }
}

/// A secret from the configuration: shown only as `(redacted)`, in logs and in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(String);

impl SecretText {
    /// Wraps a secret.
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(redacted)")
    }
}

impl std::fmt::Display for FeedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::RedisStream { partitions } => write!(f, "redis-stream ({partitions} partitions)"),
            Self::Cosmos {
                database,
                container,
                account,
                poll_delay,
            } => {
                write!(f, "cosmos {database}/{container}")?;
                if let CosmosAccount::Remote { endpoint, auth } = account {
                    write!(f, " at {} (auth {})", redacted(endpoint), auth.name())?;
                }
                if *poll_delay != DEFAULT_COSMOS_POLL_DELAY {
                    write!(
                        f,
                        ", poll_delay {}",
                        humantime::format_duration(*poll_delay)
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// Where reading starts when a partition has no checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// Every change still retained.
    Beginning,
    /// Only changes made after the first read.
    Now,
    /// Changes made at or after this time.
    Time(SystemTime),
}

impl std::fmt::Display for StartFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Beginning => f.write_str("beginning"),
            Self::Now => f.write_str("now"),
            Self::Time(t) => write!(f, "{}", humantime::format_rfc3339_millis(*t)),
        }
    }
}

impl StartFrom {
    /// Milliseconds since the Unix epoch of a `Time` (0 for times before it).
    pub fn unix_millis(time: SystemTime) -> u64 {
        time.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis()
            .try_into()
            .unwrap_or(u64::MAX)
    }
}

/// Which clients of the hub receive a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Every connection of the hub.
    All,
    /// The group the template names.
    Group(Template),
    /// The user the template names.
    User(Template),
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::All => f.write_str("all"),
            Self::Group(t) => write!(f, "group {t}"),
            Self::User(t) => write!(f, "user {t}"),
        }
    }
}

fn shown<T: std::fmt::Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

fn redacted_url<S: Serializer>(url: &Option<Url>, s: S) -> Result<S::Ok, S::Error> {
    match url {
        Some(url) => s.collect_str(&redacted(url)),
        None => s.serialize_none(),
    }
}

/// The URL with user info and query hidden and the fragment dropped, fit for logs.
pub(crate) fn redacted(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_fragment(None);
    if shown.query().is_some() {
        shown.set_query(Some("redacted"));
    }
    if !shown.username().is_empty() || shown.password().is_some() {
        // Only fails for URLs that cannot have credentials, which then have none to hide.
        let _ = shown.set_username("redacted");
        let _ = shown.set_password(None);
    }
    shown.to_string()
}

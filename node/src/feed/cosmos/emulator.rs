//! The embedded Cosmos DB account of standalone mode (and of the tests): the SDK's in-memory
//! emulator behind our own type.
//!
//! The emulator (`azure_data_cosmos_driver::in_memory_emulator`, feature
//! `__internal_in_memory_emulator`) is documented by its authors as an internal test API whose
//! names and behaviour may change in any release. So both SDK crates are pinned `=`, nothing
//! outside this file names an emulator type, and the tests below exercise exactly what Herald
//! relies on (containers with N feed ranges, upserts, the change feed per range with
//! continuations, empty pages, resume, splits): an SDK upgrade that breaks any of it fails here,
//! loudly, rather than in the demo.
//!
//! Documents live in this process only; a restart starts from an empty account.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_core::credentials::Secret;
use azure_core::http::Url;
use azure_data_cosmos::clients::ContainerClient;
use azure_data_cosmos::feed::FeedRange;
use azure_data_cosmos::options::{ReadFeedRangesOptions, Region};
use azure_data_cosmos::{
    AccountEndpoint, AccountReference, CosmosClient, CosmosClientBuilder, CosmosRuntimeBuilder,
    PartitionKey, RoutingStrategy,
};
use azure_data_cosmos_driver::in_memory_emulator::{
    ConsistencyLevel, ContainerConfig, EmulatorStore, InMemoryEmulatorHttpClient,
    VirtualAccountConfig, VirtualRegion,
};
use azure_data_cosmos_driver::models::EffectivePartitionKey;
use serde_json::Value;

use super::range;

/// The virtual account's only region; the client routes to it by name.
const REGION: &str = "East US";
/// The virtual gateway; no request ever leaves the process.
const GATEWAY: &str = "https://herald-embedded.emulator.local";
/// Any base64 text: the emulator accepts every signature.
const KEY: &str = "aGVyYWxkLWVtYmVkZGVk";
/// Most feed ranges a container may start with: each is a lease and a reader.
pub const MAX_FEED_RANGES: u32 = 64;
/// Highest partition id searched for a feed range's physical partition. Ids are handed out
/// from one counter per container (splits add two per split), so this allows ~2000 splits.
const MAX_PARTITION_ID: u32 = 4096;

/// Why the embedded account refused something.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// The emulator or its client did not start.
    #[error("cannot start the embedded cosmos account: {0}")]
    Start(String),
    /// A container could not be created or opened.
    #[error("embedded cosmos container {database}/{container}: {message}")]
    Container {
        /// The database.
        database: String,
        /// The container.
        container: String,
        /// What went wrong and what to do.
        message: String,
    },
    /// A document that cannot be stored.
    #[error("cannot store the document: {0}")]
    BadDocument(String),
    /// The write itself failed.
    #[error("embedded cosmos write failed: {0}")]
    Write(String),
    /// A split or merge that cannot be done.
    #[error("cannot split or merge feed range {partition:?}: {message}")]
    Split {
        /// The range asked for.
        partition: String,
        /// Why not.
        message: String,
    },
}

/// Partition key paths (as segments) by (database, container).
type PartitionKeys = HashMap<(String, String), Arc<Vec<String>>>;

/// The embedded in-memory account. Cheap to share behind an `Arc`; every container handle
/// and source made from it reads the same documents.
pub struct EmbeddedCosmos {
    emulator: Arc<InMemoryEmulatorHttpClient>,
    client: CosmosClient,
    /// The containers made here (the only ones the account has) with their partition key
    /// path, by (database, container): the client does not hand the path out, and `upsert`
    /// needs it.
    partition_keys: Mutex<PartitionKeys>,
}

impl std::fmt::Debug for EmbeddedCosmos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedCosmos").finish_non_exhaustive()
    }
}

/// One container of the embedded account, for writing documents into it.
#[derive(Clone)]
pub struct EmbeddedContainer {
    client: ContainerClient,
    database: String,
    container: String,
    /// The partition key path as its segments (`/address/city` → `["address", "city"]`).
    partition_key: Arc<Vec<String>>,
}

impl EmbeddedCosmos {
    /// Starts an empty account.
    ///
    /// In a build with the `cosmos-account` feature the SDK's runtime, this one's too, first
    /// asks the Azure instance metadata service (169.254.169.254) who the machine is, which off
    /// Azure costs up to its 2 s connect timeout; `COSMOS_DISABLE_IMDS=1` skips it. Default
    /// builds have no HTTP stack and ask nothing.
    pub async fn start() -> Result<Self, EmbeddedError> {
        #[cfg(feature = "cosmos-account")]
        super::account::install_crypto_provider();
        let start = |e: &dyn std::fmt::Display| EmbeddedError::Start(e.to_string());
        let gateway = Url::parse(GATEWAY).map_err(|e| start(&e))?;
        let config = VirtualAccountConfig::new(vec![VirtualRegion::new(REGION, gateway)])
            .map_err(|e| start(&e))?
            .with_consistency(ConsistencyLevel::Session);
        let emulator =
            Arc::new(InMemoryEmulatorHttpClient::try_new(config).map_err(|e| start(&e))?);
        let runtime = CosmosRuntimeBuilder::from(emulator.runtime_builder())
            .build()
            .await
            .map_err(|e| start(&e))?;
        let endpoint: AccountEndpoint = GATEWAY.parse().map_err(|e| start(&e))?;
        let account = AccountReference::with_authentication_key(endpoint, Secret::new(KEY));
        let client = CosmosClientBuilder::new()
            .with_runtime(runtime)
            .build(account, RoutingStrategy::ProximityTo(Region::EAST_US))
            .await
            .map_err(|e| start(&e))?;
        Ok(Self {
            emulator,
            client,
            partition_keys: Mutex::new(HashMap::new()),
        })
    }

    fn store(&self) -> Arc<EmulatorStore> {
        self.emulator.store()
    }

    /// Creates `database`/`container` (the database too, if needed) with the partition key
    /// path `partition_key` (such as `/symbol`) and `feed_ranges` physical partitions, each of
    /// them a feed range of the change feed. Idempotent for the same partition key.
    pub async fn create_container(
        &self,
        database: &str,
        container: &str,
        partition_key: &str,
        feed_ranges: u32,
    ) -> Result<EmbeddedContainer, EmbeddedError> {
        let fail = |message: String| EmbeddedError::Container {
            database: database.to_owned(),
            container: container.to_owned(),
            message,
        };
        let segments = key_path(partition_key).ok_or_else(|| {
            fail(format!(
                "partition key {partition_key:?} is not a path such as \"/symbol\""
            ))
        })?;
        if !(1..=MAX_FEED_RANGES).contains(&feed_ranges) {
            return Err(fail(format!(
                "expected 1 to {MAX_FEED_RANGES} feed ranges, got {feed_ranges}"
            )));
        }
        let created = {
            let mut keys = self.keys();
            let exists = keys.contains_key(&key(database, container));
            if !exists {
                let store = self.store();
                if !keys.keys().any(|(db, _)| db == database) {
                    store.create_database(database);
                }
                let definition = serde_json::from_value(serde_json::json!({
                    "paths": [partition_key],
                    "kind": "Hash",
                    "version": 2,
                }))
                .map_err(|e| fail(format!("partition key definition: {e}")))?;
                let config = ContainerConfig::new()
                    .with_partition_count(feed_ranges)
                    .build()
                    .map_err(|e| fail(e.to_string()))?;
                store.create_container_with_config(database, container, definition, config);
                keys.insert(key(database, container), Arc::new(segments.clone()));
            }
            !exists
        };
        if created {
            tracing::debug!(%database, %container, %partition_key, feed_ranges, "embedded cosmos container created");
        }
        let handle = self.container(database, container).await?;
        if *handle.partition_key != segments {
            return Err(fail(format!(
                "exists with partition key {}, not {partition_key}",
                handle.partition_key_path()
            )));
        }
        Ok(handle)
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, PartitionKeys> {
        // A panic while holding this lock cannot leave the map half-written.
        self.partition_keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The existing container `database`/`container`.
    pub async fn container(
        &self,
        database: &str,
        container: &str,
    ) -> Result<EmbeddedContainer, EmbeddedError> {
        let fail = |message: String| EmbeddedError::Container {
            database: database.to_owned(),
            container: container.to_owned(),
            message,
        };
        let Some(partition_key) = self.keys().get(&key(database, container)).cloned() else {
            return Err(fail(
                "does not exist in the embedded account: create it first (standalone mode creates demo/stocks)".to_owned(),
            ));
        };
        let client = self
            .client
            .database_client(database)
            .container_client(container, None)
            .await
            .map_err(|e| fail(e.to_string()))?;
        Ok(EmbeddedContainer {
            client,
            database: database.to_owned(),
            container: container.to_owned(),
            partition_key,
        })
    }

    /// Splits the physical partition of the feed range named `partition` (as
    /// [`ChangeSource::partitions`](crate::feed::ChangeSource::partitions) names it) in two,
    /// as Cosmos DB does when a partition grows; returns the two new ranges' names.
    pub async fn split(
        &self,
        database: &str,
        container: &str,
        partition: &str,
    ) -> Result<Vec<String>, EmbeddedError> {
        let fail = |message: String| EmbeddedError::Split {
            partition: partition.to_owned(),
            message,
        };
        let target = range::parse(partition).ok_or_else(|| fail(range::NAME_SHAPE.to_owned()))?;
        let handle = self.container(database, container).await?;
        let before = handle.ranges(true).await?;
        if !before.contains(&target) {
            return Err(fail(format!(
                "it is not one of the container's feed ranges {:?}",
                before.iter().map(range::name).collect::<Vec<_>>()
            )));
        }
        let store = self.store();
        let Some((id, middle)) = partition_of(&store, database, container, &target) else {
            return Err(fail("the emulator has no partition for it".to_owned()));
        };
        store
            .split_partition_and_wait(database, container, id, middle, Duration::ZERO)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let after = handle.ranges(true).await?;
        Ok(after
            .iter()
            .filter(|r| r.is_subset_of(&target))
            .map(range::name)
            .collect())
    }

    /// Merges the physical partitions of the adjacent feed ranges `first` and `second` into
    /// one, as Cosmos DB may when a container's throughput drops; returns its name.
    pub async fn merge(
        &self,
        database: &str,
        container: &str,
        first: &str,
        second: &str,
    ) -> Result<String, EmbeddedError> {
        let fail = |message: String| EmbeddedError::Split {
            partition: format!("{first} + {second}"),
            message,
        };
        let handle = self.container(database, container).await?;
        let before = handle.ranges(true).await?;
        let store = self.store();
        let mut ids = Vec::new();
        for name in [first, second] {
            let target = range::parse(name)
                .filter(|r| before.contains(r))
                .ok_or_else(|| {
                    fail(format!(
                        "{name:?} is not one of the container's feed ranges"
                    ))
                })?;
            let (id, _) = partition_of(&store, database, container, &target)
                .ok_or_else(|| fail(format!("the emulator has no partition for {name:?}")))?;
            ids.push(id);
        }
        store
            .merge_partitions_and_wait(database, container, ids[0], ids[1], Duration::ZERO)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let after = handle.ranges(true).await?;
        let (Some(a), Some(b)) = (range::parse(first), range::parse(second)) else {
            return Err(fail(range::NAME_SHAPE.to_owned()));
        };
        after
            .iter()
            .find(|r| a.is_subset_of(r) && b.is_subset_of(r))
            .map(range::name)
            .ok_or_else(|| fail("no range covers both after the merge".to_owned()))
    }
}

/// The emulator's id of the physical partition whose range is `target`, with the midpoint
/// of that range: the emulator addresses partitions by id, and the partition whose midpoint
/// lies in the range is the range's.
fn partition_of(
    store: &EmulatorStore,
    database: &str,
    container: &str,
    target: &FeedRange,
) -> Option<(u32, EffectivePartitionKey)> {
    (0..MAX_PARTITION_ID).find_map(|id| {
        let middle = store.midpoint_split_epk(database, container, id).ok()?;
        (target.min_inclusive() < &middle && &middle < target.max_exclusive())
            .then_some((id, middle))
    })
}

impl EmbeddedContainer {
    /// The SDK client of this container, e.g. for a [`CosmosSource`](super::CosmosSource).
    pub fn client(&self) -> &ContainerClient {
        &self.client
    }

    /// `database/container`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.database, self.container)
    }

    /// The partition key path, such as `/symbol`.
    pub fn partition_key_path(&self) -> String {
        format!("/{}", self.partition_key.join("/"))
    }

    /// Creates or replaces `document` (a JSON object with a string `id` and a string, number
    /// or boolean at the partition key path); it then appears on the change feed.
    pub async fn upsert(&self, document: Value) -> Result<(), EmbeddedError> {
        let Value::Object(fields) = &document else {
            return Err(EmbeddedError::BadDocument(
                "expected a JSON object such as {\"id\": \"MSFT\", \"symbol\": \"MSFT\", \"price\": 1}".to_owned(),
            ));
        };
        let id = match fields.get("id") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            _ => {
                return Err(EmbeddedError::BadDocument(
                    "expected a non-empty string \"id\"".to_owned(),
                ));
            }
        };
        let key = self.partition_key_of(&document)?;
        self.client
            .upsert_item(key, &id, &document, None)
            .await
            .map_err(|e| EmbeddedError::Write(e.to_string()))?;
        Ok(())
    }

    /// The partition key value of `document`.
    fn partition_key_of(&self, document: &Value) -> Result<PartitionKey, EmbeddedError> {
        let value = self
            .partition_key
            .iter()
            .try_fold(document, |at, segment| at.get(segment));
        let missing = || {
            EmbeddedError::BadDocument(format!(
                "expected a string, number or boolean at {} (the container's partition key)",
                self.partition_key_path()
            ))
        };
        match value {
            Some(Value::String(text)) => Ok(PartitionKey::from(text.clone())),
            Some(Value::Bool(flag)) => Ok(PartitionKey::from(*flag)),
            Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
                (Some(whole), _) => Ok(PartitionKey::from(whole)),
                (None, Some(real)) => PartitionKey::try_from(real).map_err(|_| missing()),
                (None, None) => Err(missing()),
            },
            _ => Err(missing()),
        }
    }

    /// The container's feed ranges in key order; `fresh` re-reads them from the account
    /// instead of the client's cache.
    pub(crate) async fn ranges(&self, fresh: bool) -> Result<Vec<FeedRange>, EmbeddedError> {
        let options = ReadFeedRangesOptions::default().with_force_refresh(fresh);
        let mut ranges = self
            .client
            .read_feed_ranges(Some(options))
            .await
            .map_err(|e| EmbeddedError::Container {
                database: self.database.clone(),
                container: self.container.clone(),
                message: e.to_string(),
            })?;
        ranges.sort_by(|a, b| a.min_inclusive().cmp(b.min_inclusive()));
        Ok(ranges)
    }
}

fn key(database: &str, container: &str) -> (String, String) {
    (database.to_owned(), container.to_owned())
}

/// The segments of a partition key path such as `/symbol`; `None` for anything else.
fn key_path(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix('/')?;
    let segments: Vec<String> = rest.split('/').map(str::to_owned).collect();
    segments
        .iter()
        .all(|s| !s.is_empty() && !s.contains(char::is_whitespace))
        .then_some(segments)
}

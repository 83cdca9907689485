//! The `cosmos` source: an Azure Cosmos DB container's change feed (latest-version mode),
//! one partition per feed range.
//!
//! - **Partitions** are the container's feed ranges (its physical partitions), named by their
//!   effective-partition-key bounds, `<min>..<max>` in hex (see [`range`]). Each becomes the
//!   lease `<feed>/<min>..<max>`.
//! - **Reads**: one `query_change_feed` page per request, scoped to the range
//!   (`FeedScope::range`), at most `max` changes. Without a checkpoint it starts from
//!   `start_from`; with one it resumes from it.
//! - **Checkpoints** are the SDK's continuation token after the page. A read without a checkpoint
//!   returns the token even for an empty page, so a `now` start is pinned at once.
//! - **Positions** (and so dedupe keys `<id>:<position>`) are the document's `_lsn`. The SDK's
//!   in-memory emulator sets no `_lsn`, so there the `_etag` stands in: like `_lsn`, it is
//!   the same on a replay of one change and differs between two changes of one document.
//! - **Polling and request units**: Cosmos DB has no push; every poll is a request, and an
//!   empty one (HTTP 304) still costs about 1 RU. After an empty page a range is not asked
//!   again for `poll_delay` (default 1 s, where the SDKs' processors use 5 s): an idle feed
//!   costs about one RU per feed range per `poll_delay` (4 ranges at 1 s ≈ 4 RU/s, ~1% of a
//!   400 RU/s container) and a change is seen within about `poll_delay`. A page with changes is
//!   followed at once by the next. `read` waits across polls within its `wait` and keeps the
//!   delay between calls, so the reader's short waits never poll faster.
//! - **Throttling** (429): the SDK retries within its own budget; when it gives up, the read
//!   fails with [`SourceError::Throttled`] and the range is not asked again before the
//!   service's `retry-after`.
//! - **Splits and merges**: the SDK follows a split inside a read (it refreshes its routing
//!   map on 410 and reads the children from the parent's continuation). Each read first looks
//!   at the container's ranges (the SDK's cached routing map, so usually no request): when the
//!   lease's range now spans several ranges, the read fails with [`SourceError::Replaced`] and
//!   the lease is handed over to the range's parts, each resuming from the lease's checkpoint.
//!   A range merged into a larger one is kept and read as a slice (see [`range`]); nothing is
//!   lost, though the SDK's emulator restarts a merged partition's LSNs and so replays the
//!   slice's older documents once (with their dedupe keys, so clients can drop them).
//! - **Lag** has no cheap exact measure: [`ChangeSource::lag`] is an estimate from the last
//!   page, 0 when it reached the end of the feed (or was empty), `max` when it was full (at
//!   least one more change was likely waiting). The checkpoint does not change it.
//! - **Accounts**: a real one (key or Entra ID, see `account`, with the `cosmos-account`
//!   feature) or the embedded in-memory one of standalone mode ([`EmbeddedCosmos`]).

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use azure_data_cosmos::CosmosError;
use azure_data_cosmos::clients::ContainerClient;
use azure_data_cosmos::feed::{ContinuationToken, FeedRange, FeedScope};
use azure_data_cosmos::options::{
    ChangeFeedOptions, ChangeFeedStartFrom, MaxItemCountHint, ReadFeedRangesOptions,
};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use serde_json::Value;

use super::source::{Batch, Change, ChangeSource, SourceError};
use crate::config::{CosmosAccount, FeedConfig, FeedSource, StartFrom};

mod account;
pub mod emulator;
mod errors;
mod pacing;
pub mod range;

pub use emulator::{EmbeddedContainer, EmbeddedCosmos, EmbeddedError};

use errors::ErrorContext;
use pacing::Pacing;

/// Feed ranges of a container that `open` creates in the embedded account because standalone
/// configuration named one that does not exist yet.
const EMBEDDED_FEED_RANGES: u32 = 4;
/// Its partition key: the one path every document has.
const EMBEDDED_PARTITION_KEY: &str = "/id";

/// Reads a feed's change feed from one Cosmos DB container.
pub struct CosmosSource {
    container: ContainerClient,
    feed: String,
    /// What to check when the account refuses the credentials (depends on `source.auth`).
    auth_hint: &'static str,
    /// When each range may be asked again, and its last page for `lag`.
    pacing: Mutex<Pacing>,
}

/// Why [`open`] could not make a source.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The feed reads something else.
    #[error("feed {feed}: its source is not cosmos")]
    NotCosmos {
        /// The feed's name.
        feed: String,
    },
    /// The feed names the embedded account, and this process has none.
    #[error(
        "feed {feed}: source has no endpoint, which means the embedded in-memory account of standalone mode (`herald` without a subcommand), and this node has none: add endpoint = \"https://<account>.documents.azure.com:443/\" and auth to the feed's source"
    )]
    NoEmbeddedAccount {
        /// The feed's name.
        feed: String,
    },
    /// The embedded account refused the container.
    #[error("feed {feed}: {source}")]
    Embedded {
        /// The feed's name.
        feed: String,
        /// What it said.
        source: EmbeddedError,
    },
    /// The real account could not be reached or refused Herald.
    #[error("feed {feed}: cannot open cosmos account {endpoint}: {message}")]
    Account {
        /// The feed's name.
        feed: String,
        /// The account's host.
        endpoint: String,
        /// What went wrong and what to check.
        message: String,
    },
}

/// The source of the cosmos feed `feed`: its container in the real account it names, or in
/// `embedded` when it names none (creating the container there, with partition key `/id` and
/// 4 feed ranges, if standalone mode has not).
pub async fn open(
    feed: &FeedConfig,
    embedded: Option<&EmbeddedCosmos>,
) -> Result<Arc<dyn ChangeSource>, OpenError> {
    let FeedSource::Cosmos {
        database,
        container,
        account,
        poll_delay,
    } = &feed.source
    else {
        return Err(OpenError::NotCosmos {
            feed: feed.name.clone(),
        });
    };
    let source = match account {
        CosmosAccount::Embedded => {
            let Some(embedded) = embedded else {
                return Err(OpenError::NoEmbeddedAccount {
                    feed: feed.name.clone(),
                });
            };
            let handle = match embedded.container(database, container).await {
                Ok(handle) => handle,
                Err(_) => {
                    tracing::info!(feed = %feed.name, %database, %container, "creating the container in the embedded cosmos account (partition key /id)");
                    embedded
                        .create_container(
                            database,
                            container,
                            EMBEDDED_PARTITION_KEY,
                            EMBEDDED_FEED_RANGES,
                        )
                        .await
                        .map_err(|source| OpenError::Embedded {
                            feed: feed.name.clone(),
                            source,
                        })?
                }
            };
            CosmosSource::new(
                handle.client().clone(),
                &feed.name,
                *poll_delay,
                "the embedded account accepts any key: report this as a bug",
            )
        }
        CosmosAccount::Remote { endpoint, auth } => {
            let client = account::container(endpoint, auth, database, container)
                .await
                .map_err(|message| OpenError::Account {
                    feed: feed.name.clone(),
                    endpoint: endpoint.host_str().unwrap_or_default().to_owned(),
                    message,
                })?;
            CosmosSource::new(client, &feed.name, *poll_delay, account::auth_hint(auth))
        }
    };
    Ok(Arc::new(source))
}

impl CosmosSource {
    /// A source for the feed `feed` over `container`, polling an idle range at most once per
    /// `poll_delay`; `auth_hint` says what to check when the account refuses the credentials.
    pub fn new(
        container: ContainerClient,
        feed: &str,
        poll_delay: Duration,
        auth_hint: &'static str,
    ) -> Self {
        Self {
            container,
            feed: feed.to_owned(),
            auth_hint,
            pacing: Mutex::new(Pacing::new(poll_delay)),
        }
    }

    fn pace(&self) -> MutexGuard<'_, Pacing> {
        // The pacing table is consistent after every statement; a panic elsewhere cannot
        // leave it half-written.
        self.pacing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn context<'a>(&'a self, partition: &'a str) -> ErrorContext<'a> {
        ErrorContext {
            feed: &self.feed,
            partition,
            auth_hint: self.auth_hint,
        }
    }

    fn failed(&self, partition: &str, error: &CosmosError) -> SourceError {
        let error = errors::classify(error, &self.context(partition));
        if let SourceError::Throttled { retry_after, .. } = &error {
            self.pace()
                .throttled(partition, *retry_after, Instant::now());
        }
        error
    }

    fn protocol(&self, partition: &str, message: String) -> SourceError {
        SourceError::Protocol {
            feed: self.feed.clone(),
            partition: partition.to_owned(),
            message,
        }
    }

    /// The feed range a partition name stands for.
    fn range(&self, partition: &str) -> Result<FeedRange, SourceError> {
        range::parse(partition).ok_or_else(|| SourceError::NotAPartition {
            feed: self.feed.clone(),
            partition: partition.to_owned(),
            expected: range::NAME_SHAPE.to_owned(),
        })
    }

    /// The container's feed ranges; `fresh` asks the account rather than the SDK's cache.
    async fn ranges(&self, partition: &str, fresh: bool) -> Result<Vec<FeedRange>, SourceError> {
        let options = ReadFeedRangesOptions::default().with_force_refresh(fresh);
        self.container
            .read_feed_ranges(Some(options))
            .await
            .map_err(|e| self.failed(partition, &e))
    }

    /// `Replaced` when the range of `partition` now spans several physical ranges.
    async fn check_split(
        &self,
        partition: &str,
        range: &FeedRange,
        fresh: bool,
    ) -> Result<(), SourceError> {
        let current = self.ranges(partition, fresh).await?;
        let Some(successors) = range::successors(range, &current) else {
            return Ok(());
        };
        self.pace().forget(partition);
        Err(SourceError::Replaced {
            feed: self.feed.clone(),
            partition: partition.to_owned(),
            successors: successors.iter().map(range::name).collect(),
        })
    }

    /// One page of `range`: its changes and the continuation after it.
    async fn page(
        &self,
        partition: &str,
        range: &FeedRange,
        after: Option<&str>,
        start_from: &StartFrom,
        max: usize,
    ) -> Result<(Vec<Change>, String), SourceError> {
        let limit =
            NonZeroU32::new(u32::try_from(max).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
        let mut options =
            ChangeFeedOptions::default().with_max_item_count(MaxItemCountHint::Limit(limit));
        if let Some(after) = after {
            options =
                options.with_continuation_token(ContinuationToken::from_string(after.to_owned()));
        }
        let planned = self
            .container
            .query_change_feed::<Value>(
                FeedScope::range(range.clone()),
                sdk_start(start_from),
                Some(options),
            )
            .await;
        let mut pages = match planned {
            Ok(pages) => pages,
            Err(e) if after.is_some() && errors::is_client_bad_request(&e) => {
                return Err(SourceError::BadCheckpoint {
                    feed: self.feed.clone(),
                    partition: partition.to_owned(),
                    checkpoint: after.unwrap_or_default().to_owned(),
                });
            }
            Err(e) => return Err(self.failed(partition, &e)),
        };
        let page = match pages.next().await {
            Some(Ok(page)) => page,
            Some(Err(e)) if errors::is_gone(&e) => {
                self.check_split(partition, range, true).await?;
                return Err(self.failed(partition, &e));
            }
            Some(Err(e)) => return Err(self.failed(partition, &e)),
            None => {
                return Err(self.protocol(partition, "the change feed ended".to_owned()));
            }
        };
        let token = pages
            .to_continuation_token()
            .map_err(|e| self.protocol(partition, format!("no continuation after a page: {e}")))?;
        let changes = page
            .into_items()
            .into_iter()
            .map(|item| match item.current() {
                Some(document) => Change {
                    position: position(document),
                    document: Ok(document.clone()),
                },
                None => Change {
                    position: String::new(),
                    document: Err("the change feed item carries no document".to_owned()),
                },
            })
            .collect();
        Ok((changes, token.as_str().to_owned()))
    }

    async fn read_range(
        &self,
        partition: &str,
        after: Option<&str>,
        start_from: &StartFrom,
        max: usize,
        wait: Duration,
    ) -> Result<Batch, SourceError> {
        let range = self.range(partition)?;
        let deadline = Instant::now() + wait;
        loop {
            let held = self.pace().hold_until(partition, Instant::now());
            if let Some(until) = held {
                if until > deadline {
                    tokio::time::sleep_until(deadline.into()).await;
                    return Ok(Batch::default());
                }
                tokio::time::sleep_until(until.into()).await;
            }
            self.check_split(partition, &range, false).await?;
            let (changes, token) = self.page(partition, &range, after, start_from, max).await?;
            self.pace()
                .page(partition, changes.len(), max, Instant::now());
            if !changes.is_empty() || after != Some(token.as_str()) {
                return Ok(Batch {
                    changes,
                    next_checkpoint: Some(token),
                });
            }
            if Instant::now() >= deadline {
                return Ok(Batch::default());
            }
        }
    }
}

/// The SDK's start position for `start_from`.
fn sdk_start(start_from: &StartFrom) -> ChangeFeedStartFrom {
    match start_from {
        StartFrom::Beginning => ChangeFeedStartFrom::Beginning,
        StartFrom::Now => ChangeFeedStartFrom::Now,
        StartFrom::Time(time) => {
            ChangeFeedStartFrom::PointInTime(time::OffsetDateTime::from(*time))
        }
    }
}

/// The position of a changed document: its `_lsn`, else its `_etag` (the emulator sets no
/// `_lsn`), else its `_ts`.
fn position(document: &Value) -> String {
    match (
        document.get("_lsn"),
        document.get("_etag"),
        document.get("_ts"),
    ) {
        (Some(Value::Number(lsn)), _, _) => lsn.to_string(),
        (Some(Value::String(lsn)), _, _) => lsn.clone(),
        (_, Some(Value::String(etag)), _) => etag.trim_matches('"').to_owned(),
        (_, _, Some(ts)) => ts.to_string(),
        _ => String::new(),
    }
}

impl ChangeSource for CosmosSource {
    fn new_partitions(&self, existing: &[String], listed: &[String]) -> Vec<String> {
        range::partitions_to_create(existing, listed)
    }

    fn partitions(&self) -> BoxFuture<'_, Result<Vec<String>, SourceError>> {
        async move {
            let mut ranges = self.ranges("(all)", true).await?;
            ranges.sort_by(|a, b| a.min_inclusive().cmp(b.min_inclusive()));
            Ok(ranges.iter().map(range::name).collect())
        }
        .boxed()
    }

    fn read<'a>(
        &'a self,
        partition: &'a str,
        after: Option<&'a str>,
        start_from: &'a StartFrom,
        max: usize,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Batch, SourceError>> {
        self.read_range(partition, after, start_from, max.max(1), wait)
            .boxed()
    }

    /// An estimate from the last page read (see the module docs): 0 when it reached the end
    /// of the feed, the batch size when it was full; no request is made.
    fn lag<'a>(
        &'a self,
        partition: &'a str,
        _after: Option<&'a str>,
    ) -> BoxFuture<'a, Result<u64, SourceError>> {
        let lag = self.range(partition).map(|_| self.pace().lag(partition));
        futures_util::future::ready(lag).boxed()
    }
}

#[cfg(test)]
mod emulator_tests;
#[cfg(test)]
mod live_tests;
#[cfg(test)]
mod source_tests;

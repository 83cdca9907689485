//! The `redis-stream` source: one Redis stream per partition, `{prefix}:feed:{name}:{n}`,
//! appended to by any producer with `XADD <key> * doc '<json>'`.
//!
//! Each read is one `XREAD` on one stream (so it works on a Redis Cluster, where a multi-key
//! read would span slots). Positions are stream ids; the id of the last change read is the
//! checkpoint, and `XREAD` returns only entries after it.

use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use redis::Value;

use super::source::{Batch, ChangeSource, SourceError};
use super::stream_reply::{entries, stream_id};
use crate::backplane::redis::CommandConnection;
use crate::config::StartFrom;

/// Most entries `lag` walks in one direction before it settles for a bound (see `lag`).
const LAG_SCAN_LIMIT: u64 = 10_000;
/// Entries fetched per `XRANGE` while counting, so one reply stays small.
const LAG_PAGE: u64 = 500;

/// Reads a feed's partitions from Redis streams.
///
/// Give it a connection of its own (another `command_connection`, not a clone of a shared
/// one): a blocked `XREAD` holds its connection, delaying every command queued behind it.
/// Keep `wait` below `redis.connect_timeout`, which is also the connection's reply timeout.
pub struct RedisStreamSource {
    conn: CommandConnection,
    prefix: String,
    feed: String,
    partitions: u32,
}

impl RedisStreamSource {
    /// A source for the feed `feed` with `partitions` streams under the key prefix `prefix`
    /// (`redis.prefix`, so clusters sharing a Redis do not read each other's feeds).
    pub fn new(conn: CommandConnection, prefix: &str, feed: &str, partitions: u32) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            feed: feed.to_owned(),
            partitions,
        }
    }

    /// The stream of `partition`.
    pub fn key(&self, partition: u32) -> String {
        format!("{}:feed:{}:{partition}", self.prefix, self.feed)
    }

    /// The stream number a partition name stands for, refused when it is not one.
    fn index(&self, partition: &str) -> Result<u32, SourceError> {
        partition
            .parse::<u32>()
            .ok()
            .filter(|n| *n < self.partitions && n.to_string() == partition)
            .ok_or_else(|| SourceError::NoPartition {
                feed: self.feed.clone(),
                partition: partition.to_owned(),
                partitions: self.partitions,
            })
    }

    /// The stream key of `partition`, refused when it is out of range.
    fn checked_key(&self, partition: u32) -> Result<String, SourceError> {
        if partition < self.partitions {
            Ok(self.key(partition))
        } else {
            Err(SourceError::NoPartition {
                feed: self.feed.clone(),
                partition: partition.to_string(),
                partitions: self.partitions,
            })
        }
    }

    /// `after`, checked to be a stream id (`ms-seq`); anything else would make Redis fail
    /// every read, or (`$`, `+`) mean something else entirely.
    fn checkpoint(&self, partition: u32, after: &str) -> Result<String, SourceError> {
        if stream_id(after).is_some() {
            Ok(after.to_owned())
        } else {
            Err(SourceError::BadCheckpoint {
                feed: self.feed.clone(),
                partition: partition.to_string(),
                checkpoint: after.to_owned(),
            })
        }
    }

    async fn query(&self, partition: u32, cmd: &redis::Cmd) -> Result<Value, SourceError> {
        let mut conn = self.conn.clone();
        cmd.query_async(&mut conn)
            .await
            .map_err(|e| SourceError::Unavailable {
                feed: self.feed.clone(),
                partition: partition.to_string(),
                message: e.to_string(),
            })
    }

    fn protocol(&self, partition: u32, message: String) -> SourceError {
        SourceError::Protocol {
            feed: self.feed.clone(),
            partition: partition.to_string(),
            message,
        }
    }

    /// The id to read after when there is no checkpoint. `Time` starts at the first id of its
    /// millisecond, so the id just before it (XREAD is exclusive) is the previous
    /// millisecond's last possible one.
    async fn start_id(
        &self,
        partition: u32,
        key: &str,
        start_from: &StartFrom,
    ) -> Result<String, SourceError> {
        match start_from {
            StartFrom::Beginning => Ok("0-0".to_owned()),
            StartFrom::Time(time) => Ok(match StartFrom::unix_millis(*time) {
                0 => "0-0".to_owned(),
                ms => format!("{}-{}", ms - 1, u64::MAX),
            }),
            StartFrom::Now => {
                let reply = self
                    .query(
                        partition,
                        redis::cmd("XREVRANGE")
                            .arg(key)
                            .arg("+")
                            .arg("-")
                            .arg("COUNT")
                            .arg(1),
                    )
                    .await?;
                let last = entries(&reply).map_err(|m| self.protocol(partition, m))?;
                Ok(last
                    .into_iter()
                    .next()
                    .map_or_else(|| "0-0".to_owned(), |c| c.position))
            }
        }
    }

    async fn read_owned(
        &self,
        partition: u32,
        after: Option<String>,
        start_from: StartFrom,
        max: usize,
        wait: Duration,
    ) -> Result<Batch, SourceError> {
        let key = self.checked_key(partition)?;
        let (from, resolved) = match after {
            Some(after) => (self.checkpoint(partition, &after)?, false),
            None => (self.start_id(partition, &key, &start_from).await?, true),
        };
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT").arg(max.max(1));
        if !wait.is_zero() {
            // BLOCK 0 would wait forever; a sub-millisecond wait still waits a little.
            let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
            cmd.arg("BLOCK").arg(ms);
        }
        cmd.arg("STREAMS").arg(&key).arg(&from);
        let reply = self.query(partition, &cmd).await?;
        let changes = read_reply(&reply).map_err(|m| self.protocol(partition, m))?;
        let next_checkpoint = match changes.last() {
            Some(last) => Some(last.position.clone()),
            None if resolved => Some(from),
            None => None,
        };
        Ok(Batch {
            changes,
            next_checkpoint,
        })
    }

    /// Entries of `key` from `start` to `end` (XRANGE bounds), counted up to `limit`.
    async fn count(
        &self,
        partition: u32,
        key: &str,
        start: String,
        end: &str,
        limit: u64,
    ) -> Result<u64, SourceError> {
        let mut counted = 0;
        let mut start = start;
        while counted < limit {
            let page = LAG_PAGE.min(limit - counted);
            let cmd = redis::cmd("XRANGE")
                .arg(key)
                .arg(&start)
                .arg(end)
                .arg("COUNT")
                .arg(page)
                .clone();
            let reply = self.query(partition, &cmd).await?;
            let found = entries(&reply).map_err(|m| self.protocol(partition, m))?;
            counted += found.len() as u64;
            match found.last() {
                Some(last) if found.len() as u64 == page => start = format!("({}", last.position),
                _ => break,
            }
        }
        Ok(counted)
    }
}

/// The changes of an `XREAD` reply for one stream; nil (the wait ran out) is none.
fn read_reply(reply: &Value) -> Result<Vec<super::source::Change>, String> {
    let streams: Vec<&Value> = match reply {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(streams) => streams.iter().collect(),
        Value::Map(pairs) => pairs.iter().map(|(_, v)| v).collect(),
        other => return Err(format!("expected streams from XREAD, got {other:?}")),
    };
    let mut changes = Vec::new();
    for stream in streams {
        let list = match stream {
            Value::Array(pair) if pair.len() == 2 => &pair[1],
            Value::Array(_) | Value::Nil => continue,
            // RESP3 maps give the entries directly.
            entries_list => entries_list,
        };
        changes.extend(entries(list)?);
    }
    Ok(changes)
}

impl ChangeSource for RedisStreamSource {
    fn partitions(&self) -> BoxFuture<'_, Result<Vec<String>, SourceError>> {
        let names = (0..self.partitions).map(|p| p.to_string()).collect();
        futures_util::future::ready(Ok(names)).boxed()
    }

    fn read<'a>(
        &'a self,
        partition: &'a str,
        after: Option<&'a str>,
        start_from: &'a StartFrom,
        max: usize,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Batch, SourceError>> {
        let after = after.map(str::to_owned);
        async move {
            let partition = self.index(partition)?;
            self.read_owned(partition, after, *start_from, max, wait)
                .await
        }
        .boxed()
    }

    /// Exact while the lag, or the number of retained entries at or before the checkpoint, is
    /// at most 10 000 (`XRANGE` counts; the second case as `XLEN` minus them); beyond both it
    /// reports 10 000, a lower bound. Without a checkpoint it is `XLEN`, every retained entry,
    /// whatever `start_from` will skip.
    fn lag<'a>(
        &'a self,
        partition: &'a str,
        after: Option<&'a str>,
    ) -> BoxFuture<'a, Result<u64, SourceError>> {
        let after = after.map(str::to_owned);
        async move {
            let partition = self.index(partition)?;
            let key = self.checked_key(partition)?;
            let length = match self.query(partition, redis::cmd("XLEN").arg(&key)).await? {
                Value::Int(n) => u64::try_from(n).unwrap_or(0),
                other => return Err(self.protocol(partition, format!("XLEN gave {other:?}"))),
            };
            let Some(after) = after else {
                return Ok(length);
            };
            let after = self.checkpoint(partition, &after)?;
            let newer = self
                .count(partition, &key, format!("({after}"), "+", LAG_SCAN_LIMIT)
                .await?;
            if newer < LAG_SCAN_LIMIT {
                return Ok(newer);
            }
            let older = self
                .count(partition, &key, "-".to_owned(), &after, LAG_SCAN_LIMIT)
                .await?;
            if older < LAG_SCAN_LIMIT {
                Ok(length.saturating_sub(older).max(LAG_SCAN_LIMIT))
            } else {
                Ok(LAG_SCAN_LIMIT)
            }
        }
        .boxed()
    }
}

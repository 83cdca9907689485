//! [`CosmosSource`] against the embedded account: every document exactly once over the feed
//! ranges, resume, `start_from`, the poll delay, splits handed over without loss, errors.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use super::emulator::EmbeddedContainer;
use super::emulator_tests::{stock, stocks};
use super::{CosmosSource, OpenError, open};
use crate::config::{CosmosAccount, FeedConfig, FeedSource, Route, StartFrom};
use crate::feed::source::{Batch, ChangeSource, SourceError};

const NO_WAIT: Duration = Duration::ZERO;
/// Longer than any read here should take; a test that hits it fails rather than hangs.
const PATIENCE: Duration = Duration::from_secs(5);
const FAST: Duration = Duration::from_millis(100);

fn source(container: &EmbeddedContainer, poll_delay: Duration) -> CosmosSource {
    CosmosSource::new(container.client().clone(), "stocks", poll_delay, "check")
}

/// Reads `partition` from `checkpoint` in batches of `max` until a read returns nothing new;
/// returns (dedupe keys, the last checkpoint).
async fn drain(
    source: &CosmosSource,
    partition: &str,
    mut checkpoint: Option<String>,
    start_from: StartFrom,
    max: usize,
) -> (Vec<String>, Option<String>) {
    let mut keys = Vec::new();
    for _ in 0..100 {
        let batch = source
            .read(partition, checkpoint.as_deref(), &start_from, max, NO_WAIT)
            .await
            .unwrap();
        assert!(batch.changes.len() <= max);
        let done = batch.changes.is_empty() && checkpoint.is_some();
        for change in &batch.changes {
            let document = change.document.as_ref().unwrap();
            keys.push(format!(
                "{}:{}",
                document["id"].as_str().unwrap(),
                change.position
            ));
        }
        if let Some(next) = batch.next_checkpoint {
            checkpoint = Some(next);
        }
        if done {
            break;
        }
    }
    (keys, checkpoint)
}

fn ids(keys: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = keys
        .iter()
        .map(|k| k.split_once(':').unwrap().0.to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn every_document_arrives_exactly_once_over_the_four_ranges_and_resumes() {
    let (_account, container) = stocks(4).await;
    for i in 0..50 {
        container.upsert(stock(i, i)).await.unwrap();
    }
    let source = source(&container, FAST);
    let partitions = source.partitions().await.unwrap();
    assert_eq!(partitions.len(), 4, "{partitions:?}");
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut checkpoints = Vec::new();
    for partition in &partitions {
        let (keys, checkpoint) = drain(&source, partition, None, StartFrom::Beginning, 7).await;
        for key in keys {
            *seen.entry(key).or_default() += 1;
        }
        checkpoints.push(checkpoint.expect("a checkpoint after reading"));
    }
    assert_eq!(seen.len(), 50, "{seen:?}");
    assert!(seen.values().all(|n| *n == 1));

    // Updates and new documents after the checkpoints, and nothing else, come next; an
    // update is a new change of the same document, with its own dedupe key.
    container.upsert(stock(3, 300)).await.unwrap();
    container.upsert(stock(50, 50)).await.unwrap();
    let mut resumed = Vec::new();
    for (partition, checkpoint) in partitions.iter().zip(&checkpoints) {
        tokio::time::sleep(FAST).await; // let the poll delay of the empty read pass
        let (keys, _) = drain(
            &source,
            partition,
            Some(checkpoint.clone()),
            StartFrom::Beginning,
            7,
        )
        .await;
        resumed.extend(keys);
    }
    assert_eq!(ids(&resumed), ["s3", "s50"]);
    assert!(
        resumed.iter().all(|k| !seen.contains_key(k)),
        "new dedupe keys: {resumed:?}"
    );
}

#[tokio::test]
async fn a_first_read_pins_its_start_and_now_skips_older_documents() {
    let (_account, container) = stocks(1).await;
    container.upsert(stock(1, 1)).await.unwrap();
    let source = source(&container, FAST);
    let [partition] = &source.partitions().await.unwrap()[..] else {
        panic!("one range");
    };
    let first = source
        .read(partition, None, &StartFrom::Now, 10, NO_WAIT)
        .await
        .unwrap();
    assert!(first.changes.is_empty());
    let pinned = first
        .next_checkpoint
        .expect("the resolved start is returned");
    container.upsert(stock(2, 2)).await.unwrap();
    tokio::time::sleep(FAST).await;
    let (keys, _) = drain(&source, partition, Some(pinned), StartFrom::Now, 10).await;
    assert_eq!(ids(&keys), ["s2"]);

    // A point in time before everything reads everything.
    let (keys, _) = drain(
        &source,
        partition,
        None,
        StartFrom::Time(SystemTime::UNIX_EPOCH),
        10,
    )
    .await;
    assert_eq!(ids(&keys), ["s1", "s2"]);
}

#[tokio::test]
async fn an_idle_range_is_polled_at_most_once_per_poll_delay() {
    let poll_delay = Duration::from_millis(400);
    let (_account, container) = stocks(1).await;
    let source = source(&container, poll_delay);
    let partition = source.partitions().await.unwrap().remove(0);
    let started = Instant::now();
    let first = source
        .read(&partition, None, &StartFrom::Now, 10, NO_WAIT)
        .await
        .unwrap();
    let checkpoint = first.next_checkpoint.unwrap();
    container.upsert(stock(1, 1)).await.unwrap();

    // Within the delay no request goes out, so the new document is not seen yet.
    let held = source
        .read(&partition, Some(&checkpoint), &StartFrom::Now, 10, NO_WAIT)
        .await
        .unwrap();
    assert_eq!(held, Batch::default());
    assert_eq!(source.lag(&partition, Some(&checkpoint)).await.unwrap(), 0);

    // A read that may wait polls again once the delay has passed.
    let batch = source
        .read(&partition, Some(&checkpoint), &StartFrom::Now, 10, PATIENCE)
        .await
        .unwrap();
    assert!(started.elapsed() >= poll_delay, "{:?}", started.elapsed());
    assert!(started.elapsed() < PATIENCE, "{:?}", started.elapsed());
    assert_eq!(batch.changes.len(), 1);
    assert_ne!(batch.next_checkpoint.as_deref(), Some(checkpoint.as_str()));
}

#[tokio::test]
async fn a_wait_spans_several_polls_and_ends_empty() {
    let (_account, container) = stocks(1).await;
    let source = source(&container, Duration::from_millis(100));
    let partition = source.partitions().await.unwrap().remove(0);
    let checkpoint = source
        .read(&partition, None, &StartFrom::Now, 10, NO_WAIT)
        .await
        .unwrap()
        .next_checkpoint
        .unwrap();
    let started = Instant::now();
    let batch = source
        .read(
            &partition,
            Some(&checkpoint),
            &StartFrom::Now,
            10,
            Duration::from_millis(350),
        )
        .await
        .unwrap();
    assert_eq!(
        batch,
        Batch::default(),
        "nothing changed: keep the checkpoint"
    );
    assert!(started.elapsed() >= Duration::from_millis(350));
    assert!(started.elapsed() < PATIENCE);
}

#[tokio::test]
async fn lag_is_a_full_batch_while_behind_and_zero_when_caught_up() {
    let (_account, container) = stocks(1).await;
    for i in 0..5 {
        container.upsert(stock(i, i)).await.unwrap();
    }
    let source = source(&container, FAST);
    let partition = source.partitions().await.unwrap().remove(0);
    let batch = source
        .read(&partition, None, &StartFrom::Beginning, 2, NO_WAIT)
        .await
        .unwrap();
    assert_eq!(batch.changes.len(), 2);
    let checkpoint = batch.next_checkpoint.unwrap();
    assert_eq!(source.lag(&partition, Some(&checkpoint)).await.unwrap(), 2);
    let (_, last) = drain(&source, &partition, Some(checkpoint), StartFrom::Now, 10).await;
    assert_eq!(source.lag(&partition, last.as_deref()).await.unwrap(), 0);
}

#[tokio::test]
async fn a_split_hands_the_lease_to_its_children_without_loss() {
    let (account, container) = stocks(4).await;
    for i in 0..40 {
        container.upsert(stock(i, i)).await.unwrap();
    }
    let source = source(&container, FAST);
    let partitions = source.partitions().await.unwrap();
    let parent = partitions[0].clone();
    let (before, checkpoint) = drain(&source, &parent, None, StartFrom::Beginning, 5).await;
    let children = account.split("demo", "stocks", &parent).await.unwrap();
    for i in 40..120 {
        container.upsert(stock(i, i)).await.unwrap();
    }

    // The parent is read on (the SDK follows the split) until the source notices it and
    // hands the lease over, from the parent's last checkpoint.
    let mut checkpoint = checkpoint;
    let mut delivered = before.clone();
    let successors = loop {
        tokio::time::sleep(FAST).await;
        match source
            .read(&parent, checkpoint.as_deref(), &StartFrom::Now, 5, NO_WAIT)
            .await
        {
            Ok(batch) => {
                for change in &batch.changes {
                    let document = change.document.as_ref().unwrap();
                    delivered.push(format!(
                        "{}:{}",
                        document["id"].as_str().unwrap(),
                        change.position
                    ));
                }
                if batch.next_checkpoint.is_some() {
                    checkpoint = batch.next_checkpoint;
                }
            }
            Err(SourceError::Replaced {
                successors,
                partition,
                ..
            }) => {
                assert_eq!(partition, parent);
                break successors;
            }
            Err(other) => panic!("{other}"),
        }
    };
    assert_eq!(successors, children);
    for child in &successors {
        let (keys, _) = drain(&source, child, checkpoint.clone(), StartFrom::Now, 5).await;
        delivered.extend(keys);
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for key in &delivered {
        *counts.entry(key).or_default() += 1;
    }
    assert!(
        counts.values().all(|n| *n == 1),
        "no duplicates: {counts:?}"
    );

    // Every document of the parent's range, before and after the split, was delivered.
    let mut all = Vec::new();
    for child in &successors {
        let (keys, _) = drain(&source, child, None, StartFrom::Beginning, 50).await;
        all.extend(keys);
    }
    assert_eq!(ids(&delivered), ids(&all));
    assert!(
        all.len() > before.len(),
        "the split range got new documents"
    );
    let now = source.partitions().await.unwrap();
    assert_eq!(now.len(), 5);
    assert_eq!(now[2..], partitions[1..]);
}

#[tokio::test]
async fn a_merged_range_keeps_its_leases_and_loses_nothing() {
    let (account, container) = stocks(4).await;
    for i in 0..40 {
        container.upsert(stock(i, i)).await.unwrap();
    }
    let source = source(&container, FAST);
    let partitions = source.partitions().await.unwrap();
    let (left, right) = (partitions[0].clone(), partitions[1].clone());
    let (mut delivered, left_checkpoint) =
        drain(&source, &left, None, StartFrom::Beginning, 5).await;
    let (right_before, right_checkpoint) =
        drain(&source, &right, None, StartFrom::Beginning, 5).await;
    delivered.extend(right_before);
    let merged = account
        .merge("demo", "stocks", &left, &right)
        .await
        .unwrap();
    assert_eq!(
        merged,
        format!(
            "{}..{}",
            left.split_once("..").unwrap().0,
            right.split_once("..").unwrap().1
        )
    );
    for i in 40..120 {
        container.upsert(stock(i, i)).await.unwrap();
    }
    // Each old lease reads on, as a slice of the merged range, from its own checkpoint.
    for (lease, checkpoint) in [(&left, left_checkpoint), (&right, right_checkpoint)] {
        tokio::time::sleep(FAST).await;
        let (keys, _) = drain(&source, lease, checkpoint, StartFrom::Now, 5).await;
        delivered.extend(keys);
    }
    // Nothing is lost. The emulator restarts a merged partition's LSNs, so a slice replays
    // documents it had already delivered (at least once, not exactly once): each replay
    // carries the change's dedupe key, so clients can drop it.
    let distinct: std::collections::BTreeSet<&String> = delivered.iter().collect();
    let distinct: Vec<String> = distinct.into_iter().cloned().collect();
    let (all, _) = drain(&source, &merged, None, StartFrom::Beginning, 50).await;
    assert_eq!(
        ids(&distinct),
        ids(&all),
        "every document of both ranges, one key each"
    );
    assert_eq!(source.partitions().await.unwrap().len(), 3);
}

#[tokio::test]
async fn bad_partitions_and_checkpoints_are_refused() {
    let (_account, container) = stocks(1).await;
    let source = source(&container, FAST);
    for bad in ["0", "x..y", "80..40", ""] {
        let error = source
            .read(bad, None, &StartFrom::Now, 1, NO_WAIT)
            .await
            .unwrap_err();
        assert!(
            matches!(error, SourceError::NotAPartition { .. }),
            "{bad}: {error}"
        );
        assert_eq!(error.kind(), "not_a_partition");
        assert!(source.lag(bad, None).await.is_err());
    }
    let partition = source.partitions().await.unwrap().remove(0);
    let error = source
        .read(&partition, Some("1-0"), &StartFrom::Now, 1, NO_WAIT)
        .await
        .unwrap_err();
    assert!(
        matches!(error, SourceError::BadCheckpoint { .. }),
        "{error}"
    );
}

fn feed(account: CosmosAccount) -> FeedConfig {
    FeedConfig {
        name: "orders".to_owned(),
        source: FeedSource::Cosmos {
            database: "shop".to_owned(),
            container: "orders".to_owned(),
            account,
            poll_delay: FAST,
        },
        start_from: StartFrom::Beginning,
        hub: "orders".parse().unwrap(),
        target: Some("orderChanged".to_owned()),
        to: Route::All,
        project: None,
        handler: None,
        batch_size: 10,
    }
}

#[tokio::test]
async fn open_picks_the_embedded_account_and_says_what_is_missing() {
    let (account, _) = stocks(1).await;
    let error = open(&feed(CosmosAccount::Embedded), None)
        .await
        .err()
        .unwrap();
    assert!(matches!(error, OpenError::NoEmbeddedAccount { .. }));
    assert!(error.to_string().contains("add endpoint = "), "{error}");

    // A container standalone mode did not make is created (partition key /id).
    let source = open(&feed(CosmosAccount::Embedded), Some(&account))
        .await
        .unwrap();
    let handle = account.container("shop", "orders").await.unwrap();
    handle
        .upsert(json!({"id": "o-1", "total": 3}))
        .await
        .unwrap();
    let partitions = source.partitions().await.unwrap();
    assert_eq!(partitions.len(), 4);
    let mut found = Vec::new();
    for partition in &partitions {
        let batch = source
            .read(partition, None, &StartFrom::Beginning, 10, NO_WAIT)
            .await
            .unwrap();
        found.extend(
            batch
                .changes
                .into_iter()
                .map(|c| c.document.unwrap()["id"].clone()),
        );
    }
    assert_eq!(found, [json!("o-1")]);

    let redis = FeedConfig {
        source: FeedSource::RedisStream { partitions: 1 },
        ..feed(CosmosAccount::Embedded)
    };
    assert!(matches!(
        open(&redis, Some(&account)).await,
        Err(OpenError::NotCosmos { .. })
    ));
}

#[cfg(not(feature = "cosmos-account"))]
#[tokio::test]
async fn without_the_account_feature_a_remote_account_says_how_to_build() {
    use crate::config::{CosmosAuth, SecretText};

    let remote = CosmosAccount::Remote {
        endpoint: "https://acct.documents.azure.com:443/".parse().unwrap(),
        auth: CosmosAuth::Key(SecretText::new("a2V5".to_owned())),
    };
    let error = open(&feed(remote), None).await.err().unwrap();
    let text = error.to_string();
    assert!(text.contains("--features cosmos-account"), "{text}");
    assert!(text.contains("acct.documents.azure.com"), "{text}");
    assert!(!text.contains("a2V5"), "{text}");
}

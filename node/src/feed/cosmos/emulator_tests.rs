//! What Herald relies on in the SDK's in-memory emulator, exercised through the SDK itself:
//! an upgrade of `azure_data_cosmos` that breaks any of it fails here first.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use azure_data_cosmos::clients::ContainerClient;
use azure_data_cosmos::feed::{ContinuationToken, FeedRange, FeedScope};
use azure_data_cosmos::options::{ChangeFeedOptions, ChangeFeedStartFrom, MaxItemCountHint};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::emulator::{EmbeddedContainer, EmbeddedCosmos, EmbeddedError};
use super::range;

/// The names of a 4-range container's feed ranges: the key space cut in equal quarters of
/// the first byte's low half, as the emulator lays them out.
const FOUR_RANGES: [&str; 4] = [
    "..10000000000000000000000000000000",
    "10000000000000000000000000000000..20000000000000000000000000000000",
    "20000000000000000000000000000000..30000000000000000000000000000000",
    "30000000000000000000000000000000..FF",
];

/// Starts an embedded account for a test. With the `cosmos-account` feature the SDK would ask
/// the Azure instance metadata service on start, which tests must never do: they insist on
/// `COSMOS_DISABLE_IMDS`, which makes the SDK skip it.
pub(super) async fn account() -> EmbeddedCosmos {
    if cfg!(feature = "cosmos-account") {
        assert!(
            std::env::var_os("COSMOS_DISABLE_IMDS").is_some(),
            "with the cosmos-account feature the Cosmos SDK probes the Azure instance metadata service when a client starts: run these tests with COSMOS_DISABLE_IMDS=1"
        );
    }
    EmbeddedCosmos::start().await.unwrap()
}

pub(super) async fn stocks(ranges: u32) -> (EmbeddedCosmos, EmbeddedContainer) {
    let account = account().await;
    let container = account
        .create_container("demo", "stocks", "/symbol", ranges)
        .await
        .unwrap();
    (account, container)
}

pub(super) fn stock(id: usize, price: usize) -> Value {
    json!({ "id": format!("s{id}"), "symbol": format!("SYM{id}"), "price": price })
}

/// Reads `range` from `token` (or the beginning) in pages of `page`, until an empty page;
/// returns the ids seen, in order, and the token after them.
async fn drain(
    client: &ContainerClient,
    range: &FeedRange,
    token: Option<String>,
    start: ChangeFeedStartFrom,
    page: u32,
) -> (Vec<String>, String) {
    let limit = MaxItemCountHint::Limit(NonZeroU32::new(page).unwrap());
    let mut options = ChangeFeedOptions::default().with_max_item_count(limit);
    if let Some(token) = token {
        options = options.with_continuation_token(ContinuationToken::from_string(token));
    }
    let mut pages = client
        .query_change_feed::<Value>(FeedScope::range(range.clone()), start, Some(options))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..100 {
        let page = pages.next().await.unwrap().unwrap();
        if page.items().is_empty() {
            break;
        }
        assert!(page.items().len() <= 3, "max item count is honoured");
        for item in page.items() {
            let document = item.current().unwrap();
            assert!(
                document["_etag"].is_string(),
                "the emulator's documents carry an _etag (our position without _lsn): {document}"
            );
            ids.push(document["id"].as_str().unwrap().to_owned());
        }
    }
    let token = pages.to_continuation_token().unwrap().as_str().to_owned();
    (ids, token)
}

async fn ranges(container: &EmbeddedContainer) -> Vec<FeedRange> {
    container.ranges(true).await.unwrap()
}

#[tokio::test]
async fn a_container_has_the_feed_ranges_it_was_made_with() {
    let (_account, container) = stocks(4).await;
    let names: Vec<String> = ranges(&container).await.iter().map(range::name).collect();
    assert_eq!(names, FOUR_RANGES);
    let (_account, one) = stocks(1).await;
    let names: Vec<String> = ranges(&one).await.iter().map(range::name).collect();
    assert_eq!(names, ["..FF"]);
}

#[tokio::test]
async fn each_document_is_on_exactly_one_range_and_resumes_from_its_continuation() {
    let (_account, container) = stocks(4).await;
    for i in 0..40 {
        container.upsert(stock(i, i)).await.unwrap();
    }
    let ranges = ranges(&container).await;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut tokens = Vec::new();
    for range in &ranges {
        let (ids, token) = drain(
            container.client(),
            range,
            None,
            ChangeFeedStartFrom::Beginning,
            3,
        )
        .await;
        assert!(!ids.is_empty(), "40 symbols spread over every range");
        for id in ids {
            *seen.entry(id).or_default() += 1;
        }
        tokens.push(token);
    }
    assert_eq!(seen.len(), 40);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");

    // Caught up: an empty page (304), and the same continuation.
    for (range, token) in ranges.iter().zip(&tokens) {
        let (ids, again) = drain(
            container.client(),
            range,
            Some(token.clone()),
            ChangeFeedStartFrom::Beginning,
            3,
        )
        .await;
        assert!(ids.is_empty(), "{ids:?}");
        assert_eq!(&again, token);
    }

    // A change after the continuation, and only it, is read from there.
    container.upsert(stock(7, 700)).await.unwrap();
    container.upsert(stock(41, 41)).await.unwrap();
    let mut resumed = Vec::new();
    for (range, token) in ranges.iter().zip(&tokens) {
        let (ids, _) = drain(
            container.client(),
            range,
            Some(token.clone()),
            ChangeFeedStartFrom::Beginning,
            3,
        )
        .await;
        resumed.extend(ids);
    }
    resumed.sort();
    assert_eq!(resumed, ["s41", "s7"]);
}

#[tokio::test]
async fn starting_now_skips_what_is_already_there() {
    let (_account, container) = stocks(1).await;
    container.upsert(stock(1, 1)).await.unwrap();
    let all = FeedRange::full();
    let (ids, token) = drain(container.client(), &all, None, ChangeFeedStartFrom::Now, 3).await;
    assert!(ids.is_empty(), "{ids:?}");
    container.upsert(stock(2, 2)).await.unwrap();
    let (ids, _) = drain(
        container.client(),
        &all,
        Some(token),
        ChangeFeedStartFrom::Beginning,
        3,
    )
    .await;
    assert_eq!(ids, ["s2"]);
}

#[tokio::test]
async fn a_split_gives_two_children_that_resume_from_the_parent_continuation() {
    let (account, container) = stocks(4).await;
    for i in 0..40 {
        container.upsert(stock(i, i)).await.unwrap();
    }
    let parent = range::parse(FOUR_RANGES[0]).unwrap();
    let (before, token) = drain(
        container.client(),
        &parent,
        None,
        ChangeFeedStartFrom::Beginning,
        3,
    )
    .await;
    let children = account
        .split("demo", "stocks", FOUR_RANGES[0])
        .await
        .unwrap();
    assert_eq!(children.len(), 2, "{children:?}");
    let after: Vec<String> = ranges(&container).await.iter().map(range::name).collect();
    assert_eq!(after.len(), 5, "{after:?}");
    assert_eq!(after[0..2], children[..]);
    assert_eq!(after[2..], FOUR_RANGES[1..]);

    for i in 40..80 {
        container.upsert(stock(i, i)).await.unwrap();
    }
    let mut resumed = Vec::new();
    for child in &children {
        let child = range::parse(child).unwrap();
        let (ids, _) = drain(
            container.client(),
            &child,
            Some(token.clone()),
            ChangeFeedStartFrom::Beginning,
            3,
        )
        .await;
        resumed.extend(ids);
    }
    let (all_after, _) = drain(
        container.client(),
        &parent,
        None,
        ChangeFeedStartFrom::Beginning,
        3,
    )
    .await;
    let mut expected: Vec<String> = all_after
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect();
    expected.sort();
    resumed.sort();
    assert!(!resumed.is_empty());
    assert_eq!(
        resumed, expected,
        "the new documents of the parent's range, once"
    );

    let bad = account.split("demo", "stocks", FOUR_RANGES[0]).await;
    assert!(
        matches!(bad, Err(EmbeddedError::Split { .. })),
        "the parent is gone: {bad:?}"
    );
}

#[tokio::test]
async fn upserts_replace_and_bad_documents_are_refused() {
    let (account, container) = stocks(1).await;
    container.upsert(stock(1, 1)).await.unwrap();
    container.upsert(stock(1, 2)).await.unwrap();
    let (ids, _) = drain(
        container.client(),
        &FeedRange::full(),
        None,
        ChangeFeedStartFrom::Beginning,
        3,
    )
    .await;
    assert_eq!(ids, ["s1"], "latest version only");

    for (document, hint) in [
        (json!([1]), "expected a JSON object"),
        (json!({"symbol": "X"}), "non-empty string \"id\""),
        (json!({"id": "", "symbol": "X"}), "non-empty string \"id\""),
        (json!({"id": "a"}), "at /symbol"),
        (json!({"id": "a", "symbol": null}), "at /symbol"),
    ] {
        let error = container.upsert(document.clone()).await.unwrap_err();
        assert!(
            matches!(&error, EmbeddedError::BadDocument(m) if m.contains(hint)),
            "{document}: {error}"
        );
    }
    container
        .upsert(json!({"id": "n", "symbol": 5}))
        .await
        .unwrap();
    container
        .upsert(json!({"id": "b", "symbol": true}))
        .await
        .unwrap();

    let nested = account
        .create_container("demo", "orders", "/owner/id", 2)
        .await
        .unwrap();
    nested
        .upsert(json!({"id": "o1", "owner": {"id": "alice"}}))
        .await
        .unwrap();
    assert_eq!(nested.partition_key_path(), "/owner/id");

    for (database, name, path, ranges, hint) in [
        ("demo", "x", "symbol", 4, "is not a path"),
        ("demo", "x", "/a//b", 4, "is not a path"),
        ("demo", "x", "/a", 0, "expected 1 to 64"),
        (
            "demo",
            "stocks",
            "/other",
            4,
            "exists with partition key /symbol",
        ),
    ] {
        let error = account
            .create_container(database, name, path, ranges)
            .await
            .err()
            .unwrap();
        assert!(error.to_string().contains(hint), "{error}");
    }
    let again = account
        .create_container("demo", "stocks", "/symbol", 4)
        .await
        .unwrap();
    assert_eq!(again.name(), "demo/stocks");
    assert!(account.container("demo", "none").await.is_err());
}

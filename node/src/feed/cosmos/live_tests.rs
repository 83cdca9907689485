//! Against a real account, when one is given: `HERALD_TEST_COSMOS_ENDPOINT` and
//! `HERALD_TEST_COSMOS_KEY` (and optionally `HERALD_TEST_COSMOS_DATABASE` and
//! `HERALD_TEST_COSMOS_CONTAINER`, default `herald`/`live`, an existing container whose
//! partition key is `/id`). Needs a build with `--features cosmos-account`; otherwise, or
//! without the variables, it says it was skipped.

fn setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[tokio::test]
async fn a_real_account_delivers_a_new_document() {
    let (Some(endpoint), Some(key)) = (
        setting("HERALD_TEST_COSMOS_ENDPOINT"),
        setting("HERALD_TEST_COSMOS_KEY"),
    ) else {
        eprintln!(
            "skipped: set HERALD_TEST_COSMOS_ENDPOINT and HERALD_TEST_COSMOS_KEY to test against a real Cosmos DB account"
        );
        return;
    };
    let database = setting("HERALD_TEST_COSMOS_DATABASE").unwrap_or_else(|| "herald".to_owned());
    let container = setting("HERALD_TEST_COSMOS_CONTAINER").unwrap_or_else(|| "live".to_owned());
    live(&endpoint, &key, &database, &container).await;
}

#[cfg(not(feature = "cosmos-account"))]
async fn live(_endpoint: &str, _key: &str, _database: &str, _container: &str) {
    eprintln!(
        "skipped: this build has no cosmos-account feature; run `cargo test -p herald-node --features cosmos-account feed::cosmos::live_tests`"
    );
}

#[cfg(feature = "cosmos-account")]
async fn live(endpoint: &str, key: &str, database: &str, container: &str) {
    use std::time::{Duration, Instant};

    use crate::config::{CosmosAuth, SecretText, StartFrom};
    use crate::feed::source::ChangeSource;

    /// How long to wait for the document to come through.
    const PATIENCE: Duration = Duration::from_secs(60);

    let auth = CosmosAuth::Key(SecretText::new(key.to_owned()));
    let endpoint: url::Url = endpoint
        .parse()
        .expect("HERALD_TEST_COSMOS_ENDPOINT is a URL");
    let client = super::account::container(&endpoint, &auth, database, container)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let source = super::CosmosSource::new(
        client.clone(),
        "live",
        Duration::from_millis(500),
        super::account::auth_hint(&auth),
    );
    let partitions = source.partitions().await.unwrap();
    assert!(!partitions.is_empty());
    let mut checkpoints = Vec::new();
    for partition in &partitions {
        let batch = source
            .read(partition, None, &StartFrom::Now, 100, Duration::ZERO)
            .await
            .unwrap();
        checkpoints.push(batch.next_checkpoint.expect("a pinned start"));
    }
    let id = format!(
        "herald-live-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    client
        .upsert_item(
            id.clone(),
            &id,
            serde_json::json!({ "id": id, "at": "now" }),
            None,
        )
        .await
        .unwrap();
    let started = Instant::now();
    let mut found = Vec::new();
    while found.is_empty() && started.elapsed() < PATIENCE {
        for (partition, checkpoint) in partitions.iter().zip(checkpoints.iter_mut()) {
            let batch = source
                .read(
                    partition,
                    Some(checkpoint),
                    &StartFrom::Now,
                    100,
                    Duration::from_millis(500),
                )
                .await
                .unwrap();
            for change in batch.changes {
                let document = change.document.unwrap();
                if document["id"] == id.as_str() {
                    assert!(
                        document["_lsn"].is_number(),
                        "real documents carry _lsn: {document}"
                    );
                    assert_eq!(change.position, document["_lsn"].to_string());
                    found.push(document);
                }
            }
            if let Some(next) = batch.next_checkpoint {
                *checkpoint = next;
            }
        }
    }
    assert_eq!(
        found.len(),
        1,
        "the new document, once, within {PATIENCE:?}"
    );
}

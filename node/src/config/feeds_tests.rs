//! `[[feeds]]`: a valid feed in full, defaults, and every refusal with its exact key.

use std::time::{Duration, SystemTime};

use serde_json::json;

use super::tests::{error_text, from_env, from_toml};
use super::{ConfigError, DEFAULT_BATCH_SIZE, FeedSource, Route, StartFrom};

const STOCKS: &str = r#"
[[feeds]]
name = "stocks"
source = { kind = "redis-stream", partitions = 4 }
start_from = "2024-05-01T12:00:00Z"
hub = "stocks"
target = "stockUpdated"
to = { group = "sym-{symbol}" }
project = ["symbol", "price", "change"]
handler = "http://app:7071/api/stocks-changed?code=s3cret"
batch_size = 250

[[feeds]]
name = "orders_2"
source = { kind = "cosmos", database = "demo", container = "orders" }
hub = "orders"
target = "orderChanged"
to = { user = "{owner.id}" }

[[feeds]]
name = "news"
source = { kind = "redis-stream", partitions = 1 }
start_from = "beginning"
hub = "news"
target = "news"
to = "all"
"#;

/// A minimal valid feed with `line` added (a later duplicate key is a TOML error, so the
/// tests add only keys this lacks, or replace `to`).
pub(super) fn feed_with(line: &str) -> String {
    format!(
        "[[feeds]]\nname = \"f\"\nsource = {{ kind = \"redis-stream\", partitions = 2 }}\nhub = \"h\"\ntarget = \"t\"\n{line}\n"
    )
}

pub(super) fn invalid_key(toml: &str) -> (String, String) {
    match from_toml(toml) {
        Err(ConfigError::Invalid { key, message }) => (key, message),
        other => panic!("expected an invalid key, got {other:?}"),
    }
}

#[test]
fn full_feeds_are_read() {
    let config = from_toml(STOCKS).unwrap();
    let [stocks, orders, news] = config.feeds.as_slice() else {
        panic!("three feeds: {:?}", config.feeds);
    };
    assert_eq!(stocks.name, "stocks");
    assert_eq!(stocks.source, FeedSource::RedisStream { partitions: 4 });
    let may_first = SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_564_800);
    assert_eq!(stocks.start_from, StartFrom::Time(may_first));
    assert_eq!(stocks.hub.as_str(), "stocks");
    assert_eq!(stocks.target.as_deref(), Some("stockUpdated"));
    let Route::Group(template) = &stocks.to else {
        panic!("a group route: {:?}", stocks.to);
    };
    assert_eq!(
        template.render(&json!({"symbol": "MSFT"})).unwrap(),
        "sym-MSFT"
    );
    assert_eq!(
        stocks.project.as_deref(),
        Some(&["symbol".to_owned(), "price".to_owned(), "change".to_owned()][..])
    );
    assert_eq!(stocks.handler.as_ref().unwrap().host_str(), Some("app"));
    assert_eq!(stocks.batch_size, 250);

    assert_eq!(
        orders.source,
        FeedSource::Cosmos {
            database: "demo".to_owned(),
            container: "orders".to_owned(),
            account: super::CosmosAccount::Embedded,
            poll_delay: super::DEFAULT_COSMOS_POLL_DELAY,
        }
    );
    assert_eq!(orders.start_from, StartFrom::Now, "the default");
    assert_eq!(orders.batch_size, DEFAULT_BATCH_SIZE);
    assert_eq!(
        (orders.project.clone(), orders.handler.clone()),
        (None, None)
    );
    assert!(matches!(&orders.to, Route::User(t) if t.to_string() == "{owner.id}"));
    assert_eq!(news.start_from, StartFrom::Beginning);
    assert_eq!(news.to, Route::All);
}

#[test]
fn no_feeds_by_default() {
    assert!(from_toml("").unwrap().feeds.is_empty());
    assert!(from_env(&[]).unwrap().feeds.is_empty());
    assert!(from_toml("feeds = []").unwrap().feeds.is_empty());
}

#[test]
fn summary_lists_feeds_with_the_handler_redacted() {
    let summary = from_toml(STOCKS).unwrap().summary();
    for line in [
        "feeds[0].name = stocks",
        "feeds[0].source = redis-stream (4 partitions)",
        "feeds[0].start_from = 2024-05-01T12:00:00.000Z",
        "feeds[0].to = group sym-{symbol}",
        "feeds[0].project = [symbol, price, change]",
        "feeds[0].batch_size = 250",
        "feeds[0].handler = http://app:7071/api/stocks-changed?redacted",
        "feeds[1].source = cosmos demo/orders",
        "feeds[1].handler = (not set)",
        "feeds[2].to = all",
    ] {
        assert!(summary.lines().any(|l| l == line), "{line} in {summary}");
    }
    assert!(!summary.contains("s3cret"), "{summary}");
}

#[test]
fn feed_hubs_must_be_allowed_hubs() {
    let text = format!("hubs = [\"chat\"]\n{}", feed_with("to = \"all\""));
    let (key, message) = invalid_key(&text);
    assert_eq!(key, "feeds[0].hub");
    assert!(message.contains("add it to hubs"), "{message}");
    let text = format!("hubs = [\"h\"]\n{}", feed_with("to = \"all\""));
    assert_eq!(from_toml(&text).unwrap().feeds.len(), 1);
}

#[test]
fn unknown_feed_keys_are_named_with_a_suggestion() {
    let text = error_text(from_toml(&feed_with("to = \"all\"\nbatchsize = 5")));
    assert_eq!(
        text,
        "unknown config key \"feeds[0].batchsize\" in the given TOML (did you mean batch_size?)"
    );
    let text = error_text(from_toml(&feed_with("to = { grup = \"{a}\" }")));
    assert!(
        text.starts_with(
            "unknown config key \"feeds[0].to.grup\" in the given TOML (did you mean group?)"
        ),
        "{text}"
    );
    let text = error_text(from_env(&[("HERALD_FEEDS", "x")]));
    assert!(
        text.starts_with("unknown environment variable HERALD_FEEDS"),
        "{text}"
    );
}

#[test]
fn a_handler_feed_needs_no_target() {
    let config = from_toml(
        "[[feeds]]\nname = \"orders\"\nsource = { kind = \"redis-stream\", partitions = 2 }\nhub = \"h\"\nhandler = \"http://app:7071/api/orders\"\n",
    )
    .unwrap();
    let feed = &config.feeds[0];
    assert_eq!(feed.target, None);
    assert_eq!(feed.to, Route::All);
    assert_eq!(feed.handler.as_ref().unwrap().port(), Some(7071));
}

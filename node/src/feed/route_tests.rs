//! `route`: scopes, projection, the metadata argument and every refusal.

use serde_json::{Value, json};

use super::route::{RouteError, Routed, route};
use crate::config::{DEFAULT_BATCH_SIZE, FeedConfig, FeedSource, Route, StartFrom, Template};
use crate::hub::registry::Scope;

fn feed(to: Route, project: Option<&[&str]>) -> FeedConfig {
    FeedConfig {
        name: "stocks".to_owned(),
        source: FeedSource::RedisStream { partitions: 4 },
        start_from: StartFrom::Now,
        hub: "stocks".parse().unwrap(),
        target: Some("stockUpdated".to_owned()),
        to,
        project: project.map(|p| p.iter().map(|s| (*s).to_owned()).collect()),
        handler: None,
        batch_size: DEFAULT_BATCH_SIZE,
    }
}

fn group(text: &str) -> Route {
    Route::Group(Template::parse(text).unwrap())
}

fn user(text: &str) -> Route {
    Route::User(Template::parse(text).unwrap())
}

fn doc() -> Value {
    json!({"id": "msft", "symbol": "MSFT", "price": 410.5, "change": -1.25, "owner": {"id": 42}})
}

#[test]
fn all_sends_the_whole_document_with_metadata() {
    let routed = route(
        &feed(Route::All, None),
        "stockUpdated",
        "2",
        "1700000000000-3",
        &doc(),
    )
    .unwrap();
    assert_eq!(
        routed,
        Routed {
            scope: Scope::All,
            target: "stockUpdated".to_owned(),
            arguments: vec![
                doc(),
                json!({
                    "feed": "stocks",
                    "partition": "2",
                    "position": "1700000000000-3",
                    "key": "msft:1700000000000-3",
                }),
            ],
        }
    );
}

#[test]
fn group_and_user_templates_name_the_scope() {
    let routed = route(
        &feed(group("sym-{symbol}"), None),
        "stockUpdated",
        "0",
        "1-0",
        &doc(),
    )
    .unwrap();
    assert_eq!(routed.scope, Scope::Group("sym-MSFT".to_owned()));
    let routed = route(
        &feed(user("{owner.id}"), None),
        "stockUpdated",
        "0",
        "1-0",
        &doc(),
    )
    .unwrap();
    assert_eq!(routed.scope, Scope::User("42".to_owned()));
    let routed = route(
        &feed(group("{symbol}/{price}"), None),
        "stockUpdated",
        "0",
        "1-0",
        &doc(),
    )
    .unwrap();
    assert_eq!(routed.scope, Scope::Group("MSFT/410.5".to_owned()));
}

#[test]
fn projection_keeps_listed_fields_and_omits_missing_ones() {
    let f = feed(Route::All, Some(&["symbol", "price", "volume"]));
    let routed = route(&f, "stockUpdated", "0", "1-0", &doc()).unwrap();
    assert_eq!(
        routed.arguments[0],
        json!({"symbol": "MSFT", "price": 410.5})
    );
    let f = feed(Route::All, Some(&[]));
    assert_eq!(
        route(&f, "stockUpdated", "0", "1-0", &doc())
            .unwrap()
            .arguments[0],
        json!({})
    );
    // Projection does not reach into nested fields: "owner.id" is a top-level name.
    let f = feed(Route::All, Some(&["owner.id", "owner"]));
    assert_eq!(
        route(&f, "stockUpdated", "0", "1-0", &doc())
            .unwrap()
            .arguments[0],
        json!({"owner": {"id": 42}})
    );
}

#[test]
fn routing_reads_the_whole_document_not_the_projection() {
    let f = feed(group("{symbol}"), Some(&["price"]));
    let routed = route(&f, "stockUpdated", "0", "1-0", &doc()).unwrap();
    assert_eq!(routed.scope, Scope::Group("MSFT".to_owned()));
    assert_eq!(routed.arguments[0], json!({"price": 410.5}));
}

#[test]
fn the_key_uses_the_id_as_text_or_nothing() {
    let key = |document: Value| {
        route(
            &feed(Route::All, None),
            "stockUpdated",
            "1",
            "5-1",
            &document,
        )
        .unwrap()
        .arguments[1]["key"]
            .clone()
    };
    assert_eq!(key(json!({"id": "a:b"})), json!("a:b:5-1"));
    assert_eq!(key(json!({"id": 17})), json!("17:5-1"));
    assert_eq!(key(json!({"id": 1.5})), json!("1.5:5-1"));
    assert_eq!(key(json!({})), json!(":5-1"));
    assert_eq!(key(json!({"id": null})), json!(":5-1"));
    assert_eq!(key(json!({"id": true})), json!(":5-1"));
    assert_eq!(key(json!({"id": {"x": 1}})), json!(":5-1"));
}

#[test]
fn non_objects_are_refused() {
    for document in [
        json!(null),
        json!(1),
        json!("x"),
        json!([{"id": 1}]),
        json!(true),
    ] {
        assert_eq!(
            route(
                &feed(Route::All, None),
                "stockUpdated",
                "0",
                "9-9",
                &document
            ),
            Err(RouteError::NotAnObject {
                position: "9-9".to_owned()
            }),
            "{document}"
        );
    }
}

#[test]
fn missing_or_unsuitable_template_fields_are_named() {
    let cases = [
        (group("{sector}"), "sector"),
        (group("{owner.name}"), "owner.name"),
        (user("{owner}"), "owner"),
        (user("{id}-{owner.id.x}"), "owner.id.x"),
    ];
    for (to, field) in cases {
        let err = route(&feed(to, None), "stockUpdated", "3", "7-0", &doc()).unwrap_err();
        assert_eq!(
            err,
            RouteError::MissingField {
                field: field.to_owned(),
                position: "7-0".to_owned()
            }
        );
        let text = err.to_string();
        assert!(
            text.contains(&format!("{field:?}")) && text.contains("7-0"),
            "{text}"
        );
    }
    let with_null = json!({"symbol": null, "flag": false, "list": ["a"]});
    for field in ["symbol", "flag", "list"] {
        let to = group(&format!("{{{field}}}"));
        assert!(matches!(
            route(&feed(to, None), "stockUpdated", "0", "1-0", &with_null),
            Err(RouteError::MissingField { .. })
        ));
    }
}

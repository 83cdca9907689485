//! From one change to one push: who receives it, which client method, which arguments.
//!
//! Pure, so every rule (projection, templates, the dedupe key) is tested without Redis; a
//! document the route cannot use is an error for that change only, never a panic.

use serde_json::{Map, Value, json};

use crate::config::{FeedConfig, Route};
use crate::hub::registry::Scope;

/// A change, routed: the hub-level recipients and the invocation they receive.
#[derive(Debug, Clone, PartialEq)]
pub struct Routed {
    /// Who receives it: the whole hub, a group or a user.
    pub scope: Scope,
    /// The client method invoked (the feed's `target`).
    pub target: String,
    /// `[projected document, {"feed", "partition", "position", "key"}]`.
    pub arguments: Vec<Value>,
}

/// Why a change cannot be pushed; the change is skipped (and counted) by the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The document is JSON but not an object, so it has no fields to route or project by.
    #[error(
        "the document at position {position} is not a JSON object: make the producer write objects"
    )]
    NotAnObject {
        /// Where the change is in its partition.
        position: String,
    },
    /// A field the `to` template reads is absent, or neither a string nor a number.
    #[error(
        "the document at position {position} has no string or number field {field:?}, which the feed's `to` template needs: fix the producer, or the template"
    )]
    MissingField {
        /// Its dotted path.
        field: String,
        /// Where the change is in its partition.
        position: String,
    },
}

/// Routes the change at `position` of `partition` of `feed` to its client method `target`.
pub fn route(
    feed: &FeedConfig,
    target: &str,
    partition: &str,
    position: &str,
    document: &Value,
) -> Result<Routed, RouteError> {
    let Value::Object(fields) = document else {
        return Err(RouteError::NotAnObject {
            position: position.to_owned(),
        });
    };
    let missing = |field| RouteError::MissingField {
        field,
        position: position.to_owned(),
    };
    let scope = match &feed.to {
        Route::All => Scope::All,
        Route::Group(template) => Scope::Group(template.render(document).map_err(missing)?),
        Route::User(template) => Scope::User(template.render(document).map_err(missing)?),
    };
    let body = match &feed.project {
        Some(names) => Value::Object(project(fields, names)),
        None => document.clone(),
    };
    let meta = json!({
        "feed": feed.name,
        "partition": partition,
        "position": position,
        "key": dedupe_key(document, position),
    });
    Ok(Routed {
        scope,
        target: target.to_owned(),
        arguments: vec![body, meta],
    })
}

/// Only the listed top-level fields, in the listed order; absent ones are left out rather
/// than sent as null, so a client can tell "not in this document" from "null".
fn project(fields: &Map<String, Value>, names: &[String]) -> Map<String, Value> {
    names
        .iter()
        .filter_map(|name| fields.get(name).map(|v| (name.clone(), v.clone())))
        .collect()
}

/// The dedupe key of the change at `position`: the document's id and the position, so a
/// replay of the change (after a lease moved) carries the same key.
pub fn dedupe_key(document: &Value, position: &str) -> String {
    let id = match document {
        Value::Object(fields) => document_id(fields),
        _ => String::new(),
    };
    format!("{id}:{position}")
}

/// The document's `id` as text (numbers in their JSON form), or "" without a usable one; with
/// the position it forms the dedupe key, so replays of one change share it.
fn document_id(fields: &Map<String, Value>) -> String {
    match fields.get("id") {
        Some(Value::String(id)) => id.clone(),
        Some(Value::Number(id)) => id.to_string(),
        _ => String::new(),
    }
}

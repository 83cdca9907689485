//! Reading Redis stream replies (`XRANGE`, `XREVRANGE`, the entries of `XREAD`) into
//! changes, without trusting their shape: a malformed entry becomes an `Err` document or a
//! protocol error, never a panic.

use redis::Value;
use serde_json::Value as Json;

use super::source::Change;

/// The field of an entry that holds the JSON document.
pub(crate) const DOC_FIELD: &str = "doc";

/// `ms-seq` as numbers; `None` for anything else (`$`, `+`, `5`, `1-x`).
pub(crate) fn stream_id(text: &str) -> Option<(u64, u64)> {
    let (ms, seq) = text.split_once('-')?;
    let number = |s: &str| {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse::<u64>().ok()
        } else {
            None
        }
    };
    Some((number(ms)?, number(seq)?))
}

/// The entries of a list reply: `[[id, [field, value, ...]], ...]`, or nil for none.
pub(crate) fn entries(list: &Value) -> Result<Vec<Change>, String> {
    let items = match list {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => return Err(format!("expected a list of stream entries, got {other:?}")),
    };
    items.iter().map(entry).collect()
}

fn entry(item: &Value) -> Result<Change, String> {
    let Value::Array(parts) = item else {
        return Err(format!("expected a stream entry, got {item:?}"));
    };
    let [id, fields] = parts.as_slice() else {
        return Err(format!("expected [id, fields], got {parts:?}"));
    };
    let position = text(id).ok_or_else(|| format!("expected an entry id, got {id:?}"))?;
    let document = match fields {
        Value::Array(fields) => document(fields),
        Value::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| text(k).as_deref() == Some(DOC_FIELD))
            .map_or_else(missing_doc, |(_, v)| parse_doc(v)),
        // A deleted entry can show with nil fields.
        _ => Err("the entry has no fields".to_owned()),
    };
    Ok(Change { position, document })
}

/// The document of a flat `[field, value, field, value, ...]` list.
fn document(fields: &[Value]) -> Result<Json, String> {
    fields
        .chunks(2)
        .find(|pair| text(&pair[0]).as_deref() == Some(DOC_FIELD))
        .map_or_else(missing_doc, |pair| match pair.get(1) {
            Some(value) => parse_doc(value),
            None => missing_doc(),
        })
}

fn missing_doc() -> Result<Json, String> {
    Err(format!(
        "the entry has no field {DOC_FIELD}: producers must write XADD <key> * {DOC_FIELD} '<json>'"
    ))
}

fn parse_doc(value: &Value) -> Result<Json, String> {
    let bytes: &[u8] = match value {
        Value::BulkString(bytes) => bytes,
        Value::SimpleString(s) => s.as_bytes(),
        other => return Err(format!("field {DOC_FIELD} is not a string: {other:?}")),
    };
    serde_json::from_slice(bytes).map_err(|e| format!("field {DOC_FIELD} is not JSON: {e}"))
}

/// A string-ish reply as text.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use redis::Value;
    use serde_json::json;

    use super::{entries, stream_id};

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn stream_ids() {
        assert_eq!(stream_id("0-0"), Some((0, 0)));
        assert_eq!(stream_id("1700000000000-12"), Some((1_700_000_000_000, 12)));
        for bad in [
            "",
            "$",
            "+",
            "-",
            "5",
            "1-",
            "-1",
            "1-x",
            "1-2-3",
            "+1-2",
            "99999999999999999999-0",
        ] {
            assert_eq!(stream_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn malformed_entries_never_panic() {
        let odd = Value::Array(vec![Value::Array(vec![
            bulk("1-0"),
            Value::Array(vec![bulk("x"), bulk("1"), bulk("doc")]),
        ])]);
        let changes = entries(&odd).unwrap();
        assert!(
            changes[0]
                .document
                .as_ref()
                .unwrap_err()
                .contains("no field doc")
        );
        let nil_fields = Value::Array(vec![Value::Array(vec![bulk("2-0"), Value::Nil])]);
        assert!(entries(&nil_fields).unwrap()[0].document.is_err());
        let binary = Value::Array(vec![Value::Array(vec![
            bulk("3-0"),
            Value::Array(vec![bulk("doc"), Value::BulkString(vec![0xff, 0xfe])]),
        ])]);
        assert!(
            entries(&binary).unwrap()[0]
                .document
                .as_ref()
                .unwrap_err()
                .contains("not JSON")
        );
        let map = Value::Array(vec![Value::Array(vec![
            bulk("4-0"),
            Value::Map(vec![(bulk("doc"), bulk("{\"a\":1}"))]),
        ])]);
        assert_eq!(entries(&map).unwrap()[0].document, Ok(json!({"a": 1})));
        assert!(entries(&Value::Int(1)).is_err());
        assert!(entries(&Value::Array(vec![Value::Int(1)])).is_err());
        assert!(entries(&Value::Array(vec![Value::Array(vec![bulk("1-0")])])).is_err());
        assert!(
            entries(&Value::Array(vec![Value::Array(vec![
                Value::Int(1),
                Value::Nil
            ])]))
            .is_err()
        );
        assert_eq!(entries(&Value::Nil).unwrap(), vec![]);
    }
}

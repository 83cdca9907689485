//! Converting argument values between the two encodings.
//!
//! [`json_to_msgpack`] is exact: REST callers supply JSON arguments that must reach
//! MessagePack clients. [`msgpack_to_json`] is lossy where JSON has no equivalent (binary,
//! extension types, non-string map keys, non-finite floats) and follows what ASP.NET Core's
//! JSON protocol does for the closest .NET type.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value as Json;

/// Converts a JSON value to a MessagePack value. Integers stay integers (`u64` when
/// non-negative, `i64` otherwise), other numbers become `F64`, objects become maps with
/// string keys in the object's order.
pub fn json_to_msgpack(value: &Json) -> rmpv::Value {
    match value {
        Json::Null => rmpv::Value::Nil,
        Json::Bool(b) => rmpv::Value::Boolean(*b),
        Json::Number(n) => {
            if let Some(u) = n.as_u64() {
                rmpv::Value::from(u)
            } else if let Some(i) = n.as_i64() {
                rmpv::Value::from(i)
            } else {
                n.as_f64().map_or(rmpv::Value::Nil, rmpv::Value::F64)
            }
        }
        Json::String(s) => rmpv::Value::from(s.as_str()),
        Json::Array(items) => rmpv::Value::Array(items.iter().map(json_to_msgpack).collect()),
        Json::Object(entries) => rmpv::Value::Map(
            entries
                .iter()
                .map(|(k, v)| (rmpv::Value::from(k.as_str()), json_to_msgpack(v)))
                .collect(),
        ),
    }
}

/// Converts a MessagePack value to JSON. Binary and extension data become base64 strings
/// (as .NET does for `byte[]`), invalid UTF-8 is replaced, map keys that are not strings are
/// replaced by their JSON text, and NaN or infinite floats become `null`.
pub fn msgpack_to_json(value: &rmpv::Value) -> Json {
    match value {
        rmpv::Value::Nil => Json::Null,
        rmpv::Value::Boolean(b) => Json::Bool(*b),
        rmpv::Value::Integer(i) => match (i.as_u64(), i.as_i64()) {
            (Some(u), _) => Json::from(u),
            (None, Some(i)) => Json::from(i),
            (None, None) => Json::Null,
        },
        rmpv::Value::F32(f) => float(f64::from(*f)),
        rmpv::Value::F64(f) => float(*f),
        rmpv::Value::String(s) => Json::String(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        rmpv::Value::Binary(bytes) | rmpv::Value::Ext(_, bytes) => {
            Json::String(BASE64.encode(bytes))
        }
        rmpv::Value::Array(items) => Json::Array(items.iter().map(msgpack_to_json).collect()),
        rmpv::Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match msgpack_to_json(k) {
                        Json::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, msgpack_to_json(v))
                })
                .collect(),
        ),
    }
}

fn float(f: f64) -> Json {
    serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)
}

/// A value that can be written as MessagePack onto a `Vec`, so JSON arguments can be encoded
/// for MessagePack clients without building `rmpv::Value`s first.
pub(crate) trait WriteMsgpack {
    /// Appends the value's MessagePack encoding.
    fn write_msgpack(&self, out: &mut Vec<u8>);
}

impl WriteMsgpack for rmpv::Value {
    fn write_msgpack(&self, out: &mut Vec<u8>) {
        ok(rmpv::encode::write_value(out, self));
    }
}

impl WriteMsgpack for Json {
    /// Writes exactly the bytes `json_to_msgpack(self)` would encode to.
    fn write_msgpack(&self, out: &mut Vec<u8>) {
        use rmp::encode;
        match self {
            Json::Null => ok(encode::write_nil(out)),
            Json::Bool(b) => ok(encode::write_bool(out, *b)),
            Json::Number(n) => {
                if let Some(u) = n.as_u64() {
                    ok(encode::write_uint(out, u));
                } else if let Some(i) = n.as_i64() {
                    ok(encode::write_sint(out, i));
                } else if let Some(f) = n.as_f64() {
                    ok(encode::write_f64(out, f));
                } else {
                    ok(encode::write_nil(out));
                }
            }
            Json::String(s) => ok(encode::write_str(out, s)),
            Json::Array(items) => {
                ok(encode::write_array_len(out, len32(items.len())));
                for item in items {
                    item.write_msgpack(out);
                }
            }
            Json::Object(entries) => {
                ok(encode::write_map_len(out, len32(entries.len())));
                for (k, v) in entries {
                    ok(encode::write_str(out, k));
                    v.write_msgpack(out);
                }
            }
        }
    }
}

/// A collection length as MessagePack stores it. No collection held in memory comes close
/// to 2^32 items; saturating keeps this total anyway.
pub(crate) fn len32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Discards the result of a write to a `Vec`, which cannot fail.
pub(crate) fn ok<T, E: std::fmt::Debug>(result: Result<T, E>) {
    debug_assert!(
        result.is_ok(),
        "writing MessagePack to a Vec failed: {:?}",
        result.as_ref().err()
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_to_msgpack_keeps_integers() {
        let v = json!({"a": 1, "b": -2, "c": 1.5, "d": u64::MAX, "e": [null, true, "s"]});
        let m = json_to_msgpack(&v);
        let rmpv::Value::Map(entries) = &m else {
            panic!("not a map: {m:?}")
        };
        let get = |k: &str| {
            entries
                .iter()
                .find(|(key, _)| key.as_str() == Some(k))
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("a"), rmpv::Value::from(1u64));
        assert_eq!(get("b"), rmpv::Value::from(-2i64));
        assert_eq!(get("c"), rmpv::Value::F64(1.5));
        assert_eq!(get("d"), rmpv::Value::from(u64::MAX));
        assert_eq!(
            get("e"),
            rmpv::Value::Array(vec![
                rmpv::Value::Nil,
                rmpv::Value::Boolean(true),
                rmpv::Value::from("s")
            ])
        );
        assert_eq!(msgpack_to_json(&m), v);
    }

    #[test]
    fn direct_writer_matches_conversion() {
        let v = json!([0, 127, 128, -1, -33, -129, 1e300, -0.5, "", "x".repeat(40),
            {"k": {"n": [1, 2, {}]}}, i64::MIN, u64::MAX, null, false]);
        let mut direct = Vec::new();
        v.write_msgpack(&mut direct);
        let mut via_value = Vec::new();
        json_to_msgpack(&v).write_msgpack(&mut via_value);
        assert_eq!(direct, via_value);
    }

    #[test]
    fn msgpack_to_json_is_lossy_but_total() {
        let m = rmpv::Value::Map(vec![
            (rmpv::Value::from(1), rmpv::Value::Binary(vec![1, 2, 3])),
            (rmpv::Value::from("f"), rmpv::Value::F64(f64::NAN)),
            (rmpv::Value::from("x"), rmpv::Value::Ext(-1, vec![0xff])),
            (rmpv::Value::from("g"), rmpv::Value::F32(0.5)),
        ]);
        assert_eq!(
            msgpack_to_json(&m),
            json!({"1": "AQID", "f": null, "x": "/w==", "g": 0.5})
        );
    }
}

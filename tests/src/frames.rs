//! SignalR wire records as the raw WebSocket tests write and read them.
//!
//! JSON records end with the record separator `0x1e`; MessagePack messages are prefixed with
//! their length as a base-128 varint. The handshake is always JSON.

use serde_json::Value;

/// The JSON record separator.
pub const RS: char = '\u{1e}';

/// A handshake request for `protocol` version 1.
pub fn handshake_request(protocol: &str) -> String {
    format!("{{\"protocol\":\"{protocol}\",\"version\":1}}{RS}")
}

/// Splits `bytes` into the leading JSON handshake record and the rest.
///
/// Panics when there is no complete first record or it is not JSON.
pub fn split_handshake(bytes: &[u8]) -> (Value, &[u8]) {
    let end = bytes.iter().position(|b| *b == 0x1e).unwrap_or_else(|| {
        panic!(
            "no handshake record in {:?}",
            String::from_utf8_lossy(bytes)
        )
    });
    let handshake = serde_json::from_slice(&bytes[..end]).unwrap_or_else(|e| {
        panic!(
            "handshake record is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&bytes[..end])
        )
    });
    (handshake, &bytes[end + 1..])
}

/// Every complete JSON record in `bytes`; panics on a record that is not JSON.
pub fn json_records(bytes: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(bytes).expect("JSON records are UTF-8");
    text.split(RS)
        .filter(|record| !record.is_empty())
        .map(|record| {
            serde_json::from_str(record)
                .unwrap_or_else(|e| panic!("record is not JSON ({e}): {record:?}"))
        })
        .collect()
}

/// `payload` with its varint length prefix.
pub fn msgpack_frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 5);
    let mut len = payload.len();
    loop {
        let byte = u8::try_from(len & 0x7f).expect("seven bits fit in a byte");
        len >>= 7;
        if len == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(payload);
    out
}

/// Every complete length-prefixed MessagePack message in `bytes`, decoded.
///
/// Panics on a message that does not decode.
pub fn msgpack_records(mut bytes: &[u8]) -> Vec<rmpv::Value> {
    let mut records = Vec::new();
    while !bytes.is_empty() {
        let mut len = 0usize;
        let mut shift = 0;
        let mut used = 0;
        for byte in bytes.iter().take(5) {
            used += 1;
            len |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let body = &bytes[used..used + len];
        let mut cursor = body;
        let value = rmpv::decode::read_value(&mut cursor)
            .unwrap_or_else(|e| panic!("MessagePack message does not decode ({e}): {body:?}"));
        records.push(value);
        bytes = &bytes[used + len..];
    }
    records
}

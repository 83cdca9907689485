//! The hub protocol handshake: the client's first message names the protocol and version,
//! the server answers with an empty object or an error. Both are JSON text terminated by
//! `0x1E`, whatever protocol is being agreed on.

use serde_json::Value;

use crate::hub_protocol::{Protocol, RECORD_SEPARATOR};

/// The client's handshake request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeRequest {
    /// The protocol name, e.g. `json` or `messagepack`.
    pub protocol: String,
    /// The protocol version (1; the Python client `signalrcore` sends 0 for JSON).
    pub version: u32,
}

impl HandshakeRequest {
    /// The protocol to use, or the error to send back in the handshake response.
    pub fn negotiate(&self) -> Result<Protocol, HandshakeError> {
        let protocol = Protocol::from_name(&self.protocol)
            .ok_or_else(|| HandshakeError::UnsupportedProtocol(self.protocol.clone()))?;
        if protocol.supports_version(self.version) {
            Ok(protocol)
        } else {
            Err(HandshakeError::UnsupportedVersion {
                protocol: self.protocol.clone(),
                version: self.version,
            })
        }
    }
}

/// Why a handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The handshake (or the bytes before its separator) exceeds the limit.
    #[error("handshake of {size} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Bytes in the handshake, or received so far without a separator.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// The handshake is not UTF-8.
    #[error("handshake is not valid utf-8")]
    InvalidUtf8,
    /// The handshake is not JSON.
    #[error("handshake is not valid json: {0}")]
    InvalidJson(String),
    /// The handshake is JSON but not an object.
    #[error("handshake is not a json object")]
    NotAnObject,
    /// A required property is absent.
    #[error("handshake is missing the `{0}` field")]
    MissingField(&'static str),
    /// A property has the wrong type.
    #[error("the handshake `{field}` field must be {expected}")]
    WrongType {
        /// The property.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// The requested protocol is not one this server speaks.
    #[error("the protocol '{0}' is not supported")]
    UnsupportedProtocol(String),
    /// The requested version of the protocol is not supported.
    #[error("version {version} of the '{protocol}' protocol is not supported")]
    UnsupportedVersion {
        /// The protocol name as requested.
        protocol: String,
        /// The requested version.
        version: u32,
    },
    /// A handshake response carried an error (client side).
    #[error("the server refused the handshake: {0}")]
    Refused(String),
}

/// Finds the separator within the first `max_size + 1` bytes; `Ok(None)` means more input is
/// needed.
fn find_record(buf: &[u8], max_size: usize) -> Result<Option<usize>, HandshakeError> {
    match buf.iter().position(|&b| b == RECORD_SEPARATOR) {
        Some(end) if end > max_size => Err(HandshakeError::TooLarge {
            size: end,
            max: max_size,
        }),
        Some(end) => Ok(Some(end)),
        None if buf.len() > max_size => Err(HandshakeError::TooLarge {
            size: buf.len(),
            max: max_size,
        }),
        None => Ok(None),
    }
}

fn parse_object(record: &[u8]) -> Result<serde_json::Map<String, Value>, HandshakeError> {
    let text = std::str::from_utf8(record).map_err(|_| HandshakeError::InvalidUtf8)?;
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(HandshakeError::NotAnObject),
        Err(e) => Err(HandshakeError::InvalidJson(e.to_string())),
    }
}

/// Parses the handshake request at the start of `buf`. Returns `Ok(None)` while no `0x1E`
/// has arrived, else the request and the bytes it used, separator included (any bytes after
/// it are the first hub messages). A handshake longer than `max_size` bytes (without the
/// separator) is an error, detected as soon as that many bytes have arrived.
pub fn parse_handshake(
    buf: &[u8],
    max_size: usize,
) -> Result<Option<(HandshakeRequest, usize)>, HandshakeError> {
    let Some(end) = find_record(buf, max_size)? else {
        return Ok(None);
    };
    let record = buf.get(..end).unwrap_or_default();
    let map = parse_object(record)?;
    let protocol = match map.get("protocol") {
        None | Some(Value::Null) => return Err(HandshakeError::MissingField("protocol")),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(HandshakeError::WrongType {
                field: "protocol",
                expected: "a string",
            });
        }
    };
    let version = match map.get("version") {
        None | Some(Value::Null) => return Err(HandshakeError::MissingField("version")),
        Some(v) => {
            v.as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or(HandshakeError::WrongType {
                    field: "version",
                    expected: "a non-negative integer",
                })?
        }
    };
    Ok(Some((HandshakeRequest { protocol, version }, end + 1)))
}

/// The handshake response: `{}` on success, `{"error":"..."}` otherwise, plus `0x1E`.
pub fn handshake_response(error: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    match error {
        None => out.extend_from_slice(b"{}"),
        Some(error) => {
            out.extend_from_slice(b"{\"error\":");
            crate::hub_protocol::json::write(&mut out, error);
            out.push(b'}');
        }
    }
    out.push(RECORD_SEPARATOR);
    out
}

/// Client side: parses a handshake response at the start of `buf`. `Ok(None)` while no
/// `0x1E` has arrived, `Ok(Some(bytes_used))` on success, [`HandshakeError::Refused`] when
/// the server sent an error.
pub fn parse_handshake_response(
    buf: &[u8],
    max_size: usize,
) -> Result<Option<usize>, HandshakeError> {
    let Some(end) = find_record(buf, max_size)? else {
        return Ok(None);
    };
    let map = parse_object(buf.get(..end).unwrap_or_default())?;
    match map.get("error") {
        None | Some(Value::Null) => Ok(Some(end + 1)),
        Some(Value::String(e)) => Err(HandshakeError::Refused(e.clone())),
        Some(_) => Err(HandshakeError::WrongType {
            field: "error",
            expected: "a string",
        }),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parse(buf: &[u8]) -> Result<Option<(HandshakeRequest, usize)>, HandshakeError> {
        parse_handshake(buf, 1024)
    }

    fn request(protocol: &str, version: u32) -> HandshakeRequest {
        HandshakeRequest {
            protocol: protocol.into(),
            version,
        }
    }

    #[test]
    fn valid_requests() {
        let buf = b"{\"protocol\":\"json\",\"version\":1}\x1e";
        let (req, used) = parse(buf).unwrap().unwrap();
        assert_eq!((req.clone(), used), (request("json", 1), buf.len()));
        assert_eq!(req.negotiate(), Ok(Protocol::Json));

        let buf = b"{\n  \"protocol\": \"messagepack\",\n  \"version\": 1\n}\x1e\x02\x91\x06";
        let (req, used) = parse(buf).unwrap().unwrap();
        assert_eq!(req, request("messagepack", 1));
        assert_eq!(&buf[used..], &[0x02, 0x91, 0x06]);
        assert_eq!(req.negotiate(), Ok(Protocol::MessagePack));
    }

    #[test]
    fn signalrcore_sends_version_zero() {
        let buf = br#"{"protocol":"json","version":0}"#.iter().chain(b"\x1e");
        let buf: Vec<u8> = buf.copied().collect();
        let (req, _) = parse(&buf).unwrap().unwrap();
        assert_eq!(req, request("json", 0));
        assert_eq!(req.negotiate(), Ok(Protocol::Json));
        assert_eq!(
            request("messagepack", 0).negotiate(),
            Err(HandshakeError::UnsupportedVersion {
                protocol: "messagepack".into(),
                version: 0
            })
        );
        assert_eq!(
            request("blazorpack", 1)
                .negotiate()
                .unwrap_err()
                .to_string(),
            "the protocol 'blazorpack' is not supported"
        );
    }

    #[test]
    fn incomplete_and_bad_requests() {
        assert_eq!(parse(b""), Ok(None));
        assert_eq!(parse(b"{\"protocol\":\"json\",\"version\":1}"), Ok(None));
        assert!(matches!(
            parse(b"hello\x1e"),
            Err(HandshakeError::InvalidJson(_))
        ));
        assert_eq!(parse(b"\xff\x1e"), Err(HandshakeError::InvalidUtf8));
        assert_eq!(parse(b"[]\x1e"), Err(HandshakeError::NotAnObject));
        assert_eq!(
            parse(b"{\"version\":1}\x1e"),
            Err(HandshakeError::MissingField("protocol"))
        );
        assert_eq!(
            parse(b"{\"protocol\":\"json\"}\x1e"),
            Err(HandshakeError::MissingField("version"))
        );
        assert_eq!(
            parse(b"{\"protocol\":1,\"version\":1}\x1e"),
            Err(HandshakeError::WrongType {
                field: "protocol",
                expected: "a string"
            })
        );
        assert!(matches!(
            parse(b"{\"protocol\":\"json\",\"version\":-1}\x1e"),
            Err(HandshakeError::WrongType {
                field: "version",
                ..
            })
        ));
        assert_eq!(
            parse_handshake(&[b' '; 11], 10),
            Err(HandshakeError::TooLarge { size: 11, max: 10 })
        );
        assert_eq!(
            parse_handshake(b"{\"protocol\":\"json\",\"version\":1}\x1e", 10),
            Err(HandshakeError::TooLarge { size: 31, max: 10 })
        );
    }

    #[test]
    fn responses() {
        assert_eq!(handshake_response(None), b"{}\x1e");
        assert_eq!(
            handshake_response(Some("Requested protocol 'x\"' is not available.")),
            b"{\"error\":\"Requested protocol 'x\\\"' is not available.\"}\x1e"
        );
        assert_eq!(
            parse_handshake_response(b"{}\x1e{\"type\":6}\x1e", 64),
            Ok(Some(3))
        );
        assert_eq!(parse_handshake_response(b"{}", 64), Ok(None));
        assert_eq!(
            parse_handshake_response(&handshake_response(Some("no")), 64),
            Err(HandshakeError::Refused("no".into()))
        );
    }

    proptest! {
        #[test]
        fn never_panics(buf in proptest::collection::vec(any::<u8>(), 0..64), max in 0usize..80) {
            let _ = parse_handshake(&buf, max);
            let _ = parse_handshake_response(&buf, max);
        }

        #[test]
        fn never_panics_on_near_valid_input(
            protocol in "[a-z\"\\\\]{0,12}",
            version in any::<i64>(),
            tail in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let mut buf = format!("{{\"protocol\":\"{protocol}\",\"version\":{version}}}").into_bytes();
            buf.push(RECORD_SEPARATOR);
            buf.extend(tail);
            if let Ok(Some((req, used))) = parse_handshake(&buf, 4096) {
                prop_assert!(used <= buf.len());
                let _ = req.negotiate();
            }
        }
    }
}

//! The JSON bodies of `POST …/negotiate` responses: a connection offer, a redirect (as Azure
//! SignalR Service sends to application servers' clients), or an error.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A successful negotiate response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NegotiateResponse {
    /// The public connection id.
    pub connection_id: String,
    /// The secret token used as `id` on transport requests (negotiate version 1 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_token: Option<String>,
    /// The negotiate version in use. Always written, also for version 0: the spec's v0
    /// example carries it, and clients such as signalrcore require it.
    #[serde(default)]
    pub negotiate_version: u32,
    /// The transports the client may use.
    pub available_transports: Vec<AvailableTransport>,
    /// Whether the server agrees to stateful reconnect; omitted unless true.
    #[serde(default, skip_serializing_if = "is_false")]
    pub use_stateful_reconnect: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One transport offered in a negotiate response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AvailableTransport {
    /// The transport.
    pub transport: TransportType,
    /// The transfer formats it can carry.
    pub transfer_formats: Vec<TransferFormat>,
}

/// A SignalR transport, serialized by its ASP.NET Core name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TransportType {
    /// Full-duplex WebSockets.
    WebSockets,
    /// Server-Sent Events down, HTTP POST up.
    ServerSentEvents,
    /// Long polling down, HTTP POST up.
    LongPolling,
}

impl TransportType {
    /// Every transport, in order of preference.
    pub const ALL: [Self; 3] = [Self::WebSockets, Self::ServerSentEvents, Self::LongPolling];

    /// The ASP.NET Core name, e.g. `WebSockets`.
    pub fn name(self) -> &'static str {
        match self {
            Self::WebSockets => "WebSockets",
            Self::ServerSentEvents => "ServerSentEvents",
            Self::LongPolling => "LongPolling",
        }
    }

    /// The transfer formats the transport can carry (Server-Sent Events is text only).
    pub fn transfer_formats(self) -> &'static [TransferFormat] {
        match self {
            Self::ServerSentEvents => &[TransferFormat::Text],
            Self::WebSockets | Self::LongPolling => &[TransferFormat::Text, TransferFormat::Binary],
        }
    }
}

impl fmt::Display for TransportType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a transport or transfer format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {name:?}")]
pub struct UnknownName {
    kind: &'static str,
    name: String,
}

impl FromStr for TransportType {
    type Err = UnknownName;

    /// Parses a transport name, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownName {
                kind: "transport",
                name: s.to_owned(),
            })
    }
}

/// What a transport can carry: UTF-8 text or arbitrary bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TransferFormat {
    /// UTF-8 text (the JSON protocol).
    Text,
    /// Arbitrary bytes (the MessagePack protocol).
    Binary,
}

impl TransferFormat {
    /// The name used in negotiate responses: `Text` or `Binary`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Text => "Text",
            Self::Binary => "Binary",
        }
    }
}

impl fmt::Display for TransferFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TransferFormat {
    type Err = UnknownName;

    /// Parses a transfer format name, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        [Self::Text, Self::Binary]
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownName {
                kind: "transfer format",
                name: s.to_owned(),
            })
    }
}

/// A negotiate response sending the client elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NegotiateRedirect {
    /// The URL to negotiate with instead.
    pub url: String,
    /// A bearer token for that URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
}

/// A negotiate response refusing the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NegotiateError {
    /// Why.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn all_transports() -> Vec<AvailableTransport> {
        TransportType::ALL
            .into_iter()
            .map(|transport| AvailableTransport {
                transport,
                transfer_formats: transport.transfer_formats().to_vec(),
            })
            .collect()
    }

    #[test]
    fn version_one_matches_the_spec() {
        let response = NegotiateResponse {
            connection_id: "807809a5-31bf-470d-9e23-afaee35d8a0d".into(),
            connection_token: Some("05265228-1e2c-46c5-82a1-6a5bcc3f0143".into()),
            negotiate_version: 1,
            available_transports: all_transports(),
            use_stateful_reconnect: false,
        };
        let spec = json!({
            "connectionToken": "05265228-1e2c-46c5-82a1-6a5bcc3f0143",
            "connectionId": "807809a5-31bf-470d-9e23-afaee35d8a0d",
            "negotiateVersion": 1,
            "availableTransports": [
                {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]},
                {"transport": "ServerSentEvents", "transferFormats": ["Text"]},
                {"transport": "LongPolling", "transferFormats": ["Text", "Binary"]}
            ]
        });
        assert_eq!(serde_json::to_value(&response).unwrap(), spec);
        assert_eq!(
            serde_json::from_value::<NegotiateResponse>(spec).unwrap(),
            response
        );
    }

    #[test]
    fn version_zero_and_stateful_reconnect() {
        let mut response = NegotiateResponse {
            connection_id: "abc".into(),
            connection_token: None,
            negotiate_version: 0,
            available_transports: vec![],
            use_stateful_reconnect: false,
        };
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"connectionId":"abc","negotiateVersion":0,"availableTransports":[]}"#
        );
        response.use_stateful_reconnect = true;
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"connectionId":"abc","negotiateVersion":0,"availableTransports":[],"useStatefulReconnect":true}"#
        );
    }

    #[test]
    fn redirect_and_error() {
        let redirect = NegotiateRedirect {
            url: "https://myapp.com/chat".into(),
            access_token: Some("accessToken".into()),
        };
        let text = r#"{"url":"https://myapp.com/chat","accessToken":"accessToken"}"#;
        assert_eq!(serde_json::to_string(&redirect).unwrap(), text);
        assert_eq!(
            serde_json::from_str::<NegotiateRedirect>(text).unwrap(),
            redirect
        );
        let bare = NegotiateRedirect {
            url: "u".into(),
            access_token: None,
        };
        assert_eq!(serde_json::to_string(&bare).unwrap(), r#"{"url":"u"}"#);
        let error = NegotiateError {
            error: "This connection is not allowed.".into(),
        };
        assert_eq!(
            serde_json::to_string(&error).unwrap(),
            r#"{"error":"This connection is not allowed."}"#
        );
    }

    #[test]
    fn transport_names() {
        assert_eq!("websockets".parse(), Ok(TransportType::WebSockets));
        assert_eq!(
            "ServerSentEvents".parse(),
            Ok(TransportType::ServerSentEvents)
        );
        assert_eq!("LONGPOLLING".parse(), Ok(TransportType::LongPolling));
        let err = "carrier-pigeon".parse::<TransportType>().unwrap_err();
        assert_eq!(err.to_string(), "unknown transport \"carrier-pigeon\"");
        assert_eq!(TransportType::LongPolling.to_string(), "LongPolling");
        assert_eq!("binary".parse(), Ok(TransferFormat::Binary));
        assert_eq!(TransferFormat::Text.to_string(), "Text");
        assert!("json".parse::<TransferFormat>().is_err());
    }
}

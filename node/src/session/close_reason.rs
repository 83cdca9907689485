//! Why a session ended: the text sent to the client and the label counted in metrics.

use std::fmt;

/// Why a session ended. Each variant maps to a fixed metrics label, so label cardinality stays
/// bounded whatever the client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed the connection or sent a Close message.
    ClientClosed,
    /// The transport went away (socket reset, request aborted).
    TransportClosed,
    /// Nothing arrived from the client within the client timeout.
    ClientTimeout,
    /// The handshake did not complete within the handshake timeout.
    HandshakeTimeout,
    /// The handshake request was malformed or asked for something unsupported.
    HandshakeFailed(String),
    /// A message could not be decoded.
    ProtocolError(String),
    /// A message exceeded the configured maximum size.
    MessageTooLarge(String),
    /// The client did not read fast enough and its outbound queue filled up.
    SlowConsumer,
    /// An application closed the connection through the REST API.
    ClosedByApplication(String),
    /// The node is shutting down; the client should reconnect elsewhere.
    ServerShutdown,
    /// The node could not make the connection reachable from the rest of the cluster (Redis
    /// did not confirm its subscriptions in time); the client should reconnect.
    Unreachable(String),
}

impl CloseReason {
    /// The bounded label used for `herald_connections_closed_total{reason}`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::ClientClosed => "client_closed",
            Self::TransportClosed => "transport_closed",
            Self::ClientTimeout => "client_timeout",
            Self::HandshakeTimeout => "handshake_timeout",
            Self::HandshakeFailed(_) => "handshake_failed",
            Self::ProtocolError(_) => "protocol_error",
            Self::MessageTooLarge(_) => "message_too_large",
            Self::SlowConsumer => "slow_consumer",
            Self::ClosedByApplication(_) => "closed_by_application",
            Self::ServerShutdown => "server_shutdown",
            Self::Unreachable(_) => "unreachable",
        }
    }

    /// The error text for the SignalR Close message; `None` for a normal close.
    pub fn client_error(&self) -> Option<String> {
        match self {
            // A shutdown is not the client's error: `allowReconnect` alone sends it elsewhere,
            // and the official clients report no error for it.
            Self::ClientClosed | Self::TransportClosed | Self::ServerShutdown => None,
            Self::ClosedByApplication(reason) if reason.is_empty() => None,
            _ => Some(self.to_string()),
        }
    }

    /// Whether the client may reconnect right away (sent as `allowReconnect`).
    pub fn allow_reconnect(&self) -> bool {
        matches!(self, Self::ServerShutdown | Self::Unreachable(_))
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientClosed => f.write_str("the client closed the connection"),
            Self::TransportClosed => f.write_str("the transport closed"),
            Self::ClientTimeout => f.write_str(
                "server timeout: no message received from the client within the client timeout; clients must send keep-alive pings",
            ),
            Self::HandshakeTimeout => f.write_str("handshake was not completed within the handshake timeout"),
            Self::HandshakeFailed(why) => write!(f, "handshake failed: {why}"),
            Self::ProtocolError(why) => write!(f, "invalid message from the client: {why}"),
            Self::MessageTooLarge(why) => write!(f, "message too large: {why}"),
            Self::SlowConsumer => f.write_str(
                "connection closed: the client did not read messages fast enough and its outbound queue is full",
            ),
            Self::ClosedByApplication(reason) if reason.is_empty() => f.write_str("closed by the application"),
            Self::ClosedByApplication(reason) => f.write_str(reason),
            Self::ServerShutdown => f.write_str("server is shutting down; reconnect to another node"),
            Self::Unreachable(why) => write!(f, "the connection cannot receive messages from other nodes yet: {why}; reconnect"),
        }
    }
}

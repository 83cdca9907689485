//! The three kinds of server a benchmark runs against, and what differs between them on the wire:
//! how a client connects, how a publisher broadcasts, and which keep-alive the client owes.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The hub (SignalR) every benchmark connection joins.
pub const HUB: &str = "bench";
/// The client method every benchmark message invokes.
pub const TARGET: &str = "m";

/// A kind of server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    /// Herald: SignalR JSON protocol, negotiate then WebSocket, REST broadcast.
    Herald,
    /// The socket.io 4.8 peer: engine.io v4 over WebSocket, `POST /broadcast`.
    SocketIo,
    /// The raw Rust WebSocket broadcast floor: plain upgrade, `POST /broadcast`.
    Floor,
}

impl Flavor {
    /// Every flavor, in the order tables list them.
    pub const ALL: [Flavor; 3] = [Flavor::Herald, Flavor::SocketIo, Flavor::Floor];

    /// The path a publisher POSTs a broadcast to.
    pub fn broadcast_path(self) -> String {
        match self {
            Flavor::Herald => format!("/api/v1/hubs/{HUB}"),
            Flavor::SocketIo | Flavor::Floor => "/broadcast".to_owned(),
        }
    }

    /// The body of a broadcast of `argument`: the Azure SignalR REST shape, which the peer and
    /// the floor accept too.
    pub fn broadcast_body(argument: &str) -> Vec<u8> {
        format!("{{\"target\":\"{TARGET}\",\"arguments\":[\"{argument}\"]}}").into_bytes()
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavor::Herald => "herald",
            Flavor::SocketIo => "socketio",
            Flavor::Floor => "floor",
        })
    }
}

impl FromStr for Flavor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "herald" => Ok(Flavor::Herald),
            "socketio" => Ok(Flavor::SocketIo),
            "floor" => Ok(Flavor::Floor),
            other => Err(format!(
                "unknown server kind {other:?}: expected herald, socketio or floor"
            )),
        }
    }
}

//! What an upstream request is about: its [`Category`] and, for connection lifetime events,
//! its [`ConnectionEvent`]. Both are sent verbatim in `X-ASRS-Category` / `X-ASRS-Event` and
//! fill `{category}` / `{event}` in the URL template.

use std::fmt;
use std::str::FromStr;

/// The two upstream categories Azure defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Connection lifetime events: `connected` and `disconnected`.
    Connections,
    /// Hub method invocations by clients; the event is the method name.
    Messages,
}

impl Category {
    /// The wire name: `connections` or `messages`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connections => "connections",
            Self::Messages => "messages",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event of the `connections` category; `upstream.events` lists the ones forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionEvent {
    /// A client finished its handshake.
    Connected,
    /// A client connection ended, cleanly or not.
    Disconnected,
}

impl ConnectionEvent {
    /// Both events, the default of `upstream.events`.
    pub const ALL: [ConnectionEvent; 2] = [Self::Connected, Self::Disconnected];

    /// The wire name: `connected` or `disconnected`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
        }
    }
}

impl fmt::Display for ConnectionEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not `connected` or `disconnected`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown connection event {0:?}: use \"connected\" and/or \"disconnected\"")]
pub struct UnknownConnectionEvent(pub String);

impl FromStr for ConnectionEvent {
    type Err = UnknownConnectionEvent;

    /// Case-insensitive, as the Functions trigger matches event names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        if name.eq_ignore_ascii_case("connected") {
            Ok(Self::Connected)
        } else if name.eq_ignore_ascii_case("disconnected") {
            Ok(Self::Disconnected)
        } else {
            Err(UnknownConnectionEvent(name.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for event in ConnectionEvent::ALL {
            assert_eq!(event.to_string().parse::<ConnectionEvent>(), Ok(event));
        }
        assert_eq!("Connected".parse(), Ok(ConnectionEvent::Connected));
        assert!("connect".parse::<ConnectionEvent>().is_err());
        assert_eq!(Category::Connections.to_string(), "connections");
        assert_eq!(Category::Messages.as_str(), "messages");
    }
}

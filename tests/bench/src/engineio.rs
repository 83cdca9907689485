//! engine.io v4 / socket.io v5 packets as the load generator meets them over WebSocket: one
//! packet per text frame, its type the first character.

/// What a text frame from a socket.io server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// engine.io `open` (`0{...}`), the first frame after the upgrade.
    Open,
    /// engine.io `ping` (`2`): the client must answer [`PONG`].
    Ping,
    /// socket.io `CONNECT` acknowledgement on the main namespace (`40{...}`).
    Connected,
    /// socket.io `EVENT` (`42[...]`): its JSON array.
    Event(&'a [u8]),
    /// engine.io `close` (`1`) or socket.io `DISCONNECT`/`CONNECT_ERROR` (`41`, `44`).
    Closed,
    /// Anything else (noop, upgrade, acks...).
    Other,
}

/// The client's request to join the main namespace, sent after [`Packet::Open`].
pub const CONNECT: &[u8] = b"40";
/// The engine.io pong.
pub const PONG: &[u8] = b"3";

/// The path of a WebSocket-only engine.io v4 connection.
pub const PATH: &str = "/socket.io/?EIO=4&transport=websocket";

/// Classifies one text frame payload.
pub fn classify(payload: &[u8]) -> Packet<'_> {
    match payload {
        [b'0', ..] => Packet::Open,
        [b'1', ..] => Packet::Closed,
        [b'2', ..] => Packet::Ping,
        [b'4', b'0', ..] => Packet::Connected,
        [b'4', b'2', rest @ ..] => Packet::Event(rest),
        [b'4', b'1' | b'4', ..] => Packet::Closed,
        _ => Packet::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_packets_a_client_sees() {
        assert_eq!(
            classify(br#"0{"sid":"x","pingInterval":25000}"#),
            Packet::Open
        );
        assert_eq!(classify(b"2"), Packet::Ping);
        assert_eq!(classify(br#"40{"sid":"y"}"#), Packet::Connected);
        assert_eq!(
            classify(br#"42["m","@@1"]"#),
            Packet::Event(br#"["m","@@1"]"#)
        );
        assert_eq!(classify(b"1"), Packet::Closed);
        assert_eq!(classify(br#"44{"message":"no"}"#), Packet::Closed);
        assert_eq!(classify(b"6"), Packet::Other);
        assert_eq!(classify(b""), Packet::Other);
    }
}

use std::time::{Duration, Instant};

use super::*;

const RS: u8 = 0x1e;

fn settings() -> SessionSettings {
    SessionSettings {
        keep_alive: Duration::from_secs(15),
        timeout: Duration::from_secs(30),
        handshake_timeout: Duration::from_secs(15),
        max_message_size: 1024,
    }
}

fn text(event: &SessionEvent) -> String {
    match event {
        SessionEvent::Write(frame)
        | SessionEvent::Close {
            frame: Some(frame), ..
        } => String::from_utf8_lossy(frame.as_bytes()).into_owned(),
        other => format!("{other:?}"),
    }
}

fn open_json(now: Instant) -> SessionCore {
    let mut core = SessionCore::new(settings(), now);
    let mut out = Vec::new();
    core.on_data(b"{\"protocol\":\"json\",\"version\":1}\x1e", &mut out);
    assert_eq!(out.len(), 2, "{out:?}");
    core
}

#[test]
fn json_handshake_succeeds_and_opens() {
    let now = Instant::now();
    let mut core = SessionCore::new(settings(), now);
    let mut out = Vec::new();
    core.on_data(b"{\"protocol\":\"json\",", &mut out);
    assert!(out.is_empty(), "waits for the record separator");
    core.on_data(b"\"version\":1}\x1e", &mut out);
    assert_eq!(text(&out[0]), "{}\u{1e}");
    assert_eq!(
        out[1],
        SessionEvent::Opened {
            protocol: Protocol::Json
        }
    );
    assert_eq!(core.protocol(), Some(Protocol::Json));
}

#[test]
fn messagepack_handshake_answers_in_binary() {
    let mut core = SessionCore::new(settings(), Instant::now());
    let mut out = Vec::new();
    core.on_data(
        b"{\"protocol\":\"messagepack\",\"version\":1}\x1e",
        &mut out,
    );
    assert!(
        matches!(&out[0], SessionEvent::Write(Frame::Binary(b)) if b.as_ref() == b"{}\x1e"),
        "{out:?}"
    );
    assert_eq!(
        out[1],
        SessionEvent::Opened {
            protocol: Protocol::MessagePack
        }
    );
}

#[test]
fn signalrcore_version_zero_is_accepted() {
    let mut core = SessionCore::new(settings(), Instant::now());
    let mut out = Vec::new();
    core.on_data(b"{\"protocol\":\"json\",\"version\":0}\x1e", &mut out);
    assert_eq!(
        out[1],
        SessionEvent::Opened {
            protocol: Protocol::Json
        }
    );
}

#[test]
fn unknown_protocol_fails_the_handshake() {
    let mut core = SessionCore::new(settings(), Instant::now());
    let mut out = Vec::new();
    core.on_data(b"{\"protocol\":\"xml\",\"version\":1}\x1e", &mut out);
    assert_eq!(out.len(), 1);
    let SessionEvent::Close {
        frame: Some(frame),
        reason,
    } = &out[0]
    else {
        panic!("{out:?}")
    };
    let body: serde_json::Value =
        serde_json::from_slice(&frame.as_bytes()[..frame.as_bytes().len() - 1]).unwrap();
    assert_eq!(
        body["error"],
        "the protocol 'xml' is not supported; use 'json' or 'messagepack'"
    );
    assert_eq!(reason.label(), "handshake_failed");
    assert!(core.is_closed());
}

#[test]
fn garbage_before_the_handshake_fails_it() {
    let mut core = SessionCore::new(settings(), Instant::now());
    let mut out = Vec::new();
    core.on_data(b"hello\x1e", &mut out);
    assert!(
        matches!(
            &out[0],
            SessionEvent::Close {
                reason: CloseReason::HandshakeFailed(_),
                frame: Some(_)
            }
        ),
        "{out:?}"
    );
}

#[test]
fn an_oversized_handshake_is_refused_without_buffering_forever() {
    let mut core = SessionCore::new(settings(), Instant::now());
    let mut out = Vec::new();
    core.on_data(&vec![b'{'; 2000], &mut out);
    assert!(
        matches!(
            &out[0],
            SessionEvent::Close {
                reason: CloseReason::HandshakeFailed(_),
                ..
            }
        ),
        "{out:?}"
    );
}

#[test]
fn messages_after_the_handshake_in_the_same_read_are_processed() {
    let mut core = SessionCore::new(settings(), Instant::now());
    let mut out = Vec::new();
    let mut data = b"{\"protocol\":\"json\",\"version\":1}\x1e".to_vec();
    data.extend_from_slice(
        b"{\"type\":1,\"invocationId\":\"7\",\"target\":\"Echo\",\"arguments\":[1]}\x1e",
    );
    core.on_data(&data, &mut out);
    assert_eq!(out.len(), 3, "{out:?}");
    let completion: serde_json::Value =
        serde_json::from_str(text(&out[2]).trim_end_matches('\u{1e}')).unwrap();
    assert_eq!(completion["type"], 3);
    assert_eq!(completion["invocationId"], "7");
    assert_eq!(
        completion["error"],
        "method 'Echo' cannot be invoked: this hub has no server-side methods (no upstream is configured)"
    );
    assert_eq!(core.messages_received(), 1);
}

#[test]
fn non_blocking_invocations_and_pings_get_no_reply() {
    let mut core = open_json(Instant::now());
    let mut out = Vec::new();
    core.on_data(
        b"{\"type\":1,\"target\":\"Fire\",\"arguments\":[]}\x1e{\"type\":6}\x1e",
        &mut out,
    );
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(core.messages_received(), 2);
}

#[test]
fn stream_invocations_get_an_error_completion() {
    let mut core = open_json(Instant::now());
    let mut out = Vec::new();
    core.on_data(
        b"{\"type\":4,\"invocationId\":\"s1\",\"target\":\"Counter\",\"arguments\":[]}\x1e",
        &mut out,
    );
    let completion: serde_json::Value =
        serde_json::from_str(text(&out[0]).trim_end_matches('\u{1e}')).unwrap();
    assert_eq!(completion["invocationId"], "s1");
    assert!(
        completion["error"]
            .as_str()
            .unwrap()
            .contains("streaming invocations are not supported")
    );
}

#[test]
fn malformed_json_closes_with_an_error() {
    let mut core = open_json(Instant::now());
    let mut out = Vec::new();
    core.on_data(b"{not json}\x1e", &mut out);
    let SessionEvent::Close {
        frame: Some(frame),
        reason,
    } = &out[0]
    else {
        panic!("{out:?}")
    };
    assert_eq!(reason.label(), "protocol_error");
    let close: serde_json::Value =
        serde_json::from_slice(&frame.as_bytes()[..frame.as_bytes().len() - 1]).unwrap();
    assert_eq!(close["type"], 7);
    assert!(
        close["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid message from the client"),
        "{close}"
    );
    assert!(core.is_closed());
    out.clear();
    core.on_data(b"{\"type\":6}\x1e", &mut out);
    assert!(out.is_empty(), "closed sessions ignore input");
}

#[test]
fn oversized_messages_close_with_the_limit_named() {
    let mut core = open_json(Instant::now());
    let mut out = Vec::new();
    core.on_data(&vec![b' '; 1500], &mut out);
    let SessionEvent::Close { reason, .. } = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(reason.label(), "message_too_large");
    assert!(reason.to_string().contains("1024"), "{reason}");
}

#[test]
fn the_client_close_message_ends_the_session() {
    let mut core = open_json(Instant::now());
    let mut out = Vec::new();
    core.on_data(&[b"{\"type\":7}".as_slice(), &[RS]].concat(), &mut out);
    assert_eq!(
        out,
        vec![SessionEvent::Close {
            frame: None,
            reason: CloseReason::ClientClosed
        }]
    );
}

#[test]
fn keep_alive_pings_only_when_idle() {
    let start = Instant::now();
    let mut core = open_json(start);
    let mut out = Vec::new();
    core.on_tick(start + Duration::from_secs(5), &mut out);
    assert!(out.is_empty());
    // The handshake response counted as sent at the first tick (t=5), so the ping is due at 20.
    core.on_data(b"{\"type\":6}\x1e", &mut out);
    core.on_tick(start + Duration::from_secs(19), &mut out);
    assert!(out.is_empty(), "{out:?}");
    core.on_tick(start + Duration::from_secs(20), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(text(&out[0]), "{\"type\":6}\u{1e}");
    out.clear();
    core.note_sent();
    core.on_tick(start + Duration::from_secs(25), &mut out);
    core.on_tick(start + Duration::from_secs(39), &mut out);
    assert!(out.is_empty(), "a delivery resets the keep-alive: {out:?}");
}

#[test]
fn silent_clients_time_out() {
    let start = Instant::now();
    let mut core = open_json(start);
    let mut out = Vec::new();
    core.on_tick(start + Duration::from_secs(1), &mut out);
    out.clear();
    core.on_tick(start + Duration::from_secs(31), &mut out);
    let SessionEvent::Close {
        frame: Some(frame),
        reason,
    } = &out[0]
    else {
        panic!("{out:?}")
    };
    assert_eq!(*reason, CloseReason::ClientTimeout);
    assert!(
        text(&out[0]).contains("\"type\":7"),
        "{}",
        String::from_utf8_lossy(frame.as_bytes())
    );
}

#[test]
fn handshake_times_out() {
    let start = Instant::now();
    let mut core = SessionCore::new(settings(), start);
    let mut out = Vec::new();
    core.on_tick(start + Duration::from_secs(14), &mut out);
    assert!(out.is_empty());
    core.on_tick(start + Duration::from_secs(15), &mut out);
    assert!(
        matches!(
            &out[0],
            SessionEvent::Close {
                reason: CloseReason::HandshakeTimeout,
                frame: Some(_)
            }
        ),
        "{out:?}"
    );
}

#[test]
fn shutdown_close_allows_reconnect() {
    let mut core = open_json(Instant::now());
    let mut out = Vec::new();
    core.close(CloseReason::ServerShutdown, &mut out);
    let close: serde_json::Value =
        serde_json::from_str(text(&out[0]).trim_end_matches('\u{1e}')).unwrap();
    assert_eq!(close["type"], 7);
    assert_eq!(close["allowReconnect"], true);
    assert_eq!(
        close["error"],
        "server is shutting down; reconnect to another node"
    );
}

#[test]
fn messagepack_messages_are_decoded() {
    let mut core = SessionCore::new(settings(), Instant::now());
    let mut out = Vec::new();
    core.on_data(
        b"{\"protocol\":\"messagepack\",\"version\":1}\x1e",
        &mut out,
    );
    out.clear();
    // Ping, then a truncated invocation body.
    core.on_data(&[0x02, 0x91, 0x06], &mut out);
    assert!(out.is_empty(), "{out:?}");
    core.on_data(&[0x03, 0x95, 0x01, 0x80], &mut out);
    assert!(
        matches!(
            &out[0],
            SessionEvent::Close {
                reason: CloseReason::ProtocolError(_),
                ..
            }
        ),
        "{out:?}"
    );
}

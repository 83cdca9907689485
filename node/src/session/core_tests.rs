use std::time::{Duration, Instant};

use herald_proto::hub_protocol::{Decoded, HubMessage, Outcome};

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
        SessionEvent::Write { frame, .. }
        | SessionEvent::Close {
            frame: Some(frame), ..
        } => String::from_utf8_lossy(frame.as_bytes()).into_owned(),
        other => format!("{other:?}"),
    }
}

fn open_json(now: Instant) -> SessionCore {
    let mut core = SessionCore::new(settings(), false, now);
    let mut out = Vec::new();
    core.on_data(b"{\"protocol\":\"json\",\"version\":1}\x1e", &mut out);
    assert_eq!(out.len(), 2, "{out:?}");
    core
}

#[test]
fn json_handshake_succeeds_and_opens() {
    let now = Instant::now();
    let mut core = SessionCore::new(settings(), false, now);
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
    let mut core = SessionCore::new(settings(), false, Instant::now());
    let mut out = Vec::new();
    core.on_data(
        b"{\"protocol\":\"messagepack\",\"version\":1}\x1e",
        &mut out,
    );
    assert!(
        matches!(&out[0], SessionEvent::Write { frame: Frame::Binary(b), trackable: false } if b.as_ref() == b"{}\x1e"),
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
    let mut core = SessionCore::new(settings(), false, Instant::now());
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
    let mut core = SessionCore::new(settings(), false, Instant::now());
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
    let mut core = SessionCore::new(settings(), false, Instant::now());
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
    let mut core = SessionCore::new(settings(), false, Instant::now());
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
    let mut core = SessionCore::new(settings(), false, Instant::now());
    let mut out = Vec::new();
    let mut data = b"{\"protocol\":\"json\",\"version\":1}\x1e".to_vec();
    data.extend_from_slice(
        b"{\"type\":1,\"invocationId\":\"7\",\"target\":\"Echo\",\"arguments\":[1]}\x1e",
    );
    core.on_data(&data, &mut out);
    assert_eq!(out.len(), 3, "{out:?}");
    let SessionEvent::Invocation { message } = &out[2] else {
        panic!("{out:?}")
    };
    assert_eq!(
        (message.invocation_id(), message.target()),
        (Some("7"), Some("Echo"))
    );
    assert_eq!(core.messages_received(), 1);
}

#[test]
fn completions_are_encoded_in_the_session_protocol() {
    let mut core = open_json(Instant::now());
    let mut out = Vec::new();
    core.complete("7", Outcome::Error("no such method".into()), &mut out);
    assert!(
        matches!(
            &out[0],
            SessionEvent::Write {
                trackable: true,
                ..
            }
        ),
        "{out:?}"
    );
    assert_eq!(
        text(&out[0]),
        "{\"type\":3,\"invocationId\":\"7\",\"error\":\"no such method\"}\u{1e}"
    );
}

#[test]
fn pings_get_no_reply_and_non_blocking_invocations_are_passed_on() {
    let mut core = open_json(Instant::now());
    let mut out = Vec::new();
    core.on_data(
        b"{\"type\":1,\"target\":\"Fire\",\"arguments\":[]}\x1e{\"type\":6}\x1e",
        &mut out,
    );
    assert_eq!(out.len(), 1, "{out:?}");
    let SessionEvent::Invocation { message } = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(
        (message.invocation_id(), message.target()),
        (None, Some("Fire"))
    );
    assert_eq!(core.messages_received(), 2);
}

#[test]
fn stateful_sessions_drop_replayed_messages_and_acknowledge() {
    let start = Instant::now();
    let mut core = SessionCore::new(settings(), true, start);
    let mut out = Vec::new();
    core.on_data(b"{\"protocol\":\"json\",\"version\":1}\x1e", &mut out);
    out.clear();
    let inv = |n: u32| format!("{{\"type\":1,\"target\":\"T\",\"arguments\":[{n}]}}\u{1e}");
    core.on_data(format!("{}{}", inv(1), inv(2)).as_bytes(), &mut out);
    assert_eq!(out.len(), 2);
    out.clear();
    // After a reconnect the client announces it restarts at id 2 and replays message 2.
    let replayed = format!("{{\"type\":9,\"sequenceId\":2}}\u{1e}{}{}", inv(2), inv(3));
    core.on_data(replayed.as_bytes(), &mut out);
    assert_eq!(out.len(), 1, "the duplicate is dropped: {out:?}");
    let SessionEvent::Invocation {
        message: Decoded::Json(HubMessage::Invocation { arguments, .. }),
    } = &out[0]
    else {
        panic!("{out:?}")
    };
    assert_eq!(arguments, &vec![serde_json::json!(3)]);
    out.clear();
    core.on_tick(start + Duration::from_secs(1), &mut out);
    assert_eq!(
        out.iter().map(text).collect::<Vec<_>>(),
        vec!["{\"type\":8,\"sequenceId\":3}\u{1e}"]
    );
    out.clear();
    core.on_tick(start + Duration::from_secs(2), &mut out);
    assert!(out.is_empty(), "nothing new to acknowledge: {out:?}");
    core.on_data(b"{\"type\":8,\"sequenceId\":5}\x1e", &mut out);
    assert_eq!(out, vec![SessionEvent::Acked { sequence_id: 5 }]);
    let sequence = core.sequence_frame(4).unwrap();
    assert_eq!(sequence.as_bytes(), b"{\"type\":9,\"sequenceId\":4}\x1e");
}

#[test]
fn long_polling_sessions_neither_ping_nor_time_out() {
    let start = Instant::now();
    let mut core = open_json(start);
    core.set_inherent_keep_alive();
    let mut out = Vec::new();
    core.on_tick(start + Duration::from_secs(100), &mut out);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn text_only_transports_refuse_messagepack() {
    let mut core = SessionCore::new(settings(), false, Instant::now());
    core.set_text_only();
    let mut out = Vec::new();
    core.on_data(
        b"{\"protocol\":\"messagepack\",\"version\":1}\x1e",
        &mut out,
    );
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
    let mut core = SessionCore::new(settings(), false, start);
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
        close,
        serde_json::json!({"type": 7, "allowReconnect": true})
    );
}

#[test]
fn messagepack_messages_are_decoded() {
    let mut core = SessionCore::new(settings(), false, Instant::now());
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

#[test]
fn a_close_the_client_asked_for_sends_nothing_back() {
    let start = Instant::now();
    let mut core = open_json(start);
    let mut out = Vec::new();
    core.close(CloseReason::ClientClosed, &mut out);
    assert_eq!(
        out,
        vec![SessionEvent::Close {
            frame: None,
            reason: CloseReason::ClientClosed
        }]
    );
}

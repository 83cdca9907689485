//! The transport-independent heart of a session: handshake, inbound message handling,
//! keep-alive, timeouts and the inbound half of stateful reconnect. Sans-I/O: it consumes
//! bytes and clock readings and emits [`SessionEvent`]s that the session actor carries out.

use std::time::{Duration, Instant};

use herald_proto::handshake::{handshake_response, parse_handshake};
use herald_proto::hub_protocol::{
    DecodeError, Decoded, HubMessage, MessageReader, Outcome, Protocol, encode_close, encode_json,
    encode_msgpack, json_to_msgpack, ping_frame,
};

use super::close_reason::CloseReason;
use super::link::Frame;

/// Timing and size limits of a session (from `[client]` config).
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    /// Send a ping when nothing else was sent for this long.
    pub keep_alive: Duration,
    /// Close when nothing was received from the client for this long.
    pub timeout: Duration,
    /// Close when the handshake has not completed after this long.
    pub handshake_timeout: Duration,
    /// Largest accepted incoming message (and handshake), in bytes.
    pub max_message_size: usize,
}

impl SessionSettings {
    /// How often the session's timer should call [`SessionCore::on_tick`]: fine enough for the
    /// keep-alive and timeout to fire within a third of their period.
    pub fn tick_interval(&self) -> Duration {
        (self.keep_alive.min(self.timeout) / 3)
            .clamp(Duration::from_millis(50), Duration::from_secs(5))
    }
}

/// What the session asks its actor to do.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// Send this frame to the client.
    Write {
        /// The encoded message.
        frame: Frame,
        /// Whether it is sequenced for stateful reconnect.
        trackable: bool,
    },
    /// The handshake succeeded with this protocol: register with the hub.
    Opened {
        /// The protocol the client chose.
        protocol: Protocol,
    },
    /// The client invoked a hub method (with or without an invocation id).
    Invocation {
        /// The message as decoded.
        message: Decoded,
    },
    /// The client acknowledged trackable messages up to this id.
    Acked {
        /// The highest sequence id received by the client.
        sequence_id: u64,
    },
    /// End the session. `frame` (a handshake error or a Close message) goes out first.
    Close {
        /// The last frame for the client, if any.
        frame: Option<Frame>,
        /// Why, for logs and metrics.
        reason: CloseReason,
    },
}

/// Where the session is in its life.
#[derive(Debug)]
enum State {
    /// Waiting for the handshake request; bytes buffered until its record separator.
    Handshake { buf: Vec<u8> },
    /// Handshake done: messages flow.
    Open {
        protocol: Protocol,
        reader: MessageReader,
    },
    /// Closed; every further input is ignored.
    Closed,
}

/// The inbound half of stateful reconnect.
#[derive(Debug, Default)]
struct InboundSequence {
    /// Highest trackable message id processed.
    received: u64,
    /// The id the next trackable message carries (reset by the client's `Sequence`).
    next_id: u64,
    /// Last id acknowledged to the client.
    acked: u64,
}

/// One client's protocol state.
#[derive(Debug)]
pub struct SessionCore {
    /// Limits and timings.
    settings: SessionSettings,
    /// The protocol state machine.
    state: State,
    /// When the session began, for the handshake timeout.
    started: Instant,
    /// Last tick at which something was seen to have been received.
    last_received: Instant,
    /// Last tick at which something was seen to have been sent.
    last_sent: Instant,
    /// Set on every receive, folded into `last_received` at the next tick (no clock read per
    /// message).
    received_since_tick: bool,
    /// Set on every send, folded into `last_sent` at the next tick.
    sent_since_tick: bool,
    /// The transport keeps the connection alive by itself (long polling): no pings, and the
    /// client is not expected to send any.
    inherent_keep_alive: bool,
    /// Present when the client negotiated stateful reconnect.
    sequence: Option<InboundSequence>,
    /// Whether binary protocols are possible on this session's transport.
    binary_allowed: bool,
    /// Inbound messages decoded, for metrics.
    messages_received: u64,
}

impl SessionCore {
    /// A session that has just been accepted by its transport.
    pub fn new(settings: SessionSettings, stateful: bool, now: Instant) -> Self {
        Self {
            settings,
            state: State::Handshake { buf: Vec::new() },
            started: now,
            last_received: now,
            last_sent: now,
            received_since_tick: false,
            sent_since_tick: false,
            inherent_keep_alive: false,
            sequence: stateful.then(|| InboundSequence {
                next_id: 1,
                ..InboundSequence::default()
            }),
            binary_allowed: true,
            messages_received: 0,
        }
    }

    /// The negotiated protocol, once the handshake is done.
    pub fn protocol(&self) -> Option<Protocol> {
        match &self.state {
            State::Open { protocol, .. } => Some(*protocol),
            _ => None,
        }
    }

    /// Whether the handshake completed and the session has not closed.
    pub fn is_open(&self) -> bool {
        matches!(self.state, State::Open { .. })
    }

    /// Whether the session has closed.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Inbound messages decoded so far.
    pub fn messages_received(&self) -> u64 {
        self.messages_received
    }

    /// Long polling keeps the connection alive by polling: no pings either way.
    pub fn set_inherent_keep_alive(&mut self) {
        self.inherent_keep_alive = true;
    }

    /// The transport carries text only (Server-Sent Events): MessagePack is refused.
    pub fn set_text_only(&mut self) {
        self.binary_allowed = false;
    }

    /// Records that something was written to the client (keeps the keep-alive quiet).
    pub fn note_sent(&mut self) {
        self.sent_since_tick = true;
    }

    /// Records that the client showed it is alive without hub data (a WebSocket ping, a poll).
    pub fn note_received(&mut self) {
        self.received_since_tick = true;
    }

    /// Feeds bytes from the client.
    pub fn on_data(&mut self, data: &[u8], out: &mut Vec<SessionEvent>) {
        self.received_since_tick = true;
        match &mut self.state {
            State::Closed => {}
            State::Handshake { buf } => {
                buf.extend_from_slice(data);
                let buffered = std::mem::take(buf);
                self.handshake(&buffered, out);
            }
            State::Open { reader, .. } => {
                reader.push(data);
                self.drain_messages(out);
            }
        }
    }

    fn handshake(&mut self, buffered: &[u8], out: &mut Vec<SessionEvent>) {
        let max = self.settings.max_message_size;
        match parse_handshake(buffered, max) {
            Ok(None) if buffered.len() > max => {
                self.fail_handshake(format!("handshake request exceeds {max} bytes"), out);
            }
            Ok(None) => {
                self.state = State::Handshake {
                    buf: buffered.to_vec(),
                }
            }
            Err(e) => self.fail_handshake(e.to_string(), out),
            Ok(Some((request, consumed))) => {
                let Some(protocol) = Protocol::from_name(&request.protocol) else {
                    let why = format!(
                        "the protocol '{}' is not supported; use 'json' or 'messagepack'",
                        request.protocol
                    );
                    return self.fail_handshake(why, out);
                };
                if !protocol.supports_version(request.version) {
                    let why = format!(
                        "the requested '{}' protocol version {} is not supported",
                        request.protocol, request.version
                    );
                    return self.fail_handshake(why, out);
                }
                if protocol.is_binary() && !self.binary_allowed {
                    let why = format!(
                        "the '{}' protocol needs a binary transport; Server-Sent Events carry text only",
                        request.protocol
                    );
                    return self.fail_handshake(why, out);
                }
                let mut reader = MessageReader::new(protocol, max);
                reader.push(&buffered[consumed..]);
                self.state = State::Open { protocol, reader };
                self.write(
                    Frame::encoded(protocol, handshake_response(None)),
                    false,
                    out,
                );
                out.push(SessionEvent::Opened { protocol });
                self.drain_messages(out);
            }
        }
    }

    fn fail_handshake(&mut self, why: String, out: &mut Vec<SessionEvent>) {
        let frame = Frame::encoded(Protocol::Json, handshake_response(Some(&why)));
        self.state = State::Closed;
        out.push(SessionEvent::Close {
            frame: Some(frame),
            reason: CloseReason::HandshakeFailed(why),
        });
    }

    fn drain_messages(&mut self, out: &mut Vec<SessionEvent>) {
        loop {
            let State::Open { reader, .. } = &mut self.state else {
                return;
            };
            let Some(next) = reader.next() else { return };
            match next {
                Ok(message) => {
                    self.messages_received += 1;
                    self.on_message(message, out);
                }
                Err(DecodeError::UnknownMessageType(kind)) => {
                    // The spec lets newer peers send message types we do not know: skip them.
                    tracing::debug!(kind, "ignoring a message of unknown type");
                }
                Err(e @ DecodeError::MessageTooLarge { .. }) => {
                    return self.close(CloseReason::MessageTooLarge(e.to_string()), out);
                }
                Err(e) => return self.close(CloseReason::ProtocolError(e.to_string()), out),
            }
        }
    }

    /// Whether a trackable inbound message is new (true) or a replayed duplicate (false).
    fn accept_trackable(&mut self) -> bool {
        let Some(seq) = &mut self.sequence else {
            return true;
        };
        let id = seq.next_id;
        seq.next_id += 1;
        if id <= seq.received {
            return false;
        }
        seq.received = id;
        true
    }

    fn on_message(&mut self, message: Decoded, out: &mut Vec<SessionEvent>) {
        let (kind, sequence, trackable) = match &message {
            Decoded::Json(m) => (kind_of(m), sequence_of(m), m.is_trackable()),
            Decoded::MessagePack(m) => (kind_of(m), sequence_of(m), m.is_trackable()),
        };
        if trackable && !self.accept_trackable() {
            return;
        }
        match kind {
            Kind::Invocation => out.push(SessionEvent::Invocation { message }),
            Kind::StreamInvocation(id) => {
                let error = format!(
                    "streaming method '{}' cannot be invoked: streaming invocations are not supported",
                    message.target().unwrap_or_default()
                );
                self.complete(&id, Outcome::Error(error), out);
            }
            Kind::Close => {
                self.state = State::Closed;
                out.push(SessionEvent::Close {
                    frame: None,
                    reason: CloseReason::ClientClosed,
                });
            }
            Kind::Ack => out.push(SessionEvent::Acked {
                sequence_id: sequence,
            }),
            Kind::Sequence => {
                if let Some(seq) = &mut self.sequence {
                    seq.next_id = sequence;
                }
            }
            // Pings only prove liveness; completions, stream items and cancels answer nothing we
            // asked (client results and upload streams are not used by this server).
            Kind::Other => {}
        }
    }

    /// Writes a Completion for `invocation_id` in the session's protocol.
    pub fn complete(
        &mut self,
        invocation_id: &str,
        outcome: Outcome<serde_json::Value>,
        out: &mut Vec<SessionEvent>,
    ) {
        let Some(protocol) = self.protocol() else {
            return;
        };
        let message = HubMessage::Completion {
            headers: Default::default(),
            invocation_id: invocation_id.to_owned(),
            outcome,
        };
        let mut bytes = Vec::new();
        match protocol {
            Protocol::Json => encode_json(&message, &mut bytes),
            Protocol::MessagePack => {
                encode_msgpack(&message.map_values(|v| json_to_msgpack(&v)), &mut bytes)
            }
        }
        self.write(Frame::encoded(protocol, bytes), true, out);
    }

    /// Closes the session with `reason`, sending a Close message (or a handshake error when the
    /// handshake has not completed).
    pub fn close(&mut self, reason: CloseReason, out: &mut Vec<SessionEvent>) {
        let frame = self.close_frame(&reason);
        self.state = State::Closed;
        out.push(SessionEvent::Close { frame, reason });
    }

    /// The frame that tells the client why it is being closed.
    fn close_frame(&self, reason: &CloseReason) -> Option<Frame> {
        match &self.state {
            State::Closed => None,
            // The client ended it (a long-polling DELETE, say): there is nobody to tell, and a
            // poll racing the DELETE must get the spec's 204, not a Close message.
            _ if *reason == CloseReason::ClientClosed => None,
            State::Handshake { .. } => {
                let why = reason.to_string();
                Some(Frame::encoded(
                    Protocol::Json,
                    handshake_response(Some(&why)),
                ))
            }
            State::Open { protocol, .. } => {
                let error = reason.client_error();
                let bytes = encode_close(*protocol, error.as_deref(), reason.allow_reconnect());
                Some(Frame::encoded(*protocol, bytes))
            }
        }
    }

    /// Advances timers: handshake timeout, client timeout, keep-alive ping, acknowledgements.
    pub fn on_tick(&mut self, now: Instant, out: &mut Vec<SessionEvent>) {
        if std::mem::take(&mut self.received_since_tick) {
            self.last_received = now;
        }
        if std::mem::take(&mut self.sent_since_tick) {
            self.last_sent = now;
        }
        match &self.state {
            State::Closed => {}
            State::Handshake { .. } => {
                if now.duration_since(self.started) >= self.settings.handshake_timeout {
                    self.close(CloseReason::HandshakeTimeout, out);
                }
            }
            State::Open { protocol, .. } => {
                let protocol = *protocol;
                if self.inherent_keep_alive {
                    // Liveness is the polls' business.
                } else if now.duration_since(self.last_received) >= self.settings.timeout {
                    return self.close(CloseReason::ClientTimeout, out);
                } else if now.duration_since(self.last_sent) >= self.settings.keep_alive {
                    self.write(
                        Frame::encoded(protocol, ping_frame(protocol).to_vec()),
                        false,
                        out,
                    );
                    self.last_sent = now;
                    self.sent_since_tick = false;
                }
                self.acknowledge(protocol, out);
            }
        }
    }

    /// Tells a stateful client which of its messages arrived, so it can release them.
    fn acknowledge(&mut self, protocol: Protocol, out: &mut Vec<SessionEvent>) {
        let Some(seq) = &mut self.sequence else {
            return;
        };
        if seq.received == seq.acked {
            return;
        }
        seq.acked = seq.received;
        let message = HubMessage::<rmpv::Value>::Ack {
            sequence_id: seq.received,
        };
        let mut bytes = Vec::new();
        match protocol {
            Protocol::Json => encode_json(
                &HubMessage::Ack {
                    sequence_id: seq.received,
                },
                &mut bytes,
            ),
            Protocol::MessagePack => encode_msgpack(&message, &mut bytes),
        }
        self.write(Frame::encoded(protocol, bytes), false, out);
    }

    /// The `Sequence` frame a reconnected stateful transport sends first.
    pub fn sequence_frame(&self, first_unacked: u64) -> Option<Frame> {
        let protocol = self.protocol()?;
        let mut bytes = Vec::new();
        match protocol {
            Protocol::Json => encode_json(
                &HubMessage::Sequence {
                    sequence_id: first_unacked,
                },
                &mut bytes,
            ),
            Protocol::MessagePack => encode_msgpack(
                &HubMessage::<rmpv::Value>::Sequence {
                    sequence_id: first_unacked,
                },
                &mut bytes,
            ),
        }
        Some(Frame::encoded(protocol, bytes))
    }

    fn write(&mut self, frame: Frame, trackable: bool, out: &mut Vec<SessionEvent>) {
        self.sent_since_tick = true;
        out.push(SessionEvent::Write { frame, trackable });
    }
}

/// What the session does with an inbound message, independent of its value type.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Invocation,
    StreamInvocation(String),
    Close,
    Ack,
    Sequence,
    Other,
}

fn kind_of<V>(message: &HubMessage<V>) -> Kind {
    match message {
        HubMessage::Invocation { .. } => Kind::Invocation,
        HubMessage::StreamInvocation { invocation_id, .. } => {
            Kind::StreamInvocation(invocation_id.clone())
        }
        HubMessage::Close { .. } => Kind::Close,
        HubMessage::Ack { .. } => Kind::Ack,
        HubMessage::Sequence { .. } => Kind::Sequence,
        // This server never asks for client results or upload streams: nothing to do beyond
        // counting them for sequencing.
        HubMessage::StreamItem { .. }
        | HubMessage::Completion { .. }
        | HubMessage::CancelInvocation { .. } => Kind::Other,
        HubMessage::Ping => Kind::Other,
    }
}

fn sequence_of<V>(message: &HubMessage<V>) -> u64 {
    match message {
        HubMessage::Ack { sequence_id } | HubMessage::Sequence { sequence_id } => *sequence_id,
        _ => 0,
    }
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;

//! The transport-independent heart of a session: handshake, inbound message handling,
//! keep-alive and timeouts. Sans-I/O: it consumes bytes and clock readings and emits
//! [`SessionEvent`]s that the transport actor carries out.

use std::time::{Duration, Instant};

use herald_proto::handshake::{handshake_response, parse_handshake};
use herald_proto::hub_protocol::{
    DecodeError, Decoded, HubMessage, MessageReader, Protocol, encode_close,
    encode_completion_error, ping_frame,
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
    /// How often the transport should call [`SessionCore::on_tick`]: fine enough for the
    /// keep-alive and timeout to fire within a third of their period.
    pub fn tick_interval(&self) -> Duration {
        (self.keep_alive.min(self.timeout) / 3)
            .clamp(Duration::from_millis(50), Duration::from_secs(5))
    }
}

/// What the session asks its transport to do.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// Send this frame to the client.
    Write(Frame),
    /// The handshake succeeded with this protocol: register with the hub, then the handshake
    /// response (already emitted as a `Write` before this event) reaches the client.
    Opened {
        /// The protocol the client chose.
        protocol: Protocol,
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
    /// Inbound messages decoded, for metrics.
    messages_received: u64,
}

impl SessionCore {
    /// A session that has just been accepted by its transport.
    pub fn new(settings: SessionSettings, now: Instant) -> Self {
        Self {
            settings,
            state: State::Handshake { buf: Vec::new() },
            started: now,
            last_received: now,
            last_sent: now,
            received_since_tick: false,
            sent_since_tick: false,
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

    /// Whether the session has closed.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Inbound messages decoded so far.
    pub fn messages_received(&self) -> u64 {
        self.messages_received
    }

    /// Records that something was written to the client (keeps the keep-alive quiet).
    pub fn note_sent(&mut self) {
        self.sent_since_tick = true;
    }

    /// Records that the transport saw traffic from the client that carries no hub data (e.g.
    /// a WebSocket ping), which still proves it is alive.
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
            Ok(None) => {
                if buffered.len() > max {
                    let why = format!("handshake request exceeds {max} bytes");
                    self.fail_handshake(why, out);
                } else {
                    self.state = State::Handshake {
                        buf: buffered.to_vec(),
                    };
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
                let mut reader = MessageReader::new(protocol, max);
                reader.push(&buffered[consumed..]);
                self.state = State::Open { protocol, reader };
                self.write(Frame::encoded(protocol, handshake_response(None)), out);
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
            let State::Open { protocol, reader } = &mut self.state else {
                return;
            };
            let protocol = *protocol;
            let Some(next) = reader.next() else { return };
            match next {
                Ok(message) => {
                    self.messages_received += 1;
                    self.on_message(protocol, message, out);
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

    fn on_message(&mut self, protocol: Protocol, message: Decoded, out: &mut Vec<SessionEvent>) {
        match message {
            Decoded::Json(m) => self.on_hub_message(protocol, m, out),
            Decoded::MessagePack(m) => self.on_hub_message(protocol, m, out),
        }
    }

    fn on_hub_message<V>(
        &mut self,
        protocol: Protocol,
        message: HubMessage<V>,
        out: &mut Vec<SessionEvent>,
    ) {
        match message {
            HubMessage::Invocation {
                invocation_id: Some(id),
                target,
                ..
            } => {
                let error = format!(
                    "method '{target}' cannot be invoked: this hub has no server-side methods (no upstream is configured)"
                );
                self.write(
                    Frame::encoded(protocol, encode_completion_error(protocol, &id, &error)),
                    out,
                );
            }
            HubMessage::StreamInvocation {
                invocation_id,
                target,
                ..
            } => {
                let error = format!(
                    "streaming method '{target}' cannot be invoked: streaming invocations are not supported"
                );
                self.write(
                    Frame::encoded(
                        protocol,
                        encode_completion_error(protocol, &invocation_id, &error),
                    ),
                    out,
                );
            }
            HubMessage::Close { .. } => {
                self.state = State::Closed;
                out.push(SessionEvent::Close {
                    frame: None,
                    reason: CloseReason::ClientClosed,
                });
            }
            // A non-blocking invocation with no server method: nothing to answer. Pings only
            // prove liveness; completions, stream items, cancels and acks answer nothing we asked.
            HubMessage::Invocation { .. }
            | HubMessage::Ping
            | HubMessage::Completion { .. }
            | HubMessage::StreamItem { .. }
            | HubMessage::CancelInvocation { .. }
            | HubMessage::Ack { .. }
            | HubMessage::Sequence { .. } => {}
        }
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

    /// Advances timers: handshake timeout, client timeout, keep-alive ping.
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
                if now.duration_since(self.last_received) >= self.settings.timeout {
                    self.close(CloseReason::ClientTimeout, out);
                } else if now.duration_since(self.last_sent) >= self.settings.keep_alive {
                    self.write(Frame::encoded(protocol, ping_frame(protocol).to_vec()), out);
                    self.last_sent = now;
                    self.sent_since_tick = false;
                }
            }
        }
    }

    fn write(&mut self, frame: Frame, out: &mut Vec<SessionEvent>) {
        self.sent_since_tick = true;
        out.push(SessionEvent::Write(frame));
    }
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;

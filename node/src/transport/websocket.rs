//! The WebSocket transport: one actor per connection, running on the HTTP worker that accepted
//! it. The only file that names `actix-web-actors` (deprecated upstream; `actix-ws` is the
//! planned replacement, so a swap touches this file alone).
//!
//! Inbound frames feed the [`SessionCore`]; outbound frames arrive on a bounded queue from the
//! hub and on the actor mailbox for closes (the mailbox is polled first: control before data).
//! Frames queued while the socket is busy are encoded into one buffer and written together.

use std::time::Instant;

use actix::prelude::*;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_actors::ws;
use bytes::Bytes;
use metrics::Counter;
use tokio::sync::mpsc;

use crate::connections::{Connections, Negotiated};
use crate::hub::actor::HubHandle;
use crate::metrics::{ConnectionGauge, Metrics};
use crate::session::close_reason::CloseReason;
use crate::session::core::{SessionCore, SessionEvent, SessionSettings};
use crate::session::link::{CloseSession, Frame, SessionLink};

/// The transport's name in metrics and negotiate responses.
pub const TRANSPORT_NAME: &str = "WebSockets";
/// Longest reason text in a WebSocket close frame (the protocol allows 123 bytes).
const MAX_CLOSE_DESCRIPTION: usize = 120;

/// What a WebSocket session needs from the node.
pub struct WsSessionParts {
    /// The connection as negotiated.
    pub negotiated: Negotiated,
    /// The token it was claimed with, released when the session ends.
    pub token: String,
    /// The hub to register with after the handshake.
    pub hub: HubHandle,
    /// The table to release the token from.
    pub connections: Connections,
    /// Where to count.
    pub metrics: Metrics,
    /// Protocol timings and limits.
    pub settings: SessionSettings,
    /// Capacity of the outbound frame queue.
    pub outbound_queue: usize,
}

/// One client connected over WebSockets.
pub struct WsSession {
    parts: WsSessionParts,
    core: SessionCore,
    /// Raised while the session is registered with its hub.
    gauge: Option<ConnectionGauge>,
    /// Counts inbound messages for the hub, registered once.
    received: Option<Counter>,
    /// Why the session ended, once known.
    close_reason: Option<CloseReason>,
    /// Reused buffer for the core's events.
    events: Vec<SessionEvent>,
}

/// Upgrades the request and starts the session actor.
pub fn start(
    req: &HttpRequest,
    payload: web::Payload,
    parts: WsSessionParts,
) -> Result<HttpResponse, actix_web::Error> {
    // Frames a bit larger than the message limit still reach the session, which answers with a
    // SignalR Close naming the limit; far larger ones fail in the codec and are closed the same way.
    let frame_size = parts
        .settings
        .max_message_size
        .saturating_mul(2)
        .max(64 * 1024);
    let session = WsSession {
        core: SessionCore::new(parts.settings, Instant::now()),
        parts,
        gauge: None,
        received: None,
        close_reason: None,
        events: Vec::with_capacity(4),
    };
    ws::WsResponseBuilder::new(session, req, payload)
        .frame_size(frame_size)
        .start()
}

/// Whether the request asks for a WebSocket upgrade.
pub fn is_upgrade(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

impl WsSession {
    fn apply(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        let events = std::mem::take(&mut self.events);
        for event in &events {
            match event {
                SessionEvent::Write(frame) => write(frame.clone(), ctx),
                SessionEvent::Opened { protocol } => self.register(*protocol, ctx),
                SessionEvent::Close { frame, reason } => {
                    if let Some(frame) = frame {
                        write(frame.clone(), ctx);
                    }
                    self.finish(reason.clone(), ctx);
                }
            }
        }
        self.events = events;
        self.events.clear();
    }

    fn register(
        &mut self,
        protocol: herald_proto::hub_protocol::Protocol,
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        let (tx, mut rx) = mpsc::channel::<Frame>(self.parts.outbound_queue);
        ctx.add_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
        let link = SessionLink {
            protocol,
            frames: tx,
            control: ctx.address().recipient(),
        };
        let negotiated = &self.parts.negotiated;
        self.parts.hub.connect(
            negotiated.connection_id.clone(),
            negotiated.user.clone(),
            link,
        );
        self.gauge = Some(self.parts.metrics.connection_opened(
            &negotiated.hub,
            TRANSPORT_NAME,
            protocol,
        ));
        self.received = Some(
            self.parts
                .metrics
                .messages_received_counter(&negotiated.hub),
        );
        tracing::debug!(
            connection = %negotiated.connection_id, hub = %negotiated.hub, user = ?negotiated.user,
            protocol = protocol.name(), "client connected over WebSockets"
        );
    }

    fn finish(&mut self, reason: CloseReason, ctx: &mut ws::WebsocketContext<Self>) {
        let code = match &reason {
            CloseReason::ClientClosed
            | CloseReason::TransportClosed
            | CloseReason::ClosedByApplication(_) => ws::CloseCode::Normal,
            CloseReason::ServerShutdown => ws::CloseCode::Away,
            CloseReason::MessageTooLarge(_) => ws::CloseCode::Size,
            CloseReason::ProtocolError(_) | CloseReason::HandshakeFailed(_) => {
                ws::CloseCode::Policy
            }
            CloseReason::ClientTimeout
            | CloseReason::HandshakeTimeout
            | CloseReason::SlowConsumer => ws::CloseCode::Policy,
        };
        let description = truncate(reason.to_string(), MAX_CLOSE_DESCRIPTION);
        self.close_reason.get_or_insert(reason);
        ctx.close(Some(ws::CloseReason {
            code,
            description: Some(description),
        }));
        ctx.stop();
    }

    fn on_data(&mut self, data: &[u8], ctx: &mut ws::WebsocketContext<Self>) {
        let before = self.core.messages_received();
        self.core.on_data(data, &mut self.events);
        if let Some(counter) = &self.received {
            counter.increment(self.core.messages_received() - before);
        }
        self.apply(ctx);
    }
}

fn write(frame: Frame, ctx: &mut ws::WebsocketContext<WsSession>) {
    match frame {
        Frame::Text(text) => ctx.text(text),
        Frame::Binary(bytes) => ctx.binary(bytes),
    }
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

impl Actor for WsSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.parts.settings.tick_interval(), |act, ctx| {
            act.core.on_tick(Instant::now(), &mut act.events);
            act.apply(ctx);
        });
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        let negotiated = &self.parts.negotiated;
        if self.gauge.is_some() {
            self.parts.hub.disconnect(negotiated.connection_id.clone());
        }
        self.parts.connections.release(&self.parts.token);
        let reason = self
            .close_reason
            .take()
            .unwrap_or(CloseReason::TransportClosed);
        self.parts.metrics.connection_closed(reason.label());
        match &reason {
            CloseReason::ClientClosed
            | CloseReason::TransportClosed
            | CloseReason::ServerShutdown
            | CloseReason::ClosedByApplication(_) => {
                tracing::debug!(connection = %negotiated.connection_id, hub = %negotiated.hub, %reason, "connection closed")
            }
            _ => {
                tracing::info!(connection = %negotiated.connection_id, hub = %negotiated.hub, %reason, "connection closed")
            }
        }
        self.gauge = None;
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for WsSession {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match msg {
            Ok(ws::Message::Text(text)) => self.on_data(text.as_bytes(), ctx),
            Ok(ws::Message::Binary(bytes)) => self.on_data(&bytes, ctx),
            Ok(ws::Message::Continuation(item)) => {
                let data: Bytes = match item {
                    actix_http::ws::Item::FirstText(b)
                    | actix_http::ws::Item::FirstBinary(b)
                    | actix_http::ws::Item::Continue(b)
                    | actix_http::ws::Item::Last(b) => b,
                };
                self.on_data(&data, ctx);
            }
            Ok(ws::Message::Ping(payload)) => {
                self.core.note_received();
                ctx.pong(&payload);
            }
            Ok(ws::Message::Pong(_)) => self.core.note_received(),
            Ok(ws::Message::Close(_)) => {
                self.close_reason.get_or_insert(CloseReason::ClientClosed);
                ctx.close(None);
                ctx.stop();
            }
            Ok(ws::Message::Nop) => {}
            Err(ws::ProtocolError::Overflow) => {
                let why = format!(
                    "a WebSocket frame exceeds the limit; messages may be at most {} bytes",
                    self.parts.settings.max_message_size
                );
                self.core
                    .close(CloseReason::MessageTooLarge(why), &mut self.events);
                self.apply(ctx);
            }
            Err(e) => {
                self.core.close(
                    CloseReason::ProtocolError(format!("websocket protocol error: {e}")),
                    &mut self.events,
                );
                self.apply(ctx);
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        self.close_reason
            .get_or_insert(CloseReason::TransportClosed);
        ctx.stop();
    }
}

impl StreamHandler<Frame> for WsSession {
    fn handle(&mut self, frame: Frame, ctx: &mut Self::Context) {
        self.core.note_sent();
        write(frame, ctx);
    }

    /// The hub dropped its end (the session was unregistered); closing is driven by the
    /// control message that came with it, not by the end of this stream.
    fn finished(&mut self, _: &mut Self::Context) {}
}

impl Handler<CloseSession> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: CloseSession, ctx: &mut Self::Context) {
        // The hub already unregistered us; don't send it a Disconnect for an id it may reuse.
        self.core.close(msg.reason, &mut self.events);
        self.apply(ctx);
    }
}

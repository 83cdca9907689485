//! The WebSocket transport: one actor per socket, running on the HTTP worker that accepted it.
//! The only file that names `actix-web-actors` (deprecated upstream; `actix-ws` is the planned
//! replacement, so a swap touches this file alone).
//!
//! It carries bytes between the socket and its [`Session`](crate::session::actor::Session):
//! inbound frames go to the session (one at a time, so a fast client waits for its session);
//! outbound frames come from the session's outbox, which this actor holds while attached.
//! Frames queued while the socket is busy are encoded into one buffer and written together.
//! With stateful reconnect, a reconnecting socket first sends `Sequence` and replays what the
//! client has not acknowledged.

use std::cell::RefCell;
use std::rc::Rc;

use actix::prelude::*;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_actors::ws;
use bytes::Bytes;
use herald_proto::negotiate::TransportType;

use crate::session::actor::{Attach, Detach, Inbound, SequenceFrame, TransportCommand};
use crate::session::close_reason::CloseReason;
use crate::session::handle::SessionHandle;
use crate::session::link::{CloseSession, Frame};
use crate::session::outbox::Attached;

/// Longest reason text in a WebSocket close frame (the protocol allows 123 bytes).
const MAX_CLOSE_DESCRIPTION: usize = 120;

/// One client socket.
pub struct WsTransport {
    /// The session this socket serves.
    session: SessionHandle,
    /// This socket's attach generation.
    generation: u64,
    /// The outbox, once attached; shared with the frame stream polled by the actor.
    attached: Option<Rc<RefCell<Attached>>>,
    /// A stateful client reconnecting: replay before anything else.
    reconnect: bool,
    /// The largest message the session accepts, for the codec-overflow error text.
    max_message_size: usize,
    /// Whether the socket ended as the protocol expects (close frame either way).
    clean: bool,
}

/// Upgrades the request and starts the transport actor for `session`.
pub fn start(
    req: &HttpRequest,
    payload: web::Payload,
    session: SessionHandle,
    reconnect: bool,
    max_message_size: usize,
) -> Result<HttpResponse, actix_web::Error> {
    // Frames a bit larger than the message limit still reach the session, which answers with a
    // SignalR Close naming the limit; far larger ones fail in the codec and are closed the same way.
    let frame_size = max_message_size.saturating_mul(2).max(64 * 1024);
    let generation = session.outbox.next_generation();
    let transport = WsTransport {
        session,
        generation,
        attached: None,
        reconnect,
        max_message_size,
        clean: false,
    };
    ws::WsResponseBuilder::new(transport, req, payload)
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

fn write(frame: Frame, ctx: &mut ws::WebsocketContext<WsTransport>) {
    match frame {
        Frame::Text(text) => ctx.text(text),
        Frame::Binary(bytes) => ctx.binary(bytes),
    }
}

fn close_code(reason: &CloseReason) -> ws::CloseCode {
    match reason {
        CloseReason::ClientClosed
        | CloseReason::TransportClosed
        | CloseReason::ClosedByApplication(_) => ws::CloseCode::Normal,
        CloseReason::ServerShutdown => ws::CloseCode::Away,
        // 1011: the server cannot serve the connection now; the client may retry.
        CloseReason::Unreachable(_) => ws::CloseCode::Error,
        CloseReason::MessageTooLarge(_) => ws::CloseCode::Size,
        CloseReason::ProtocolError(_)
        | CloseReason::HandshakeFailed(_)
        | CloseReason::ClientTimeout
        | CloseReason::HandshakeTimeout
        | CloseReason::SlowConsumer => ws::CloseCode::Policy,
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

impl WsTransport {
    fn on_data(&mut self, data: Bytes, ctx: &mut ws::WebsocketContext<Self>) {
        let send = self.session.addr.send(Inbound { data });
        ctx.wait(send.into_actor(self).map(|result, _, ctx| {
            if !matches!(result, Ok(Ok(()))) {
                ctx.stop();
            }
        }));
    }

    fn fail(&mut self, reason: CloseReason) {
        self.session.addr.do_send(CloseSession { reason });
    }
}

impl Actor for WsTransport {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let generation = self.generation;
        let control = ctx.address().recipient();
        self.session.addr.do_send(Attach {
            generation,
            transport: TransportType::WebSockets,
            control: Some(control),
        });
        let session = self.session.clone();
        let reconnect = self.reconnect;
        let attach = async move {
            let attached = session.outbox.attach(generation).await?;
            let mut replay = Vec::new();
            if reconnect && let Some((first_unacked, frames)) = attached.replay() {
                if let Ok(Some(sequence)) = session.addr.send(SequenceFrame { first_unacked }).await
                {
                    replay.push(sequence);
                }
                replay.extend(frames);
            }
            Some((attached, replay))
        };
        ctx.wait(attach.into_actor(self).map(|result, act, ctx| {
            let Some((attached, replay)) = result else {
                // A newer socket took over before this one got going.
                return ctx.stop();
            };
            if act.reconnect {
                // The Sequence frame, then the replayed messages.
                let replayed = replay.len().saturating_sub(1) as u64;
                act.session.metrics.stateful_reconnect(replayed);
                tracing::debug!(
                    replayed,
                    "stateful reconnect: replaying unacknowledged messages"
                );
            }
            for frame in replay {
                write(frame, ctx);
            }
            let attached = Rc::new(RefCell::new(attached));
            act.attached = Some(attached.clone());
            ctx.add_stream(futures_util::stream::poll_fn(move |cx| {
                attached.borrow_mut().poll_frame(cx)
            }));
        }));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.session.addr.do_send(Detach {
            generation: self.generation,
            clean: self.clean,
        });
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for WsTransport {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match msg {
            Ok(ws::Message::Text(text)) => self.on_data(text.into_bytes(), ctx),
            Ok(ws::Message::Binary(bytes)) => self.on_data(bytes, ctx),
            Ok(ws::Message::Continuation(item)) => {
                use actix_http::ws::Item;
                let (Item::FirstText(data)
                | Item::FirstBinary(data)
                | Item::Continue(data)
                | Item::Last(data)) = item;
                self.on_data(data, ctx);
            }
            Ok(ws::Message::Ping(payload)) => ctx.pong(&payload),
            Ok(ws::Message::Pong(_) | ws::Message::Nop) => {}
            Ok(ws::Message::Close(_)) => {
                self.clean = true;
                ctx.close(None);
                ctx.stop();
            }
            Err(ws::ProtocolError::Overflow) => self.fail(CloseReason::MessageTooLarge(format!(
                "a WebSocket frame exceeds the limit; messages may be at most {} bytes",
                self.max_message_size
            ))),
            // actix-web-actors reports invalid UTF-8 in a text frame as an I/O error too; that
            // one is the client's fault and gets a Close message.
            Err(ws::ProtocolError::Io(e)) if e.to_string().contains("utf-8") => self.fail(
                CloseReason::ProtocolError(format!("a text frame is not valid UTF-8: {e}")),
            ),
            // The socket broke (reset, EOF without a close frame): the transport is gone, not
            // the session, which may wait for a stateful reconnect.
            Err(ws::ProtocolError::Io(_)) => ctx.stop(),
            Err(e) => self.fail(CloseReason::ProtocolError(format!(
                "websocket protocol error: {e}"
            ))),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl StreamHandler<Frame> for WsTransport {
    fn handle(&mut self, frame: Frame, ctx: &mut Self::Context) {
        write(frame, ctx);
    }

    /// The outbox ended: the session is gone.
    fn finished(&mut self, ctx: &mut Self::Context) {
        self.clean = true;
        ctx.close(None);
        ctx.stop();
    }
}

impl Handler<TransportCommand> for WsTransport {
    type Result = ();

    fn handle(&mut self, msg: TransportCommand, ctx: &mut Self::Context) {
        match msg {
            TransportCommand::Close { reason } => {
                // Control arrives ahead of queued frames: flush them (the Close message is last).
                if let Some(attached) = &self.attached {
                    let frames = attached.borrow_mut().drain();
                    for frame in frames {
                        write(frame, ctx);
                    }
                }
                let description = truncate(reason.to_string(), MAX_CLOSE_DESCRIPTION);
                ctx.close(Some(ws::CloseReason {
                    code: close_code(&reason),
                    description: Some(description),
                }));
                self.clean = true;
                ctx.stop();
            }
            TransportCommand::Detach => ctx.stop(),
        }
    }
}

/// A WebSocket whose connection belongs to another node: its frames are carried both ways over
/// a WebSocket to that node, so clients need no sticky sessions.
pub struct WsProxy {
    /// Frames for the owner node, written by a task that owns the sending half.
    to_owner: tokio::sync::mpsc::Sender<ws::Message>,
    /// Frames from the owner node, until the actor starts reading them.
    from_owner: Option<OwnerFrames>,
}

/// Frames queued towards the owner before the client is paused.
const PROXY_QUEUE_CAPACITY: usize = 256;

/// Opens a WebSocket to `url` on the owner node (with `headers`), upgrades the client's request
/// and joins the two. Fails with the owner's refusal (e.g. 404) when it does not take the
/// connection.
pub async fn start_proxy(
    req: &HttpRequest,
    payload: web::Payload,
    url: &str,
    headers: Vec<(String, String)>,
    max_message_size: usize,
) -> Result<HttpResponse, String> {
    use futures_util::{SinkExt, StreamExt};
    let mut request = awc::Client::new()
        .ws(url)
        .max_frame_size(max_message_size.saturating_mul(2).max(64 * 1024));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let (response, framed) = request
        .connect()
        .await
        .map_err(|e| format!("the owning node refused the WebSocket: {e}"))?;
    if response.status() != actix_web::http::StatusCode::SWITCHING_PROTOCOLS {
        return Err(format!("the owning node answered {}", response.status()));
    }
    let (mut sink, stream) = framed.split();
    let (to_owner, mut queue) = tokio::sync::mpsc::channel::<ws::Message>(PROXY_QUEUE_CAPACITY);
    actix_web::rt::spawn(async move {
        while let Some(message) = queue.recv().await {
            let closing = matches!(message, ws::Message::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let frame_size = max_message_size.saturating_mul(2).max(64 * 1024);
    let proxy = WsProxy {
        to_owner,
        from_owner: Some(Box::pin(stream)),
    };
    ws::WsResponseBuilder::new(proxy, req, payload)
        .frame_size(frame_size)
        .start()
        .map_err(|e| format!("websocket upgrade failed: {e}"))
}

type OwnerFrames = std::pin::Pin<
    Box<
        dyn futures_util::Stream<
                Item = Result<actix_http::ws::Frame, actix_http::ws::ProtocolError>,
            >,
    >,
>;

impl WsProxy {
    fn send_to_owner(&mut self, message: ws::Message, ctx: &mut ws::WebsocketContext<Self>) {
        let send = self.to_owner.clone();
        // Waiting here pauses reading from the client while the owner is slow: bounded memory.
        ctx.wait(
            async move { send.send(message).await.is_ok() }
                .into_actor(self)
                .map(|sent, _, ctx| {
                    if !sent {
                        ctx.stop();
                    }
                }),
        );
    }
}

impl Actor for WsProxy {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(frames) = self.from_owner.take() {
            ctx.add_stream(frames);
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for WsProxy {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match msg {
            Ok(ws::Message::Close(reason)) => {
                self.send_to_owner(ws::Message::Close(reason), ctx);
                ctx.close(None);
                ctx.stop();
            }
            Ok(ws::Message::Nop) => {}
            Ok(message) => self.send_to_owner(message, ctx),
            Err(_) => ctx.stop(),
        }
    }
}

impl StreamHandler<Result<actix_http::ws::Frame, actix_http::ws::ProtocolError>> for WsProxy {
    fn handle(
        &mut self,
        frame: Result<actix_http::ws::Frame, actix_http::ws::ProtocolError>,
        ctx: &mut Self::Context,
    ) {
        use actix_http::ws::Frame;
        match frame {
            Ok(Frame::Text(bytes)) => match bytestring::ByteString::try_from(bytes) {
                Ok(text) => ctx.text(text),
                Err(_) => ctx.stop(),
            },
            Ok(Frame::Binary(bytes)) => ctx.binary(bytes),
            Ok(Frame::Continuation(item)) => ctx.write_raw(ws::Message::Continuation(item)),
            Ok(Frame::Ping(payload)) => self.send_to_owner(ws::Message::Pong(payload), ctx),
            Ok(Frame::Pong(_)) => {}
            Ok(Frame::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            Err(_) => ctx.stop(),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.close(None);
        ctx.stop();
    }
}

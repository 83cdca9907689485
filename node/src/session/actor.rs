//! The session actor: one per connection, whatever its transport. It owns the protocol state
//! ([`SessionCore`]), the registration with the hub and the outbox; transports attach to it,
//! feed it the client's bytes and take frames from the outbox.
//!
//! A WebSocket stays attached for the session's life (or, with stateful reconnect, until it
//! drops and a new one takes over); an SSE response likewise; long polls attach one at a time.
//! Without an attached transport for `disconnect_timeout` the session ends.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use herald_proto::hub_protocol::{Decoded, Outcome};
use herald_proto::negotiate::TransportType;
use metrics::Counter;
use tokio::sync::mpsc::error::TrySendError;

use super::close_reason::CloseReason;
use super::core::{SessionCore, SessionEvent, SessionSettings};
use super::link::{CloseSession, Frame, SessionLink};
use super::outbox::{Outbox, Outgoing};
use crate::connections::{Connections, Negotiated};
use crate::hub::actor::HubHandle;
use crate::metrics::{ConnectionGauge, Metrics};
use crate::telemetry::spans;
use crate::upstream::{InvocationOutcome, Upstream, UpstreamContext};

/// Messages waiting in a session's mailbox before transports wait (inbound backpressure).
const SESSION_MAILBOX_CAPACITY: usize = 64;

/// What a session needs from the node.
pub struct SessionParts {
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
    /// How long the session survives without an attached transport.
    pub disconnect_timeout: Duration,
    /// The outbound queue shared with the transports.
    pub outbox: Outbox,
    /// Where client invocations and connection events go, when configured.
    pub upstream: Option<Upstream>,
    /// The query string of the client's first transport request (without its token), passed
    /// to the upstream as `X-ASRS-Client-Query`.
    pub client_query: String,
}

/// Client invocations waiting for the upstream: one runs at a time per client (as in ASP.NET
/// Core), later ones queue up to this bound; beyond it the client is closed.
const MAX_QUEUED_INVOCATIONS: usize = 32;

/// Work for the upstream, done in order.
enum UpstreamJob {
    Connected,
    Invoke(Decoded),
}

/// A transport request or connection starts serving the session.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Attach {
    /// From [`Outbox::next_generation`]; a newer attach supersedes an older one.
    pub generation: u64,
    /// Which transport.
    pub transport: TransportType,
    /// How to tell the transport to close or let go (WebSockets); SSE and long polls watch the
    /// outbox instead.
    pub control: Option<Recipient<TransportCommand>>,
}

/// A transport request or connection ended.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Detach {
    /// The generation it attached with.
    pub generation: u64,
    /// Whether it ended as the protocol expects (a finished poll, a WebSocket close frame)
    /// rather than by a dropped connection.
    pub clean: bool,
}

/// Bytes from the client.
#[derive(Message)]
#[rtype(result = "Result<(), SessionGone>")]
pub struct Inbound {
    /// As received; may hold part of a message or several.
    pub data: Bytes,
}

/// Asks the session for the `Sequence` frame and replay it owes a reconnected client.
#[derive(Message)]
#[rtype(result = "Option<Frame>")]
pub struct SequenceFrame {
    /// The id of the first frame that will be replayed.
    pub first_unacked: u64,
}

/// The session has ended.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the connection is closed")]
pub struct SessionGone;

/// Sent by the session to an attached WebSocket transport.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub enum TransportCommand {
    /// Flush what is queued and close the socket.
    Close {
        /// Why, for the WebSocket close frame.
        reason: CloseReason,
    },
    /// A newer transport took over: stop without closing the session.
    Detach,
}

/// The transport currently attached.
struct Attachment {
    generation: u64,
    transport: TransportType,
    control: Option<Recipient<TransportCommand>>,
}

/// One client connection.
pub struct Session {
    parts: SessionParts,
    core: SessionCore,
    /// The attached transport, if any.
    attached: Option<Attachment>,
    /// The transport kind seen first, for metrics.
    transport: Option<TransportType>,
    /// Since when no transport is attached.
    detached_since: Option<Instant>,
    /// The protocol, once the handshake completed and the session registered with its hub.
    registered: Option<herald_proto::hub_protocol::Protocol>,
    /// Raised while the session is registered with its hub and a transport is known.
    gauge: Option<ConnectionGauge>,
    /// Counts inbound messages for the hub, registered once.
    received: Option<Counter>,
    /// Why the session ended, once known.
    close_reason: Option<CloseReason>,
    /// Reused buffer for the core's events.
    events: Vec<SessionEvent>,
    /// Upstream work not started yet.
    upstream_jobs: VecDeque<UpstreamJob>,
    /// An upstream call is running.
    upstream_busy: bool,
}

impl Session {
    /// A session whose transport is about to attach.
    pub fn new(parts: SessionParts) -> Self {
        let now = Instant::now();
        let core = SessionCore::new(parts.settings, parts.negotiated.stateful, now);
        Self {
            parts,
            core,
            attached: None,
            transport: None,
            detached_since: Some(now),
            registered: None,
            gauge: None,
            received: None,
            close_reason: None,
            events: Vec::with_capacity(4),
            upstream_jobs: VecDeque::new(),
            upstream_busy: false,
        }
    }

    /// Carries out the core's events; handlers may produce more (a completion, a close),
    /// which are carried out in the same call.
    fn apply(&mut self, ctx: &mut Context<Self>) {
        while !self.events.is_empty() {
            let mut events = std::mem::take(&mut self.events);
            for event in events.drain(..) {
                match event {
                    SessionEvent::Write { frame, trackable } => {
                        self.send(Outgoing { frame, trackable })
                    }
                    SessionEvent::Opened { protocol } => self.register(protocol, ctx),
                    SessionEvent::Invocation { message } => self.invoke(message, ctx),
                    SessionEvent::Acked { sequence_id } => self.parts.outbox.ack(sequence_id),
                    SessionEvent::Close { frame, reason } => self.finish(frame, reason, ctx),
                }
            }
            // Keep the allocation when nothing new arrived.
            if self.events.is_empty() {
                self.events = events;
            }
        }
    }

    fn send(&mut self, outgoing: Outgoing) {
        match self.parts.outbox.try_send(outgoing) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.core.close(CloseReason::SlowConsumer, &mut self.events)
            }
            Err(TrySendError::Closed(_)) => {}
        }
    }

    fn register(
        &mut self,
        protocol: herald_proto::hub_protocol::Protocol,
        ctx: &mut Context<Self>,
    ) {
        let link = SessionLink {
            protocol,
            frames: self.parts.outbox.sender(),
            control: ctx.address().recipient(),
            transport: self.transport,
            connected_at_ms: crate::metrics::unix_ms(),
        };
        let negotiated = &self.parts.negotiated;
        let joined = self.parts.hub.connect(
            negotiated.connection_id.clone(),
            negotiated.user.clone(),
            link,
        );
        // The handshake response waits in the held outbox until the connection is reachable
        // from every node: a client that read it receives every send made after.
        ctx.spawn(joined.into_actor(self).map(|joined, act, ctx| {
            let why = match joined {
                Ok(Ok(())) => return act.parts.outbox.release(),
                Ok(Err(error)) => error.to_string(),
                Err(_) => "the hub stopped".to_owned(),
            };
            tracing::warn!(connection = %act.parts.negotiated.connection_id, %why, "closing a connection the cluster cannot reach");
            act.core.close(CloseReason::Unreachable(why), &mut act.events);
            act.apply(ctx);
        }));
        self.registered = Some(protocol);
        let span = spans::record_handshake(
            negotiated.trace.as_deref(),
            negotiated.connection_id.as_ref(),
            Ok(protocol.name()),
        );
        let transport = self
            .transport
            .map_or("not yet attached", TransportType::name);
        self.received = Some(
            self.parts
                .metrics
                .messages_received_counter(&negotiated.hub),
        );
        span.in_scope(|| {
            tracing::debug!(
                connection = %negotiated.connection_id, hub = %negotiated.hub, user = ?negotiated.user,
                transport, protocol = protocol.name(), stateful = negotiated.stateful, "client connected"
            );
        });
        self.count_open();
        if self.parts.upstream.is_some() {
            // Before any invocation of this client reaches the upstream.
            self.upstream_jobs.push_front(UpstreamJob::Connected);
            self.pump_upstream(ctx);
        }
    }

    /// Raises the open-connections gauge once the protocol and the transport are both known
    /// (a long-polling client may send its handshake before its first poll).
    fn count_open(&mut self) {
        if let (None, Some(protocol), Some(transport)) =
            (&self.gauge, self.registered, self.transport)
        {
            let hub = &self.parts.negotiated.hub;
            self.gauge = Some(self.parts.metrics.connection_opened(
                hub,
                transport.name(),
                protocol,
            ));
        }
    }

    fn invoke(&mut self, message: Decoded, ctx: &mut Context<Self>) {
        if self.parts.upstream.is_none() {
            let Some(id) = message.invocation_id().map(str::to_owned) else {
                // Non-blocking: no answer expected, and without server methods nothing to do.
                return;
            };
            let error = format!(
                "method '{}' cannot be invoked: this hub has no server-side methods (no upstream is configured)",
                message.target().unwrap_or_default()
            );
            return self
                .core
                .complete(&id, Outcome::Error(error), &mut self.events);
        }
        if self.upstream_jobs.len() >= MAX_QUEUED_INVOCATIONS {
            let why = format!(
                "more than {MAX_QUEUED_INVOCATIONS} invocations are waiting for the server; wait for results"
            );
            return self
                .core
                .close(CloseReason::ProtocolError(why), &mut self.events);
        }
        self.upstream_jobs.push_back(UpstreamJob::Invoke(message));
        self.pump_upstream(ctx);
    }

    fn upstream_context(&self) -> UpstreamContext {
        let negotiated = &self.parts.negotiated;
        UpstreamContext {
            hub: negotiated.hub.clone(),
            connection_id: negotiated.connection_id.clone(),
            user_id: negotiated.user.clone(),
            claims: negotiated.claims.clone(),
            client_query: self.parts.client_query.clone(),
        }
    }

    /// Starts the next upstream job unless one is running.
    fn pump_upstream(&mut self, ctx: &mut Context<Self>) {
        if self.upstream_busy {
            return;
        }
        let Some(upstream) = self.parts.upstream.clone() else {
            return;
        };
        let Some(job) = self.upstream_jobs.pop_front() else {
            return;
        };
        self.upstream_busy = true;
        let context = self.upstream_context();
        let metrics = self.parts.metrics.clone();
        let call = async move {
            match job {
                UpstreamJob::Connected => {
                    let result = upstream.connected(&context).await;
                    metrics.upstream_request("connections", result.is_ok());
                    if let Err(error) = result {
                        tracing::warn!(connection = %context.connection_id, %error, "upstream connected event failed");
                    }
                    None
                }
                UpstreamJob::Invoke(message) => {
                    let result = upstream.invoke(&context, &message).await;
                    metrics.upstream_request("messages", result.is_ok());
                    let outcome = match result {
                        Ok(InvocationOutcome::Void) => Outcome::Void,
                        Ok(InvocationOutcome::Result(value)) => Outcome::Result(value),
                        Ok(InvocationOutcome::Error(error)) => Outcome::Error(error),
                        Err(error) => {
                            tracing::warn!(
                                connection = %context.connection_id, target = message.target().unwrap_or_default(),
                                %error, "upstream invocation failed"
                            );
                            Outcome::Error(error.client_message())
                        }
                    };
                    message.invocation_id().map(|id| (id.to_owned(), outcome))
                }
            }
        };
        ctx.spawn(call.into_actor(self).map(|completion, act, ctx| {
            act.upstream_busy = false;
            if let Some((id, outcome)) = completion {
                act.core.complete(&id, outcome, &mut act.events);
                act.apply(ctx);
            }
            act.pump_upstream(ctx);
        }));
    }

    fn finish(&mut self, frame: Option<Frame>, reason: CloseReason, ctx: &mut Context<Self>) {
        if self.close_reason.is_some() {
            return;
        }
        if let Some(frame) = frame {
            // Best effort: a full queue (slow consumer) cannot take the Close message either.
            let _ = self.parts.outbox.try_send(Outgoing {
                frame,
                trackable: false,
            });
        }
        self.parts.outbox.close();
        if let Some(control) = self.attached.as_ref().and_then(|a| a.control.as_ref()) {
            control.do_send(TransportCommand::Close {
                reason: reason.clone(),
            });
        }
        self.close_reason = Some(reason);
        ctx.stop();
    }

    fn on_detached(&mut self, clean: bool, ctx: &mut Context<Self>) {
        let Some(attachment) = self.attached.take() else {
            return;
        };
        self.detached_since = Some(Instant::now());
        match attachment.transport {
            TransportType::LongPolling => {}
            TransportType::WebSockets
                if self.parts.outbox.is_stateful() && self.core.is_open() && !clean =>
            {
                tracing::debug!(
                    connection = %self.parts.negotiated.connection_id,
                    "websocket dropped; keeping the session for a stateful reconnect"
                );
            }
            _ => {
                let reason = if clean {
                    CloseReason::ClientClosed
                } else {
                    CloseReason::TransportClosed
                };
                self.core.close(reason, &mut self.events);
                self.apply(ctx);
            }
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        if let Some(since) = self.detached_since
            && self.attached.is_none()
            && now.duration_since(since) >= self.parts.disconnect_timeout
        {
            self.core
                .close(CloseReason::TransportClosed, &mut self.events);
            return self.apply(ctx);
        }
        self.core.on_tick(now, &mut self.events);
        self.apply(ctx);
    }
}

impl Actor for Session {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(SESSION_MAILBOX_CAPACITY);
        ctx.run_interval(self.parts.settings.tick_interval(), |act, ctx| {
            act.tick(ctx)
        });
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        let negotiated = &self.parts.negotiated;
        if self.registered.is_some() {
            self.parts.hub.disconnect(negotiated.connection_id.clone());
        }
        self.parts.outbox.close();
        self.parts
            .connections
            .close(&self.parts.token, Instant::now());
        let reason = self
            .close_reason
            .take()
            .unwrap_or(CloseReason::TransportClosed);
        self.parts.metrics.connection_closed(reason.label());
        if negotiated.trace.is_some() {
            let id = negotiated.connection_id.to_string();
            let error = reason.client_error();
            let failed = match &reason {
                CloseReason::HandshakeFailed(why) => Some(why.as_str()),
                CloseReason::HandshakeTimeout => Some("no handshake within the handshake timeout"),
                _ => None,
            };
            if let Some(why) = failed {
                let _ = spans::record_handshake(negotiated.trace.as_deref(), &id, Err(why));
            }
            spans::record_close(
                negotiated.trace.as_deref(),
                &id,
                reason.label(),
                error.as_deref(),
            );
        }
        if self.registered.is_some()
            && let Some(upstream) = self.parts.upstream.clone()
        {
            let context = self.upstream_context();
            let error = reason.client_error();
            let metrics = self.parts.metrics.clone();
            actix_web::rt::spawn(async move {
                let result = upstream.disconnected(&context, error.as_deref()).await;
                metrics.upstream_request("connections", result.is_ok());
                if let Err(error) = result {
                    tracing::warn!(connection = %context.connection_id, %error, "upstream disconnected event failed");
                }
            });
        }
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

impl Handler<Attach> for Session {
    type Result = ();

    fn handle(&mut self, msg: Attach, _: &mut Self::Context) {
        if let Some(old) = self.attached.take()
            && old.generation != msg.generation
            && let Some(control) = old.control
        {
            control.do_send(TransportCommand::Detach);
        }
        if self.transport.is_none() {
            self.transport = Some(msg.transport);
            if self.registered.is_some() {
                // Registered before its first poll: tell the hub (for the admin API).
                self.parts
                    .hub
                    .transport_known(self.parts.negotiated.connection_id.clone(), msg.transport);
            }
        }
        self.count_open();
        match msg.transport {
            TransportType::LongPolling => self.core.set_inherent_keep_alive(),
            TransportType::ServerSentEvents => self.core.set_text_only(),
            TransportType::WebSockets => {}
        }
        self.core.note_received();
        self.attached = Some(Attachment {
            generation: msg.generation,
            transport: msg.transport,
            control: msg.control,
        });
        self.detached_since = None;
    }
}

impl Handler<Detach> for Session {
    type Result = ();

    fn handle(&mut self, msg: Detach, ctx: &mut Self::Context) {
        if self
            .attached
            .as_ref()
            .is_some_and(|a| a.generation == msg.generation)
        {
            self.on_detached(msg.clean, ctx);
        }
    }
}

impl Handler<Inbound> for Session {
    type Result = Result<(), SessionGone>;

    fn handle(&mut self, msg: Inbound, ctx: &mut Self::Context) -> Self::Result {
        if self.core.is_closed() {
            return Err(SessionGone);
        }
        let before = self.core.messages_received();
        self.core.on_data(&msg.data, &mut self.events);
        if let Some(counter) = &self.received {
            counter.increment(self.core.messages_received() - before);
        }
        self.apply(ctx);
        Ok(())
    }
}

impl Handler<SequenceFrame> for Session {
    type Result = Option<Frame>;

    fn handle(&mut self, msg: SequenceFrame, _: &mut Self::Context) -> Option<Frame> {
        self.core.sequence_frame(msg.first_unacked)
    }
}

impl Handler<CloseSession> for Session {
    type Result = ();

    fn handle(&mut self, msg: CloseSession, ctx: &mut Self::Context) {
        self.core.close(msg.reason, &mut self.events);
        self.apply(ctx);
    }
}

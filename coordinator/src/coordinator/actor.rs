//! [`Coordinator`]: the actor that runs the engine's tick on a timer.
//!
//! Each tick runs inside `ctx.wait`, so the actor handles no message while a tick is in
//! flight: ticks never overlap, the engine is always home when a message arrives, and
//! `status()` always sees a whole tick's result. The next tick is scheduled when the previous
//! one ends, so a slow Redis stretches the period instead of piling ticks up.

use std::time::Duration;

use actix::{
    Actor, ActorContext, ActorFutureExt, ArbiterHandle, AsyncContext, AtomicResponse, Context,
    Handler, Message, MessageResult, WrapFuture,
};
use redis::aio::ConnectionLike;

use super::engine::Engine;
use super::error::CoordinatorError;
use super::handle::CoordinatorHandle;
use super::settings::CoordinatorSettings;
use super::status::CoordinatorStatus;

/// Room for queued requests; callers are few (the owner, the admin API), so a small bound
/// only ever fills if the actor is stuck, and then callers wait instead of piling up memory.
const MAILBOX_CAPACITY: usize = 16;

/// Asks for the last tick's [`CoordinatorStatus`].
#[derive(Debug, Message)]
#[rtype(result = "CoordinatorStatus")]
pub(crate) struct GetStatus {}

/// Resigns leadership (if held) and stops the actor.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), CoordinatorError>")]
pub(crate) struct Stop {}

/// One coordinator: elects, balances leases over live nodes, publishes assignments.
pub struct Coordinator<C> {
    /// `None` only while a tick or the resignation has it.
    engine: Option<Engine<C>>,
    status: CoordinatorStatus,
    tick: Duration,
    stopping: bool,
}

impl<C> Coordinator<C>
where
    C: ConnectionLike + Clone + Send + Unpin + 'static,
{
    /// Starts a coordinator on the current actix arbiter; must run inside an actix system.
    pub fn spawn(
        conn: C,
        settings: CoordinatorSettings,
    ) -> Result<CoordinatorHandle, CoordinatorError> {
        let actor = Self::new(conn, settings)?;
        let addr = actor.start();
        Ok(CoordinatorHandle::new(
            addr.clone().recipient(),
            addr.recipient(),
        ))
    }

    /// Starts a coordinator on `arbiter`, so stopping that arbiter kills it without a
    /// resignation (what a crash looks like to the rest of the cluster).
    pub fn spawn_in(
        arbiter: &ArbiterHandle,
        conn: C,
        settings: CoordinatorSettings,
    ) -> Result<CoordinatorHandle, CoordinatorError> {
        let actor = Self::new(conn, settings)?;
        let addr = Self::start_in_arbiter(arbiter, move |_| actor);
        Ok(CoordinatorHandle::new(
            addr.clone().recipient(),
            addr.recipient(),
        ))
    }

    fn new(conn: C, settings: CoordinatorSettings) -> Result<Self, CoordinatorError> {
        let tick = settings.tick;
        Ok(Self {
            engine: Some(Engine::new(conn, settings)?),
            status: CoordinatorStatus::default(),
            tick,
            stopping: false,
        })
    }

    /// Runs one tick now (unless stopping) and schedules the next when it ends.
    fn run_tick(&mut self, ctx: &mut Context<Self>) {
        if self.stopping {
            return;
        }
        let Some(mut engine) = self.engine.take() else {
            return;
        };
        let previous = self.status.clone();
        let tick = async move {
            let status = engine.tick(&previous).await;
            (engine, status)
        };
        ctx.wait(
            tick.into_actor(self)
                .map(|(engine, status), act: &mut Self, ctx| {
                    if status.is_leader != act.status.is_leader {
                        tracing::info!(
                            candidate = %engine.settings().candidate_id,
                            is_leader = status.is_leader,
                            token = ?status.token,
                            "coordinator role changed"
                        );
                    }
                    act.engine = Some(engine);
                    act.status = status;
                    ctx.run_later(act.tick, |act, ctx| act.run_tick(ctx));
                }),
        );
    }
}

impl<C> Actor for Coordinator<C>
where
    C: ConnectionLike + Clone + Send + Unpin + 'static,
{
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        self.run_tick(ctx);
    }
}

impl<C> Handler<GetStatus> for Coordinator<C>
where
    C: ConnectionLike + Clone + Send + Unpin + 'static,
{
    type Result = MessageResult<GetStatus>;

    fn handle(&mut self, _: GetStatus, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.status.clone())
    }
}

impl<C> Handler<Stop> for Coordinator<C>
where
    C: ConnectionLike + Clone + Send + Unpin + 'static,
{
    type Result = AtomicResponse<Self, Result<(), CoordinatorError>>;

    fn handle(&mut self, _: Stop, _: &mut Self::Context) -> Self::Result {
        self.stopping = true;
        let engine = self.engine.take();
        let resign = async move {
            match engine {
                Some(mut engine) => engine.resign().await,
                None => Ok(()),
            }
        };
        AtomicResponse::new(Box::pin(resign.into_actor(self).map(
            |result, act: &mut Self, ctx| {
                act.status.is_leader = false;
                act.status.token = None;
                ctx.stop();
                result
            },
        )))
    }
}

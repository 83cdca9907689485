//! Attaching an HTTP request to a session for its lifetime.

use actix::Addr;
use herald_proto::negotiate::TransportType;

use crate::session::actor::{Attach, Detach, Session};
use crate::session::handle::SessionHandle;

/// Attaches a request-scoped transport (an SSE response, a long poll) and detaches it when
/// dropped, however the request ends (finished, superseded, or the client went away).
pub struct Attachment {
    addr: Addr<Session>,
    generation: u64,
    clean: bool,
}

impl Attachment {
    /// Starts a new generation for `session` and tells it this transport is attached.
    pub fn new(session: &SessionHandle, transport: TransportType, clean: bool) -> Self {
        let generation = session.outbox.next_generation();
        session.addr.do_send(Attach {
            generation,
            transport,
            control: None,
        });
        Self {
            addr: session.addr.clone(),
            generation,
            clean,
        }
    }

    /// The generation to attach to the outbox with.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        self.addr.do_send(Detach {
            generation: self.generation,
            clean: self.clean,
        });
    }
}

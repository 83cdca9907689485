//! Negotiated connections: the secret connection token a transport request presents, mapped to
//! the public connection id, hub and user fixed at negotiate time.
//!
//! A negotiated connection is pending until its first transport request starts its session,
//! and expires if that does not happen within the negotiate timeout. Later requests with the
//! same token (polls, sends, a stateful WebSocket reconnect) reach the running session. A
//! closed connection's token is remembered for a while, so late requests learn it closed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use herald_proto::backplane::TraceContext;
use herald_proto::ids::{ConnectionId, HubName, NodeId};
use rand::RngCore;

use crate::session::handle::SessionHandle;

/// At most this many negotiated-but-not-connected connections are kept; beyond it negotiate
/// answers 503 rather than growing without limit.
pub const MAX_PENDING: usize = 100_000;

/// What negotiate fixed for a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Public id, safe to show to application servers.
    pub connection_id: ConnectionId,
    /// The hub the client negotiated with.
    pub hub: HubName,
    /// The user from the client's token, if any.
    pub user: Option<String>,
    /// The claims of the client's token, for the upstream's `X-ASRS-User-Claims`.
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// The client asked for stateful reconnect and got it.
    pub stateful: bool,
    /// The trace of the negotiate request, when recorded: the connection's spans join it.
    /// Boxed: one pointer per connection when traces are off.
    pub trace: Option<Box<TraceContext>>,
}

fn current_trace() -> Option<Box<TraceContext>> {
    crate::telemetry::propagation::context_of(&tracing::Span::current()).map(Box::new)
}

/// Why a transport request could not reach a connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("no connection with this id: it was never negotiated or has expired; negotiate again")]
    NotFound,
    #[error("this connection has closed; negotiate again")]
    Closed,
    #[error("this connection was negotiated for another hub")]
    WrongHub,
}

/// Why negotiate could not register a connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiateError {
    #[error("too many connections are waiting to connect ({MAX_PENDING}); retry later")]
    TooManyPending,
    #[error("the node is draining and accepts no new connections; connect to another node")]
    Draining,
}

/// How long a closed connection's token is remembered, so a late poll learns that the
/// connection closed (204) instead of that it never existed (404).
const CLOSED_LINGER: Duration = Duration::from_secs(30);

enum State<S> {
    Pending { expires: Instant },
    Active(S),
    Closed { until: Instant },
}

struct Entry<S> {
    negotiated: Negotiated,
    state: State<S>,
}

/// A connection reached by a transport request.
pub struct Opened<S = SessionHandle> {
    /// The connection as negotiated.
    pub negotiated: Negotiated,
    /// Its session.
    pub session: S,
    /// Whether this request started the session.
    pub created: bool,
}

/// The node's negotiated connections. Cheap to clone. `S` is how a running session is
/// reached (a [`SessionHandle`] in the node).
pub struct Connections<S = SessionHandle> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for Connections<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<S> {
    /// This node's id, embedded in every connection id it hands out.
    node: NodeId,
    /// How long a negotiated connection waits for its transport.
    negotiate_timeout: Duration,
    /// Token → connection.
    table: Mutex<Table<S>>,
}

struct Table<S> {
    entries: HashMap<String, Entry<S>>,
    pending: usize,
    active: usize,
    draining: bool,
}

impl<S> Default for Table<S> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            pending: 0,
            active: 0,
            draining: false,
        }
    }
}

impl<S: Clone> Connections<S> {
    /// An empty table for `node`.
    pub fn new(node: NodeId, negotiate_timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                node,
                negotiate_timeout,
                table: Mutex::new(Table::default()),
            }),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table<S>> {
        self.inner
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a new connection; returns its record and the token transports must present.
    /// With `separate_token` false (negotiate v0) the token is the connection id itself.
    pub fn negotiate(
        &self,
        hub: HubName,
        user: Option<String>,
        claims: serde_json::Map<String, serde_json::Value>,
        separate_token: bool,
        stateful: bool,
        now: Instant,
    ) -> Result<(Negotiated, String), NegotiateError> {
        let connection_id = ConnectionId::generate(&self.inner.node, random_bytes());
        // The token names the owning node too, so any node can forward a request to it.
        let token = if separate_token {
            format!(
                "{}.{}",
                herald_proto::ids::base64url(&random_bytes()),
                self.inner.node
            )
        } else {
            connection_id.to_string()
        };
        let negotiated = Negotiated {
            connection_id,
            hub,
            user,
            claims,
            stateful,
            trace: current_trace(),
        };
        let mut table = self.table();
        if table.draining {
            return Err(NegotiateError::Draining);
        }
        if table.pending >= MAX_PENDING {
            sweep(&mut table, now);
            if table.pending >= MAX_PENDING {
                return Err(NegotiateError::TooManyPending);
            }
        }
        let expires = now + self.inner.negotiate_timeout;
        table.entries.insert(
            token.clone(),
            Entry {
                negotiated: negotiated.clone(),
                state: State::Pending { expires },
            },
        );
        table.pending += 1;
        Ok((negotiated, token))
    }

    /// A transport request presents `token` for `hub`: returns the running session, starting
    /// it with `start` if this is the first request for a negotiated connection.
    pub fn open(
        &self,
        token: &str,
        hub: &HubName,
        now: Instant,
        start: impl FnOnce(&Negotiated) -> S,
    ) -> Result<Opened<S>, ClaimError> {
        let mut table = self.table();
        let table = &mut *table;
        let entry = table.entries.get_mut(token).ok_or(ClaimError::NotFound)?;
        if &entry.negotiated.hub != hub {
            return Err(ClaimError::WrongHub);
        }
        match &entry.state {
            State::Active(session) => Ok(Opened {
                negotiated: entry.negotiated.clone(),
                session: session.clone(),
                created: false,
            }),
            State::Closed { .. } => Err(ClaimError::Closed),
            State::Pending { expires } if *expires <= now => {
                table.entries.remove(token);
                table.pending -= 1;
                Err(ClaimError::NotFound)
            }
            State::Pending { .. } => {
                let session = start(&entry.negotiated);
                entry.state = State::Active(session.clone());
                table.pending -= 1;
                table.active += 1;
                Ok(Opened {
                    negotiated: entry.negotiated.clone(),
                    session,
                    created: true,
                })
            }
        }
    }

    /// Starts a connection that skipped negotiation (WebSockets with `skipNegotiation`).
    /// Returns it and the token it is registered under.
    pub fn open_direct(
        &self,
        hub: HubName,
        user: Option<String>,
        claims: serde_json::Map<String, serde_json::Value>,
        start: impl FnOnce(&Negotiated, &str) -> S,
    ) -> Result<(Opened<S>, String), NegotiateError> {
        let connection_id = ConnectionId::generate(&self.inner.node, random_bytes());
        let token = connection_id.to_string();
        let negotiated = Negotiated {
            connection_id,
            hub,
            user,
            claims,
            stateful: false,
            trace: current_trace(),
        };
        let mut table = self.table();
        if table.draining {
            return Err(NegotiateError::Draining);
        }
        let session = start(&negotiated, &token);
        table.entries.insert(
            token.clone(),
            Entry {
                negotiated: negotiated.clone(),
                state: State::Active(session.clone()),
            },
        );
        table.active += 1;
        Ok((
            Opened {
                negotiated,
                session,
                created: true,
            },
            token,
        ))
    }

    /// The session of `token` ended: remember for a while that it closed.
    pub fn close(&self, token: &str, now: Instant) {
        let mut table = self.table();
        let table = &mut *table;
        if let Some(entry) = table.entries.get_mut(token) {
            match entry.state {
                State::Active(_) => table.active -= 1,
                State::Pending { .. } => table.pending -= 1,
                State::Closed { .. } => return,
            }
            entry.state = State::Closed {
                until: now + CLOSED_LINGER,
            };
        }
    }

    /// Forgets pending connections whose transport never came and closed ones past their
    /// linger; returns how many pending ones expired.
    pub fn sweep(&self, now: Instant) -> usize {
        sweep(&mut self.table(), now)
    }

    /// Refuses new connections from now on (shutdown).
    pub fn start_draining(&self) {
        self.table().draining = true;
    }

    /// Accepts negotiations again (an undrained node).
    pub fn stop_draining(&self) {
        self.table().draining = false;
    }

    /// Connections with a running session.
    pub fn active(&self) -> usize {
        self.table().active
    }

    /// Negotiated connections still waiting for their transport.
    pub fn pending(&self) -> usize {
        self.table().pending
    }
}

fn sweep<S>(table: &mut Table<S>, now: Instant) -> usize {
    let mut expired = 0;
    table.entries.retain(|_, e| match e.state {
        State::Pending { expires } if expires <= now => {
            expired += 1;
            false
        }
        State::Closed { until } => until > now,
        _ => true,
    });
    table.pending -= expired;
    expired
}

/// The node a connection token (or v0 connection id) belongs to: the part after the last '.'.
pub fn token_owner(token: &str) -> Option<NodeId> {
    token
        .rsplit_once('.')
        .and_then(|(_, node)| node.parse().ok())
}

fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> (Connections<u32>, HubName, Instant) {
        (
            Connections::new("n1".parse().unwrap(), Duration::from_secs(15)),
            "chat".parse().unwrap(),
            Instant::now(),
        )
    }

    #[test]
    fn the_first_request_starts_the_session_and_later_ones_reach_it() {
        let (c, hub, now) = table();
        let (neg, token) = c
            .negotiate(
                hub.clone(),
                Some("u".into()),
                Default::default(),
                true,
                false,
                now,
            )
            .unwrap();
        assert_ne!(
            token,
            neg.connection_id.as_str(),
            "v1 keeps the token secret"
        );
        assert_eq!(neg.connection_id.owner().unwrap().as_str(), "n1");
        assert_eq!(c.pending(), 1);
        let opened = c.open(&token, &hub, now, |_| 7).unwrap();
        assert_eq!(
            (opened.session, opened.created, opened.negotiated),
            (7, true, neg.clone())
        );
        assert_eq!((c.pending(), c.active()), (0, 1));
        let again = c
            .open(&token, &hub, now, |_| unreachable!("already started"))
            .unwrap();
        assert_eq!((again.session, again.created), (7, false));
        c.close(&token, now);
        assert_eq!(c.active(), 0);
        assert_eq!(
            c.open(&token, &hub, now, |_| 8).err(),
            Some(ClaimError::Closed)
        );
        c.sweep(now + CLOSED_LINGER);
        assert_eq!(
            c.open(&token, &hub, now, |_| 8).err(),
            Some(ClaimError::NotFound)
        );
    }

    #[test]
    fn tokens_name_their_node() {
        let (c, hub, now) = table();
        let (_, token) = c
            .negotiate(hub.clone(), None, Default::default(), true, false, now)
            .unwrap();
        assert_eq!(token_owner(&token).unwrap().as_str(), "n1");
        let (_, v0) = c
            .negotiate(hub, None, Default::default(), false, false, now)
            .unwrap();
        assert_eq!(token_owner(&v0).unwrap().as_str(), "n1");
        assert_eq!(token_owner("no-dot"), None);
    }

    #[test]
    fn v0_tokens_are_the_connection_id() {
        let (c, hub, now) = table();
        let (neg, token) = c
            .negotiate(hub, None, Default::default(), false, false, now)
            .unwrap();
        assert_eq!(token, neg.connection_id.as_str());
    }

    #[test]
    fn wrong_hub_and_unknown_tokens_are_refused() {
        let (c, hub, now) = table();
        let (_, token) = c
            .negotiate(hub.clone(), None, Default::default(), true, false, now)
            .unwrap();
        assert_eq!(
            c.open(&token, &"other".parse().unwrap(), now, |_| 1).err(),
            Some(ClaimError::WrongHub)
        );
        assert_eq!(
            c.open("nope", &hub, now, |_| 1).err(),
            Some(ClaimError::NotFound)
        );
    }

    #[test]
    fn pending_connections_expire() {
        let (c, hub, now) = table();
        let (_, t1) = c
            .negotiate(hub.clone(), None, Default::default(), true, false, now)
            .unwrap();
        let (_, _t2) = c
            .negotiate(hub.clone(), None, Default::default(), true, false, now)
            .unwrap();
        let later = now + Duration::from_secs(15);
        assert_eq!(
            c.open(&t1, &hub, later, |_| 1).err(),
            Some(ClaimError::NotFound)
        );
        assert_eq!(c.pending(), 1);
        assert_eq!(c.sweep(later), 1);
        assert_eq!(c.pending(), 0);
    }

    #[test]
    fn draining_refuses_new_connections() {
        let (c, hub, now) = table();
        c.start_draining();
        assert_eq!(
            c.negotiate(hub.clone(), None, Default::default(), true, false, now)
                .unwrap_err(),
            NegotiateError::Draining
        );
        assert_eq!(
            c.open_direct(hub, None, Default::default(), |_, _| 1).err(),
            Some(NegotiateError::Draining)
        );
    }

    #[test]
    fn direct_connections_are_active_at_once() {
        let (c, hub, now) = table();
        let (opened, token) = c
            .open_direct(hub, None, Default::default(), |_, _| 3)
            .unwrap();
        assert_eq!((opened.session, c.active()), (3, 1));
        c.close(&token, now);
        assert_eq!(c.active(), 0);
    }

    #[test]
    fn stateful_is_recorded() {
        let (c, hub, now) = table();
        let (neg, _) = c
            .negotiate(hub, None, Default::default(), true, true, now)
            .unwrap();
        assert!(neg.stateful);
    }
}

//! [`BackplaneMessage`]: everything one node publishes for the others.
//!
//! These are plain serde types; [`codec`](super::codec) turns them into bytes. The codec is
//! positional (no field names on the wire), so the order of fields and of enum variants *is*
//! the wire format: add new variants at the end only, never reorder or remove, and bump
//! [`CODEC_VERSION`](super::CODEC_VERSION) for any other change.
//!
//! Strings are carried as plain `String`s rather than the validated types of
//! [`ids`](crate::ids): a message comes from another node and is checked by whoever acts on it,
//! and decoding must never fail for a reason the receiver could have handled itself.

use serde::{Deserialize, Serialize};

/// One message on the backplane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackplaneMessage {
    /// Deliver already-encoded client frames to the local recipients of `target`.
    Deliver(Delivery),
    /// Ask the node that owns a connection to act on it; answered with a `Reply` on the asker's
    /// node channel.
    Command(Command),
    /// The answer to a `Command`.
    Reply(Reply),
    /// A user's persistent group membership changed: nodes with connections of that user
    /// apply it.
    UserGroups(UserGroupsChange),
    /// Close the local connections a target selects (REST `:closeConnections` for a hub, user
    /// or group): published on the target's channel like a delivery.
    CloseConnections(CloseConnections),
    /// A user-group change its publisher waits for (a join): every node that receives it,
    /// the publisher included, applies it and answers with a `Reply` once the subscriptions
    /// it needs are confirmed. A node that predates it cannot decode it; the publisher then
    /// times out, so a join is never acknowledged unless every receiver applied it.
    UserGroupsAcked {
        /// The `Reply`'s request id, on the publisher's node channel.
        request_id: u64,
        /// The change.
        change: UserGroupsChange,
    },
}

/// Connections to close on every node that has some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseConnections {
    /// The node that published it (it closes its own connections directly).
    pub origin: String,
    /// The hub.
    pub hub: String,
    /// Which connections.
    pub target: Target,
    /// Connection ids to leave open.
    pub excluded: Vec<String>,
    /// Why, for the clients' Close messages.
    pub reason: String,
}

/// Frames to hand to the local connections a [`Target`] selects.
///
/// The publisher encodes the frame once per protocol so that receivers only copy bytes, however
/// many of their connections receive it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The node id of the publisher, so receivers can tell streams of different nodes apart.
    pub origin: String,
    /// Per-origin sequence number, starting at 1, so receivers can detect gaps (messages lost
    /// while a subscription was down) and count them.
    pub sequence: u64,
    /// The hub the target is scoped to.
    pub hub: String,
    /// Who receives the frames.
    pub target: Target,
    /// Connection ids that must not receive the frames (e.g. the sender of a broadcast that
    /// asked to exclude itself), even when the target selects them.
    pub excluded: Vec<String>,
    /// The frame for connections using the JSON protocol, record separator included.
    pub json: Vec<u8>,
    /// The frame for connections using the MessagePack protocol, length prefix included.
    pub msgpack: Vec<u8>,
}

/// The recipients of a [`Delivery`], within its hub.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Target {
    /// Every connection of the hub.
    All,
    /// Every connection of the user with this id.
    User(String),
    /// Every connection in the group with this name.
    Group(String),
    /// The connection with this id (published only to the node that owns it).
    Connection(String),
}

/// A request for the node that owns `connection` to act on it.
///
/// Only the owner knows the connection's live state, so membership changes and closes are
/// performed there and confirmed with a [`Reply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// The node id of the asker: the reply goes to its node channel.
    pub origin: String,
    /// Chosen by the asker, unique among its pending requests; echoed in the [`Reply`] so the
    /// asker can match it.
    pub request_id: u64,
    /// The hub of the connection.
    pub hub: String,
    /// The connection id to act on.
    pub connection: String,
    /// What to do.
    pub op: CommandOp,
}

/// What a [`Command`] asks the owning node to do.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CommandOp {
    /// Add the connection to `group`.
    AddToGroup {
        /// The group name.
        group: String,
    },
    /// Remove the connection from `group`.
    RemoveFromGroup {
        /// The group name.
        group: String,
    },
    /// Remove the connection from every group it is in.
    RemoveFromAllGroups,
    /// Close the connection, telling the client why.
    Close {
        /// Sent to the client in the close message.
        reason: String,
    },
    /// Only report whether the connection exists.
    Exists,
}

/// The answer to a [`Command`], published on the asker's node channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reply {
    /// The [`Command::request_id`] this answers.
    pub request_id: u64,
    /// What happened.
    pub outcome: ReplyOutcome,
}

/// What became of a [`Command`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReplyOutcome {
    /// The connection exists and the command was carried out.
    Done {
        /// Whether anything changed (e.g. `false` when adding to a group the connection was
        /// already in), so REST callers can answer as Azure SignalR does.
        changed: bool,
    },
    /// The owner has no such connection.
    NotFound,
    /// The owner could not carry out the command.
    Failed {
        /// Why, for logs and error responses.
        message: String,
    },
    /// The owner carried out a join, but Redis did not confirm the subscription it needs in
    /// time, so sends may not reach the connection yet (the caller answers 504). Last, so a
    /// node that predates it fails to decode the reply and its caller times out: also a 504.
    Unconfirmed {
        /// Why, for error responses.
        message: String,
    },
}

/// A change to a user's persistent group membership, which applies to the user's current and
/// future connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserGroupsChange {
    /// The node id of the publisher.
    pub origin: String,
    /// The hub the membership belongs to.
    pub hub: String,
    /// The user id.
    pub user: String,
    /// The change.
    pub change: UserGroupOp,
}

/// How a user's persistent group membership changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UserGroupOp {
    /// The user joined `group`.
    Add {
        /// The group name.
        group: String,
        /// When the membership lapses (unix milliseconds); `None` for never. Receivers drop
        /// the membership themselves at that time, as Redis only expires whole keys.
        expires_at_ms: Option<u64>,
    },
    /// The user left `group`.
    Remove {
        /// The group name.
        group: String,
    },
    /// The user left every group.
    RemoveAll,
}

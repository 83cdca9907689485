//! The channels this node wants, and which of them changed since the supervisor last looked.
//!
//! `subscribe` and `unsubscribe` only record intent here, so they never wait and never fail;
//! the supervisor reconciles intent with what the connection has, and after a reconnect
//! subscribes every wanted channel again. Repeated changes of one channel collapse into one.
//!
//! Every new subscription (and every one that must be made again) takes a ticket: a counter
//! read together with the changes, so once the supervisor has applied what it took, every
//! ticket up to the one it read is confirmed.

use std::collections::HashSet;

/// Wanted channels and pending changes.
#[derive(Debug, Default)]
pub(super) struct SubscriptionBook {
    /// Every channel the node wants, the source of truth for resubscribing.
    wanted: HashSet<String>,
    /// Channels whose wanted state may differ from the connection's since the last look.
    dirty: HashSet<String>,
    /// Tickets handed out: bumped by every subscription that needs a command on the server.
    requested: u64,
}

/// What the supervisor must change on the connection.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Changes {
    pub subscribe: Vec<String>,
    pub unsubscribe: Vec<String>,
}

impl Changes {
    pub(super) fn is_empty(&self) -> bool {
        self.subscribe.is_empty() && self.unsubscribe.is_empty()
    }
}

impl SubscriptionBook {
    /// Wants `channel`; false when it was already wanted.
    pub(super) fn subscribe(&mut self, channel: &str) -> bool {
        let added = self.wanted.insert(channel.to_owned());
        if added {
            self.dirty.insert(channel.to_owned());
            self.requested += 1;
        }
        added
    }

    /// The newest ticket: a subscription asked for before this read is confirmed once the
    /// supervisor confirms this ticket.
    pub(super) fn requested(&self) -> u64 {
        self.requested
    }

    /// No longer wants `channel`; false when it was not wanted.
    pub(super) fn unsubscribe(&mut self, channel: &str) -> bool {
        let removed = self.wanted.remove(channel);
        if removed {
            self.dirty.insert(channel.to_owned());
        }
        removed
    }

    /// Every wanted channel, clearing pending changes: used right after (re)connecting.
    pub(super) fn all(&mut self) -> Vec<String> {
        self.dirty.clear();
        self.wanted.iter().cloned().collect()
    }

    /// The changes relative to `applied` (what the connection has), clearing them.
    pub(super) fn changes(&mut self, applied: &HashSet<String>) -> Changes {
        let mut changes = Changes::default();
        for channel in self.dirty.drain() {
            match (self.wanted.contains(&channel), applied.contains(&channel)) {
                (true, false) => changes.subscribe.push(channel),
                (false, true) => changes.unsubscribe.push(channel),
                _ => {}
            }
        }
        changes
    }

    /// Marks channels as changed again after the connection failed to apply them.
    pub(super) fn mark_dirty(&mut self, channels: impl IntoIterator<Item = String>) {
        self.dirty.extend(channels);
    }

    /// The server dropped the subscription to `channel` (a slot moved, its shard failed over):
    /// when it is still wanted, it must be made again, under a new ticket. False when it is
    /// no longer wanted.
    pub(super) fn resubscribe(&mut self, channel: &str) -> bool {
        let wanted = self.wanted.contains(channel);
        if wanted {
            self.dirty.insert(channel.to_owned());
            self.requested += 1;
        }
        wanted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_collapse_and_compare_with_the_connection() {
        let mut book = SubscriptionBook::default();
        assert!(book.subscribe("a"));
        assert!(!book.subscribe("a"));
        book.subscribe("b");
        assert!(book.unsubscribe("b"));
        assert!(!book.unsubscribe("zzz"));
        let applied: HashSet<String> = ["c".to_owned()].into();
        book.subscribe("c");
        assert_eq!(
            book.changes(&applied),
            Changes {
                subscribe: vec!["a".into()],
                unsubscribe: vec![]
            }
        );
        assert!(book.changes(&applied).is_empty());
        book.unsubscribe("c");
        assert_eq!(
            book.changes(&applied),
            Changes {
                subscribe: vec![],
                unsubscribe: vec!["c".into()]
            }
        );
        assert_eq!(book.all(), ["a"]);
    }

    #[test]
    fn tickets_count_subscriptions_that_need_the_server() {
        let mut book = SubscriptionBook::default();
        book.subscribe("a");
        book.subscribe("a");
        assert_eq!(
            book.requested(),
            1,
            "a repeated subscribe needs no new ticket"
        );
        book.unsubscribe("a");
        assert_eq!(book.requested(), 1);
        book.subscribe("b");
        assert!(book.resubscribe("b"));
        assert!(!book.resubscribe("a"), "no longer wanted");
        assert_eq!(book.requested(), 3);
    }

    #[test]
    fn all_returns_every_wanted_channel_and_clears_changes() {
        let mut book = SubscriptionBook::default();
        book.subscribe("a");
        book.subscribe("b");
        let mut all = book.all();
        all.sort();
        assert_eq!(all, ["a", "b"]);
        assert!(book.changes(&HashSet::new()).is_empty());
    }
}

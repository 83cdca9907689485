//! The replay buffer of stateful reconnect: trackable messages sent to the client and not yet
//! acknowledged, replayed after the client's transport reconnects.
//!
//! Sequence ids start at 1 and never reset. The buffer is bounded by bytes; when it is full the
//! writer stops taking frames from the outbox (backpressure) until the client acknowledges.

use std::collections::VecDeque;
use std::task::Waker;

use super::link::Frame;

/// Trackable frames sent and not yet acknowledged.
#[derive(Debug)]
pub struct ReplayBuffer {
    /// `(sequence id, frame)` in send order.
    frames: VecDeque<(u64, Frame)>,
    /// Sum of the frames' sizes.
    bytes: usize,
    /// Bound on `bytes`; a single larger frame is still accepted when the buffer is empty.
    limit: usize,
    /// The id the next trackable frame gets.
    next_id: u64,
    /// The writer waiting for room.
    waiting: Option<Waker>,
}

impl ReplayBuffer {
    /// An empty buffer of at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            frames: VecDeque::new(),
            bytes: 0,
            limit,
            next_id: 1,
            waiting: None,
        }
    }

    /// Whether another frame may be sent now.
    pub fn has_room(&self) -> bool {
        self.frames.is_empty() || self.bytes < self.limit
    }

    /// Parks the writer until an acknowledgement makes room.
    pub fn wait_for_room(&mut self, waker: &Waker) {
        self.waiting = Some(waker.clone());
    }

    /// Records a trackable frame as sent; returns its sequence id.
    pub fn push(&mut self, frame: Frame) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.bytes += frame.as_bytes().len();
        self.frames.push_back((id, frame));
        id
    }

    /// Drops every frame up to and including `sequence_id`; wakes a waiting writer.
    pub fn ack(&mut self, sequence_id: u64) {
        while self
            .frames
            .front()
            .is_some_and(|(id, _)| *id <= sequence_id)
        {
            if let Some((_, frame)) = self.frames.pop_front() {
                self.bytes -= frame.as_bytes().len();
            }
        }
        if self.has_room()
            && let Some(waker) = self.waiting.take()
        {
            waker.wake();
        }
    }

    /// The id of the first frame a reconnected client gets (what `Sequence` announces).
    pub fn first_unacked(&self) -> u64 {
        self.frames.front().map_or(self.next_id, |(id, _)| *id)
    }

    /// The frames to replay, oldest first.
    pub fn unacked(&self) -> impl Iterator<Item = &Frame> {
        self.frames.iter().map(|(_, f)| f)
    }

    /// Bytes waiting for an acknowledgement.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytestring::ByteString;

    fn frame(s: &str) -> Frame {
        Frame::Text(ByteString::from(s.to_owned()))
    }

    #[test]
    fn ids_start_at_one_and_acks_release_frames() {
        let mut b = ReplayBuffer::new(100);
        assert_eq!(b.first_unacked(), 1);
        assert_eq!(b.push(frame("aaaa")), 1);
        assert_eq!(b.push(frame("bbbb")), 2);
        assert_eq!(b.push(frame("cccc")), 3);
        assert_eq!(b.bytes(), 12);
        b.ack(2);
        assert_eq!(b.first_unacked(), 3);
        assert_eq!(
            b.unacked()
                .map(|f| f.as_bytes().to_vec())
                .collect::<Vec<_>>(),
            vec![b"cccc".to_vec()]
        );
        b.ack(3);
        assert_eq!(
            b.first_unacked(),
            4,
            "an empty buffer announces the next id"
        );
        assert_eq!(b.bytes(), 0);
    }

    #[test]
    fn the_byte_bound_applies_backpressure() {
        let mut b = ReplayBuffer::new(8);
        assert!(b.has_room());
        b.push(frame("0123456789"));
        assert!(
            !b.has_room(),
            "one oversized frame fits, then the buffer is full"
        );
        b.ack(1);
        assert!(b.has_room());
        b.push(frame("0123"));
        assert!(b.has_room());
        b.push(frame("4567"));
        assert!(!b.has_room());
    }

    #[test]
    fn stale_and_future_acks_are_harmless() {
        let mut b = ReplayBuffer::new(100);
        b.push(frame("a"));
        b.ack(0);
        assert_eq!(b.first_unacked(), 1);
        b.ack(99);
        assert_eq!(b.first_unacked(), 2);
    }
}

//! A session's outbound queue and its hand-over between transport requests.
//!
//! The hub and the session push encoded frames into one bounded channel; whichever transport
//! is attached (a WebSocket, an SSE response, the current long poll) holds the receiving end
//! through [`Attached`]. A newer transport request takes over from an older one by bumping the
//! generation; closing the session lets the attached transport flush what is queued and finish.
//!
//! In a cluster the outbox starts *held*: frames queue (the handshake response first) but no
//! transport sees them until the session releases it, once its hub registration and the
//! subscriptions it needs are confirmed. So a client that read its handshake response is
//! reachable from every node.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{OwnedMutexGuard, mpsc, watch};

use super::link::Frame;
use super::replay::ReplayBuffer;

/// One frame for the client, with whether it counts for stateful reconnect.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The encoded message.
    pub frame: Frame,
    /// Invocation, StreamItem, Completion, StreamInvocation or CancelInvocation: sequenced and
    /// replayed after a reconnect. Pings, Close and handshake responses are not.
    pub trackable: bool,
}

/// What a waiting transport learns next.
#[derive(Debug)]
pub enum Next {
    /// A frame to write.
    Frame(Frame),
    /// A newer transport request took over; stop without closing the session.
    Superseded,
    /// The session ended and everything queued was handed out.
    Closed,
}

/// The session's side: cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Outgoing>,
    shared: Arc<Shared>,
}

struct Shared {
    /// The receiving end, held by the attached transport.
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Outgoing>>>,
    /// Bumped by every transport that attaches; an attached transport whose generation is
    /// older lets go.
    generation: watch::Sender<u64>,
    /// Set once when the session ends.
    closed: watch::Sender<bool>,
    /// Unacknowledged trackable frames (stateful reconnect only).
    replay: Option<Mutex<ReplayBuffer>>,
    /// Whether frames are held back from the transport (see the module docs).
    held: AtomicBool,
    /// The attached transport waiting for the release.
    released: AtomicWaker,
}

impl Outbox {
    /// A queue of `capacity` frames; `replay_limit` enables stateful reconnect with that bound.
    pub fn new(capacity: usize, replay_limit: Option<usize>) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let shared = Shared {
            rx: Arc::new(tokio::sync::Mutex::new(rx)),
            generation: watch::Sender::new(0),
            closed: watch::Sender::new(false),
            replay: replay_limit.map(|limit| Mutex::new(ReplayBuffer::new(limit))),
            held: AtomicBool::new(false),
            released: AtomicWaker::new(),
        };
        Self {
            tx,
            shared: Arc::new(shared),
        }
    }

    /// The sending end for the hub.
    pub fn sender(&self) -> mpsc::Sender<Outgoing> {
        self.tx.clone()
    }

    /// Queues a frame without waiting; full means the client is not keeping up.
    pub fn try_send(&self, outgoing: Outgoing) -> Result<(), TrySendError<Outgoing>> {
        self.tx.try_send(outgoing)
    }

    /// Holds queued frames back from the transport until [`Self::release`].
    pub fn hold(&self) {
        self.shared.held.store(true, Ordering::Release);
    }

    /// Lets the transport write what is queued and what follows.
    pub fn release(&self) {
        self.shared.held.store(false, Ordering::Release);
        self.shared.released.wake();
    }

    /// Marks the session ended: the attached transport flushes and finishes.
    pub fn close(&self) {
        self.release();
        self.shared.closed.send_replace(true);
    }

    /// Whether the session ended.
    pub fn is_closed(&self) -> bool {
        *self.shared.closed.borrow()
    }

    /// Whether stateful reconnect is on.
    pub fn is_stateful(&self) -> bool {
        self.shared.replay.is_some()
    }

    /// Starts a new transport generation; the previously attached transport lets go.
    pub fn next_generation(&self) -> u64 {
        let mut next = 0;
        self.shared.generation.send_modify(|g| {
            *g += 1;
            next = *g;
        });
        next
    }

    /// The current transport generation.
    pub fn generation(&self) -> u64 {
        *self.shared.generation.borrow()
    }

    /// Waits for the receiving end. `None` when a newer generation started meanwhile.
    pub async fn attach(&self, generation: u64) -> Option<Attached> {
        let mut watcher = self.shared.generation.subscribe();
        let superseded = async move {
            // An error means the outbox is gone, which also ends the wait.
            let _ = watcher.wait_for(|g| *g != generation).await;
        };
        tokio::select! {
            guard = self.shared.rx.clone().lock_owned() => {
                (*self.shared.generation.borrow() == generation).then(|| Attached {
                    rx: guard,
                    generation,
                    generations: self.shared.generation.subscribe(),
                    closed: self.shared.closed.subscribe(),
                    shared: self.shared.clone(),
                })
            }
            _ = superseded => None,
        }
    }

    /// The client acknowledged trackable messages up to `sequence_id`.
    pub fn ack(&self, sequence_id: u64) {
        if let Some(replay) = &self.shared.replay {
            replay
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .ack(sequence_id);
        }
    }
}

/// The attached transport's hold on the receiving end.
pub struct Attached {
    rx: OwnedMutexGuard<mpsc::Receiver<Outgoing>>,
    generation: u64,
    generations: watch::Receiver<u64>,
    closed: watch::Receiver<bool>,
    shared: Arc<Shared>,
}

impl Attached {
    /// This transport's generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// For a reconnected stateful client: the id `Sequence` must announce, and the frames to
    /// replay, oldest first. `None` without stateful reconnect.
    pub fn replay(&self) -> Option<(u64, Vec<Frame>)> {
        let replay = self
            .shared
            .replay
            .as_ref()?
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Some((replay.first_unacked(), replay.unacked().cloned().collect()))
    }

    /// Polls for the next frame (for transports driven by polling, such as the WebSocket
    /// actor). Waits while the replay buffer is full.
    pub fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        poll_frame(&mut self.rx, &self.shared, cx)
    }

    /// A frame that is already queued, if any (to batch several into one write).
    pub fn try_frame(&mut self) -> Option<Frame> {
        if is_held(&self.shared, None) || !room(&self.shared, None) {
            return None;
        }
        self.rx.try_recv().ok().map(|out| record(&self.shared, out))
    }

    /// Every frame queued now, ignoring the replay bound (for a final flush before closing).
    pub fn drain(&mut self) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Ok(out) = self.rx.try_recv() {
            frames.push(record(&self.shared, out));
        }
        frames
    }

    /// Waits for the next frame, a newer transport, or the end of the session.
    pub async fn next(&mut self) -> Next {
        let Self {
            rx,
            generation,
            generations,
            closed,
            shared,
        } = self;
        tokio::select! {
            biased;
            _ = closed.wait_for(|c| *c) => {
                match rx.try_recv() {
                    Ok(out) => Next::Frame(record(shared, out)),
                    Err(_) => Next::Closed,
                }
            }
            _ = generations.wait_for(|g| *g != *generation) => Next::Superseded,
            frame = poll_fn(|cx| poll_frame(rx, shared, cx)) => match frame {
                Some(frame) => Next::Frame(frame),
                None => Next::Closed,
            },
        }
    }
}

/// Whether frames are held back; with `cx`, the caller is woken on release.
fn is_held(shared: &Shared, cx: Option<&mut Context<'_>>) -> bool {
    if !shared.held.load(Ordering::Acquire) {
        return false;
    }
    let Some(cx) = cx else { return true };
    shared.released.register(cx.waker());
    // A release between the first look and the registration would be missed otherwise.
    shared.held.load(Ordering::Acquire)
}

fn room(shared: &Shared, cx: Option<&mut Context<'_>>) -> bool {
    let Some(replay) = &shared.replay else {
        return true;
    };
    let mut replay = replay.lock().unwrap_or_else(PoisonError::into_inner);
    if replay.has_room() {
        return true;
    }
    if let Some(cx) = cx {
        replay.wait_for_room(cx.waker());
    }
    false
}

fn poll_frame(
    rx: &mut mpsc::Receiver<Outgoing>,
    shared: &Shared,
    cx: &mut Context<'_>,
) -> Poll<Option<Frame>> {
    if is_held(shared, Some(cx)) || !room(shared, Some(cx)) {
        return Poll::Pending;
    }
    rx.poll_recv(cx)
        .map(|out| out.map(|out| record(shared, out)))
}

fn record(shared: &Shared, out: Outgoing) -> Frame {
    if out.trackable
        && let Some(replay) = &shared.replay
    {
        replay
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(out.frame.clone());
    }
    out.frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytestring::ByteString;

    fn out(s: &str, trackable: bool) -> Outgoing {
        Outgoing {
            frame: Frame::Text(ByteString::from(s.to_owned())),
            trackable,
        }
    }

    fn text(frame: Frame) -> String {
        String::from_utf8(frame.as_bytes().to_vec()).unwrap()
    }

    #[actix_web::test]
    async fn frames_flow_to_the_attached_transport() {
        let outbox = Outbox::new(8, None);
        outbox.try_send(out("a", true)).unwrap();
        let g = outbox.next_generation();
        let mut attached = outbox.attach(g).await.unwrap();
        assert!(matches!(attached.next().await, Next::Frame(f) if text(f.clone()) == "a"));
        outbox.try_send(out("b", true)).unwrap();
        assert_eq!(attached.try_frame().map(text).as_deref(), Some("b"));
        assert!(attached.try_frame().is_none());
    }

    #[actix_web::test]
    async fn a_newer_generation_supersedes_the_attached_one() {
        let outbox = Outbox::new(8, None);
        let g1 = outbox.next_generation();
        let mut first = outbox.attach(g1).await.unwrap();
        let g2 = outbox.next_generation();
        assert!(matches!(first.next().await, Next::Superseded));
        drop(first);
        let second = outbox.attach(g2).await;
        assert!(second.is_some());
        // A generation that was overtaken before it attached gets nothing.
        let g3 = outbox.next_generation();
        let _g4 = outbox.next_generation();
        assert!(outbox.attach(g3).await.is_none());
    }

    #[actix_web::test]
    async fn closing_flushes_then_ends() {
        let outbox = Outbox::new(8, None);
        let g = outbox.next_generation();
        let mut attached = outbox.attach(g).await.unwrap();
        outbox.try_send(out("last", false)).unwrap();
        outbox.close();
        assert!(matches!(attached.next().await, Next::Frame(f) if text(f.clone()) == "last"));
        assert!(matches!(attached.next().await, Next::Closed));
    }

    #[actix_web::test]
    async fn held_frames_wait_for_the_release_in_order() {
        let outbox = Outbox::new(8, None);
        outbox.hold();
        outbox.try_send(out("handshake", false)).unwrap();
        let g = outbox.next_generation();
        let mut attached = outbox.attach(g).await.unwrap();
        assert!(attached.try_frame().is_none(), "held");
        let waiting = tokio::spawn(async move {
            let first = attached.next().await;
            (first, attached)
        });
        tokio::task::yield_now().await;
        outbox.try_send(out("message", true)).unwrap();
        assert!(!waiting.is_finished(), "still held after another frame");
        outbox.release();
        let (first, mut attached) = waiting.await.unwrap();
        assert!(matches!(first, Next::Frame(f) if text(f.clone()) == "handshake"));
        assert_eq!(attached.try_frame().map(text).as_deref(), Some("message"));
    }

    #[actix_web::test]
    async fn closing_releases_held_frames() {
        let outbox = Outbox::new(8, None);
        outbox.hold();
        outbox.try_send(out("error", false)).unwrap();
        outbox.close();
        let g = outbox.next_generation();
        let mut attached = outbox.attach(g).await.unwrap();
        assert!(matches!(attached.next().await, Next::Frame(f) if text(f.clone()) == "error"));
        assert!(matches!(attached.next().await, Next::Closed));
    }

    #[actix_web::test]
    async fn a_full_queue_is_reported() {
        let outbox = Outbox::new(2, None);
        outbox.try_send(out("1", true)).unwrap();
        outbox.try_send(out("2", true)).unwrap();
        assert!(matches!(
            outbox.try_send(out("3", true)),
            Err(TrySendError::Full(_))
        ));
    }

    #[actix_web::test]
    async fn stateful_outboxes_keep_trackable_frames_until_acked() {
        let outbox = Outbox::new(8, Some(1000));
        let g = outbox.next_generation();
        let mut attached = outbox.attach(g).await.unwrap();
        outbox.try_send(out("inv1", true)).unwrap();
        outbox.try_send(out("ping", false)).unwrap();
        outbox.try_send(out("inv2", true)).unwrap();
        for _ in 0..3 {
            assert!(matches!(attached.next().await, Next::Frame(_)));
        }
        let (first, frames) = attached.replay().unwrap();
        assert_eq!(first, 1);
        assert_eq!(
            frames.into_iter().map(text).collect::<Vec<_>>(),
            vec!["inv1", "inv2"]
        );
        outbox.ack(1);
        let (first, frames) = attached.replay().unwrap();
        assert_eq!((first, frames.len()), (2, 1));
    }
}

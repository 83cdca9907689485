//! The hot path of the load generator: one task per connection reads into a reused buffer, walks
//! the WebSocket frame headers in place, takes the clock once per read and records the latency of
//! every stamp in every frame. It answers the keep-alives each protocol needs (SignalR ping
//! every 15 s, engine.io pong, WebSocket pong) and stops reading while the worker is paused
//! (the slow-consumer scenario).

use crate::connect::{Link, mask_key, send_text};
use crate::engineio::{self, Packet};
use crate::flavor::Flavor;
use crate::latency::Tally;
use crate::signalr;
use crate::stamp;
use crate::ws_frame::{self, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

/// How often a SignalR client pings (the server closes clients silent for 30 s).
const SIGNALR_PING: Duration = Duration::from_secs(15);
/// Initial read buffer per connection; grows only for frames larger than this.
const READ_BUFFER: usize = 8 * 1024;

/// Runs a connection until the server closes it or the task is aborted; counts into `tally`.
pub async fn run(
    flavor: Flavor,
    link: Link,
    tally: Rc<RefCell<Tally>>,
    mut paused: watch::Receiver<bool>,
) {
    let Link { mut stream, buf } = link;
    let mut buf = buf;
    let mut filled = buf.len();
    buf.resize(READ_BUFFER.max(filled * 2), 0);
    let mut start = 0;
    let mut ping =
        tokio::time::interval_at(tokio::time::Instant::now() + SIGNALR_PING, SIGNALR_PING);
    let mut replies: Vec<u8> = Vec::new();
    loop {
        if *paused.borrow() {
            if paused.changed().await.is_err() {
                // The worker is gone: stay connected and unread, as a stuck client would.
                std::future::pending::<()>().await;
            }
            continue;
        }
        if start == filled {
            start = 0;
            filled = 0;
        } else if filled == buf.len() {
            buf.copy_within(start..filled, 0);
            filled -= start;
            start = 0;
            if filled == buf.len() {
                buf.resize(buf.len() * 2, 0);
            }
        }
        let n = tokio::select! {
            read = stream.read(&mut buf[filled..]) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            _ = ping.tick(), if flavor == Flavor::Herald => {
                if send_text(&mut stream, signalr::PING).await.is_err() {
                    break;
                }
                continue;
            },
            _ = paused.changed() => continue,
        };
        filled += n;
        let now = stamp::now_micros();
        let mut closed = false;
        {
            let mut tally = tally.borrow_mut();
            loop {
                let frame = match ws_frame::parse(&buf[start..filled]) {
                    Ok(Some(frame)) => frame,
                    Ok(None) => break,
                    Err(_) => {
                        closed = true;
                        break;
                    }
                };
                let payload = &buf[start + frame.payload_start..start + frame.total_len()];
                match frame.opcode {
                    OP_TEXT | OP_BINARY | OP_CONTINUATION => {
                        if flavor == Flavor::SocketIo && engineio::classify(payload) == Packet::Ping
                        {
                            replies.extend_from_slice(&ws_frame::client_frame(
                                OP_TEXT,
                                engineio::PONG,
                                mask_key(),
                            ));
                        } else {
                            stamp::scan(payload, |sent| tally.record(sent, now));
                        }
                    }
                    OP_PING => replies.extend_from_slice(&ws_frame::client_frame(
                        OP_PONG,
                        payload,
                        mask_key(),
                    )),
                    OP_CLOSE => closed = true,
                    _ => {}
                }
                start += frame.total_len();
                if closed {
                    break;
                }
            }
        }
        if !replies.is_empty() {
            if stream.write_all(&replies).await.is_err() {
                closed = true;
            }
            replies.clear();
        }
        if closed {
            break;
        }
    }
    tally.borrow_mut().closed += 1;
}

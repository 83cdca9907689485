//! SignalR over Server-Sent Events and long polling, the way the official clients speak them:
//! `POST /client/negotiate` for a connection token; SSE opens `GET /client/?hub=H&id=T` with
//! `Accept: text/event-stream` and reads `data:` events (each one frame: one or more
//! 0x1E-terminated records), long polling loops `GET /client/?hub=H&id=T` (200 with zero or more
//! records, 204 when closed). Both send with `POST /client/?hub=H&id=T`: the handshake, then a
//! ping every 15 s. Each POST is one request on a fresh connection (the server may close idle
//! keep-alive connections between pings). The event stream is chunked; [`ChunkDecoder`] and
//! [`EventParser`] read it in place, per socket read, with the clock taken once per read.

use crate::connect::{self, ConnectError, ConnectOptions};
use crate::flavor::HUB;
use crate::http_wire::{self, HttpError, Response};
use crate::latency::Tally;
use crate::signalr;
use crate::stamp;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How often a client sends a ping record (the server drops clients silent for 30 s).
const PING_EVERY: Duration = Duration::from_secs(15);
/// Long polling pings before a poll once this much time passed since the last ping: polls
/// return at least every 15 s (the server's own pings), so pings stay under 30 s apart.
const LP_PING_AFTER: Duration = Duration::from_secs(10);
/// The longest SSE line, chunk-size line or event accepted.
const MAX_LINE: usize = 1024 * 1024;
/// The close message type (`{"type":7,...}`).
const CLOSE_PREFIX: &[u8] = b"{\"type\":7";

/// A client task, ready to run once connected.
pub type Running = Pin<Box<dyn Future<Output = ()>>>;

/// A malformed event stream or poll answer.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WireError {
    /// A chunk-size line that is not hexadecimal.
    #[error("bad chunk size line")]
    ChunkSize,
    /// A chunk not followed by CRLF.
    #[error("chunk data not followed by CRLF")]
    ChunkEnd,
    /// A line or event over the limit.
    #[error("line or event too long")]
    TooLong,
    /// A poll answered with an unexpected status.
    #[error("poll answered {0}")]
    Status(u16),
    /// A poll body whose last record has no record separator.
    #[error("poll body ends inside a record")]
    Unterminated,
}

/// The transport layer of the chunked response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Reading a chunk-size line.
    Size,
    /// This many bytes of chunk data left.
    Data(usize),
    /// The CR (2) or LF (1) after chunk data still to come.
    DataEnd(u8),
    /// The last chunk arrived.
    Done,
}

/// Decodes `Transfer-Encoding: chunked` incrementally.
#[derive(Debug)]
pub struct ChunkDecoder {
    state: ChunkState,
    line: Vec<u8>,
}

impl Default for ChunkDecoder {
    fn default() -> Self {
        Self {
            state: ChunkState::Size,
            line: Vec::new(),
        }
    }
}

impl ChunkDecoder {
    /// Appends the body bytes in `input` to `out`; `Ok(true)` once the last chunk was read.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<bool, WireError> {
        while !input.is_empty() {
            match self.state {
                ChunkState::Done => return Ok(true),
                ChunkState::Size => {
                    let Some(at) = input.iter().position(|b| *b == b'\n') else {
                        self.line.extend_from_slice(input);
                        if self.line.len() > 256 {
                            return Err(WireError::ChunkSize);
                        }
                        return Ok(false);
                    };
                    self.line.extend_from_slice(&input[..at]);
                    input = &input[at + 1..];
                    let line = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
                    let size = line.split(|b| *b == b';').next().unwrap_or_default();
                    let size = std::str::from_utf8(size)
                        .ok()
                        .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
                        .ok_or(WireError::ChunkSize)?;
                    self.line.clear();
                    self.state = if size == 0 {
                        ChunkState::Done
                    } else if size > MAX_LINE {
                        return Err(WireError::TooLong);
                    } else {
                        ChunkState::Data(size)
                    };
                }
                ChunkState::Data(left) => {
                    let take = left.min(input.len());
                    out.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    self.state = if take == left {
                        ChunkState::DataEnd(2)
                    } else {
                        ChunkState::Data(left - take)
                    };
                }
                ChunkState::DataEnd(n) => {
                    let expected = if n == 2 { b'\r' } else { b'\n' };
                    if input[0] != expected {
                        return Err(WireError::ChunkEnd);
                    }
                    input = &input[1..];
                    self.state = if n == 2 {
                        ChunkState::DataEnd(1)
                    } else {
                        ChunkState::Size
                    };
                }
            }
        }
        Ok(self.state == ChunkState::Done)
    }
}

/// Parses an event stream into events (the joined `data` fields), per the SSE spec: lines end
/// in LF or CRLF, `:` starts a comment, a blank line dispatches, one space after `data:` is
/// dropped, other fields are ignored.
#[derive(Debug, Default)]
pub struct EventParser {
    line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
}

impl EventParser {
    /// Feeds stream bytes, calling `event` with the data of every complete event.
    pub fn feed(
        &mut self,
        mut input: &[u8],
        mut event: impl FnMut(&[u8]),
    ) -> Result<(), WireError> {
        while let Some(at) = input.iter().position(|b| *b == b'\n') {
            let line: &[u8] = if self.line.is_empty() {
                &input[..at]
            } else {
                self.line.extend_from_slice(&input[..at]);
                &self.line
            };
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                if self.has_data && !self.data.is_empty() {
                    event(&self.data);
                }
                self.data.clear();
                self.has_data = false;
            } else if let Some(value) = line.strip_prefix(b"data") {
                let value = match value.first() {
                    None => Some(&value[..0]),
                    Some(b':') => Some(value[1..].strip_prefix(b" ").unwrap_or(&value[1..])),
                    Some(_) => None, // a field named e.g. "database": ignored
                };
                if let Some(value) = value {
                    if self.has_data {
                        self.data.push(b'\n');
                    }
                    self.data.extend_from_slice(value);
                    self.has_data = true;
                    if self.data.len() > MAX_LINE {
                        return Err(WireError::TooLong);
                    }
                }
            }
            self.line.clear();
            input = &input[at + 1..];
        }
        self.line.extend_from_slice(input);
        if self.line.len() > MAX_LINE {
            return Err(WireError::TooLong);
        }
        Ok(())
    }
}

/// What one long poll answered.
#[derive(Debug, PartialEq, Eq)]
pub enum PollAnswer<'a> {
    /// 200: the records (each without its separator), possibly none.
    Records(Vec<&'a [u8]>),
    /// 204: the connection is closed.
    Closed,
}

/// Parses a long-poll answer: 200 with zero or more 0x1E-terminated records, or 204.
pub fn parse_poll(status: u16, body: &[u8]) -> Result<PollAnswer<'_>, WireError> {
    match status {
        204 => Ok(PollAnswer::Closed),
        200 => {
            let Some(rest) = body.strip_suffix(&[signalr::RS]) else {
                return if body.is_empty() {
                    Ok(PollAnswer::Records(Vec::new()))
                } else {
                    Err(WireError::Unterminated)
                };
            };
            Ok(PollAnswer::Records(
                rest.split(|b| *b == signalr::RS).collect(),
            ))
        }
        other => Err(WireError::Status(other)),
    }
}

/// Whether a record (without separator) is a close message.
fn is_close(record: &[u8]) -> bool {
    record.starts_with(CLOSE_PREFIX)
}

/// Where a client connects and from where.
#[derive(Clone)]
struct Dialer {
    server: SocketAddr,
    options: ConnectOptions,
    ports: Rc<Cell<u16>>,
    host: String,
}

impl Dialer {
    async fn dial(&self) -> std::io::Result<TcpStream> {
        connect::dial(self.server, self.options, Rc::clone(&self.ports)).await
    }

    /// One POST on a fresh connection.
    async fn post(&self, path: &str, body: &[u8]) -> Result<Response, ConnectError> {
        let mut stream = self.dial().await?;
        let req = http_wire::request("POST", path, &self.host, "", body);
        Ok(http_wire::exchange(&mut stream, &req, &mut Vec::new()).await?)
    }

    /// Negotiates and returns the connection path (`/client/?hub=bench&id=<token>`).
    async fn negotiate(&self) -> Result<String, ConnectError> {
        let reply = self.post(&signalr::negotiate_path(HUB), b"").await?;
        if reply.status != 200 {
            return Err(ConnectError::Refused(format!(
                "negotiate answered {}",
                reply.status
            )));
        }
        let token = signalr::connection_token(&reply.body)
            .ok_or_else(|| ConnectError::Refused("negotiate without a token".into()))?;
        Ok(signalr::connect_path(HUB, &token))
    }

    async fn send(&self, path: &str, body: &[u8]) -> Result<(), ConnectError> {
        let reply = self.post(path, body).await?;
        if reply.status == 200 {
            Ok(())
        } else {
            Err(ConnectError::Refused(format!(
                "send answered {}",
                reply.status
            )))
        }
    }
}

fn refused(e: WireError) -> ConnectError {
    ConnectError::Refused(e.to_string())
}

fn check_handshake(record: &[u8]) -> Result<(), ConnectError> {
    if signalr::handshake_accepted(record) {
        Ok(())
    } else {
        Err(ConnectError::Refused(format!(
            "handshake refused: {}",
            String::from_utf8_lossy(record)
        )))
    }
}

/// Connects over Server-Sent Events (negotiate, event stream, handshake) and returns the
/// receive loop, which counts into `tally`.
pub async fn open_sse(
    server: SocketAddr,
    options: ConnectOptions,
    ports: Rc<Cell<u16>>,
    tally: Rc<RefCell<Tally>>,
) -> Result<Running, ConnectError> {
    let dialer = Dialer {
        server,
        options,
        ports,
        host: server.to_string(),
    };
    let path = dialer.negotiate().await?;
    let mut stream = dialer.dial().await?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n",
        dialer.host
    );
    stream.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    let head = http_wire::read_response(&mut stream, &mut buf).await?;
    if head.status != 200 {
        return Err(ConnectError::Refused(format!(
            "event stream answered {}",
            head.status
        )));
    }
    let chunked = head
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    dialer.send(&path, signalr::HANDSHAKE).await?;
    let mut sse = SseStream {
        chunked,
        chunks: ChunkDecoder::default(),
        body: Vec::new(),
        events: EventParser::default(),
        handshaken: false,
        closed: false,
    };
    // The handshake answer is the first event; bytes already read may hold it.
    let mut pending = std::mem::take(&mut buf);
    let mut chunk = vec![0u8; 8 * 1024];
    loop {
        sse.feed(&pending, &mut |_| {})?;
        if sse.handshaken {
            break;
        }
        if sse.closed {
            return Err(ConnectError::Refused("event stream ended".into()));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(ConnectError::Http(HttpError::Closed));
        }
        pending.clear();
        pending.extend_from_slice(&chunk[..n]);
    }
    Ok(Box::pin(async move {
        sse_loop(stream, sse, dialer, path, chunk, &tally).await;
        tally.borrow_mut().closed += 1;
    }))
}

/// The decoding state of one event stream.
struct SseStream {
    chunked: bool,
    chunks: ChunkDecoder,
    body: Vec<u8>,
    events: EventParser,
    handshaken: bool,
    closed: bool,
}

impl SseStream {
    /// Feeds socket bytes; `stamp` gets every record after the handshake.
    fn feed(&mut self, input: &[u8], stamp: &mut dyn FnMut(&[u8])) -> Result<(), ConnectError> {
        let body: &[u8] = if self.chunked {
            self.body.clear();
            if self.chunks.feed(input, &mut self.body).map_err(refused)? {
                self.closed = true;
            }
            &self.body
        } else {
            input
        };
        let (handshaken, closed) = (&mut self.handshaken, &mut self.closed);
        let mut failed = None;
        self.events
            .feed(body, |data| {
                let data = data.strip_suffix(&[signalr::RS]).unwrap_or(data);
                for record in data.split(|b| *b == signalr::RS) {
                    if !*handshaken {
                        if let Err(e) = check_handshake(record) {
                            failed.get_or_insert(e);
                        }
                        *handshaken = true;
                    } else if is_close(record) {
                        *closed = true;
                    } else {
                        stamp(record);
                    }
                }
            })
            .map_err(refused)?;
        failed.map_or(Ok(()), Err)
    }
}

async fn sse_loop(
    mut stream: TcpStream,
    mut sse: SseStream,
    dialer: Dialer,
    path: String,
    mut chunk: Vec<u8>,
    tally: &RefCell<Tally>,
) {
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        let n = tokio::select! {
            read = stream.read(&mut chunk) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            _ = ping.tick() => {
                if dialer.send(&path, signalr::PING).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let now = stamp::now_micros();
        let mut tally = tally.borrow_mut();
        let fed = sse.feed(&chunk[..n], &mut |record| {
            stamp::scan(record, |sent| tally.record(sent, now));
        });
        if fed.is_err() || sse.closed {
            return;
        }
    }
}

/// Connects over long polling (negotiate, the first poll, handshake, polls until the handshake
/// answer) and returns the poll loop, which counts into `tally`.
pub async fn open_long_polling(
    server: SocketAddr,
    options: ConnectOptions,
    ports: Rc<Cell<u16>>,
    tally: Rc<RefCell<Tally>>,
) -> Result<Running, ConnectError> {
    let dialer = Dialer {
        server,
        options,
        ports,
        host: server.to_string(),
    };
    let path = dialer.negotiate().await?;
    let mut poller = Poller {
        stream: dialer.dial().await?,
        buf: Vec::new(),
        request: format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", dialer.host).into_bytes(),
    };
    // The first poll answers at once: the connection is up.
    let first = poller.poll(&dialer).await?;
    if !matches!(
        parse_poll(first.status, &first.body).map_err(refused)?,
        PollAnswer::Records(_)
    ) {
        return Err(ConnectError::Refused("closed on the first poll".into()));
    }
    dialer.send(&path, signalr::HANDSHAKE).await?;
    let answer = poller.poll(&dialer).await?;
    let PollAnswer::Records(records) = parse_poll(answer.status, &answer.body).map_err(refused)?
    else {
        return Err(ConnectError::Refused("closed before the handshake".into()));
    };
    let handshake = records
        .first()
        .ok_or_else(|| ConnectError::Refused("no handshake answer".into()))?;
    check_handshake(handshake)?;
    Ok(Box::pin(async move {
        lp_loop(poller, dialer, path, &tally).await;
        tally.borrow_mut().closed += 1;
    }))
}

/// The polling connection (kept alive between polls, reopened if the server closes it).
struct Poller {
    stream: TcpStream,
    buf: Vec<u8>,
    request: Vec<u8>,
}

impl Poller {
    async fn poll(&mut self, dialer: &Dialer) -> Result<Response, ConnectError> {
        match http_wire::exchange(&mut self.stream, &self.request, &mut self.buf).await {
            Ok(response) => Ok(response),
            // The server closed the keep-alive connection: poll again on a new one.
            Err(HttpError::Closed | HttpError::Io(_)) => {
                self.stream = dialer.dial().await?;
                self.buf.clear();
                Ok(http_wire::exchange(&mut self.stream, &self.request, &mut self.buf).await?)
            }
            Err(e) => Err(e.into()),
        }
    }
}

async fn lp_loop(mut poller: Poller, dialer: Dialer, path: String, tally: &RefCell<Tally>) {
    let mut last_ping = Instant::now();
    loop {
        if last_ping.elapsed() >= LP_PING_AFTER {
            if dialer.send(&path, signalr::PING).await.is_err() {
                return;
            }
            last_ping = Instant::now();
        }
        let Ok(answer) = poller.poll(&dialer).await else {
            return;
        };
        let now = stamp::now_micros();
        let Ok(PollAnswer::Records(records)) = parse_poll(answer.status, &answer.body) else {
            return;
        };
        let mut tally = tally.borrow_mut();
        for record in records {
            if is_close(record) {
                return;
            }
            stamp::scan(record, |sent| tally.record(sent, now));
        }
    }
}

#[cfg(test)]
#[path = "sse_lp_tests.rs"]
mod tests;

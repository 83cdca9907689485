//! The floor: the thinnest honest WebSocket broadcast server, on one thread. Each broadcast is
//! framed once and the same bytes are queued to every connection (bounded queue; a full queue
//! drops the connection, like Herald's slow-consumer rule); each connection's writer drains its
//! queue into one write. It accepts the same `POST /broadcast` body as the peer
//! (`{"target","arguments"}`) and sends that JSON text as the frame, about the size of a SignalR
//! invocation. Nothing else: no protocol, no ids, no auth. What Herald costs above this is what
//! its features cost.

use crate::ws_frame::{self, OP_CLOSE, OP_TEXT};
use base64::Engine as _;
use bytes::Bytes;
use sha1::{Digest, Sha1};
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Frames queued per connection before it counts as a slow consumer (Herald's default).
const QUEUE: usize = 1024;
/// The GUID of RFC 6455's accept digest.
const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// The largest request head or body accepted.
const MAX_REQUEST: usize = 1024 * 1024;

/// Connection id → its queue.
type Registry = Rc<RefCell<HashMap<u64, mpsc::Sender<Bytes>>>>;

/// Serves on `listener` forever (run inside a `LocalSet`).
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    let registry: Registry = Rc::default();
    let mut next_id = 0u64;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        next_id += 1;
        tokio::task::spawn_local(handle(stream, next_id, Rc::clone(&registry)));
    }
}

/// The `Sec-WebSocket-Accept` value for `key`.
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(WS_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

async fn handle(mut stream: TcpStream, id: u64, registry: Registry) {
    let mut buf = Vec::new();
    loop {
        let Some((head, body)) = read_request(&mut stream, &mut buf).await else {
            return;
        };
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default().to_owned();
        let key = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case("sec-websocket-key"))
            .map(|(_, v)| v.trim().to_owned());
        if request_line.starts_with("POST /broadcast ") {
            broadcast(&registry, &body);
            if stream
                .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                .await
                .is_err()
            {
                return;
            }
        } else if let (true, Some(key)) = (request_line.starts_with("GET "), key) {
            let reply = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                accept_key(&key)
            );
            if stream.write_all(reply.as_bytes()).await.is_err() {
                return;
            }
            drop(buf);
            websocket(stream, id, registry).await;
            return;
        } else if stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Reads one request: head text and body (by `Content-Length`). `None` on close or garbage.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(String, Vec<u8>)> {
    // On the heap and freed after the request, so an idle WebSocket keeps none of it.
    let mut chunk = vec![0u8; 4096];
    let end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        if buf.len() > MAX_REQUEST {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..end].to_vec()).ok()?;
    let len = head
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    if len > MAX_REQUEST {
        return None;
    }
    buf.drain(..end + 4);
    while buf.len() < len {
        let n = stream.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf.drain(..len).collect();
    Some((head, body))
}

fn broadcast(registry: &Registry, body: &[u8]) {
    let frame = Bytes::from(ws_frame::server_frame(OP_TEXT, body));
    registry
        .borrow_mut()
        .retain(|_, queue| queue.try_send(frame.clone()).is_ok());
}

async fn websocket(stream: TcpStream, id: u64, registry: Registry) {
    let (mut read, write) = stream.into_split();
    let (tx, rx) = mpsc::channel(QUEUE);
    registry.borrow_mut().insert(id, tx);
    let writer = tokio::task::spawn_local(write_queue(write, rx));
    // Clients only send pongs and close; read until the connection ends. Small buffers: idle
    // memory per connection is one of the figures the floor sets.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 256];
    'read: loop {
        match read.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        loop {
            match ws_frame::parse(&buf) {
                Ok(Some(frame)) if frame.opcode == OP_CLOSE => break 'read,
                Ok(Some(frame)) => {
                    buf.drain(..frame.total_len());
                }
                Ok(None) => break,
                Err(_) => break 'read,
            }
        }
    }
    registry.borrow_mut().remove(&id);
    writer.abort();
}

async fn write_queue(mut write: OwnedWriteHalf, mut rx: mpsc::Receiver<Bytes>) {
    let mut batch = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.clear();
        batch.extend_from_slice(&first);
        while let Ok(more) = rx.try_recv() {
            batch.extend_from_slice(&more);
            if batch.len() > 64 * 1024 {
                break;
            }
        }
        if write.write_all(&batch).await.is_err() {
            return;
        }
        if batch.capacity() > 64 * 1024 {
            batch = Vec::new();
        }
    }
}

/// The address the floor listens on, for the binary.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_6455_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[tokio::test]
    async fn request_parser_reads_keep_alive_requests() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(
                b"POST /broadcast HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n",
            )
            .await
            .unwrap();
            s
        });
        let (mut server, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let (head, body) = read_request(&mut server, &mut buf).await.unwrap();
        assert!(head.starts_with("POST /broadcast"));
        assert_eq!(body, b"abc");
        let (head, body) = read_request(&mut server, &mut buf).await.unwrap();
        assert!(head.starts_with("GET / "));
        assert!(body.is_empty());
        drop(client.await.unwrap());
    }
}

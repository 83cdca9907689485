//! Opening one benchmark connection the way a real client does, per flavor: Herald gets
//! `negotiate` + WebSocket upgrade + JSON handshake (on one keep-alive TCP connection, as HTTP/1.1
//! clients reuse it), socket.io gets the WebSocket upgrade + engine.io `open` + namespace
//! `CONNECT`, the floor gets the upgrade alone.

use crate::engineio::{self, Packet};
use crate::flavor::{Flavor, HUB};
use crate::http_wire::{self, HttpError};
use crate::signalr;
use crate::ws_frame::{self, FrameError, OP_CLOSE, OP_TEXT};
use std::cell::Cell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The `Sec-WebSocket-Key` every connection sends; the servers only echo its digest.
const WS_KEY: &str = "aGVyYWxkLWJlbmNoLWtleQ==";

/// Why a connection could not be opened.
#[derive(Debug, Error)]
pub enum ConnectError {
    /// TCP or HTTP failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The socket failed.
    #[error("connect i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A frame was malformed.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The server refused a step.
    #[error("{0}")]
    Refused(String),
}

/// An open connection: the socket and the bytes already read past the handshake.
pub struct Link {
    /// The socket.
    pub stream: TcpStream,
    /// Bytes received but not yet parsed.
    pub buf: Vec<u8>,
}

/// Options of a connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectOptions {
    /// Local address to bind (127.0.0.x spreads the source ports).
    pub source: IpAddr,
    /// `SO_RCVBUF` to set, for the slow consumer (small, so the server's queue fills fast).
    pub recv_buffer: Option<u32>,
}

/// Opens a connection of `flavor` to `server`.
pub async fn open(
    flavor: Flavor,
    server: SocketAddr,
    options: ConnectOptions,
    ports: Rc<Cell<u16>>,
) -> Result<Link, ConnectError> {
    let stream = dial(server, options, ports).await?;
    let mut link = Link {
        stream,
        buf: Vec::with_capacity(1024),
    };
    let host = server.to_string();
    match flavor {
        Flavor::Herald => {
            let req = http_wire::request("POST", &signalr::negotiate_path(HUB), &host, "", b"");
            let reply = http_wire::exchange(&mut link.stream, &req, &mut link.buf).await?;
            if reply.status != 200 {
                return Err(ConnectError::Refused(format!(
                    "negotiate answered {}",
                    reply.status
                )));
            }
            let token = signalr::connection_token(&reply.body)
                .ok_or_else(|| ConnectError::Refused("negotiate without a token".into()))?;
            upgrade(&mut link, &host, &signalr::connect_path(HUB, &token)).await?;
            send_text(&mut link.stream, signalr::HANDSHAKE).await?;
            let record = next_text(&mut link).await?;
            let record = record.strip_suffix(&[signalr::RS]).unwrap_or(&record);
            if !signalr::handshake_accepted(record) {
                return Err(ConnectError::Refused(format!(
                    "handshake refused: {}",
                    String::from_utf8_lossy(record)
                )));
            }
        }
        Flavor::SocketIo => {
            upgrade(&mut link, &host, engineio::PATH).await?;
            let open = next_text(&mut link).await?;
            if engineio::classify(&open) != Packet::Open {
                return Err(ConnectError::Refused("no engine.io open packet".into()));
            }
            send_text(&mut link.stream, engineio::CONNECT).await?;
            loop {
                let packet = next_text(&mut link).await?;
                match engineio::classify(&packet) {
                    Packet::Connected => break,
                    Packet::Ping => send_text(&mut link.stream, engineio::PONG).await?,
                    Packet::Closed => {
                        return Err(ConnectError::Refused("socket.io refused connect".into()));
                    }
                    _ => {}
                }
            }
        }
        Flavor::Floor => upgrade(&mut link, &host, "/").await?,
    }
    Ok(link)
}

/// Opens a TCP connection to `server` from `options.source` on the next port of `ports`
/// (`TCP_NODELAY` set).
pub async fn dial(
    server: SocketAddr,
    options: ConnectOptions,
    ports: Rc<Cell<u16>>,
) -> std::io::Result<TcpStream> {
    let socket = if server.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    bind_source(&socket, options.source, ports)?;
    if let Some(size) = options.recv_buffer {
        socket.set_recv_buffer_size(size)?;
    }
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Lowest source port handed out.
const FIRST_PORT: u16 = 1024;

/// Binds `socket` to `ip` and the next port of `ports`. Binding to port 0 makes the kernel search
/// the port range for a free port on every connect, which costs milliseconds once thousands are
/// taken (measured: most of a worker's CPU while connecting); explicit ports cost nothing.
/// `SO_REUSEADDR` lets a port still in TIME_WAIT from an earlier run be taken again.
fn bind_source(socket: &TcpSocket, ip: IpAddr, ports: Rc<Cell<u16>>) -> std::io::Result<()> {
    socket.set_reuseaddr(true)?;
    let mut last_error = None;
    for _ in 0..64 {
        let port = ports.get();
        ports.set(if port == u16::MAX {
            FIRST_PORT
        } else {
            port + 1
        });
        match socket.bind(SocketAddr::new(ip, port)) {
            Ok(()) => return Ok(()),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no source port")))
}

/// A fresh source-port counter.
pub fn source_ports() -> Rc<Cell<u16>> {
    Rc::new(Cell::new(FIRST_PORT))
}

async fn upgrade(link: &mut Link, host: &str, path: &str) -> Result<(), ConnectError> {
    let extra = format!(
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {WS_KEY}\r\nSec-WebSocket-Version: 13\r\n"
    );
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n").into_bytes();
    req.shrink_to_fit();
    let reply = http_wire::exchange(&mut link.stream, &req, &mut link.buf).await?;
    if reply.status != 101 {
        return Err(ConnectError::Refused(format!(
            "upgrade of {path} answered {}",
            reply.status
        )));
    }
    Ok(())
}

/// Sends one masked text frame.
pub async fn send_text(stream: &mut TcpStream, payload: &[u8]) -> std::io::Result<()> {
    stream
        .write_all(&ws_frame::client_frame(OP_TEXT, payload, mask_key()))
        .await
}

/// A masking key; clients must mask, the value does not matter to a benchmark.
pub fn mask_key() -> [u8; 4] {
    [0x37, 0xfa, 0x21, 0x3d]
}

/// Reads frames until a text frame arrives and returns its payload (connect phase only; the hot
/// path parses in place).
async fn next_text(link: &mut Link) -> Result<Vec<u8>, ConnectError> {
    loop {
        if let Some(frame) = ws_frame::parse(&link.buf)? {
            let payload = link.buf[frame.payload_start..frame.total_len()].to_vec();
            link.buf.drain(..frame.total_len());
            match frame.opcode {
                OP_TEXT => return Ok(payload),
                OP_CLOSE => return Err(ConnectError::Refused("closed during handshake".into())),
                _ => continue,
            }
        }
        let mut chunk = [0u8; 4096];
        let n = link.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(ConnectError::Http(HttpError::Closed));
        }
        link.buf.extend_from_slice(&chunk[..n]);
    }
}

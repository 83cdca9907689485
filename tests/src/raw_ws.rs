//! A raw WebSocket client for sending malformed input: no SignalR logic of its own.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::HandshakeError;
use tungstenite::http::HeaderValue;
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::{Error, Message, WebSocket};

/// The longest single blocking read, so that deadlines are honoured.
const READ_SLICE: Duration = Duration::from_millis(200);

/// One thing received from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsFrame {
    /// A text data frame.
    Text(String),
    /// A binary data frame.
    Binary(Vec<u8>),
    /// A WebSocket close frame, with its code when it had one.
    Close(Option<u16>),
    /// The TCP connection ended without a close frame.
    Gone,
}

/// Why a WebSocket connection could not be opened.
#[derive(Debug, Clone)]
pub struct ConnectError {
    /// The HTTP status of the refused upgrade, when the server answered one.
    pub status: Option<u16>,
    /// A description of the failure.
    pub message: String,
}

/// A connected WebSocket over plain TCP.
pub struct RawWs {
    socket: WebSocket<TcpStream>,
    closed: bool,
}

impl RawWs {
    /// Opens `url` (`ws://127.0.0.1:<port>/...`), with `Authorization: Bearer` when given.
    pub fn connect(url: &str, bearer: Option<&str>) -> Result<Self, ConnectError> {
        let mut request = url.into_client_request().map_err(|e| ConnectError {
            status: None,
            message: e.to_string(),
        })?;
        if let Some(token) = bearer {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).expect("header value");
            request.headers_mut().insert("Authorization", value);
        }
        let authority = request
            .uri()
            .authority()
            .expect("ws URL with host and port")
            .to_string();
        let stream = TcpStream::connect(&authority).map_err(|e| ConnectError {
            status: None,
            message: e.to_string(),
        })?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set read timeout");
        match tungstenite::client(request, stream) {
            Ok((socket, _response)) => Ok(Self {
                socket,
                closed: false,
            }),
            Err(HandshakeError::Failure(Error::Http(response))) => Err(ConnectError {
                status: Some(response.status().as_u16()),
                message: format!("upgrade refused: {}", response.status()),
            }),
            Err(other) => Err(ConnectError {
                status: None,
                message: other.to_string(),
            }),
        }
    }

    /// Sends one text frame.
    pub fn send_text(&mut self, text: &str) {
        self.send(Message::text(text));
    }

    /// Sends one binary frame.
    pub fn send_binary(&mut self, bytes: &[u8]) {
        self.send(Message::binary(bytes.to_vec()));
    }

    /// Sends a text frame whose payload is `bytes` as is, even when it is not UTF-8.
    pub fn send_raw_text_frame(&mut self, bytes: &[u8]) {
        self.send(Message::Frame(Frame::message(
            bytes.to_vec(),
            OpCode::Data(Data::Text),
            true,
        )));
    }

    /// Starts the WebSocket closing handshake with a normal (1000) close frame.
    pub fn close(&mut self) {
        let _ = self.socket.close(None);
        let _ = self.socket.flush();
    }

    fn send(&mut self, message: Message) {
        // The server may already have closed; a failed write shows in what is read next.
        let _ = self.socket.send(message);
    }

    /// The next data or close frame, or `None` when `deadline` passes first. Pings and pongs
    /// are skipped; after the connection ended every call returns [`WsFrame::Gone`].
    pub fn next_frame(&mut self, deadline: Instant) -> Option<WsFrame> {
        if self.closed {
            return Some(WsFrame::Gone);
        }
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return None;
            }
            self.socket
                .get_mut()
                .set_read_timeout(Some(remaining.min(READ_SLICE)))
                .expect("set read timeout");
            match self.socket.read() {
                Ok(Message::Text(text)) => return Some(WsFrame::Text(text.to_string())),
                Ok(Message::Binary(bytes)) => return Some(WsFrame::Binary(bytes.to_vec())),
                Ok(Message::Close(frame)) => {
                    return Some(WsFrame::Close(frame.map(|f| u16::from(f.code))));
                }
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
                Err(Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => {
                    self.closed = true;
                    return Some(WsFrame::Gone);
                }
            }
        }
    }

    /// Reads until the connection ends or `deadline` passes. Returns the data frames received
    /// (text and binary) and whether the connection ended (close frame or TCP end).
    pub fn read_until_closed(&mut self, deadline: Instant) -> (Vec<WsFrame>, bool) {
        let mut frames = Vec::new();
        loop {
            match self.next_frame(deadline) {
                None => return (frames, false),
                Some(WsFrame::Close(_) | WsFrame::Gone) => return (frames, true),
                Some(frame) => frames.push(frame),
            }
        }
    }
}

/// The concatenated payloads of data frames, in order.
pub fn payload_bytes(frames: &[WsFrame]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for frame in frames {
        match frame {
            WsFrame::Text(text) => bytes.extend_from_slice(text.as_bytes()),
            WsFrame::Binary(data) => bytes.extend_from_slice(data),
            WsFrame::Close(_) | WsFrame::Gone => {}
        }
    }
    bytes
}

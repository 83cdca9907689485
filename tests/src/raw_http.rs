//! HTTP/1.1 over a plain `TcpStream`, for requests an HTTP client library will not make: a
//! body sent in slow pieces, a `Content-Length` larger than what is sent, an endless chunked
//! body.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The longest single blocking read, so that deadlines are honoured.
const READ_SLICE: Duration = Duration::from_millis(200);
/// The longest blocking write: a server that stops reading fails the write instead of hanging.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// A status line, headers and body as read from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// The HTTP status code.
    pub status: u16,
    /// Header names (lowercased) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: String,
}

/// One HTTP/1.1 request on its own TCP connection.
pub struct RawHttp {
    stream: TcpStream,
    received: Vec<u8>,
}

impl RawHttp {
    /// Connects to `host_port` (`127.0.0.1:<port>`) and writes the request line and headers of
    /// `method path`, with `Host` and `headers`; the body, if any, is written with [`Self::write`].
    pub fn start(host_port: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Self {
        let mut stream = TcpStream::connect(host_port).expect("connect to herald");
        stream.set_nodelay(true).expect("set TCP_NODELAY");
        stream
            .set_write_timeout(Some(WRITE_TIMEOUT))
            .expect("set write timeout");
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host_port}\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream
            .write_all(head.as_bytes())
            .expect("write the request head");
        Self {
            stream,
            received: Vec::new(),
        }
    }

    /// Writes body bytes; returns whether the write succeeded (the server may have answered
    /// and closed already).
    pub fn write(&mut self, bytes: &[u8]) -> bool {
        self.stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
            .is_ok()
    }

    /// Whether the server has answered anything by now (without waiting).
    pub fn has_answered(&mut self) -> bool {
        self.fill(Instant::now() + Duration::from_millis(1));
        !self.received.is_empty()
    }

    /// Reads the whole response; `None` when it is not complete by `deadline`.
    pub fn response(&mut self, deadline: Instant) -> Option<RawResponse> {
        loop {
            if let Some(response) = parse(&self.received, false) {
                return Some(response);
            }
            if !self.fill(deadline) {
                // The connection ended: what arrived is all there is.
                return parse(&self.received, true);
            }
            if Instant::now() >= deadline {
                return None;
            }
        }
    }

    /// Reads what is available until `deadline`; returns `false` when the connection ended.
    fn fill(&mut self, deadline: Instant) -> bool {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let slice = remaining.clamp(Duration::from_millis(1), READ_SLICE);
        self.stream
            .set_read_timeout(Some(slice))
            .expect("set read timeout");
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.received.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => true,
            Err(_) => false,
        }
    }
}

/// Parses a complete response out of `bytes`; with `ended`, a body without length ends here.
fn parse(bytes: &[u8], ended: bool) -> Option<RawResponse> {
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..head_end]);
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let rest = &bytes[head_end + 4..];
    let body = if let Some(length) = header("content-length") {
        let length: usize = length.parse().ok()?;
        if rest.len() < length {
            return None;
        }
        rest[..length].to_vec()
    } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        dechunk(rest)?
    } else if ended {
        rest.to_vec()
    } else {
        return None;
    };
    Some(RawResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The body of a complete chunked encoding, or `None` while the last chunk is missing.
fn dechunk(mut bytes: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = bytes.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&bytes[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim().to_owned();
        let size = usize::from_str_radix(&size_text, 16).ok()?;
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        if bytes.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&bytes[..size]);
        bytes = &bytes[size + 2..];
    }
}

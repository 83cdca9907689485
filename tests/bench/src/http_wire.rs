//! Just enough HTTP/1.1 for the load generator: write a request, read a response head and a
//! `Content-Length` body from a stream, keeping whatever bytes follow (the first WebSocket
//! frames after a `101`) for the caller.

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest response head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// The largest response body accepted.
const MAX_BODY: usize = 1024 * 1024;

/// Why an HTTP exchange failed.
#[derive(Debug, Error)]
pub enum HttpError {
    /// The socket failed.
    #[error("http i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed before a whole response arrived.
    #[error("connection closed before the whole http response arrived")]
    Closed,
    /// The response is not HTTP/1.1 as expected.
    #[error("malformed http response: {0}")]
    Malformed(&'static str),
}

/// A response: status, lower-cased headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body (empty without `Content-Length`).
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Builds a request head (and body) for `method` `path` on `host`, with `extra` header lines
/// (each ending in `\r\n`).
pub fn request(method: &str, path: &str, host: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Writes `req` and reads the response; `buf` holds bytes already read from the stream before
/// and keeps the bytes read past the response.
pub async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    req: &[u8],
    buf: &mut Vec<u8>,
) -> Result<Response, HttpError> {
    stream.write_all(req).await?;
    read_response(stream, buf).await
}

/// Reads one response from `stream` (after the bytes already in `buf`), leaving the bytes that
/// follow it in `buf`.
pub async fn read_response<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> Result<Response, HttpError> {
    let head_end = loop {
        if let Some(at) = find_head_end(buf) {
            break at;
        }
        if buf.len() > MAX_HEAD {
            return Err(HttpError::Malformed("response head too large"));
        }
        fill(stream, buf).await?;
    };
    let (status, headers) = parse_head(&buf[..head_end])?;
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    buf.drain(..head_end + 4);
    if status == 101 {
        return Ok(response);
    }
    let len = match response.header("content-length") {
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map_err(|_| HttpError::Malformed("bad content-length"))?,
        None => 0,
    };
    if len > MAX_BODY {
        return Err(HttpError::Malformed("response body too large"));
    }
    while buf.len() < len {
        fill(stream, buf).await?;
    }
    response.body = buf.drain(..len).collect();
    Ok(response)
}

async fn fill<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> Result<(), HttpError> {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        return Err(HttpError::Closed);
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Parses a response head (without the final blank line) into status and headers.
pub fn parse_head(head: &[u8]) -> Result<(u16, Vec<(String, String)>), HttpError> {
    let text = std::str::from_utf8(head).map_err(|_| HttpError::Malformed("head not utf-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err(HttpError::Malformed("no HTTP/1.x status line"));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or(HttpError::Malformed("bad status code"))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok((status, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_body_and_keeps_the_rest() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-A: b\r\n\r\nabcNEXT".to_vec();
        let mut stream = &wire[..];
        let mut buf = Vec::new();
        let response = read_response(&mut stream, &mut buf).await.unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.header("x-a"), Some("b"));
        assert_eq!(response.body, b"abc");
        assert_eq!(buf, b"NEXT");
    }

    #[tokio::test]
    async fn upgrade_keeps_the_first_frame() {
        let wire =
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x01x".to_vec();
        let mut stream = &wire[..];
        let mut buf = Vec::new();
        let response = read_response(&mut stream, &mut buf).await.unwrap();
        assert_eq!(response.status, 101);
        assert_eq!(buf, b"\x81\x01x");
    }

    #[tokio::test]
    async fn garbage_and_truncation_are_errors() {
        let mut stream = &b"SMTP ready\r\n\r\n"[..];
        assert!(matches!(
            read_response(&mut stream, &mut Vec::new()).await,
            Err(HttpError::Malformed(_))
        ));
        let mut stream = &b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab"[..];
        assert!(matches!(
            read_response(&mut stream, &mut Vec::new()).await,
            Err(HttpError::Closed)
        ));
    }
}

//! A tiny HTTP/1.1 server on `127.0.0.1:0` for the upstream tests: records each request and
//! answers it with a canned reply, or never answers at all.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::Duration;

/// One request as received.
#[derive(Debug, Clone)]
pub(super) struct Recorded {
    /// `POST`, ...
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The value of header `name` (lowercase), if present once or more (first wins).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub(super) struct Reply {
    pub status: u16,
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            content_type: None,
            body: Vec::new(),
        }
    }

    pub fn body(status: u16, content_type: Option<&'static str>, body: &[u8]) -> Self {
        Self {
            status,
            content_type,
            body: body.to_vec(),
        }
    }
}

/// A running server; stops accepting when dropped.
pub(super) struct TestServer {
    addr: SocketAddr,
    requests: Receiver<Recorded>,
    stop: Arc<AtomicBool>,
}

impl TestServer {
    /// Answers every request with `reply`.
    pub fn replying(reply: Reply) -> Self {
        Self::start(Some(reply))
    }

    /// Reads requests and never answers (until the client gives up).
    pub fn silent() -> Self {
        Self::start(None)
    }

    fn start(reply: Option<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let (tx, requests) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (tx, reply) = (tx.clone(), reply.clone());
                thread::spawn(move || serve(stream, &tx, reply.as_ref()));
            }
        });
        Self {
            addr,
            requests,
            stop,
        }
    }

    /// `http://127.0.0.1:port` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next request received (waits up to 5 s).
    pub fn next_request(&self) -> Recorded {
        self.requests
            .recv_timeout(Duration::from_secs(5))
            .expect("the test server received no request")
    }

    /// True when no request arrived (checked without waiting long).
    pub fn received_nothing(&self) -> bool {
        self.requests
            .recv_timeout(Duration::from_millis(50))
            .is_err()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(mut stream: TcpStream, tx: &Sender<Recorded>, reply: Option<&Reply>) {
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    let _ = tx.send(request);
    match reply {
        Some(reply) => {
            let mut head = format!(
                "HTTP/1.1 {} Test\r\nContent-Length: {}\r\nConnection: close\r\n",
                reply.status,
                reply.body.len()
            );
            if let Some(content_type) = reply.content_type {
                head.push_str(&format!("Content-Type: {content_type}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&reply.body);
        }
        // Hold the connection open until the client closes it.
        None => {
            let mut sink = [0u8; 256];
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        }
    }
}

/// Reads one request with a `Content-Length` body; `None` on a closed or malformed stream.
fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut buf).ok().filter(|n| *n > 0)?;
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = data.split_off(head_end + 4);
    while body.len() < length {
        let n = stream.read(&mut buf).ok().filter(|n| *n > 0)?;
        body.extend_from_slice(&buf[..n]);
    }
    Some(Recorded {
        method,
        target,
        headers,
        body,
    })
}

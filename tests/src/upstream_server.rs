//! A stand-in for an application's upstream endpoint (what an Azure Functions `SignalRTrigger`
//! receives): a small HTTP/1.1 server on a free loopback port that records every request and
//! answers through a handler the test supplies.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Instant;

/// One request the upstream received.
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    /// Method, e.g. `POST`.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers with lowercase names.
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
}

impl UpstreamRequest {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The body parsed as JSON (a trailing record separator is ignored).
    pub fn json(&self) -> serde_json::Value {
        let body = self.body.strip_suffix(b"\x1e").unwrap_or(&self.body);
        serde_json::from_slice(body)
            .unwrap_or_else(|e| panic!("upstream body is not JSON ({e}): {:?}", self.body))
    }
}

/// What the upstream answers: status, content type, body.
pub type Reply = (u16, &'static str, Vec<u8>);

type Handler = dyn Fn(&UpstreamRequest) -> Reply + Send + Sync;

/// The running upstream; it stops with the test process.
pub struct UpstreamServer {
    port: u16,
    requests: Arc<Mutex<Vec<UpstreamRequest>>>,
}

impl UpstreamServer {
    /// Starts answering with `handler`.
    pub fn start(handler: impl Fn(&UpstreamRequest) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the upstream");
        let port = listener.local_addr().expect("upstream address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let recorded = requests.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let recorded = recorded.clone();
                let handler = handler.clone();
                thread::spawn(move || serve(stream, &recorded, &*handler));
            }
        });
        Self { port, requests }
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL template to configure Herald with.
    pub fn url_template(&self) -> String {
        format!(
            "http://127.0.0.1:{}/{{hub}}/api/{{category}}/{{event}}",
            self.port
        )
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<UpstreamRequest> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits for a request to `path`.
    pub fn wait_for(&self, path: &str, deadline: Instant) -> UpstreamRequest {
        crate::poll_until(deadline, || {
            self.requests().into_iter().find(|r| r.path == path)
        })
        .unwrap_or_else(|| panic!("no upstream request to {path}; saw {:?}", self.paths()))
    }

    fn paths(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.path).collect()
    }
}

fn serve(stream: TcpStream, recorded: &Mutex<Vec<UpstreamRequest>>, handler: &Handler) {
    let mut writer = match stream.try_clone() {
        Ok(writer) => writer,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    // Keep-alive: serve requests until the client closes.
    while let Some(request) = read_request(&mut reader) {
        recorded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request.clone());
        let (status, content_type, body) = handler(&request);
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        if writer
            .write_all(head.as_bytes())
            .and_then(|()| writer.write_all(&body))
            .is_err()
        {
            return;
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<UpstreamRequest> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(UpstreamRequest {
        method,
        path,
        headers,
        body,
    })
}

//! A canned admin API on `127.0.0.1:0` for the `herald ctl` tests: answers each connection
//! with the next reply of its script (one request per connection, `Connection: close`) and
//! records what it was asked.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::Duration;

use tokio::sync::oneshot;

/// One request as received.
#[derive(Debug, Clone)]
pub(super) struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One canned answer.
#[derive(Debug, Clone)]
pub(super) struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    /// `status` with a JSON body.
    pub fn json(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
            body: body.to_owned(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// A server answering its script, then refusing further connections.
pub(super) struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    requests: Receiver<Recorded>,
}

impl TestServer {
    pub fn start(script: Vec<Reply>) -> Self {
        Self::serve(script, None)
    }

    /// Like [`TestServer::start`], then accepts one more connection, never answers it and
    /// resolves the returned receiver: the client has asked for more than the script, which
    /// is how a `--watch` test knows every scripted frame was shown.
    pub fn start_then_signal(script: Vec<Reply>) -> (Self, oneshot::Receiver<()>) {
        let (done, signal) = oneshot::channel();
        (Self::serve(script, Some(done)), signal)
    }

    fn serve(script: Vec<Reply>, done: Option<oneshot::Sender<()>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let (record, requests) = mpsc::channel();
        thread::spawn(move || {
            for reply in script {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                if answer(stream, &reply, &record).is_err() {
                    return;
                }
            }
            if let Some(done) = done
                && let Ok((_unanswered, _)) = listener.accept()
            {
                // Signal while the connection is still open, so the client sees the signal
                // before any error from this connection.
                let _ = done.send(());
            }
        });
        Self { url, requests }
    }

    /// The requests answered so far, in order. Each is recorded before its reply is written, so
    /// once the client has its answers they are all here.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.try_iter().collect()
    }
}

/// A URL where nothing listens: a port just bound and released.
pub(super) fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let url = format!("http://{}", listener.local_addr().expect("local address"));
    drop(listener);
    url
}

fn answer(stream: TcpStream, reply: &Reply, record: &Sender<Recorded>) -> std::io::Result<()> {
    // A client that never finishes its request must fail the test, not hang it.
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let Some((name, value)) = line.trim_end().split_once(':') else {
            break;
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    reader.read_exact(&mut vec![0; length])?;
    let _ = record.send(Recorded {
        method,
        target,
        headers,
    });
    let mut response = format!(
        "HTTP/1.1 {} Canned\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(&reply.body);
    let mut stream = stream;
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

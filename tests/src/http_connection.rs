//! A SignalR connection driven by hand over plain HTTP, as the Server-Sent Events and long
//! polling transports use it: negotiate, polls or an event stream to receive, `POST` to send,
//! `DELETE` to close. Requests go out exactly as written, for tests of the status codes.

use crate::frames::RS;
use crate::negotiate::{connection_token, negotiate};
use crate::process::HeraldProcess;
use crate::rest::{Auth, Reply};
use std::io::Read;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::{Duration, Instant};
use ureq::Agent;

/// Upper bound of one request: longer than herald's 90 s poll timeout is never needed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A negotiated connection of one hub on an anonymous-mode server.
pub struct HttpConnection {
    base_url: String,
    hub: String,
    token: String,
    agent: Agent,
}

impl HttpConnection {
    /// Negotiates (version 1) a connection to `hub` without a token.
    pub fn negotiate(server: &HeraldProcess, hub: &str) -> Self {
        let reply = negotiate(server, hub, "", &Auth::None);
        reply.assert_status(200);
        Self {
            base_url: server.base_url(),
            hub: hub.to_owned(),
            token: connection_token(&reply),
            agent: agent(),
        }
    }

    /// The connection token, the `id` of every request.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// `/client/?hub=<hub>&id=<token>`.
    pub fn path(&self) -> String {
        format!("/client/?hub={}&id={}", self.hub, self.token)
    }

    /// The full URL of [`Self::path`].
    pub fn url(&self) -> String {
        format!("{}{}", self.base_url, self.path())
    }

    /// One long poll (`GET`), waiting for its answer.
    pub fn poll(&self) -> Reply {
        request(&self.agent, "GET", &self.url(), None, &[])
    }

    /// A long poll answered on another thread.
    pub fn poll_in_background(&self) -> PendingReply {
        PendingReply::spawn("GET", &self.url(), None, &[])
    }

    /// `POST` of `body` as a client send.
    pub fn post(&self, body: &[u8]) -> Reply {
        let headers = [("Content-Type", "text/plain")];
        request(&self.agent, "POST", &self.url(), Some(body), &headers)
    }

    /// `DELETE`: the client ends the connection.
    pub fn delete(&self) -> Reply {
        request(&self.agent, "DELETE", &self.url(), None, &[])
    }

    /// Sends the handshake request for `protocol` with `POST`.
    pub fn post_handshake(&self, protocol: &str) -> Reply {
        self.post(format!("{{\"protocol\":\"{protocol}\",\"version\":1}}{RS}").as_bytes())
    }
}

/// An HTTP exchange running on its own thread.
pub struct PendingReply {
    receiver: Receiver<Reply>,
    reply: Option<Reply>,
}

impl PendingReply {
    /// Starts `method url` with an optional body and extra headers.
    pub fn spawn(method: &str, url: &str, body: Option<Vec<u8>>, headers: &[(&str, &str)]) -> Self {
        let (sender, receiver) = channel();
        let (method, url) = (method.to_owned(), url.to_owned());
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        thread::spawn(move || {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let reply = request(&agent(), &method, &url, body.as_deref(), &headers);
            let _ = sender.send(reply);
        });
        Self {
            receiver,
            reply: None,
        }
    }

    /// The reply, once it arrived by `deadline`.
    pub fn wait(&mut self, deadline: Instant) -> Option<Reply> {
        if self.reply.is_none() {
            let timeout = deadline.saturating_duration_since(Instant::now());
            match self.receiver.recv_timeout(timeout) {
                Ok(reply) => self.reply = Some(reply),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
            }
        }
        self.reply.clone()
    }

    /// The reply if it has arrived, without waiting.
    pub fn try_now(&mut self) -> Option<Reply> {
        if self.reply.is_none() {
            self.reply = self.receiver.try_recv().ok();
        }
        self.reply.clone()
    }
}

/// A Server-Sent Events response read on another thread.
pub struct EventStream {
    receiver: Receiver<StreamPart>,
    status: Option<u16>,
    text: String,
    ended: bool,
}

enum StreamPart {
    Status(u16),
    Bytes(Vec<u8>),
    End,
}

impl EventStream {
    /// `GET url` with `Accept: text/event-stream`.
    pub fn open(url: &str) -> Self {
        let (sender, receiver) = channel();
        let url = url.to_owned();
        thread::spawn(move || {
            let response = agent()
                .get(&url)
                .header("Accept", "text/event-stream")
                .call();
            let Ok(response) = response else {
                let _ = sender.send(StreamPart::End);
                return;
            };
            let _ = sender.send(StreamPart::Status(response.status().as_u16()));
            let mut reader = response.into_body().into_reader();
            let mut chunk = [0u8; 16 * 1024];
            loop {
                match reader.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if sender.send(StreamPart::Bytes(chunk[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = sender.send(StreamPart::End);
        });
        Self {
            receiver,
            status: None,
            text: String::new(),
            ended: false,
        }
    }

    fn receive(&mut self, deadline: Instant) -> bool {
        if self.ended {
            return false;
        }
        let timeout = deadline.saturating_duration_since(Instant::now());
        match self.receiver.recv_timeout(timeout) {
            Ok(StreamPart::Status(status)) => self.status = Some(status),
            Ok(StreamPart::Bytes(bytes)) => self.text.push_str(&String::from_utf8_lossy(&bytes)),
            Ok(StreamPart::End) | Err(RecvTimeoutError::Disconnected) => self.ended = true,
            Err(RecvTimeoutError::Timeout) => return false,
        }
        true
    }

    /// The response status, once the headers arrived by `deadline`.
    pub fn status(&mut self, deadline: Instant) -> Option<u16> {
        while self.status.is_none() && self.receive(deadline) {}
        self.status
    }

    /// Reads until the body received so far satisfies `predicate` or `deadline` passes, and
    /// returns whether it does.
    pub fn read_until(&mut self, deadline: Instant, predicate: impl Fn(&str) -> bool) -> bool {
        while !predicate(&self.text) {
            if !self.receive(deadline) {
                return predicate(&self.text);
            }
        }
        true
    }

    /// Reads until the response ends; returns whether it ended by `deadline`.
    pub fn wait_end(&mut self, deadline: Instant) -> bool {
        while !self.ended {
            if !self.receive(deadline) && !self.ended {
                return false;
            }
        }
        true
    }

    /// The body received so far.
    pub fn text(&self) -> &str {
        &self.text
    }
}

fn agent() -> Agent {
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .build();
    Agent::new_with_config(config)
}

/// Runs one request; a transport failure is status 0 with the error text as body.
fn request(
    agent: &Agent,
    method: &str,
    url: &str,
    body: Option<&[u8]>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let result = match body {
        Some(bytes) => agent.run(builder.body(bytes).expect("valid request")),
        None => agent.run(builder.body(()).expect("valid request")),
    };
    match result {
        Ok(mut response) => Reply {
            status: response.status().as_u16(),
            body: response.body_mut().read_to_string().unwrap_or_default(),
        },
        Err(error) => Reply {
            status: 0,
            body: error.to_string(),
        },
    }
}

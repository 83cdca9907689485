//! A round-robin HTTP load balancer in front of several herald nodes, without sticky sessions:
//! every HTTP request goes to the next ready node.
//!
//! Each client TCP connection carries one request: the proxy reads the request head, picks a
//! backend, and rewrites `Connection` to `close` (WebSocket upgrades are left alone), so the
//! client opens a fresh connection — and gets the next node — for its next request. Backends
//! whose admin `/readyz` does not answer 200 are taken out of rotation by a health checker,
//! as a real load balancer does.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The largest request head the proxy reads.
const MAX_HEAD: usize = 64 * 1024;
/// How often the health checker asks every backend's `/readyz`.
const HEALTH_INTERVAL: Duration = Duration::from_millis(50);
/// Size of the buffer each forwarding thread copies through.
const COPY_BUFFER: usize = 16 * 1024;

/// One node behind the proxy.
struct Backend {
    /// The client/REST listener.
    listen: SocketAddr,
    /// The admin listener (`/readyz`).
    admin: SocketAddr,
    /// Whether the last health check answered 200.
    ready: AtomicBool,
    /// How many requests were sent to it.
    requests: AtomicUsize,
}

/// What the threads share with the handle.
struct Shared {
    backends: Vec<Backend>,
    next: AtomicUsize,
    stopping: AtomicBool,
    /// `(backend index, request line)` of every request, in order.
    log: Mutex<Vec<(usize, String)>>,
}

/// The proxy handle; it stops accepting when dropped.
pub struct RoundRobinProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
}

impl RoundRobinProxy {
    /// Listens on a free loopback port in front of `(listen, admin)` address pairs, all
    /// assumed ready at first.
    pub fn start(backends: &[(SocketAddr, SocketAddr)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the round-robin proxy");
        let address = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            backends: backends
                .iter()
                .map(|(listen, admin)| Backend {
                    listen: *listen,
                    admin: *admin,
                    ready: AtomicBool::new(true),
                    requests: AtomicUsize::new(0),
                })
                .collect(),
            next: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            log: Mutex::new(Vec::new()),
        });
        let accept_shared = Arc::clone(&shared);
        thread::spawn(move || accept_loop(&listener, &accept_shared));
        let health_shared = Arc::clone(&shared);
        thread::spawn(move || health_loop(&health_shared));
        Self { address, shared }
    }

    /// In front of every node of `cluster`, in node order.
    pub fn for_cluster(cluster: &crate::cluster_sandbox::ClusterSandbox) -> Self {
        let pairs: Vec<(SocketAddr, SocketAddr)> = cluster
            .nodes()
            .iter()
            .map(|node| {
                let config = node.config();
                (
                    SocketAddr::from(([127, 0, 0, 1], config.listen_port)),
                    SocketAddr::from(([127, 0, 0, 1], config.admin_port)),
                )
            })
            .collect();
        Self::start(&pairs)
    }

    /// `http://127.0.0.1:<proxy port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The Azure-style client URL of `hub` through the proxy.
    pub fn client_url(&self, hub: &str) -> String {
        format!("{}/client/?hub={hub}", self.base_url())
    }

    /// How many requests went to each backend so far.
    pub fn requests_per_backend(&self) -> Vec<usize> {
        self.shared
            .backends
            .iter()
            .map(|b| b.requests.load(Ordering::SeqCst))
            .collect()
    }

    /// Every request so far: the backend index it went to and its request line.
    pub fn request_log(&self) -> Vec<(usize, String)> {
        self.shared.log.lock().expect("request log").clone()
    }

    /// Whether the health checker currently counts backend `index` as ready.
    pub fn is_ready(&self, index: usize) -> bool {
        self.shared.backends[index].ready.load(Ordering::SeqCst)
    }
}

impl Drop for RoundRobinProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.address);
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        let shared = Arc::clone(shared);
        thread::spawn(move || serve(client, &shared));
    }
}

/// Reads one request head from `client`, sends it to the next ready backend and relays both
/// directions until either side ends.
fn serve(mut client: TcpStream, shared: &Shared) {
    let _ = client.set_nodelay(true);
    let Some((head, rest)) = read_head(&mut client) else {
        return;
    };
    let Some((index, mut server)) = connect_next(shared) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    shared.backends[index]
        .requests
        .fetch_add(1, Ordering::SeqCst);
    let request_line = head.lines().next().unwrap_or_default().to_owned();
    shared
        .log
        .lock()
        .expect("request log")
        .push((index, request_line));
    let head = one_request_per_connection(&head);
    if server.write_all(head.as_bytes()).is_err() || server.write_all(&rest).is_err() {
        return;
    }
    let (Ok(client_reader), Ok(server_writer)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    thread::spawn(move || copy(client_reader, server_writer));
    copy(server, client);
}

/// The head (up to and including the blank line) and any body bytes read past it.
fn read_head(client: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buffer.split_off(end + 4);
            return Some((String::from_utf8_lossy(&buffer).into_owned(), rest));
        }
        if buffer.len() > MAX_HEAD {
            return None;
        }
        match client.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// `head` with `Connection: close` instead of any `Connection`/`Keep-Alive` header, unless it
/// is a protocol upgrade (WebSocket), which is passed through unchanged.
fn one_request_per_connection(head: &str) -> String {
    let lines: Vec<&str> = head.trim_end_matches("\r\n").split("\r\n").collect();
    let is_upgrade = lines
        .iter()
        .skip(1)
        .any(|line| line.to_ascii_lowercase().starts_with("upgrade:"));
    if is_upgrade {
        return head.to_owned();
    }
    let mut out = String::new();
    for line in &lines {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") || lower.starts_with("keep-alive:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out
}

/// Connects to the next ready backend in rotation, skipping unready or refusing ones.
fn connect_next(shared: &Shared) -> Option<(usize, TcpStream)> {
    let count = shared.backends.len();
    for _ in 0..count {
        let index = shared.next.fetch_add(1, Ordering::SeqCst) % count;
        let backend = &shared.backends[index];
        if !backend.ready.load(Ordering::SeqCst) {
            continue;
        }
        if let Ok(stream) = TcpStream::connect(backend.listen) {
            let _ = stream.set_nodelay(true);
            return Some((index, stream));
        }
    }
    None
}

/// Copies `from` to `to` until either side ends, then ends both.
fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = vec![0u8; COPY_BUFFER];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// Marks each backend ready or not by `GET /readyz` on its admin port, until the proxy stops.
fn health_loop(shared: &Shared) {
    while !shared.stopping.load(Ordering::SeqCst) {
        for backend in &shared.backends {
            backend
                .ready
                .store(readyz_ok(backend.admin), Ordering::SeqCst);
        }
        // The checker's period, not a wait for a condition.
        thread::sleep(HEALTH_INTERVAL);
    }
}

/// Whether `GET /readyz` on `admin` answers `200`.
fn readyz_ok(admin: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&admin, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let request = format!("GET /readyz HTTP/1.1\r\nHost: {admin}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut status = [0u8; 12];
    stream.read_exact(&mut status).is_ok() && &status[9..12] == b"200"
}

#[cfg(test)]
mod tests {
    use super::one_request_per_connection;

    #[test]
    fn forces_connection_close_except_for_upgrades() {
        let head = "GET /x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nKeep-Alive: 5\r\n\r\n";
        assert_eq!(
            one_request_per_connection(head),
            "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        );
        let upgrade = "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
        assert_eq!(one_request_per_connection(upgrade), upgrade);
    }
}

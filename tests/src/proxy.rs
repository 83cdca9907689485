//! A TCP proxy between a client and herald that can cut every connection through it at once,
//! without a WebSocket close frame or an HTTP response, while it keeps accepting new ones: a
//! network failure as a client sees it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Size of the buffer each forwarding thread copies through.
const COPY_BUFFER: usize = 16 * 1024;

/// What the accepting and forwarding threads share with the proxy handle.
#[derive(Default)]
struct Shared {
    /// Set when the proxy is dropped: the accept loop ends.
    stopping: AtomicBool,
    /// How many client connections were accepted so far.
    accepted: AtomicUsize,
    /// Both sockets of every connection accepted since the last [`TcpProxy::kill_all`].
    live: Mutex<Vec<(TcpStream, TcpStream)>>,
    /// Added before each chunk on the way to the upstream: a slow network.
    upstream_delay: Duration,
}

/// A proxy on `127.0.0.1:<port>` forwarding to one upstream address, with plain threads.
pub struct TcpProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`.
    pub fn start(upstream: SocketAddr) -> Self {
        Self::with_upstream_delay(upstream, Duration::ZERO)
    }

    /// [`Self::start`], with every chunk on its way to `upstream` held for `delay`: a link
    /// with that much latency from the client to the upstream.
    pub fn with_upstream_delay(upstream: SocketAddr, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy listener");
        let address = listener.local_addr().expect("proxy listener address");
        let shared = Arc::new(Shared {
            upstream_delay: delay,
            ..Shared::default()
        });
        let accept_shared = Arc::clone(&shared);
        thread::spawn(move || accept_loop(&listener, upstream, &accept_shared));
        Self { address, shared }
    }

    /// `http://127.0.0.1:<proxy port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// How many client connections the proxy has accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Cuts every current connection in both directions on both sides, abruptly: the client
    /// and herald see their TCP connection end with nothing more. Returns how many were cut.
    pub fn kill_all(&self) -> usize {
        let live = std::mem::take(&mut *self.shared.live.lock().expect("proxy connection list"));
        for (client, upstream) in &live {
            let _ = client.shutdown(Shutdown::Both);
            let _ = upstream.shutdown(Shutdown::Both);
        }
        live.len()
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.kill_all();
        // Wakes the accept loop so that it sees `stopping`.
        let _ = TcpStream::connect(self.address);
    }
}

fn accept_loop(listener: &TcpListener, upstream: SocketAddr, shared: &Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        let Ok(server) = TcpStream::connect(upstream) else {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let clones = (|| {
            Ok::<_, io::Error>((
                client.try_clone()?,
                server.try_clone()?,
                client.try_clone()?,
                server.try_clone()?,
            ))
        })();
        let Ok((client_reader, server_writer, kill_client, kill_server)) = clones else {
            continue;
        };
        shared
            .live
            .lock()
            .expect("proxy connection list")
            .push((kill_client, kill_server));
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        let delay = shared.upstream_delay;
        thread::spawn(move || forward(client_reader, server_writer, delay));
        thread::spawn(move || forward(server, client, Duration::ZERO));
    }
}

/// Copies `from` to `to` until either side ends, then ends both; each chunk is held `delay`.
fn forward(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let mut buffer = vec![0u8; COPY_BUFFER];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if !delay.is_zero() {
                    // Latency, not a wait for a condition.
                    thread::sleep(delay);
                }
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

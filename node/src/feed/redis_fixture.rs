//! A throwaway `redis-server` for the feed tests: a free port, no persistence, killed on
//! drop. Readiness is read from the server's own log line, so nothing sleeps.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::backplane::redis::{CommandConnection, command_connection};

const REDIS_SERVER: &str = "/usr/bin/redis-server";
/// How long the server gets to say it is ready.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// One `redis-server` child process.
pub(super) struct RedisServer {
    port: u16,
    child: Child,
}

impl RedisServer {
    /// Starts a server and returns once it accepts connections.
    pub(super) fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut child = Command::new(REDIS_SERVER)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--loglevel", "notice"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts (is /usr/bin/redis-server installed?)");
        let stdout = child.stdout.take().expect("piped stdout");
        let (ready_tx, ready_rx) = mpsc::channel();
        // Reads the log until the server is ready, then keeps draining it so the server never
        // blocks on a full pipe; ends when the server exits.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("Ready to accept connections") {
                    let _ = ready_tx.send(());
                }
            }
        });
        let server = Self { port, child };
        assert!(
            ready_rx.recv_timeout(START_DEADLINE).is_ok(),
            "redis-server on port {port} was not ready within {START_DEADLINE:?}"
        );
        server
    }

    /// A command connection to the server, with a 2 s reply timeout.
    pub(super) async fn connect(&self) -> CommandConnection {
        let target = format!("redis://127.0.0.1:{}", self.port)
            .parse()
            .expect("a valid url");
        command_connection(&target, &Default::default(), Duration::from_secs(2))
            .await
            .expect("command connection")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Test fixtures: real `redis-server` processes on free ports, killed on drop.
//!
//! A standalone server can be killed and restarted on the same port (with other arguments,
//! e.g. a disabled ACL user); a small Redis Cluster is three masters joined by
//! `redis-cli --cluster create`. Readiness is polled with deadlines, never slept for.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const REDIS_SERVER: &str = "/usr/bin/redis-server";
const REDIS_CLI: &str = "/usr/bin/redis-cli";
/// How long a server gets to answer PING after starting.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// A port nobody listens on right now.
pub(super) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A private directory for one server's files.
fn scratch_dir(port: u16) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("herald-redis-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// One `redis-server` child process.
pub(super) struct RedisServer {
    /// Where it listens (kept across restarts).
    pub port: u16,
    /// The process; `None` while killed.
    child: Option<Child>,
    /// Its working directory (cluster config files).
    dir: PathBuf,
}

impl RedisServer {
    /// Starts a server on a free port with `extra` arguments (e.g. `--user alice on >pw ...`).
    pub(super) async fn start(extra: &[&str]) -> Self {
        let port = free_port();
        let mut server = Self {
            port,
            child: None,
            dir: scratch_dir(port),
        };
        server.restart(extra).await;
        server
    }

    /// `redis://127.0.0.1:{port}`, optionally as `user:password`.
    pub(super) fn url(&self, auth: Option<(&str, &str)>) -> String {
        match auth {
            Some((user, password)) => format!("redis://{user}:{password}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// Kills the server at once (SIGKILL: no goodbye to clients).
    pub(super) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// (Re)starts the server on its port and waits until it answers PING.
    pub(super) async fn restart(&mut self, extra: &[&str]) {
        self.kill();
        let port = self.port.to_string();
        let dir = self.dir.display().to_string();
        let mut args = vec![
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            &dir,
        ];
        args.extend_from_slice(extra);
        let child = Command::new(REDIS_SERVER)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts (is /usr/bin/redis-server installed?)");
        self.child = Some(child);
        let deadline = Instant::now() + START_DEADLINE;
        while !ping(self.port).await {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(exited.is_none(), "redis-server {args:?} exited: {exited:?}");
            assert!(
                Instant::now() < deadline,
                "redis-server on port {port} did not answer PING within {START_DEADLINE:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Runs `redis-cli -p {port} args...` and returns its output.
    pub(super) fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(REDIS_CLI)
            .arg("-p")
            .arg(self.port.to_string())
            .args(args)
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the server on `port` answers PING.
async fn ping(port: u16) -> bool {
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if stream.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).await.is_ok() && &reply == b"+PONG\r\n"
}

/// Three cluster-enabled masters (no replicas) holding all slots.
pub(super) struct RedisCluster {
    /// The masters; slot ranges in port order as `--cluster create` assigns them.
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub(super) async fn start() -> Self {
        let mut nodes = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let mut node = RedisServer {
                port,
                child: None,
                dir: scratch_dir(port),
            };
            let config = format!("nodes-{port}.conf");
            node.restart(&[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                &config,
                "--cluster-node-timeout",
                "3000",
            ])
            .await;
            nodes.push(node);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let status = Command::new(REDIS_CLI)
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli runs");
        assert!(status.success(), "redis-cli --cluster create failed");
        let cluster = Self { nodes };
        let deadline = Instant::now() + START_DEADLINE;
        while !cluster
            .nodes
            .iter()
            .all(|n| n.cli(&["cluster", "info"]).contains("cluster_state:ok"))
        {
            assert!(
                Instant::now() < deadline,
                "the cluster did not reach cluster_state:ok"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        cluster
    }

    /// `redis+cluster://` naming every node.
    pub(super) fn url(&self) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("redis+cluster://{}", hosts.join(","))
    }
}

//! Test fixtures: real `redis-server` processes on free ports, killed on drop — one
//! standalone server, or a three-master Redis Cluster.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

const REDIS_SERVER: &str = "/usr/bin/redis-server";
const REDIS_CLI: &str = "/usr/bin/redis-cli";
/// How long a server gets to accept connections after starting.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// One `redis-server` child process without persistence.
pub(crate) struct RedisServer {
    port: u16,
    child: Child,
}

impl RedisServer {
    /// Starts a server and waits (with a deadline) until it answers PING.
    pub(crate) async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts a server with `extra` arguments.
    async fn start_with(extra: &[&str]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new(REDIS_SERVER)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts (is /usr/bin/redis-server installed?)");
        let mut server = Self { port, child };
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Ok(mut conn) = server.try_connect().await {
                let pong: redis::RedisResult<String> =
                    redis::cmd("PING").query_async(&mut conn).await;
                if pong.is_ok() {
                    return server;
                }
            }
            let exited = server.child.try_wait().ok().flatten();
            assert!(exited.is_none(), "redis-server exited: {exited:?}");
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A new connection manager to this server.
    pub(crate) async fn connect(&self) -> ConnectionManager {
        self.try_connect().await.expect("connects to redis-server")
    }

    async fn try_connect(&self) -> redis::RedisResult<ConnectionManager> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}", self.port))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(0);
        client.get_connection_manager_with_config(config).await
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three cluster-enabled masters holding all slots; each keeps its node file in a private
/// temporary directory (the working directory of its process).
pub(crate) struct RedisCluster {
    nodes: Vec<RedisServer>,
    dir: std::path::PathBuf,
}

impl RedisCluster {
    /// Starts three masters, joins them, and waits until the cluster state is ok.
    pub(crate) async fn start() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "herald-coordinator-cluster-{}-{}",
            std::process::id(),
            TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("a free port")
        ));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let dir_arg = dir.display().to_string();
        let mut nodes = Vec::new();
        for i in 0..3 {
            let config = format!("nodes-{i}.conf");
            let args = ["--cluster-enabled", "yes", "--cluster-config-file", &config];
            nodes.push(RedisServer::start_with(&[&args[..], &["--dir", &dir_arg]].concat()).await);
        }
        let cluster = Self { nodes, dir };
        let status = Command::new(REDIS_CLI)
            .args(["--cluster", "create"])
            .args(cluster.addresses())
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli runs");
        assert!(status.success(), "redis-cli --cluster create failed");
        let deadline = Instant::now() + START_DEADLINE;
        while !cluster.nodes.iter().all(|n| {
            Command::new(REDIS_CLI)
                .args(["-p", &n.port.to_string(), "cluster", "info"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("cluster_state:ok"))
        }) {
            assert!(
                Instant::now() < deadline,
                "the cluster did not reach cluster_state:ok"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        cluster
    }

    fn addresses(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect()
    }

    /// A new cluster connection.
    pub(crate) async fn connect(&self) -> redis::cluster_async::ClusterConnection {
        let urls: Vec<String> = self
            .addresses()
            .iter()
            .map(|a| format!("redis://{a}"))
            .collect();
        redis::cluster::ClusterClient::new(urls)
            .expect("a cluster client")
            .get_async_connection()
            .await
            .expect("connects to the cluster")
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

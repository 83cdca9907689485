//! A Sentinel-managed Redis on loopback ports: one master, one replica synced to it, and one
//! Sentinel (`redis-server <conf> --sentinel`, quorum 1) watching them under [`MASTER_NAME`],
//! all killed when dropped. The Sentinel fails over quickly ([`DOWN_AFTER_MS`]), so a test
//! can kill the master and wait for the replica's promotion.

use crate::ports::free_port;
use crate::redis_server::{RedisServer, cli_at};
use crate::wait::{deadline_in, poll_until, wait_until};
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;
use tempfile::TempDir;

/// The server binary, run in Sentinel mode.
const REDIS_SERVER: &str = "/usr/bin/redis-server";
/// The name the Sentinel monitors the master under.
pub const MASTER_NAME: &str = "mymaster";
/// `down-after-milliseconds`: how long the master may be unreachable before it is down.
pub const DOWN_AFTER_MS: u64 = 1000;
/// `failover-timeout` in milliseconds.
const FAILOVER_TIMEOUT_MS: u64 = 3000;
/// How long the replica may take to sync and the Sentinel to see both servers.
const SETTLE_TIMEOUT_SECONDS: u64 = 20;

/// Master, replica and Sentinel; the servers are [`RedisServer`]s, the Sentinel a child.
pub struct RedisSentinel {
    master: RedisServer,
    replica: RedisServer,
    sentinel_port: u16,
    sentinel_dir: TempDir,
    sentinel: Option<Child>,
}

impl RedisSentinel {
    /// Starts the master, the replica and the Sentinel; waits until the replica is synced
    /// and the Sentinel reports the master and lists the replica as connected.
    pub fn start() -> Self {
        let master = RedisServer::start();
        let replica = RedisServer::start_with(
            free_port(),
            &[
                "--replicaof".to_owned(),
                "127.0.0.1".to_owned(),
                master.port().to_string(),
                // Sync at once: a replica that never synced cannot be promoted.
                "--repl-diskless-sync-delay".to_owned(),
                "0".to_owned(),
            ],
        );
        let sentinel_dir = tempfile::tempdir().expect("temporary directory for the sentinel");
        let mut fixture = Self {
            master,
            replica,
            sentinel_port: free_port(),
            sentinel_dir,
            sentinel: None,
        };
        fixture.spawn_sentinel();
        let master_port = fixture.master.port();
        let replica_port = fixture.replica.port();
        let settled = wait_until(deadline_in(SETTLE_TIMEOUT_SECONDS), || {
            fixture
                .replica
                .try_cli(&["INFO", "replication"])
                .is_some_and(|info| info.contains("master_link_status:up"))
                && fixture.master_port() == Some(master_port)
                && fixture.replica_known(replica_port)
        });
        assert!(
            settled,
            "replica {replica_port} not synced or not seen by the sentinel within \
             {SETTLE_TIMEOUT_SECONDS}s; sentinel log:\n{}",
            fixture.sentinel_log()
        );
        fixture
    }

    fn spawn_sentinel(&mut self) {
        let dir = self.sentinel_dir.path();
        let config = dir.join("sentinel.conf");
        let text = format!(
            "port {port}\nbind 127.0.0.1\ndir \"{dir}\"\n\
             sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 1\n\
             sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n\
             sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n",
            port = self.sentinel_port,
            dir = dir.display(),
            master = self.master.port(),
        );
        std::fs::write(&config, text).expect("write sentinel.conf");
        let log = File::create(self.sentinel_log_path()).expect("create the sentinel log");
        let child = Command::new(REDIS_SERVER)
            .current_dir(dir)
            .arg(&config)
            .arg("--sentinel")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server --sentinel");
        self.sentinel = Some(child);
    }

    fn sentinel_log_path(&self) -> PathBuf {
        self.sentinel_dir.path().join("sentinel.log")
    }

    /// What the Sentinel logged (`+sdown`, `+switch-master`, ...).
    pub fn sentinel_log(&self) -> String {
        std::fs::read_to_string(self.sentinel_log_path()).unwrap_or_default()
    }

    /// `redis+sentinel://127.0.0.1:<sentinel port>/mymaster`, for `HERALD_REDIS_URL`.
    pub fn url(&self) -> String {
        format!(
            "redis+sentinel://127.0.0.1:{}/{MASTER_NAME}",
            self.sentinel_port
        )
    }

    /// The Sentinel's port.
    pub fn sentinel_port(&self) -> u16 {
        self.sentinel_port
    }

    /// The server started as master.
    pub fn master(&self) -> &RedisServer {
        &self.master
    }

    /// The server started as replica.
    pub fn replica(&self) -> &RedisServer {
        &self.replica
    }

    /// The port of the master as the Sentinel names it now (`SENTINEL
    /// get-master-addr-by-name`); `None` when the Sentinel does not answer.
    pub fn master_port(&self) -> Option<u16> {
        let reply = cli_at(
            self.sentinel_port,
            &["SENTINEL", "get-master-addr-by-name", MASTER_NAME],
        )?;
        let mut lines = reply.lines();
        let (_host, port) = (lines.next()?, lines.next()?);
        port.trim().parse().ok()
    }

    /// Whether the Sentinel lists a replica on `port` that it considers reachable.
    fn replica_known(&self, port: u16) -> bool {
        let Some(reply) = cli_at(self.sentinel_port, &["SENTINEL", "replicas", MASTER_NAME]) else {
            return false;
        };
        // redis-cli prints the field/value pairs of each replica one per line.
        let fields: Vec<&str> = reply.lines().map(str::trim).collect();
        let value = |name: &str| {
            fields
                .windows(2)
                .find(|pair| pair[0] == name)
                .map(|pair| pair[1])
        };
        value("port") == Some(port.to_string().as_str())
            && value("flags") == Some("slave")
            && value("master-link-status") == Some("ok")
    }

    /// Kills the master with SIGKILL.
    pub fn kill_master(&mut self) {
        self.master.kill();
    }

    /// Polls the Sentinel until it names the replica as master, at most until `deadline`;
    /// returns when that was seen.
    pub fn wait_for_promotion(&self, deadline: Instant) -> Option<Instant> {
        let replica = self.replica.port();
        poll_until(deadline, || {
            (self.master_port() == Some(replica)).then(Instant::now)
        })
    }
}

impl Drop for RedisSentinel {
    fn drop(&mut self) {
        if let Some(mut child) = self.sentinel.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

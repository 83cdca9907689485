//! One `redis-server` on a free loopback port, without persistence, killed when dropped; plus
//! `redis-cli` access to it (commands, `INFO commandstats` counters).

use crate::ports::free_port;
use crate::wait::{deadline_in, wait_until};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use tempfile::TempDir;

/// The server binary.
const REDIS_SERVER: &str = "/usr/bin/redis-server";
/// The command-line client.
const REDIS_CLI: &str = "/usr/bin/redis-cli";
/// How long redis-server may take to answer `PING` after it was spawned.
const START_TIMEOUT_SECONDS: u64 = 15;

/// A redis-server process that can be killed and restarted on the same port.
pub struct RedisServer {
    port: u16,
    extra_args: Vec<String>,
    dir: TempDir,
    child: Option<Child>,
    starts: u32,
}

impl RedisServer {
    /// Starts a plain redis-server (`--save "" --appendonly no`) and waits until it answers.
    pub fn start() -> Self {
        Self::start_with(free_port(), &[])
    }

    /// Starts redis-server on `port` with extra command-line arguments and waits until it
    /// answers `PING`.
    pub fn start_with(port: u16, extra_args: &[String]) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory for redis-server");
        let mut server = Self {
            port,
            extra_args: extra_args.to_vec(),
            dir,
            child: None,
            starts: 0,
        };
        server.spawn();
        server
    }

    /// The directory redis-server runs in (logs, cluster configuration).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Whether the process is running (not killed by the test).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("redis-{}.log", self.starts))
    }

    fn spawn(&mut self) {
        assert!(
            self.child.is_none(),
            "redis-server {} already runs",
            self.port
        );
        self.starts += 1;
        let log = File::create(self.log_path()).expect("create the redis-server log");
        let child = Command::new(REDIS_SERVER)
            .current_dir(self.dir.path())
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", &self.dir.path().display().to_string()])
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let up = wait_until(deadline_in(START_TIMEOUT_SECONDS), || {
            self.try_cli(&["PING"]).is_some_and(|reply| reply == "PONG")
        });
        assert!(
            up,
            "redis-server on port {} did not answer PING within {START_TIMEOUT_SECONDS}s; log:\n{}",
            self.port,
            self.log()
        );
    }

    /// What redis-server logged since its last (re)start.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server with SIGKILL (no goodbye to its clients) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Runs `redis-cli -p <port> <args>` and returns its trimmed output; `None` when redis-cli
    /// fails or reports an error (for instance, connection refused).
    pub fn try_cli(&self, args: &[&str]) -> Option<String> {
        cli_at(self.port, args)
    }

    /// Runs `redis-cli -p <port> <args>`; panics when it fails.
    pub fn cli(&self, args: &[&str]) -> String {
        self.try_cli(args)
            .unwrap_or_else(|| panic!("redis-cli -p {} {args:?} failed", self.port))
    }

    /// `CONFIG RESETSTAT`: zeroes the command counters.
    pub fn reset_stats(&self) {
        assert_eq!(self.cli(&["CONFIG", "RESETSTAT"]), "OK");
    }

    /// How many times `command` (lowercase, e.g. `publish`) ran since the last reset, from
    /// `INFO commandstats`.
    pub fn command_calls(&self, command: &str) -> u64 {
        command_calls(&self.cli(&["INFO", "commandstats"]), command)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `redis-cli -p <port> <args>`: trimmed stdout, or `None` on failure or an `ERR` reply.
pub fn cli_at(port: u16, args: &[&str]) -> Option<String> {
    let output = Command::new(REDIS_CLI)
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let failed = !output.status.success()
        || text.starts_with("ERR")
        || text.starts_with("Could not connect")
        || text.is_empty() && !output.stderr.is_empty();
    (!failed).then_some(text)
}

/// The `calls=` of `cmdstat_<command>` in an `INFO commandstats` reply (0 when absent).
pub fn command_calls(info: &str, command: &str) -> u64 {
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|line| line.trim().strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().expect("a call count"))
}

#[cfg(test)]
mod tests {
    use super::command_calls;

    #[test]
    fn reads_call_counts() {
        let info = "# Commandstats\r\ncmdstat_publish:calls=12,usec=30,usec_per_call=2.50\r\n\
                    cmdstat_ping:calls=3,usec=1";
        assert_eq!(command_calls(info, "publish"), 12);
        assert_eq!(command_calls(info, "ping"), 3);
        assert_eq!(command_calls(info, "spublish"), 0);
    }
}

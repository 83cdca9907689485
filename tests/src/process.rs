//! One running `herald standalone` (or `herald node`) process, killed when dropped.

use crate::binary::herald_binary;
use crate::config::HeraldConfig;
use crate::rest::{Auth, Rest};
use crate::token;
use crate::wait::{deadline_in, poll_until, wait_until};
use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long herald may take to answer `/readyz` with 200 after it was spawned.
const READY_TIMEOUT_SECONDS: u64 = 30;

/// A herald process with its configuration and captured stderr log.
pub struct HeraldProcess {
    config: HeraldConfig,
    child: Child,
    log_path: PathBuf,
    exit: Option<ExitStatus>,
    _dir: TempDir,
}

impl HeraldProcess {
    /// Spawns `herald <config.subcommand>` with the environment of `config`, stderr to a log
    /// file.
    pub fn spawn(config: HeraldConfig) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory for the herald log");
        let log_path = dir.path().join("herald.stderr.log");
        let log = File::create(&log_path).expect("create the herald log file");
        let mut command = Command::new(herald_binary());
        command.arg(&config.subcommand);
        for (name, _) in std::env::vars() {
            if name.starts_with("HERALD_") {
                command.env_remove(name);
            }
        }
        command
            .envs(config.environment())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        let child = command.spawn().expect("spawn the herald binary");
        Self {
            config,
            child,
            log_path,
            exit: None,
            _dir: dir,
        }
    }

    /// The configuration this process was started with.
    pub fn config(&self) -> &HeraldConfig {
        &self.config
    }

    /// The AccessKey, when not in anonymous mode.
    pub fn access_key(&self) -> Option<&str> {
        self.config.access_key.as_deref()
    }

    /// The operating-system process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:<listen port>`.
    pub fn base_url(&self) -> String {
        self.config.base_url()
    }

    /// `ws://127.0.0.1:<listen port>`.
    pub fn ws_base_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.config.listen_port)
    }

    /// `http://127.0.0.1:<admin port>`.
    pub fn admin_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.config.admin_port)
    }

    /// The Azure-style client URL of `hub`: `<base>/client/?hub=<hub>`.
    pub fn client_url(&self, hub: &str) -> String {
        format!("{}/client/?hub={hub}", self.base_url())
    }

    /// The self-hosted-style client URL of `hub`: `<base>/hubs/<hub>`.
    pub fn hubs_url(&self, hub: &str) -> String {
        format!("{}/hubs/{hub}", self.base_url())
    }

    /// A valid client token for `hub` and `user` (`None` in anonymous mode).
    pub fn client_token(&self, hub: &str, user: &str) -> Option<String> {
        self.access_key()
            .map(|key| token::client_token(key, &self.config.public_endpoint(), hub, Some(user)))
    }

    /// A REST client that signs its requests with this process's access key.
    pub fn rest(&self) -> Rest {
        Rest::new(&self.base_url(), self.config.access_key.clone())
            .with_audience_base(&self.config.public_endpoint())
    }

    /// Status and body of `GET <admin><path>`.
    pub fn admin_get(&self, path: &str) -> (u16, String) {
        let reply = Rest::new(&self.admin_url(), None).request("GET", path, None, &Auth::None);
        (reply.status, reply.body)
    }

    /// Waits until `/readyz` answers 200; panics with the log if herald exits or times out.
    pub fn wait_ready(&mut self) {
        let ready = wait_until(deadline_in(READY_TIMEOUT_SECONDS), || {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "herald exited ({status}) before it was ready; log:\n{}",
                    self.log()
                );
            }
            self.admin_get("/readyz").0 == 200
        });
        assert!(
            ready,
            "herald not ready within {READY_TIMEOUT_SECONDS}s; log:\n{}",
            self.log()
        );
    }

    /// Everything herald wrote to stderr so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Panics when the log mentions a panic.
    pub fn assert_no_panic(&self) {
        let log = self.log();
        assert!(!log.contains("panicked"), "herald panicked; log:\n{log}");
    }

    /// Sends SIGTERM with the `kill` command.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill -TERM");
        assert!(
            status.success(),
            "kill -TERM {} failed: {status}",
            self.pid()
        );
    }

    /// Waits up to `timeout` for the process to exit and returns its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.exit.is_some() {
            return self.exit;
        }
        let child = &mut self.child;
        self.exit = poll_until(Instant::now() + timeout, || child.try_wait().ok().flatten());
        self.exit
    }

    /// Kills the process (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        if self.exit.is_none() {
            let _ = self.child.kill();
            self.exit = self.child.wait().ok();
        }
    }
}

impl Drop for HeraldProcess {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "--- herald log ({}) ---\n{}",
                self.log_path.display(),
                self.log()
            );
        }
    }
}

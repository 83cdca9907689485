//! `herald ctl` as an SRE runs it: the real binary, against a node's admin listener.

use crate::binary::herald_binary;
use std::process::Command;

/// What one `herald ctl` run printed, and how it exited.
#[derive(Debug, Clone)]
pub struct CtlRun {
    /// The exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl CtlRun {
    /// Standard output parsed as JSON; panics with both streams when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "herald ctl printed no JSON ({e}); exit {}\nstdout:\n{}\nstderr:\n{}",
                self.code, self.stdout, self.stderr
            )
        })
    }
}

/// Runs `herald ctl --admin <admin_url> [--token <token>] <args...>` with a clean environment
/// for the admin settings (so the test's own environment cannot leak in).
pub fn ctl(admin_url: &str, token: Option<&str>, args: &[&str]) -> CtlRun {
    let mut command = Command::new(herald_binary());
    command
        .env_remove("HERALD_ADMIN_URL")
        .env_remove("HERALD_ADMIN_TOKEN")
        .args(["ctl", "--admin", admin_url]);
    if let Some(token) = token {
        command.args(["--token", token]);
    }
    let output = command.args(args).output().expect("run herald ctl");
    CtlRun {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

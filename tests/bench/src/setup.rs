//! Where the suite finds its programs and puts its output, and the runtime the publisher runs
//! on. The `herald` binary is `$BENCH_HERALD` or `target/release/herald` beside this executable
//! (`cargo build --release -p herald-node` first); the worker and floor binaries are this
//! crate's own, beside this executable; the peer is `tests/bench/peer`, installed with
//! `npm ci` when its `node_modules` is missing.

use anyhow::{Context, bail};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Paths and the publisher's runtime.
pub struct Setup {
    /// The `herald` binary.
    pub herald: PathBuf,
    /// The `bench-worker` binary.
    pub worker: PathBuf,
    /// The `bench-floor` binary.
    pub floor: PathBuf,
    /// The socket.io peer directory.
    pub peer: PathBuf,
    /// Where JSON results go (`target/bench`).
    pub out: PathBuf,
    /// Where server logs go (`target/bench/logs`).
    pub logs: PathBuf,
    runtime: tokio::runtime::Runtime,
}

impl Setup {
    /// Finds everything, installs the peer if needed.
    pub fn locate() -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("locating this executable")?;
        let bin_dir = exe
            .parent()
            .context("this executable has no directory")?
            .to_path_buf();
        let herald = std::env::var_os("BENCH_HERALD")
            .map(PathBuf::from)
            .unwrap_or_else(|| bin_dir.join("herald"));
        if !herald.exists() {
            bail!(
                "no herald binary at {}: run `cargo build --release -p herald-node` first, or set BENCH_HERALD",
                herald.display()
            );
        }
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let peer = crate_dir.join("peer");
        if !peer.join("node_modules").exists() {
            eprintln!(
                "installing the socket.io peer: npm ci --prefix {}",
                peer.display()
            );
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                .arg(&peer)
                .status()
                .context("running npm ci for the peer")?;
            if !status.success() {
                bail!("npm ci for the socket.io peer failed: {status}");
            }
        }
        let target = bin_dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| crate_dir.join("../../target"));
        let out = target.join("bench");
        let logs = out.join("logs");
        std::fs::create_dir_all(&logs)?;
        let setup = Self {
            herald,
            worker: bin_dir.join("bench-worker"),
            floor: bin_dir.join("bench-floor"),
            peer,
            out,
            logs,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
        };
        for bin in [&setup.worker, &setup.floor] {
            if !bin.exists() {
                bail!(
                    "missing {}: build with `cargo build --release -p herald-bench`",
                    bin.display()
                );
            }
        }
        Ok(setup)
    }

    /// Runs `future` (which may spawn local tasks) to completion on the publisher's runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        tokio::task::LocalSet::new().block_on(&self.runtime, future)
    }
}

/// Pins this process (every thread) to the load core.
pub fn pin_self_to_load_core() -> anyhow::Result<()> {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", crate::servers::LOAD_CORE])
        .arg(std::process::id().to_string())
        .stdout(std::process::Stdio::null())
        .status()
        .context("running taskset")?;
    if !status.success() {
        bail!("taskset could not pin the load generator: {status}");
    }
    Ok(())
}

//! The processes a benchmark runs against, started pinned to the server core with `taskset`:
//! Herald (standalone, cluster node, coordinator), the socket.io peer, the floor, and a private
//! `redis-server` on a free port. Each is killed when dropped.

use crate::proc_stat::{self, ProcSample};
use anyhow::{Context, bail};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The core servers run on.
pub const SERVER_CORE: &str = "0";
/// The core the load generator runs on.
pub const LOAD_CORE: &str = "1";
/// How long a server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A started process, killed on drop.
pub struct Server {
    /// What it is, for messages.
    pub name: String,
    /// Where clients and publishers reach it.
    pub addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

impl Server {
    /// Its process id (taskset execs the command, so this is the server itself).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU and RSS now.
    pub fn sample(&self) -> anyhow::Result<ProcSample> {
        proc_stat::sample(self.pid()).with_context(|| format!("sampling {}", self.name))
    }

    /// The tail of its log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sum of CPU and RSS over `servers`.
pub fn sample_all(servers: &[&Server]) -> anyhow::Result<ProcSample> {
    let mut total = ProcSample::default();
    for server in servers {
        let s = server.sample()?;
        total.cpu_us += s.cpu_us;
        total.rss_bytes += s.rss_bytes;
    }
    Ok(total)
}

/// A free TCP port on 127.0.0.1 (bound and released: good enough for a benchmark run).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts `program args` pinned to the server core with `env`, logging to `log_dir/name.log`,
/// and waits until `addr` accepts TCP connections.
pub fn spawn(
    name: &str,
    program: &Path,
    args: &[&str],
    env: &[(&str, String)],
    addr: SocketAddr,
    log_dir: &Path,
) -> anyhow::Result<Server> {
    std::fs::create_dir_all(log_dir)?;
    let log = log_dir.join(format!("{name}.log"));
    let file = std::fs::File::create(&log)?;
    let mut command = Command::new("taskset");
    command
        .arg("-c")
        .arg(SERVER_CORE)
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file);
    // Herald refuses unknown HERALD_* variables; only the ones given here reach servers.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HERALD_") {
            command.env_remove(key);
        }
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let child = command
        .spawn()
        .with_context(|| format!("starting {name} ({})", program.display()))?;
    let mut server = Server {
        name: name.to_owned(),
        addr,
        child,
        log,
    };
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(server);
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            bail!("{name} exited with {status}:\n{}", server.log_tail());
        }
        if Instant::now() > deadline {
            bail!("{name} did not listen on {addr}:\n{}", server.log_tail());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `127.0.0.1:port`.
pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Starts a private `redis-server` without persistence.
pub fn redis(log_dir: &Path) -> anyhow::Result<Server> {
    let port = free_port()?;
    let port_text = port.to_string();
    spawn(
        "redis",
        Path::new("redis-server"),
        &[
            "--port",
            &port_text,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxclients",
            "1000",
        ],
        &[],
        local(port),
        log_dir,
    )
}

/// How a Herald process runs.
pub enum HeraldMode<'a> {
    /// `herald standalone`.
    Standalone,
    /// `herald node` on `redis_url`, with id `node_id`.
    Node {
        /// Redis URL.
        redis_url: &'a str,
        /// This node's id.
        node_id: &'a str,
        /// A TOML config file (feeds), if any.
        config: Option<&'a Path>,
    },
    /// `herald coordinator` with the feeds of `config`.
    Coordinator {
        /// Redis URL.
        redis_url: &'a str,
        /// Candidate id.
        id: &'a str,
        /// The TOML config file.
        config: &'a Path,
    },
}

/// Starts Herald in `mode`, anonymous (no access key: the load is the same for every client),
/// logging warnings only.
pub fn herald(
    binary: &Path,
    name: &str,
    mode: HeraldMode<'_>,
    log_dir: &Path,
) -> anyhow::Result<Server> {
    let port = free_port()?;
    let admin = free_port()?;
    let mut env = vec![
        ("HERALD_LISTEN", local(port).to_string()),
        ("HERALD_ADMIN_LISTEN", local(admin).to_string()),
        ("HERALD_LOG_LEVEL", "warn".to_owned()),
    ];
    let subcommand = match mode {
        HeraldMode::Standalone => "standalone",
        HeraldMode::Node {
            redis_url,
            node_id,
            config,
        } => {
            env.push(("HERALD_REDIS_URL", redis_url.to_owned()));
            env.push(("HERALD_NODE_ID", node_id.to_owned()));
            env.push(("HERALD_AUTH_ALLOW_ANONYMOUS", "true".to_owned()));
            if let Some(config) = config {
                env.push(("HERALD_CONFIG", config.display().to_string()));
            }
            "node"
        }
        HeraldMode::Coordinator {
            redis_url,
            id,
            config,
        } => {
            env.push(("HERALD_REDIS_URL", redis_url.to_owned()));
            env.push(("HERALD_NODE_ID", id.to_owned()));
            env.push(("HERALD_AUTH_ALLOW_ANONYMOUS", "true".to_owned()));
            env.push(("HERALD_CONFIG", config.display().to_string()));
            // A coordinator serves only the admin listener.
            let server = spawn(name, binary, &["coordinator"], &env, local(admin), log_dir)?;
            return Ok(server);
        }
    };
    spawn(name, binary, &[subcommand], &env, local(port), log_dir)
}

/// Starts the socket.io peer (`node server.js` in `peer_dir`), with the redis adapter when
/// `redis_url` is given.
pub fn socket_io(
    peer_dir: &Path,
    name: &str,
    redis_url: Option<&str>,
    log_dir: &Path,
) -> anyhow::Result<Server> {
    let port = free_port()?;
    let mut env = vec![("PORT", port.to_string())];
    if let Some(url) = redis_url {
        env.push(("REDIS_URL", url.to_owned()));
    }
    let script = peer_dir.join("server.js").display().to_string();
    // BENCH_NODE_FLAGS: extra node flags for investigating the peer (e.g. --trace-gc).
    let flags = std::env::var("BENCH_NODE_FLAGS").unwrap_or_default();
    let mut args: Vec<&str> = flags.split_whitespace().collect();
    args.push(&script);
    spawn(name, Path::new("node"), &args, &env, local(port), log_dir)
}

/// Starts the floor server binary.
pub fn floor(binary: &Path, log_dir: &Path) -> anyhow::Result<Server> {
    let port = free_port()?;
    let addr = local(port).to_string();
    spawn("floor", binary, &[&addr], &[], local(port), log_dir)
}

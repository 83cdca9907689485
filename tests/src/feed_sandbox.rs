//! Change feeds end to end: `herald coordinator` and `herald node` processes sharing one TOML
//! file (its `[[feeds]]` have no environment override, so the file is passed with
//! `HERALD_CONFIG`, the environment form of `--config`) and one Redis under a prefix unique to
//! the test; a producer appending to the feeds' streams; and readers of the coordinators'
//! `/api/admin/coordinator` status. Nodes are authenticated (one access key, the public
//! endpoint of [`PUBLIC_ENDPOINT`]) so feeds routed to users reach token-identified clients.

use crate::cluster_sandbox::PUBLIC_ENDPOINT;
use crate::config::HeraldConfig;
use crate::metrics::sample;
use crate::names::unique;
use crate::process::HeraldProcess;
use crate::rest::{Auth, Rest};
use crate::token;
use crate::wait::{deadline_in, wait_until};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long a coordinator may take to answer `/healthz`.
const COORDINATOR_START_SECONDS: u64 = 20;

/// One lease of `/api/admin/coordinator`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// `<feed>/<partition>`.
    pub id: String,
    /// The node id holding it, if any.
    pub owner: Option<String>,
    /// Bumped on every move.
    pub epoch: u64,
    /// The last stream id checkpointed, if any.
    pub checkpoint: Option<String>,
}

/// Coordinators and nodes of one feed cluster, killed when dropped.
pub struct FeedSandbox {
    redis_url: String,
    prefix: String,
    access_key: String,
    config_path: PathBuf,
    env: Vec<(String, String)>,
    nodes: BTreeMap<String, HeraldProcess>,
    coordinators: BTreeMap<String, HeraldProcess>,
    _dir: TempDir,
}

impl FeedSandbox {
    /// A sandbox on the Redis at `redis_url` whose file holds `feeds_toml` (one or more
    /// `[[feeds]]` tables). Nodes heartbeat every 1 s and expire after 3 s unless
    /// [`Self::env`] says otherwise. Starts nothing.
    pub fn new(redis_url: &str, feeds_toml: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory for the herald config");
        let prefix = unique("hf");
        let config_path = dir.path().join("herald.toml");
        let text =
            format!("[redis]\nurl = \"{redis_url}\"\nprefix = \"{prefix}\"\n\n{feeds_toml}\n");
        std::fs::write(&config_path, text).expect("write the herald config file");
        Self {
            redis_url: redis_url.to_owned(),
            prefix,
            access_key: unique("key").repeat(2),
            config_path,
            env: vec![
                (
                    "HERALD_CLUSTER_HEARTBEAT_INTERVAL".to_owned(),
                    "1s".to_owned(),
                ),
                ("HERALD_CLUSTER_NODE_TTL".to_owned(), "3s".to_owned()),
            ],
            nodes: BTreeMap::new(),
            coordinators: BTreeMap::new(),
            _dir: dir,
        }
    }

    /// Sets an environment variable on every process started afterwards.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The Redis key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The Redis URL.
    pub fn redis_url(&self) -> &str {
        &self.redis_url
    }

    fn config(&self, subcommand: &str, id: &str) -> HeraldConfig {
        let mut config = HeraldConfig::new()
            .subcommand(subcommand)
            .endpoint(PUBLIC_ENDPOINT)
            .env("HERALD_CONFIG", &self.config_path.display().to_string())
            .env("HERALD_NODE_ID", id);
        config.access_key = Some(self.access_key.clone());
        for (name, value) in &self.env {
            config = config.env(name, value);
        }
        config
    }

    /// Starts `herald coordinator` with candidate id `id` and waits for its `/healthz`.
    pub fn start_coordinator(&mut self, id: &str) {
        let process = HeraldProcess::spawn(self.config("coordinator", id));
        let up = wait_until(deadline_in(COORDINATOR_START_SECONDS), || {
            process.admin_get("/healthz").0 == 200
        });
        assert!(
            up,
            "coordinator {id} did not start; log:\n{}",
            process.log()
        );
        self.coordinators.insert(id.to_owned(), process);
    }

    /// Starts `herald node` with id `id` and waits until it is ready.
    pub fn start_node(&mut self, id: &str) {
        let process = self.config("node", id).start();
        self.nodes.insert(id.to_owned(), process);
    }

    /// Node `id`.
    pub fn node(&self, id: &str) -> &HeraldProcess {
        &self.nodes[id]
    }

    /// Node `id`, mutably (to kill it).
    pub fn node_mut(&mut self, id: &str) -> &mut HeraldProcess {
        self.nodes.get_mut(id).expect("a started node")
    }

    /// Coordinator `id`.
    pub fn coordinator(&self, id: &str) -> &HeraldProcess {
        &self.coordinators[id]
    }

    /// Coordinator `id`, mutably (to kill it).
    pub fn coordinator_mut(&mut self, id: &str) -> &mut HeraldProcess {
        self.coordinators
            .get_mut(id)
            .expect("a started coordinator")
    }

    /// The access key every process is configured with (handler requests are signed with it).
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// A client token for `hub` naming `user`.
    pub fn client_token(&self, hub: &str, user: &str) -> String {
        token::client_token(&self.access_key, PUBLIC_ENDPOINT, hub, Some(user))
    }

    /// `/api/admin/coordinator` of coordinator `id` (with the sandbox's `HERALD_ADMIN_TOKEN`,
    /// when it sets one), or `None` when it does not answer 200.
    pub fn status(&self, id: &str) -> Option<Value> {
        let auth = self
            .env
            .iter()
            .find(|(name, _)| name == "HERALD_ADMIN_TOKEN")
            .map_or(Auth::None, |(_, token)| Auth::Bearer(token.clone()));
        let reply = Rest::new(&self.coordinators[id].admin_url(), None).request(
            "GET",
            "/api/admin/coordinator",
            None,
            &auth,
        );
        (reply.status == 200)
            .then(|| serde_json::from_str(&reply.body).expect("coordinator status JSON"))
    }

    /// The ids of the coordinators `among` whose status says `is_leader`.
    pub fn leaders(&self, among: &[&str]) -> Vec<String> {
        among
            .iter()
            .filter(|id| {
                self.status(id)
                    .is_some_and(|s| s["is_leader"].as_bool() == Some(true))
            })
            .map(|id| (*id).to_owned())
            .collect()
    }

    /// The lease table as coordinator `id` reports it, sorted by lease id.
    pub fn leases(&self, id: &str) -> Option<Vec<Lease>> {
        let status = self.status(id)?;
        let mut leases: Vec<Lease> = status["leases"]
            .as_array()
            .expect("leases array")
            .iter()
            .map(|l| Lease {
                id: l["id"].as_str().expect("lease id").to_owned(),
                owner: l["owner"].as_str().map(str::to_owned),
                epoch: l["epoch"].as_u64().unwrap_or(0),
                checkpoint: l["checkpoint"].as_str().map(str::to_owned),
            })
            .collect();
        leases.sort_by(|a, b| a.id.cmp(&b.id));
        Some(leases)
    }

    /// Lease id → owner, from coordinator `id`.
    pub fn owners(&self, id: &str) -> Option<BTreeMap<String, Option<String>>> {
        Some(
            self.leases(id)?
                .into_iter()
                .map(|l| (l.id, l.owner))
                .collect(),
        )
    }

    /// Every coordinator's log and every node's, headed by id, for failure messages.
    pub fn logs(&self) -> String {
        self.coordinators
            .iter()
            .chain(&self.nodes)
            .map(|(id, p)| format!("--- {id} ---\n{}", p.log()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The value of metric sample `series` on node `id` (0 when absent).
    pub fn node_metric(&self, id: &str, series: &str) -> f64 {
        sample(&self.nodes[id].admin_get("/metrics").1, series).unwrap_or(0.0)
    }

    /// The stream key of `partition` of `feed`.
    pub fn stream_key(&self, feed: &str, partition: u32) -> String {
        format!("{}:feed:{feed}:{partition}", self.prefix)
    }

    /// A producer appending to this sandbox's Redis.
    pub fn producer(&self) -> Producer {
        Producer::connect(&self.redis_url)
    }

    /// Panics when any process's log mentions a panic.
    pub fn assert_no_panic(&self) {
        for process in self.coordinators.values().chain(self.nodes.values()) {
            process.assert_no_panic();
        }
    }

    /// Waits until coordinator `among` report exactly one leader whose lease table satisfies
    /// `accept`; returns that table. Panics with `what` and the logs otherwise.
    pub fn wait_for_table(
        &self,
        among: &[&str],
        seconds: u64,
        what: &str,
        mut accept: impl FnMut(&[Lease]) -> bool,
    ) -> Vec<Lease> {
        let mut last = None;
        let found = crate::wait::poll_until(deadline_in(seconds), || {
            let leaders = self.leaders(among);
            if leaders.len() != 1 {
                last = Some(format!("leaders {leaders:?}"));
                return None;
            }
            let table = self.leases(&leaders[0])?;
            let ok = accept(&table);
            last = Some(format!("leader {} table {table:?}", leaders[0]));
            ok.then_some(table)
        });
        found.unwrap_or_else(|| {
            panic!(
                "{what}: not reached within {seconds}s; last: {}\n{}",
                last.unwrap_or_default(),
                self.logs()
            )
        })
    }
}

/// Sends `SIGSTOP` (or another signal) to `pid` with the `kill` command.
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid} failed: {status}");
}

/// Stream ids compare as (milliseconds, sequence).
pub fn stream_id(position: &str) -> (u64, u64) {
    let (ms, seq) = position
        .split_once('-')
        .unwrap_or_else(|| panic!("not a stream id: {position:?}"));
    (
        ms.parse().expect("stream id milliseconds"),
        seq.parse().expect("stream id sequence"),
    )
}

/// A plain RESP connection to Redis issuing `XADD <key> * doc <document>`.
pub struct Producer {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Producer {
    /// Connects to `redis://host:port`.
    pub fn connect(redis_url: &str) -> Self {
        let address = redis_url
            .trim_start_matches("redis://")
            .trim_end_matches('/');
        let writer = TcpStream::connect(address).expect("connect the producer to redis");
        writer
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set the producer read timeout");
        let reader = BufReader::new(writer.try_clone().expect("clone the producer stream"));
        Self { writer, reader }
    }

    /// Appends `document` (sent verbatim, JSON or not) to `key`; returns the new stream id.
    pub fn xadd(&mut self, key: &str, document: &str) -> String {
        let parts = ["XADD", key, "*", "doc", document];
        let mut command = format!("*{}\r\n", parts.len()).into_bytes();
        for part in parts {
            command.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
            command.extend_from_slice(part.as_bytes());
            command.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&command).expect("send XADD");
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .expect("read the XADD reply");
        assert!(line.starts_with('$'), "XADD {key} failed: {line:?}");
        let mut id = String::new();
        self.reader.read_line(&mut id).expect("read the XADD id");
        id.trim_end().to_owned()
    }
}

/// Waits until `deadline` while `probe` stays `true`; returns whether it always did.
pub fn holds_until(deadline: Instant, mut probe: impl FnMut() -> bool) -> bool {
    loop {
        if !probe() {
            return false;
        }
        if Instant::now() >= deadline {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

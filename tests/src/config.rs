//! Environment-based configuration of one herald process, built before it starts.

use crate::names::unique;
use crate::ports::free_port;
use crate::process::HeraldProcess;
use std::collections::BTreeMap;

/// The settings of a herald process to start: its ports, access key and extra environment.
#[derive(Debug, Clone)]
pub struct HeraldConfig {
    /// Port for clients and the REST API.
    pub listen_port: u16,
    /// Port for `/healthz`, `/readyz` and `/metrics`.
    pub admin_port: u16,
    /// The AccessKey of the connection string; `None` runs herald in anonymous mode.
    pub access_key: Option<String>,
    /// Extra `HERALD_*` variables, overriding the defaults.
    pub env: BTreeMap<String, String>,
    /// The `herald` subcommand: `standalone` (the default) or `node` (cluster mode).
    pub subcommand: String,
    /// The `Endpoint=` of the connection string; `None` means [`Self::base_url`]. A cluster
    /// shares one public endpoint, the audience base of every client and REST token.
    pub endpoint: Option<String>,
}

impl Default for HeraldConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl HeraldConfig {
    /// A configuration on fresh free ports with a random access key and node id `n1`.
    pub fn new() -> Self {
        let mut env = BTreeMap::new();
        env.insert("HERALD_NODE_ID".to_owned(), "n1".to_owned());
        env.insert("HERALD_LOG_LEVEL".to_owned(), "info".to_owned());
        // The standalone demo (embedded account, stocks feed, price writer) only where a test
        // asks for it with `demo()`: elsewhere it would only add load and log lines.
        env.insert("HERALD_DEMO_ENABLED".to_owned(), "false".to_owned());
        Self {
            listen_port: free_port(),
            admin_port: free_port(),
            access_key: Some(unique("key").repeat(2)),
            env,
            subcommand: "standalone".to_owned(),
            endpoint: None,
        }
    }

    /// Runs the standalone demo (`demo.enabled`), as `herald` does by default.
    pub fn demo(self) -> Self {
        self.env("HERALD_DEMO_ENABLED", "true")
    }

    /// Runs `herald <subcommand>` (`node` for a cluster node).
    pub fn subcommand(mut self, subcommand: &str) -> Self {
        self.subcommand = subcommand.to_owned();
        self
    }

    /// Uses `endpoint` (e.g. `http://herald.test`) as the connection string's `Endpoint=`.
    pub fn endpoint(mut self, endpoint: &str) -> Self {
        self.endpoint = Some(endpoint.trim_end_matches('/').to_owned());
        self
    }

    /// The public endpoint: the audience base of tokens (the `Endpoint=` of the connection
    /// string, by default [`Self::base_url`]).
    pub fn public_endpoint(&self) -> String {
        self.endpoint.clone().unwrap_or_else(|| self.base_url())
    }

    /// Runs without a connection string: no tokens required.
    pub fn anonymous(mut self) -> Self {
        self.access_key = None;
        self
    }

    /// Restricts the allowed hubs (`HERALD_HUBS`).
    pub fn hubs(self, hubs: &[&str]) -> Self {
        self.env("HERALD_HUBS", &hubs.join(","))
    }

    /// Sets `HERALD_CLIENT_MAX_MESSAGE_SIZE`.
    pub fn max_message_size(self, bytes: usize) -> Self {
        self.env("HERALD_CLIENT_MAX_MESSAGE_SIZE", &bytes.to_string())
    }

    /// Sets `HERALD_SHUTDOWN_GRACE_PERIOD` (a humantime duration such as `5s`).
    pub fn shutdown_grace_period(self, period: &str) -> Self {
        self.env("HERALD_SHUTDOWN_GRACE_PERIOD", period)
    }

    /// Sets any environment variable of the process.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_owned(), value.to_owned());
        self
    }

    /// `http://127.0.0.1:<listen port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.listen_port)
    }

    /// The value of `HERALD_CONNECTION_STRING`, when an access key is set.
    pub fn connection_string(&self) -> Option<String> {
        self.access_key.as_ref().map(|key| {
            let endpoint = self.public_endpoint();
            format!("Endpoint={endpoint};AccessKey={key};Version=1.0;")
        })
    }

    /// Every environment variable the process gets.
    pub fn environment(&self) -> BTreeMap<String, String> {
        let mut env = self.env.clone();
        env.insert(
            "HERALD_LISTEN".to_owned(),
            format!("127.0.0.1:{}", self.listen_port),
        );
        env.insert(
            "HERALD_ADMIN_LISTEN".to_owned(),
            format!("127.0.0.1:{}", self.admin_port),
        );
        if let Some(connection_string) = self.connection_string() {
            env.insert("HERALD_CONNECTION_STRING".to_owned(), connection_string);
        }
        env
    }

    /// Spawns herald with this configuration and waits until `/readyz` answers 200.
    pub fn start(self) -> HeraldProcess {
        let mut process = HeraldProcess::spawn(self);
        process.wait_ready();
        process
    }
}

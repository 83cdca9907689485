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
        Self {
            listen_port: free_port(),
            admin_port: free_port(),
            access_key: Some(unique("key").repeat(2)),
            env,
        }
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
        self.access_key
            .as_ref()
            .map(|key| format!("Endpoint={};AccessKey={key};Version=1.0;", self.base_url()))
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

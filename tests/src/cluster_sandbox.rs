//! N `herald node` processes joined through one Redis under a prefix unique to the test: the
//! unit of every cluster test. Node `i` has the id `n<i+1>`; all share one connection string
//! whose `Endpoint=` is [`PUBLIC_ENDPOINT`], so tokens are minted for that audience whichever
//! node a request goes to.

use crate::config::HeraldConfig;
use crate::names::unique;
use crate::process::HeraldProcess;
use crate::rest::Rest;
use crate::token;

/// The public URL of every test cluster: the audience base of client and REST tokens.
pub const PUBLIC_ENDPOINT: &str = "http://herald.test";

/// How to start a cluster.
pub struct ClusterBuilder {
    redis_url: String,
    nodes: usize,
    authenticated: bool,
    env: Vec<(String, String)>,
    /// Nodes (by index) that reach Redis at another URL, such as through a proxy.
    redis_urls: Vec<(usize, String)>,
}

impl ClusterBuilder {
    /// `nodes` anonymous-mode nodes on the Redis at `redis_url`.
    pub fn new(redis_url: &str, nodes: usize) -> Self {
        Self {
            redis_url: redis_url.to_owned(),
            nodes,
            authenticated: false,
            env: Vec::new(),
            redis_urls: Vec::new(),
        }
    }

    /// Node `index` reaches the same Redis at `url` (through a proxy, for instance).
    pub fn node_redis_url(mut self, index: usize, url: &str) -> Self {
        self.redis_urls.push((index, url.to_owned()));
        self
    }

    /// Requires tokens: every node gets the same connection string with one access key.
    pub fn authenticated(mut self) -> Self {
        self.authenticated = true;
        self
    }

    /// Sets an environment variable on every node.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Spawns every node, then waits until each answers `/readyz` with 200.
    pub fn start(self) -> ClusterSandbox {
        let prefix = unique("hc");
        let access_key = self.authenticated.then(|| unique("key").repeat(2));
        let mut nodes: Vec<HeraldProcess> = (1..=self.nodes)
            .map(|n| {
                let redis_url = self
                    .redis_urls
                    .iter()
                    .find(|(index, _)| *index + 1 == n)
                    .map_or(self.redis_url.as_str(), |(_, url)| url.as_str());
                let mut config = HeraldConfig::new()
                    .subcommand("node")
                    .endpoint(PUBLIC_ENDPOINT)
                    .env("HERALD_NODE_ID", &format!("n{n}"))
                    .env("HERALD_REDIS_URL", redis_url)
                    .env("HERALD_REDIS_PREFIX", &prefix);
                config.access_key.clone_from(&access_key);
                if access_key.is_none() {
                    config = config.env("HERALD_AUTH_ALLOW_ANONYMOUS", "true");
                }
                for (name, value) in &self.env {
                    config = config.env(name, value);
                }
                HeraldProcess::spawn(config)
            })
            .collect();
        for node in &mut nodes {
            node.wait_ready();
        }
        ClusterSandbox {
            nodes,
            prefix,
            access_key,
        }
    }
}

/// Running cluster nodes, killed when dropped.
pub struct ClusterSandbox {
    nodes: Vec<HeraldProcess>,
    prefix: String,
    access_key: Option<String>,
}

impl ClusterSandbox {
    /// The Redis key and channel prefix of this cluster.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// How many nodes were started.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the cluster has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node `index` (0-based; its id is `n<index+1>`).
    pub fn node(&self, index: usize) -> &HeraldProcess {
        &self.nodes[index]
    }

    /// Node `index`, mutably (to kill it or wait for its exit).
    pub fn node_mut(&mut self, index: usize) -> &mut HeraldProcess {
        &mut self.nodes[index]
    }

    /// Every node.
    pub fn nodes(&self) -> &[HeraldProcess] {
        &self.nodes
    }

    /// The id of node `index`: `n<index+1>`.
    pub fn node_id(index: usize) -> String {
        format!("n{}", index + 1)
    }

    /// A REST client sending to node `index`, signing for the public endpoint.
    pub fn rest(&self, index: usize) -> Rest {
        self.nodes[index].rest()
    }

    /// The Azure-style client URL of `hub` on node `index`.
    pub fn client_url(&self, index: usize, hub: &str) -> String {
        self.nodes[index].client_url(hub)
    }

    /// A client token for `hub` naming `user` (`None` in anonymous mode).
    pub fn client_token(&self, hub: &str, user: &str) -> Option<String> {
        self.access_key
            .as_deref()
            .map(|key| token::client_token(key, PUBLIC_ENDPOINT, hub, Some(user)))
    }

    /// The group channel of `hub`: `<prefix>:h:<hub>:g:<group>`.
    pub fn group_channel(&self, hub: &str, group: &str) -> String {
        format!("{}:h:{hub}:g:{group}", self.prefix)
    }

    /// Every node's log, headed by its id, for failure messages.
    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, node)| format!("--- {} ---\n{}", Self::node_id(i), node.log()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Panics when any node's log mentions a panic.
    pub fn assert_no_panic(&self) {
        for node in &self.nodes {
            node.assert_no_panic();
        }
    }
}

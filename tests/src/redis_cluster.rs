//! A Redis Cluster of three masters and three replicas on loopback ports: created with
//! `redis-cli --cluster create`, waited on until every node reports `cluster_state:ok`, with
//! helpers to find the master serving a slot and to kill it.

use crate::ports::free_port;
use crate::redis_server::{RedisServer, cli_at};
use crate::wait::{deadline_in, wait_until};
use std::process::{Command, Stdio};

/// Masters plus replicas.
const SERVERS: usize = 6;
/// `cluster-node-timeout` in milliseconds: how long a master may be unreachable before its
/// replica takes over.
pub const NODE_TIMEOUT_MS: u64 = 3000;
/// How long the cluster may take to form.
const FORM_TIMEOUT_SECONDS: u64 = 30;

/// One line of `CLUSTER NODES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    /// The node id.
    pub id: String,
    /// The client port.
    pub port: u16,
    /// `master` or `slave`, as flagged.
    pub is_master: bool,
    /// Whether the node is flagged `fail` or `fail?`.
    pub failing: bool,
    /// Slot ranges served (masters only), inclusive.
    pub slots: Vec<(u16, u16)>,
}

/// Six redis-servers in cluster mode, killed when dropped.
pub struct RedisCluster {
    servers: Vec<RedisServer>,
    /// The TLS client ports, in the order of `servers` (empty without TLS).
    tls_ports: Vec<u16>,
}

impl RedisCluster {
    /// Starts six servers, joins them into three masters with one replica each, and waits
    /// until every node reports `cluster_state:ok`.
    pub fn start() -> Self {
        Self::start_with(|_| Vec::new(), Vec::new())
    }

    /// [`RedisCluster::start`] with TLS for clients, the cluster bus and replication
    /// (`--tls-cluster yes`): each server keeps a plain port for the test's `redis-cli` and
    /// gets a TLS port with the server certificate of `pki` (signed by its `ca.pem`).
    pub fn start_tls(pki: &crate::TestPki) -> Self {
        let tls_ports: Vec<u16> = (0..SERVERS).map(|_| free_port()).collect();
        let ports = tls_ports.clone();
        let files = [
            ("--tls-cert-file", pki.file("server.pem")),
            ("--tls-key-file", pki.file("server.key")),
            ("--tls-ca-cert-file", pki.file("ca.pem")),
        ];
        Self::start_with(
            move |index| {
                let mut args = vec![
                    "--tls-port".to_owned(),
                    ports[index].to_string(),
                    "--tls-cluster".to_owned(),
                    "yes".to_owned(),
                    "--tls-replication".to_owned(),
                    "yes".to_owned(),
                    "--tls-auth-clients".to_owned(),
                    "no".to_owned(),
                ];
                for (flag, file) in &files {
                    args.push((*flag).to_owned());
                    args.push(file.clone());
                }
                args
            },
            tls_ports,
        )
    }

    fn start_with(extra: impl Fn(usize) -> Vec<String>, tls_ports: Vec<u16>) -> Self {
        let servers: Vec<RedisServer> = (0..SERVERS)
            .map(|index| {
                let port = free_port();
                // The bus port defaults to port + 10000, which may be past 65535 or taken.
                let mut args = vec![
                    "--cluster-enabled".to_owned(),
                    "yes".to_owned(),
                    "--cluster-config-file".to_owned(),
                    format!("nodes-{port}.conf"),
                    "--cluster-node-timeout".to_owned(),
                    NODE_TIMEOUT_MS.to_string(),
                    "--cluster-port".to_owned(),
                    free_port().to_string(),
                    // Replicas sync at once: a replica that never synced cannot take over.
                    "--repl-diskless-sync-delay".to_owned(),
                    "0".to_owned(),
                ];
                args.extend(extra(index));
                RedisServer::start_with(port, &args)
            })
            .collect();
        let addresses: Vec<String> = servers.iter().map(RedisServer::address).collect();
        let output = Command::new("/usr/bin/redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let cluster = Self { servers, tls_ports };
        let formed = wait_until(deadline_in(FORM_TIMEOUT_SECONDS), || {
            cluster.servers.iter().all(|s| cluster_ok(s.port()))
                && cluster.nodes().is_some_and(|nodes| {
                    let masters = nodes.iter().filter(|n| n.is_master).count();
                    masters == 3
                        && nodes
                            .iter()
                            .filter(|n| !n.is_master)
                            .all(|n| replica_in_sync(n.port))
                })
        });
        assert!(
            formed,
            "the Redis Cluster did not reach cluster_state:ok with every replica in sync"
        );
        cluster
    }

    /// `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,...` listing every server.
    pub fn url(&self) -> String {
        let addresses: Vec<String> = self.servers.iter().map(RedisServer::address).collect();
        format!("redis+cluster://{}", addresses.join(","))
    }

    /// `rediss+cluster://127.0.0.1:t1,...` listing every TLS port ([`RedisCluster::start_tls`]).
    pub fn tls_url(&self) -> String {
        assert!(!self.tls_ports.is_empty(), "this cluster has no TLS ports");
        let addresses: Vec<String> = self
            .tls_ports
            .iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect();
        format!("rediss+cluster://{}", addresses.join(","))
    }

    /// The port of a running server, to ask cluster questions.
    fn any_running_port(&self) -> u16 {
        self.servers
            .iter()
            .find(|s| s.is_running())
            .expect("a running cluster node")
            .port()
    }

    /// Runs `redis-cli -c <args>` (following the cluster's redirections); its trimmed output.
    fn cli_following(&self, args: &[&str]) -> (bool, String, String) {
        let output = std::process::Command::new("redis-cli")
            .args([
                "-c",
                "-h",
                "127.0.0.1",
                "-p",
                &self.any_running_port().to_string(),
            ])
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run redis-cli");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).trim().to_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// `XADD <key> * doc <document>`; returns the new stream id.
    pub fn xadd(&self, key: &str, document: &str) -> String {
        let (ok, id, stderr) = self.cli_following(&["XADD", key, "*", "doc", document]);
        assert!(ok && id.contains('-'), "XADD {key} failed: {id} {stderr}");
        id
    }

    /// `CLUSTER KEYSLOT <key>`.
    pub fn keyslot(&self, key: &str) -> u16 {
        cli_at(self.any_running_port(), &["CLUSTER", "KEYSLOT", key])
            .expect("CLUSTER KEYSLOT")
            .parse()
            .expect("a slot number")
    }

    /// `CLUSTER NODES` as seen by a running server; `None` when it cannot be read.
    pub fn nodes(&self) -> Option<Vec<ClusterNode>> {
        let text = cli_at(self.any_running_port(), &["CLUSTER", "NODES"])?;
        Some(text.lines().filter_map(parse_node).collect())
    }

    /// The port of the healthy master serving `slot`, if the cluster currently agrees on one.
    pub fn master_of_slot(&self, slot: u16) -> Option<u16> {
        self.nodes()?
            .into_iter()
            .find(|n| {
                n.is_master && !n.failing && n.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot))
            })
            .map(|n| n.port)
    }

    /// `SET <key> <value>` (a resident key makes a slot migration move data too).
    pub fn set(&self, key: &str, value: &str) {
        let (_, reply, stderr) = self.cli_following(&["SET", key, value]);
        assert_eq!(reply, "OK", "SET {key} failed: {stderr}");
    }

    /// Moves `slot` to the master on `to` the way `redis-cli --cluster reshard` does:
    /// `CLUSTER SETSLOT … IMPORTING/MIGRATING`, `MIGRATE` of every key in the slot, then
    /// `CLUSTER SETSLOT … NODE` on every master. Returns the port it moved from.
    pub fn migrate_slot(&self, slot: u16, to: u16) -> u16 {
        let nodes = self.nodes().expect("CLUSTER NODES");
        let from = self.master_of_slot(slot).expect("a master serves the slot");
        let id = |port: u16| {
            nodes
                .iter()
                .find(|n| n.port == port)
                .map(|n| n.id.clone())
                .unwrap_or_else(|| panic!("no cluster node on port {port}"))
        };
        let (from_id, to_id, slot) = (id(from), id(to), slot.to_string());
        let ok = |port: u16, args: &[&str]| {
            cli_at(port, args).unwrap_or_else(|| panic!("{args:?} on port {port} failed"))
        };
        ok(to, &["CLUSTER", "SETSLOT", &slot, "IMPORTING", &from_id]);
        ok(from, &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &to_id]);
        loop {
            let keys = ok(from, &["CLUSTER", "GETKEYSINSLOT", &slot, "100"]);
            let keys: Vec<&str> = keys
                .lines()
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .collect();
            if keys.is_empty() {
                break;
            }
            for key in keys {
                ok(
                    from,
                    &["MIGRATE", "127.0.0.1", &to.to_string(), key, "0", "5000"],
                );
            }
        }
        for master in nodes.iter().filter(|n| n.is_master && !n.failing) {
            ok(master.port, &["CLUSTER", "SETSLOT", &slot, "NODE", &to_id]);
        }
        from
    }

    /// The ports of the healthy masters.
    pub fn master_ports(&self) -> Vec<u16> {
        self.nodes()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n.is_master && !n.failing)
            .map(|n| n.port)
            .collect()
    }

    /// Kills (SIGKILL) the server listening on `port`.
    pub fn kill_port(&mut self, port: u16) {
        let server = self
            .servers
            .iter_mut()
            .find(|s| s.port() == port)
            .unwrap_or_else(|| panic!("no cluster server on port {port}"));
        server.kill();
    }

    /// For failure messages: each server's role, its subscriber count of shard channel
    /// `channel` (`PUBSUB SHARDNUMSUB`), its clients with shard subscriptions and its log. A
    /// message that never arrives while the slot's master counts fewer subscribers than there
    /// are subscribing nodes means a subscription was lost, not delayed.
    pub fn report(&self, channel: &str) -> String {
        self.servers
            .iter()
            .map(|server| {
                let port = server.port();
                if !server.is_running() {
                    return format!("--- redis {port}: killed ---\n{}", server.log());
                }
                let cli = |args: &[&str]| cli_at(port, args).unwrap_or_else(|| "?".to_owned());
                let role = cli(&["ROLE"]).lines().next().unwrap_or("?").to_owned();
                let numsub = cli(&["PUBSUB", "SHARDNUMSUB", channel]).replace('\n', " ");
                let subscribers: Vec<String> = cli(&["CLIENT", "LIST"])
                    .lines()
                    .filter(|line| !line.contains(" ssub=0 ") && line.contains(" ssub="))
                    .map(str::to_owned)
                    .collect();
                format!(
                    "--- redis {port}: {role}; SHARDNUMSUB {numsub}; clients with shard \
                     subscriptions:\n{}\n{}",
                    subscribers.join("\n"),
                    server.log()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Whether every running server reports `cluster_state:ok`.
    pub fn all_running_ok(&self) -> bool {
        self.servers
            .iter()
            .filter(|s| s.is_running())
            .all(|s| cluster_ok(s.port()))
    }
}

/// Whether the server on `port` reports `cluster_state:ok`.
fn cluster_ok(port: u16) -> bool {
    cli_at(port, &["CLUSTER", "INFO"])
        .is_some_and(|info| info.lines().any(|line| line.trim() == "cluster_state:ok"))
}

/// Whether the replica on `port` has its replication link to its master up.
fn replica_in_sync(port: u16) -> bool {
    cli_at(port, &["INFO", "replication"]).is_some_and(|info| {
        info.lines()
            .any(|line| line.trim() == "master_link_status:up")
    })
}

/// Parses `<id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slot>...`.
fn parse_node(line: &str) -> Option<ClusterNode> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() < 8 {
        return None;
    }
    let port = fields[1]
        .split('@')
        .next()?
        .rsplit(':')
        .next()?
        .parse()
        .ok()?;
    let flags: Vec<&str> = fields[2].split(',').collect();
    let slots = fields[8..]
        .iter()
        .filter(|s| !s.starts_with('['))
        .filter_map(|s| match s.split_once('-') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => s.parse().ok().map(|a| (a, a)),
        })
        .collect();
    Some(ClusterNode {
        id: fields[0].to_owned(),
        port,
        is_master: flags.contains(&"master"),
        failing: flags.iter().any(|f| *f == "fail" || *f == "fail?"),
        slots,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_node;

    #[test]
    fn parses_cluster_nodes_lines() {
        let master = parse_node(
            "07c3 127.0.0.1:30004@31004,hostname master,myself - 0 0 1 connected 0-5460 7000",
        )
        .expect("a node");
        assert_eq!(master.port, 30004);
        assert!(master.is_master && !master.failing);
        assert_eq!(master.slots, vec![(0, 5460), (7000, 7000)]);
        let replica = parse_node("e7d1 127.0.0.1:30005@31005 slave,fail 07c3 0 0 1 disconnected")
            .expect("a node");
        assert!(!replica.is_master && replica.failing);
        assert!(replica.slots.is_empty());
    }
}

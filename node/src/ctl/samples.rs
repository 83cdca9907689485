//! Admin API answers shaped as `node/docs/admin-api.md` documents them, shared by the render
//! and command tests: three nodes (ready, draining, unreachable), four leases of which one has
//! no owner, one feed, and the problems that follow.

pub(super) const CLUSTER: &str = r#"{
  "answered_by": "node-a",
  "clustered": true,
  "generated_at_ms": 1765000000000,
  "coordinator": { "leader": "coord-1", "token": 7, "since_ms": 1764999000000 },
  "nodes": [
    {
      "id": "node-a", "url": "http://10.0.0.7:8080/", "admin_url": "http://10.0.0.7:9090",
      "version": "0.1.0", "started_at_ms": 1764990000000, "uptime_seconds": 10000,
      "state": "ready", "error": null,
      "connections": { "total": 3, "by_hub": { "chat": 3 },
                       "by_transport": { "WebSockets": 2, "ServerSentEvents": 1 } },
      "backplane": { "state": "up", "error": null, "buffered_bytes": 0 },
      "rates": { "messages_in_per_second": 0.5, "messages_out_per_second": 12.0,
                 "changes_per_second": 3.0 },
      "history": [ { "at_ms": 1764999400000, "messages_in_per_second": 0.0,
                     "messages_out_per_second": 1.0, "changes_per_second": 0.0 } ],
      "leases": [ "orders/0", "orders/2" ]
    },
    {
      "id": "node-b", "url": "http://10.0.0.8:8080/", "admin_url": "http://10.0.0.8:9090",
      "version": "0.1.0", "started_at_ms": 1764999941000, "uptime_seconds": 59,
      "state": "draining", "error": null,
      "connections": { "total": 0, "by_hub": {}, "by_transport": {} },
      "backplane": { "state": "up", "error": null, "buffered_bytes": 0 },
      "rates": { "messages_in_per_second": 0.0, "messages_out_per_second": 0.4,
                 "changes_per_second": 0.0 },
      "history": [],
      "leases": []
    },
    {
      "id": "node-c", "url": "http://10.0.0.9:8080/", "admin_url": "http://10.0.0.9:9090",
      "version": "0.1.0", "started_at_ms": 1764750000000, "uptime_seconds": 250000,
      "state": "unreachable", "error": "no answer within 2s",
      "connections": null, "backplane": null, "rates": null, "history": [], "leases": null
    }
  ],
  "leases": [
    { "id": "orders/0", "feed": "orders", "partition": "0", "owner": "node-a", "epoch": 4,
      "checkpoint": "1764999999999-0", "updated_at_ms": 1764999999000,
      "lag": 0, "last_batch_at_ms": 1764999998000 },
    { "id": "orders/1", "feed": "orders", "partition": "1", "owner": "node-c", "epoch": 2,
      "checkpoint": "1764999000000-3", "updated_at_ms": 1764999000000,
      "lag": null, "last_batch_at_ms": null },
    { "id": "orders/2", "feed": "orders", "partition": "2", "owner": "node-a", "epoch": 4,
      "checkpoint": "1764999999001-0", "updated_at_ms": 1764999999000,
      "lag": 12, "last_batch_at_ms": 1764999998000 },
    { "id": "orders/3", "feed": "orders", "partition": "3", "owner": null, "epoch": 5,
      "checkpoint": null, "updated_at_ms": 1764999990000,
      "lag": null, "last_batch_at_ms": null }
  ],
  "feeds": [
    { "feed": "orders", "leases": 4, "owned": 3, "lag": 12, "changes_per_second": 3.0,
      "errors_total": 0 }
  ],
  "problems": [
    "node node-b is draining",
    "node node-c is unreachable: no answer within 2s",
    "lease orders/3 has no owner"
  ]
}"#;

/// The same cluster once all is well.
pub(super) const HEALTHY_CLUSTER: &str = r#"{
  "answered_by": "node-a", "clustered": true, "generated_at_ms": 1765000000000,
  "coordinator": { "leader": "coord-1", "token": 7, "since_ms": 1764999000000 },
  "nodes": [], "leases": [], "feeds": [], "problems": []
}"#;

pub(super) const CONNECTIONS_PAGE_1: &str = r#"[
  { "id": "node-a.AbC1", "hub": "chat", "user": "alice", "node": "node-a",
    "transport": "WebSockets", "protocol": "json", "connected_at_ms": 1764999000000,
    "groups": [ "room-1", "vip" ] },
  { "id": "node-a.XyZ2", "hub": "chat", "user": null, "node": "node-a",
    "transport": null, "protocol": "messagepack", "connected_at_ms": 1764999999000,
    "groups": [] }
]"#;

pub(super) const CONNECTIONS_PAGE_2: &str = r#"[
  { "id": "node-b.QrS3", "hub": "chat", "user": "bob", "node": "node-b",
    "transport": "ServerSentEvents", "protocol": "json", "connected_at_ms": 1764999998000,
    "groups": [ "room-1" ] }
]"#;

pub(super) const GROUP: &str = r#"{ "hub": "chat", "group": "room-1", "members": [
  { "id": "node-a.AbC1", "hub": "chat", "user": "alice", "node": "node-a",
    "transport": "WebSockets", "protocol": "json", "connected_at_ms": 1764999000000,
    "groups": [ "room-1", "vip" ] },
  { "id": "node-b.QrS3", "hub": "chat", "user": "bob", "node": "node-b",
    "transport": "ServerSentEvents", "protocol": "json", "connected_at_ms": 1764999998000,
    "groups": [ "room-1" ] }
], "unreachable": [ { "node": "node-c", "error": "no answer within 2s" } ] }"#;

pub(super) const USER: &str = r#"{ "hub": "chat", "user": "alice", "connections": [
  { "id": "node-a.AbC1", "hub": "chat", "user": "alice", "node": "node-a",
    "transport": "WebSockets", "protocol": "json", "connected_at_ms": 1764999000000,
    "groups": [ "room-1", "vip" ] }
], "user_groups": [ { "group": "vip", "expires_at_ms": null },
                    { "group": "trial", "expires_at_ms": 1765000000000 } ],
   "unreachable": [] }"#;

//! A WebSocket negotiated on one node that reaches another (a load balancer without sticky
//! sessions) is carried to the node owning its connection: handshake, pushes and close work
//! as if it had reached the owner.

use std::time::{Duration, Instant};

use herald_tests::http_connection::HttpConnection;
use herald_tests::raw_ws::payload_bytes;
use herald_tests::{ClusterBuilder, RawWs, RedisServer, WsFrame, unique};
use serde_json::{Value, json};

const RS: char = '\u{1e}';

fn records(ws: &mut RawWs, want: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    while out.len() < want {
        let Some(frame) = ws.next_frame(deadline) else {
            break;
        };
        let text = String::from_utf8(payload_bytes(&[frame])).unwrap();
        for record in text.split(RS).filter(|r| !r.is_empty()) {
            let value: Value = serde_json::from_str(record).unwrap();
            if value["type"] != 6 {
                out.push(value);
            }
        }
    }
    out
}

#[test]
fn a_websocket_on_another_node_reaches_its_owner() {
    let redis = RedisServer::start();
    let cluster = ClusterBuilder::new(&redis.url(), 2).start();
    let hub = unique("wsfwd");
    // Negotiated on n1, so the connection belongs to n1 ...
    let negotiated = HttpConnection::negotiate(cluster.node(0), &hub);
    assert!(
        negotiated.token().ends_with(".n1"),
        "{}",
        negotiated.token()
    );
    // ... and the WebSocket lands on n2.
    let url = format!("{}{}", cluster.node(1).ws_base_url(), negotiated.path());
    let mut ws = RawWs::connect(&url, None).expect("n2 accepts and forwards the WebSocket");
    ws.send_text(&format!("{{\"protocol\":\"json\",\"version\":1}}{RS}"));
    assert_eq!(records(&mut ws, 1), vec![json!({})]);

    // Pushes through either node arrive.
    cluster
        .rest(1)
        .broadcast(&hub, "num", &json!([1]))
        .assert_status(202);
    cluster
        .rest(0)
        .broadcast(&hub, "num", &json!([2]))
        .assert_status(202);
    let got = records(&mut ws, 2);
    assert_eq!(
        got,
        vec![
            json!({"type": 1, "target": "num", "arguments": [1]}),
            json!({"type": 1, "target": "num", "arguments": [2]}),
        ]
    );
    let metrics = cluster.node(1).admin_get("/metrics").1;
    assert!(
        metrics.contains(r#"herald_forwarded_requests_total{result="ok"} 1"#),
        "n2 forwarded the WebSocket once: {metrics}"
    );

    // A client close reaches the owner, which closes the connection.
    ws.send_text(&format!("{{\"type\":7}}{RS}"));
    let (frames, closed) = ws.read_until_closed(Instant::now() + Duration::from_secs(10));
    assert!(
        closed,
        "the socket closes after the client's Close: {frames:?}"
    );
    assert!(
        frames.iter().all(|f| !matches!(f, WsFrame::Text(_))),
        "{frames:?}"
    );
    cluster.assert_no_panic();
}

//! Server-Sent Events by hand: the event stream's framing, its refusal of binary protocols,
//! its status codes for unknown and missing ids, and how `DELETE` and sends after the end
//! behave.

use herald_tests::frames::RS;
use herald_tests::metrics::assert_connections_drop_to_zero;
use herald_tests::wait::deadline_in;
use herald_tests::{EventStream, HeraldConfig, HeraldProcess, HttpConnection, unique};
use serde_json::{Value, json};

/// What herald writes first on every event stream: an SSE comment.
const OPENING: &str = ":\r\n\r\n";

fn finish(server: &HeraldProcess) {
    assert_connections_drop_to_zero(server, 10);
    server.assert_no_panic();
}

/// The JSON records of every complete `data:` event in `text`, in order.
fn data_records(text: &str) -> Vec<Value> {
    let mut events: Vec<&str> = text.split("\r\n\r\n").collect();
    // What follows the last blank line is an event still arriving (or nothing).
    events.pop();
    events
        .into_iter()
        .filter_map(|event| event.strip_prefix("data: "))
        .map(|data| {
            let record = data
                .strip_suffix(RS)
                .unwrap_or_else(|| panic!("data event without a record separator: {data:?}"));
            serde_json::from_str(record)
                .unwrap_or_else(|e| panic!("data is not JSON ({e}): {record:?}"))
        })
        .collect()
}

#[test]
fn unknown_and_missing_ids() {
    let server = HeraldConfig::new().anonymous().start();
    let hub = unique("sse");
    let base = server.base_url();
    let mut unknown = EventStream::open(&format!("{base}/client/?hub={hub}&id=nope"));
    assert_eq!(unknown.status(deadline_in(10)), Some(404));
    let mut missing = EventStream::open(&format!("{base}/client/?hub={hub}"));
    assert_eq!(missing.status(deadline_in(10)), Some(400));
    finish(&server);
}

#[test]
fn messagepack_handshake_gets_an_error_event_and_the_stream_ends() {
    let server = HeraldConfig::new().anonymous().start();
    let hub = unique("sse");
    let connection = HttpConnection::negotiate(&server, &hub);
    let mut stream = EventStream::open(&connection.url());
    assert_eq!(stream.status(deadline_in(10)), Some(200));
    assert!(
        stream.read_until(deadline_in(10), |t| t.starts_with(OPENING)),
        "no opening comment: {:?}",
        stream.text()
    );
    connection.post_handshake("messagepack").assert_status(200);
    assert!(
        stream.wait_end(deadline_in(10)),
        "the stream did not end after a refused handshake: {:?}",
        stream.text()
    );
    let events = stream
        .text()
        .strip_prefix(OPENING)
        .expect("opening comment");
    let records = data_records(events);
    assert_eq!(records.len(), 1, "one handshake error: {events:?}");
    let error = records[0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("messagepack"),
        "the handshake error names the protocol: {}",
        records[0]
    );
    assert_eq!(records[0], json!({"error": error}));
    finish(&server);
}

#[test]
fn json_session_receives_events_and_delete_ends_the_stream() {
    let server = HeraldConfig::new().anonymous().start();
    let hub = unique("sse");
    let connection = HttpConnection::negotiate(&server, &hub);
    let mut stream = EventStream::open(&connection.url());
    assert_eq!(stream.status(deadline_in(10)), Some(200));
    assert!(stream.read_until(deadline_in(10), |t| t.starts_with(OPENING)));
    connection.post_handshake("json").assert_status(200);
    let handshake = format!("{OPENING}data: {{}}{RS}\r\n\r\n");
    assert!(
        stream.read_until(deadline_in(10), |t| t.len() >= handshake.len()),
        "no handshake response: {:?}",
        stream.text()
    );
    assert_eq!(stream.text(), handshake);

    let arguments = json!(["line one\nline two", 2]);
    server
        .rest()
        .broadcast(&hub, "msg", &arguments)
        .assert_status(202);
    let message = json!({"type": 1, "target": "msg", "arguments": arguments});
    assert!(
        stream.read_until(deadline_in(10), |t| data_records(&t[handshake.len()..])
            .contains(&message)),
        "no message event: {:?}",
        stream.text()
    );
    // A ping from the client is a valid send.
    connection
        .post(format!("{{\"type\":6}}{RS}").as_bytes())
        .assert_status(200);

    connection.delete().assert_status(202);
    assert!(
        stream.wait_end(deadline_in(10)),
        "DELETE did not end the event stream: {:?}",
        stream.text()
    );
    connection
        .post(format!("{{\"type\":6}}{RS}").as_bytes())
        .assert_error(404);
    finish(&server);
}

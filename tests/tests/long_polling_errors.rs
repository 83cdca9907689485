//! Long polling by hand: the status codes of TransportProtocols.md for unknown, missing, closed
//! and superseded polls, and for sends that conflict, are too large or come after the end.

use herald_tests::frames::{RS, json_records};
use herald_tests::metrics::assert_connections_drop_to_zero;
use herald_tests::raw_http::RawHttp;
use herald_tests::wait::deadline_in;
use herald_tests::{Auth, HeraldConfig, HeraldProcess, HttpConnection, Rest, unique};
use serde_json::json;
use std::time::{Duration, Instant};

/// A ping, a valid JSON-protocol message a client may send at any time.
const PING: &str = "{\"type\":6}\u{1e}";

/// A connection past its first poll and handshake, with the handshake response read.
fn connected(server: &HeraldProcess, hub: &str) -> HttpConnection {
    let connection = HttpConnection::negotiate(server, hub);
    let started = Instant::now();
    let first = connection.poll();
    first.assert_status(200);
    assert_eq!(first.body, "", "the first poll is empty");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the first poll must return at once, took {:?}",
        started.elapsed()
    );
    connection.post_handshake("json").assert_status(200);
    let handshake = connection.poll();
    handshake.assert_status(200);
    assert_eq!(handshake.body, format!("{{}}{RS}"));
    connection
}

fn finish(server: &HeraldProcess) {
    assert_connections_drop_to_zero(server, 10);
    server.assert_no_panic();
}

fn host_port(server: &HeraldProcess) -> String {
    format!("127.0.0.1:{}", server.config().listen_port)
}

#[test]
fn unknown_and_missing_ids() {
    let server = HeraldConfig::new().anonymous().start();
    let hub = unique("lp");
    let rest = Rest::new(&server.base_url(), None);
    for method in ["GET", "POST", "DELETE"] {
        let body = (method == "POST").then_some(PING.as_bytes());
        let unknown = rest.request(
            method,
            &format!("/client/?hub={hub}&id=nope"),
            body,
            &Auth::None,
        );
        unknown.assert_error(404);
        let missing = rest.request(method, &format!("/client/?hub={hub}"), body, &Auth::None);
        missing.assert_error(400);
    }
    finish(&server);
}

#[test]
fn queued_messages_come_in_one_poll_and_a_waiting_poll_gets_the_next() {
    let server = HeraldConfig::new().anonymous().start();
    let hub = unique("lp");
    let connection = connected(&server, &hub);
    let rest = server.rest();
    rest.broadcast(&hub, "msg", &json!([1])).assert_status(202);
    rest.broadcast(&hub, "msg", &json!([2])).assert_status(202);
    let both = connection.poll();
    both.assert_status(200);
    assert_eq!(
        json_records(both.body.as_bytes()),
        vec![
            json!({"type": 1, "target": "msg", "arguments": [1]}),
            json!({"type": 1, "target": "msg", "arguments": [2]}),
        ]
    );
    let mut waiting = connection.poll_in_background();
    rest.broadcast(&hub, "msg", &json!([3])).assert_status(202);
    let third = waiting
        .wait(deadline_in(10))
        .expect("the waiting poll returns");
    third.assert_status(200);
    assert_eq!(
        json_records(third.body.as_bytes()),
        vec![json!({"type": 1, "target": "msg", "arguments": [3]})]
    );
    connection.delete().assert_status(202);
    finish(&server);
}

#[test]
fn a_newer_poll_makes_the_older_return_204() {
    let server = HeraldConfig::new().anonymous().start();
    let hub = unique("lp");
    let connection = connected(&server, &hub);
    let mut older = connection.poll_in_background();
    let mut newer = connection.poll_in_background();
    // Which request herald sees first is up to the scheduler: that one must end with 204.
    let deadline = deadline_in(10);
    let superseded = herald_tests::poll_until(deadline, || {
        older
            .try_now()
            .map(|r| (r, 0))
            .or_else(|| newer.try_now().map(|r| (r, 1)))
    })
    .expect("one of two concurrent polls returns");
    superseded.0.assert_status(204);
    assert_eq!(superseded.0.body, "");
    let survivor = if superseded.1 == 0 {
        &mut newer
    } else {
        &mut older
    };
    assert!(survivor.try_now().is_none(), "both polls returned");
    server
        .rest()
        .broadcast(&hub, "msg", &json!(["to the newer poll"]))
        .assert_status(202);
    let delivered = survivor
        .wait(deadline_in(10))
        .expect("the newer poll returns");
    delivered.assert_status(200);
    assert_eq!(
        json_records(delivered.body.as_bytes()),
        vec![json!({"type": 1, "target": "msg", "arguments": ["to the newer poll"]})]
    );
    connection.delete().assert_status(202);
    finish(&server);
}

#[test]
fn delete_ends_the_waiting_poll_and_later_requests() {
    let server = HeraldConfig::new().anonymous().start();
    let hub = unique("lp");
    let connection = connected(&server, &hub);
    let mut waiting = connection.poll_in_background();
    let deleted = connection.delete();
    deleted.assert_status(202);
    let ended = waiting
        .wait(deadline_in(10))
        .expect("the waiting poll returns");
    ended.assert_status(204);
    // Within the closed connection's linger: a poll is told the connection is over.
    let after = connection.poll();
    after.assert_status(204);
    connection.post(PING.as_bytes()).assert_error(404);
    finish(&server);
}

#[test]
fn concurrent_posts_conflict() {
    let server = HeraldConfig::new().anonymous().start();
    let hub = unique("lp");
    let connection = connected(&server, &hub);
    let length = PING.len().to_string();
    // Two POSTs, each held open by a partial body. Which one herald begins first is up to the
    // scheduler: the other is refused with 409 while the first waits for the rest of its body.
    // (A probe with a whole body could itself be the one in flight when the slow POST arrives,
    // and then it is the slow POST that gets the 409.)
    let mut posts = [0, 1].map(|_| {
        let mut post = RawHttp::start(
            &host_port(&server),
            "POST",
            &connection.path(),
            &[("Content-Type", "text/plain"), ("Content-Length", &length)],
        );
        assert!(post.write(&PING.as_bytes()[..3]), "write part of the body");
        post
    });
    let refused = herald_tests::poll_until(deadline_in(10), || {
        (0..posts.len()).find(|&i| posts[i].has_answered())
    })
    .expect("one of two concurrent POSTs is refused while the other is in flight");
    let conflict = posts[refused]
        .response(deadline_in(10))
        .expect("the refused POST's response is complete");
    assert_eq!(conflict.status, 409, "{conflict:?}");
    let error: serde_json::Value = serde_json::from_str(&conflict.body).expect("a JSON error");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "the 409 says why: {error}"
    );
    let slow = &mut posts[1 - refused];
    assert!(
        !slow.has_answered(),
        "the slow POST answered before its body was complete"
    );
    assert!(
        slow.write(&PING.as_bytes()[3..]),
        "write the rest of the body"
    );
    let done = slow
        .response(deadline_in(10))
        .expect("the slow POST is answered");
    assert_eq!(done.status, 200, "{done:?}");
    // With the first POST done, sends are accepted again.
    connection.post(PING.as_bytes()).assert_status(200);
    connection.delete().assert_status(202);
    finish(&server);
}

#[test]
fn sends_above_one_mebibyte_get_413() {
    let server = HeraldConfig::new().anonymous().start();
    let hub = unique("lp");
    let connection = connected(&server, &hub);
    let over = (1024 * 1024 + 1).to_string();

    // Declared too large: refused before the body.
    let mut declared = RawHttp::start(
        &host_port(&server),
        "POST",
        &connection.path(),
        &[("Content-Type", "text/plain"), ("Content-Length", &over)],
    );
    let refused = declared
        .response(deadline_in(10))
        .expect("the declared-too-large POST is answered");
    assert_eq!(refused.status, 413, "{refused:?}");

    // Chunked without a length: refused once more than 1 MiB arrived.
    let mut chunked = RawHttp::start(
        &host_port(&server),
        "POST",
        &connection.path(),
        &[
            ("Content-Type", "text/plain"),
            ("Transfer-Encoding", "chunked"),
        ],
    );
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
    let mut sent = 0;
    while sent <= 2 * 1024 * 1024 && !chunked.has_answered() {
        if !chunked.write(chunk.as_bytes()) {
            break;
        }
        sent += 64 * 1024;
    }
    let refused = chunked
        .response(deadline_in(10))
        .expect("the chunked oversized POST is answered");
    assert_eq!(refused.status, 413, "{refused:?} after {sent} bytes");

    connection.delete().assert_status(202);
    finish(&server);
}

//! End-to-end traces over OTLP/HTTP, received by a small receiver of the test's own that
//! decodes the protobuf with the protocol's types: a REST broadcast carrying a `traceparent`
//! on node A to a client on node B is one trace with spans of both nodes, the REST span a
//! child of the caller's; a client's negotiate, connect and handshake are one trace; a
//! redis-stream feed change is one trace from its batch to the node that delivers it; with
//! the collector down, delivery goes on and the dropped spans are counted.

use herald_tests::js_client::MESSAGE_TIMEOUT;
use herald_tests::metrics::sample;
use herald_tests::rest::message_body;
use herald_tests::wait::deadline_in;
use herald_tests::{
    Auth, ClusterBuilder, FeedSandbox, HeraldConfig, JsClient, JsOptions, OtlpReceiver,
    ReceivedSpan, RedisServer, unique, wait_until,
};
use serde_json::json;

/// The REST span is named as OpenTelemetry's HTTP conventions say: method and route.
const REST_SPAN: &str = "POST /api/v1/hubs/{hub}";
const SPAN_KIND_SERVER: i32 = 2;
const SPAN_KIND_PRODUCER: i32 = 4;
const SPAN_KIND_CONSUMER: i32 = 5;

/// The caller's trace and span, as an application would send them.
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

fn find<'a>(spans: &'a [ReceivedSpan], name: &str, instance: &str) -> Option<&'a ReceivedSpan> {
    spans
        .iter()
        .find(|s| s.name == name && s.instance() == instance)
}

fn describe(spans: &[ReceivedSpan]) -> String {
    spans
        .iter()
        .map(|s| {
            format!(
                "{} on {} ({} <- {}) {:?}",
                s.name,
                s.instance(),
                s.span_id,
                s.parent_span_id,
                s.attributes
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_rest_broadcast_with_a_traceparent_is_one_trace_across_both_nodes() {
    let redis = RedisServer::start();
    let receiver = OtlpReceiver::start();
    let cluster = ClusterBuilder::new(&redis.url(), 2)
        .authenticated()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint())
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
        .env("HERALD_LOG_FORMAT", "json")
        .env("HERALD_LOG_LEVEL", "info,herald_node::session=debug")
        .start();
    let hub = "traced";
    let user = unique("u");
    let mut client = JsClient::connect(&JsOptions::new(
        &cluster.client_url(1, hub),
        cluster.client_token(hub, &user),
        &["msg"],
    ));

    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    cluster
        .rest(0)
        .request_with_headers(
            "POST",
            &format!("/api/v1/hubs/{hub}"),
            Some(&message_body("msg", &json!(["hello"]))),
            &Auth::Valid,
            &[("traceparent", &traceparent)],
        )
        .assert_status(202);
    client.expect_message("msg", &json!(["hello"]));

    let spans = receiver
        .wait_for_trace(CALLER_TRACE, deadline_in(20), |spans| {
            find(spans, "herald.fanout", "n2").is_some()
                && find(spans, REST_SPAN, "n1").is_some()
                && find(spans, "herald.backplane.publish", "n1").is_some()
                && find(spans, "herald.backplane.receive", "n2").is_some()
        })
        .unwrap_or_else(|| {
            panic!(
                "no complete trace; received:\n{}\n{}",
                describe(&receiver.spans()),
                cluster.logs()
            )
        });
    let rest = find(&spans, REST_SPAN, "n1").unwrap();
    assert_eq!(
        rest.parent_span_id, CALLER_SPAN,
        "the REST span continues the caller's"
    );
    assert_eq!(rest.kind, SPAN_KIND_SERVER);
    assert_eq!(rest.attribute("http.request.method"), Some("POST"));
    assert_eq!(rest.attribute("http.route"), Some("/api/v1/hubs/{hub}"));
    assert_eq!(rest.attribute("http.response.status_code"), Some("202"));
    assert_eq!(
        rest.resource.get("service.name").map(String::as_str),
        Some("herald")
    );
    assert_eq!(
        rest.resource
            .get("deployment.environment")
            .map(String::as_str),
        Some("test")
    );
    assert!(rest.resource.contains_key("service.version"));

    let dispatch = find(&spans, "herald.dispatch", "n1").expect("a dispatch span");
    assert_eq!(dispatch.parent_span_id, rest.span_id);
    assert_eq!(dispatch.attribute("herald.hub"), Some(hub));
    assert_eq!(dispatch.attribute("herald.scope"), Some("all"));
    assert_eq!(
        dispatch.attribute("herald.recipients"),
        Some("0"),
        "no client on n1"
    );

    let publish = find(&spans, "herald.backplane.publish", "n1").unwrap();
    assert_eq!(publish.parent_span_id, dispatch.span_id);
    assert_eq!(publish.kind, SPAN_KIND_PRODUCER);
    assert_eq!(publish.attribute("messaging.system"), Some("redis"));

    let receive = find(&spans, "herald.backplane.receive", "n2").unwrap();
    assert_eq!(
        receive.parent_span_id, publish.span_id,
        "node B joins node A's trace"
    );
    assert_eq!(receive.kind, SPAN_KIND_CONSUMER);
    assert_eq!(receive.attribute("herald.origin"), Some("n1"));

    let fanout = find(&spans, "herald.fanout", "n2").unwrap();
    assert_eq!(fanout.parent_span_id, receive.span_id);
    assert_eq!(fanout.attribute("herald.connections"), Some("1"));

    // The client's own connection: negotiate, connect and handshake are one trace on n2.
    let negotiate = receiver
        .spans()
        .into_iter()
        .find(|s| {
            s.name == "herald.negotiate"
                && s.attribute("herald.connection_id") == Some(client.connection_id())
        })
        .unwrap_or_else(|| panic!("no negotiate span:\n{}", describe(&receiver.spans())));
    assert_eq!(negotiate.instance(), "n2");
    let connection = receiver
        .wait_for_trace(&negotiate.trace_id, deadline_in(20), |spans| {
            spans.iter().any(|s| s.name == "herald.handshake")
        })
        .expect("the handshake joins the negotiate trace");
    let connect = connection
        .iter()
        .find(|s| s.name == "herald.connect")
        .expect("a connect span");
    assert_eq!(connect.parent_span_id, negotiate.span_id);
    assert_eq!(connect.attribute("herald.transport"), Some("webSockets"));
    let handshake = connection
        .iter()
        .find(|s| s.name == "herald.handshake")
        .unwrap();
    assert_eq!(handshake.parent_span_id, connect.span_id);
    assert_eq!(handshake.attribute("herald.protocol"), Some("json"));
    // The JSON log line written inside the handshake span names its trace and span.
    let logged = cluster
        .node(1)
        .log()
        .lines()
        .filter(|line| line.contains("client connected"))
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["fields"]["connection"] == client.connection_id())
        .unwrap_or_else(|| {
            panic!(
                "no JSON 'client connected' line:\n{}",
                cluster.node(1).log()
            )
        });
    assert_eq!(logged["trace_id"], negotiate.trace_id.as_str());
    assert_eq!(logged["span_id"], handshake.span_id.as_str());

    client.stop();
    let closed = receiver.wait_for_trace(&negotiate.trace_id, deadline_in(20), |spans| {
        spans.iter().any(|s| s.name == "herald.close")
    });
    let closed = closed.expect("the close joins the connection's trace");
    let close = closed.iter().find(|s| s.name == "herald.close").unwrap();
    assert_eq!(close.parent_span_id, connect.span_id);
    assert!(
        close
            .events
            .iter()
            .any(|(name, attributes)| name == "connection closed"
                && attributes.contains_key("herald.close_reason")),
        "{close:?}"
    );
    cluster.assert_no_panic();
}

#[test]
fn a_feed_change_is_one_trace_from_its_batch_to_the_delivering_node() {
    let redis = RedisServer::start();
    let receiver = OtlpReceiver::start();
    let feeds = r#"
[[feeds]]
name = "prices"
source = { kind = "redis-stream", partitions = 1 }
start_from = "beginning"
hub = "prices"
target = "price"
to = "all"
"#;
    let mut sandbox = FeedSandbox::new(&redis.url(), feeds)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint())
        .env("OTEL_BSP_SCHEDULE_DELAY", "100");
    sandbox.start_coordinator("c1");
    sandbox.start_node("n1");
    sandbox.start_node("n2");
    let table = sandbox.wait_for_table(&["c1"], 20, "the lease owned", |t| {
        t.len() == 1 && t[0].owner.is_some()
    });
    let owner = table[0].owner.clone().unwrap();
    let other = if owner == "n1" { "n2" } else { "n1" };
    let options = JsOptions::new(
        &sandbox.node(other).client_url("prices"),
        Some(sandbox.client_token("prices", &unique("u"))),
        &["price"],
    );
    let mut client = JsClient::connect(&options);

    let key = sandbox.stream_key("prices", 0);
    let position = sandbox
        .producer()
        .xadd(&key, r#"{"id":"MSFT","price":431}"#);
    let message = client
        .driver()
        .next_event(MESSAGE_TIMEOUT)
        .expect("the change reaches the client");
    assert_eq!(message["target"], "price");

    let batch = herald_tests::poll_until(deadline_in(20), || {
        receiver.spans().into_iter().find(|s| {
            s.name == "herald.feed.batch" && s.attribute("herald.position.first") == Some(&position)
        })
    })
    .unwrap_or_else(|| panic!("no batch span:\n{}", describe(&receiver.spans())));
    assert_eq!(batch.parent_span_id, "", "a batch starts its own trace");
    assert_eq!(batch.instance(), owner);
    assert_eq!(batch.attribute("herald.feed"), Some("prices"));
    assert_eq!(batch.attribute("herald.partition"), Some("0"));
    assert_eq!(batch.attribute("herald.changes"), Some("1"));
    let spans = receiver
        .wait_for_trace(&batch.trace_id, deadline_in(20), |spans| {
            find(spans, "herald.fanout", other).is_some()
        })
        .unwrap_or_else(|| panic!("no fan-out on {other}:\n{}", describe(&receiver.spans())));
    let dispatch = find(&spans, "herald.dispatch", &owner).expect("a dispatch on the owner");
    assert_eq!(dispatch.parent_span_id, batch.span_id);
    let receive = find(&spans, "herald.backplane.receive", other).expect("a receive");
    let fanout = find(&spans, "herald.fanout", other).unwrap();
    assert_eq!(fanout.parent_span_id, receive.span_id);
    assert_eq!(fanout.attribute("herald.connections"), Some("1"));
    sandbox.assert_no_panic();
}

#[test]
fn with_the_collector_down_delivery_goes_on_and_dropped_spans_are_counted() {
    // A port nothing listens on: every export is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let herald = HeraldConfig::new()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_BSP_SCHEDULE_DELAY", "50")
        .env("HERALD_LOG_FORMAT", "json")
        .start();
    let hub = "down";
    let mut client = JsClient::connect(&JsOptions::new(
        &herald.client_url(hub),
        herald.client_token(hub, &unique("u")),
        &["msg"],
    ));
    let rest = herald.rest();
    for i in 0..20 {
        rest.broadcast(hub, "msg", &json!([i])).assert_status(202);
        client.expect_message("msg", &json!([i]));
    }
    let dropped = |herald: &herald_tests::HeraldProcess| {
        sample(
            &herald.admin_get("/metrics").1,
            "herald_trace_spans_dropped_total{reason=\"export_failed\"}",
        )
        .unwrap_or(0.0)
    };
    assert!(
        wait_until(deadline_in(20), || dropped(&herald) > 0.0),
        "no dropped spans counted:\n{}",
        herald.admin_get("/metrics").1
    );
    // Delivery still works after the failed exports.
    rest.broadcast(hub, "msg", &json!(["after"]))
        .assert_status(202);
    client.expect_message("msg", &json!(["after"]));
    let log = herald.log();
    let warnings = log.matches("cannot export traces").count();
    assert_eq!(warnings, 1, "logged once a minute at most:\n{log}");
    herald.assert_no_panic();
}

//! The standalone demo page at `/`: served from the binary in standalone mode only, and, in
//! headless Chromium, a live stock board that receives `stockUpdated` on hub `stocks` over
//! WebSockets, falls back to Server-Sent Events or long polling when the server does not offer
//! WebSockets, drops a change delivered twice, and reconnects when Herald restarts.
//!
//! The updates come from a ticker in the test that pushes through the REST API, as the demo
//! price writer would; the assertions hold whether or not such a writer also runs.

use herald_tests::browser::{BoardState, DemoPage};
use herald_tests::metrics;
use herald_tests::{HeraldConfig, HeraldProcess, RedisServer, Rest};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The hub and method of the demo.
const HUB: &str = "stocks";
const TARGET: &str = "stockUpdated";
/// The issue's bar: the page shows this many updates within [`UPDATES_TIMEOUT`] of loading.
const MIN_UPDATES: u64 = 3;
const UPDATES_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a (re)connection may take, retry backoff included.
const RECONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the server may take to see that the page was left: less than
/// client.disconnect_timeout (15 s), so a long-polling page that does not send its DELETE fails.
const LEAVE_SECONDS: u64 = 5;
/// The ticker's pace, about the demo writer's.
const TICK: Duration = Duration::from_millis(300);
/// The ticker's symbols (the demo writer's may differ).
const SYMBOLS: [&str; 3] = ["HRLD", "ACTX", "RUST"];

/// Pushes `stockUpdated(document, meta)` to hub `stocks` every [`TICK`] from a thread until
/// dropped, as the demo price writer does.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(server: &HeraldProcess) -> Self {
        let rest = server.rest();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut n = 0u32;
            while !stopped.load(Ordering::Relaxed) {
                n += 1;
                let symbol = SYMBOLS[n as usize % SYMBOLS.len()];
                let price = 100.0 + f64::from(n) * 0.25;
                // While Herald restarts the push fails (status 0 or 503); the next one is fine.
                rest.broadcast(
                    HUB,
                    TARGET,
                    &update(symbol, price, Some(0.25), &format!("t{n}")),
                );
                // Pacing a producer, not waiting for a condition.
                thread::sleep(TICK);
            }
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The arguments of one `stockUpdated`: the document and `{feed, partition, position, key}`.
fn update(symbol: &str, price: f64, change: Option<f64>, key: &str) -> Value {
    let mut document = json!({ "id": symbol, "symbol": symbol, "price": price });
    if let Some(change) = change {
        document["change"] = json!(change);
    }
    json!([
        document,
        { "feed": "test", "partition": "0", "position": key, "key": key }
    ])
}

fn connected_over(
    transport: &'static str,
    min_updates: u64,
) -> impl Fn(&BoardState) -> bool + 'static {
    move |state| {
        state.status == "connected" && state.transport == transport && state.updates >= min_updates
    }
}

/// The symbols the demo writer moves (node/src/demo/stocks.rs).
const WRITER_SYMBOLS: [&str; 8] = [
    "AAPL", "AMZN", "GOOG", "META", "MSFT", "NVDA", "ORCL", "TSLA",
];

/// Every price a writer symbol shows is a number with two decimals.
fn assert_writer_prices(state: &BoardState) {
    let shown: Vec<&str> = WRITER_SYMBOLS
        .iter()
        .filter_map(|s| state.price(s))
        .collect();
    assert!(
        !shown.is_empty(),
        "no symbol of the demo writer on the board: {state:?}"
    );
    for price in shown {
        let decimals = price.split_once('.').map(|(_, d)| d.len());
        assert!(
            price.parse::<f64>().is_ok() && decimals == Some(2),
            "price {price:?} is not a number with two decimals: {state:?}"
        );
    }
}

/// Loads the page of `server` (with `query`) and checks that the demo writer's price changes,
/// pushed by the standalone `stocks` feed, show at least [`MIN_UPDATES`] times within
/// [`UPDATES_TIMEOUT`] over `transport`.
fn page_gets_updates_over(server: &HeraldProcess, query: &str, transport: &'static str) {
    let mut page = DemoPage::open(&format!("{}/{query}", server.base_url()));
    let connected = connected_over(transport, MIN_UPDATES);
    let state = page.wait_for(
        &format!("connected over {transport} with {MIN_UPDATES} updates from the demo writer"),
        UPDATES_TIMEOUT,
        |state| connected(state) && WRITER_SYMBOLS.iter().any(|s| state.price(s).is_some()),
    );
    assert_writer_prices(&state);
    assert_eq!(state.error, "");
    // What the page says is what the server sees.
    let series =
        format!(r#"herald_connections{{hub="{HUB}",transport="{transport}",protocol="json"}}"#);
    assert_eq!(
        metrics::sample(&server.admin_get("/metrics").1, &series),
        Some(1.0),
        "{series}"
    );
    assert_eq!(page.page_errors(), Vec::<String>::new());
    page.close();
    metrics::assert_connections_drop_to_zero(server, LEAVE_SECONDS);
    server.assert_no_panic();
}

/// `GET` (or `HEAD`) of `url` without following redirects: status, headers, body.
fn get(method: &str, url: &str, headers: &[(&str, &str)]) -> (u16, Vec<(String, String)>, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = agent
        .run(request.body(()).expect("a valid request"))
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (response.status().as_u16(), headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn standalone_serves_the_page_and_its_files_from_the_binary() {
    let server = HeraldConfig::new().demo().anonymous().start();
    let base = server.base_url();

    let (status, headers, body) = get("GET", &format!("{base}/"), &[]);
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(header(&headers, "cache-control"), Some("no-cache"));
    assert!(body.starts_with("<!doctype html>"), "{body}");
    for hook in [
        "id=\"status\"",
        "id=\"transport\"",
        "id=\"updates\"",
        "id=\"rows\"",
    ] {
        assert!(body.contains(hook), "the page lacks {hook}");
    }
    // A query (the page's access_token) does not change what is served.
    assert_eq!(get("GET", &format!("{base}/?access_token=x"), &[]).2, body);

    for (file, content_type) in [
        ("board.css", "text/css; charset=utf-8"),
        ("board.js", "text/javascript; charset=utf-8"),
        ("signalr-lite.js", "text/javascript; charset=utf-8"),
        ("transports.js", "text/javascript; charset=utf-8"),
    ] {
        let url = format!("{base}/demo/{file}");
        let (status, headers, body) = get("GET", &url, &[]);
        assert_eq!(status, 200, "{file}");
        assert_eq!(
            header(&headers, "content-type"),
            Some(content_type),
            "{file}"
        );
        assert!(!body.is_empty(), "{file}");
        let etag = header(&headers, "etag").expect("an ETag").to_owned();
        let (status, _, body) = get("GET", &url, &[("if-none-match", &etag)]);
        assert_eq!((status, body.as_str()), (304, ""), "{file} revalidated");
        let (status, head_headers, _) = get("HEAD", &url, &[]);
        assert_eq!(status, 200, "HEAD {file}");
        assert_eq!(header(&head_headers, "etag"), Some(etag.as_str()));
    }

    let (status, _, body) = get("GET", &format!("{base}/demo/nope.js"), &[]);
    assert_eq!(status, 404);
    assert!(body.contains("the demo has no file"), "{body}");
    // The REST API behind the page's routes still answers.
    let reply = Rest::new(&base, None).broadcast(HUB, TARGET, &update("X", 1.0, None, "k"));
    reply.assert_status(202);
    server.assert_no_panic();
}

#[test]
fn herald_node_does_not_serve_the_page() {
    let redis = RedisServer::start();
    let node = HeraldConfig::new()
        .demo()
        .subcommand("node")
        .env("HERALD_REDIS_URL", &redis.url())
        .env("HERALD_REDIS_PREFIX", &herald_tests::unique("demo"))
        .start();
    for path in ["/", "/demo/board.js"] {
        let (status, _, _) = get("GET", &format!("{}{path}", node.base_url()), &[]);
        assert_eq!(status, 404, "herald node serves {path}");
    }
    node.assert_no_panic();
}

#[test]
fn the_page_shows_live_prices_over_websockets() {
    let server = HeraldConfig::new().demo().anonymous().start();
    page_gets_updates_over(&server, "", "WebSockets");
}

#[test]
fn without_websockets_the_page_falls_back_to_server_sent_events() {
    let server = HeraldConfig::new()
        .demo()
        .env("HERALD_CLIENT_TRANSPORTS", "ServerSentEvents,LongPolling")
        .start();
    let token = server.client_token(HUB, "viewer").expect("a client token");
    page_gets_updates_over(
        &server,
        &format!("?access_token={token}"),
        "ServerSentEvents",
    );
}

#[test]
fn with_only_long_polling_the_page_polls() {
    let server = HeraldConfig::new()
        .demo()
        .env("HERALD_CLIENT_TRANSPORTS", "LongPolling")
        .start();
    let token = server.client_token(HUB, "viewer").expect("a client token");
    page_gets_updates_over(&server, &format!("?access_token={token}"), "LongPolling");
}

#[test]
fn a_change_delivered_twice_is_shown_once() {
    let server = HeraldConfig::new().demo().anonymous().start();
    let mut page = DemoPage::open(&format!("{}/", server.base_url()));
    page.wait_for("connected", RECONNECT_TIMEOUT, |s| s.status == "connected");
    let rest = server.rest();
    let symbol = "DUPE";
    rest.broadcast(HUB, TARGET, &update(symbol, 10.5, Some(0.5), "dupe-1"))
        .assert_status(202);
    // The same change again (same key), as a feed does after a lease move: dropped, even with
    // another price.
    rest.broadcast(HUB, TARGET, &update(symbol, 99.0, Some(88.5), "dupe-1"))
        .assert_status(202);
    // Without a change field the page computes it from the price it showed before.
    rest.broadcast(HUB, TARGET, &update(symbol, 10.25, None, "dupe-2"))
        .assert_status(202);
    let state = page.wait_for("the last DUPE price", UPDATES_TIMEOUT, |s| {
        s.price(symbol) == Some("10.25")
    });
    let row = &state.rows[symbol];
    assert_eq!(
        (row.change.as_str(), row.direction.as_str()),
        ("\u{2212}0.25", "down"),
        "the duplicate was applied: {state:?}"
    );
    assert!(!row.time.is_empty());
    assert_eq!(page.page_errors(), Vec::<String>::new());
    page.close();
}

#[test]
fn the_page_reconnects_when_herald_restarts() {
    let config = HeraldConfig::new().demo().anonymous();
    let mut server = config.clone().start();
    let _ticker = Ticker::start(&server);
    let mut page = DemoPage::open(&format!("{}/", server.base_url()));
    let before = page.wait_for(
        "connected with updates",
        UPDATES_TIMEOUT,
        connected_over("WebSockets", 1),
    );

    // Shutdown closes the page's connection with allowReconnect: the page keeps trying.
    server.sigterm();
    let exit = server.wait_exit(Duration::from_secs(20));
    assert!(exit.is_some_and(|s| s.success()), "herald did not stop");
    page.wait_for("reconnecting", RECONNECT_TIMEOUT, |s| {
        s.status == "reconnecting"
    });

    let mut restarted = HeraldProcess::spawn(config);
    restarted.wait_ready();
    let after = page.wait_for(
        "connected again, with new updates",
        RECONNECT_TIMEOUT,
        connected_over("WebSockets", before.updates + MIN_UPDATES),
    );
    assert_eq!(after.error, "");
    assert_eq!(page.page_errors(), Vec::<String>::new());
    page.close();
    restarted.assert_no_panic();
}

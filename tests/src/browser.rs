//! Herald's demo page in headless Chromium: `tests/js/browser.mjs` drives Debian's
//! `/usr/bin/chromium` with `playwright-core` and reports what the page shows.

use crate::binary::crate_dir;
use crate::driver::Driver;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Where Debian's `chromium` package installs the browser (`.ci/test` installs it).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// How long launching the browser and loading the page may take.
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the browser may take to close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(15);

/// One row of the board as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The `.price` cell, e.g. `431.20`.
    pub price: String,
    /// The `.change` cell, e.g. `+0.40` or `−0.40` (U+2212), empty when unknown.
    pub change: String,
    /// The `.time` cell: when the last update arrived, in the browser's locale.
    pub time: String,
    /// The row's `data-direction`: `up`, `down` or `same`.
    pub direction: String,
}

/// What the page shows at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardState {
    /// `#status`: `connecting`, `connected`, `reconnecting` or `disconnected`.
    pub status: String,
    /// `#transport`: `WebSockets`, `ServerSentEvents`, `LongPolling`, or `none`.
    pub transport: String,
    /// `#updates`: how many updates the page applied.
    pub updates: u64,
    /// `#error`: the last connection error, empty when none.
    pub error: String,
    /// The rows by symbol.
    pub rows: BTreeMap<String, Row>,
}

impl BoardState {
    /// The state in a `state` event of the driver.
    fn from_event(event: &Value) -> Self {
        let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
        let rows = event["rows"]
            .as_object()
            .map(|rows| {
                rows.iter()
                    .map(|(symbol, row)| {
                        let row = Row {
                            price: text(&row["price"]),
                            change: text(&row["change"]),
                            time: text(&row["time"]),
                            direction: text(&row["direction"]),
                        };
                        (symbol.clone(), row)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            status: text(&event["status"]),
            transport: text(&event["transport"]),
            updates: event["updates"].as_u64().unwrap_or(0),
            error: text(&event["error"]),
            rows,
        }
    }

    /// The price cell of `symbol`, if the board has that row.
    pub fn price(&self, symbol: &str) -> Option<&str> {
        self.rows.get(symbol).map(|row| row.price.as_str())
    }
}

/// The demo page open in a headless Chromium, closed when dropped.
pub struct DemoPage {
    driver: Driver,
    /// Set once the driver was told to close: a failed test still removes the browser profile.
    closed: bool,
}

impl DemoPage {
    /// Launches Chromium on `url` and waits until the page has loaded with status 200.
    pub fn open(url: &str) -> Self {
        let js_dir = crate_dir().join("js");
        assert!(
            js_dir.join("node_modules").join("playwright-core").is_dir(),
            "{} has no node_modules/playwright-core: run .ci/test (or npm ci in tests/js)",
            js_dir.display()
        );
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: run .ci/test (or apt-get install chromium)"
        );
        let mut command = Command::new("node");
        command
            .current_dir(&js_dir)
            .arg("browser.mjs")
            .arg(json!({ "url": url, "executablePath": CHROMIUM }).to_string());
        let mut page = Self {
            driver: Driver::spawn("browser", command),
            closed: false,
        };
        let loaded = page
            .driver
            .wait_for("the page loaded, or a failure", LOAD_TIMEOUT, |e| {
                matches!(e["event"].as_str(), Some("loaded" | "error" | "closed"))
            });
        assert_eq!(
            (&loaded["event"], &loaded["status"]),
            (&json!("loaded"), &json!(200)),
            "the demo page did not load: {loaded}\nstderr:\n{}",
            page.driver.stderr()
        );
        page
    }

    /// Waits until the page shows a state for which `predicate` holds and returns it; panics
    /// with every event seen when none does within `timeout`.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        predicate: impl Fn(&BoardState) -> bool,
    ) -> BoardState {
        let event = self.driver.wait_for(what, timeout, |event| {
            event["event"] == "state" && predicate(&BoardState::from_event(event))
        });
        BoardState::from_event(&event)
    }

    /// The messages of uncaught errors in the page's scripts so far.
    pub fn page_errors(&self) -> Vec<String> {
        self.driver
            .seen()
            .iter()
            .filter(|e| e["event"] == "pageerror")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Leaves the page, closes the browser and waits until the driver says it has.
    pub fn close(mut self) {
        assert!(
            self.leave(),
            "the browser did not close within {CLOSE_TIMEOUT:?}\nstderr:\n{}",
            self.driver.stderr()
        );
    }

    /// Ends the driver's input (it leaves the page, closes the browser and removes its
    /// profile) and waits for its `closed` event; whether it came.
    fn leave(&mut self) -> bool {
        self.closed = true;
        self.driver.close_stdin();
        let deadline = Instant::now() + CLOSE_TIMEOUT;
        while let Some(event) = self
            .driver
            .next_event(deadline.saturating_duration_since(Instant::now()))
        {
            if event["event"] == "closed" {
                return true;
            }
        }
        false
    }
}

impl Drop for DemoPage {
    fn drop(&mut self) {
        if !self.closed {
            self.leave();
        }
    }
}

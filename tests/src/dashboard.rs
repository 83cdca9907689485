//! The cluster dashboard at `/` of a node's admin listener, in headless Chromium:
//! `tests/js/dashboard.mjs` drives Debian's `/usr/bin/chromium` with `playwright-core`, reports
//! what the page shows and types the admin token or takes screenshots on request.

use crate::binary::crate_dir;
use crate::browser::{CHROMIUM, LOAD_TIMEOUT};
use crate::driver::Driver;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a command (typing the token, a screenshot, a reload) may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the browser may take to close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(15);
/// How many of the last events a failure message shows.
const EVENTS_SHOWN: usize = 40;

/// One row of `#nodes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    /// `data-state`: `ready`, `draining`, `starting`, `backplane_down` or `unreachable`.
    pub state: String,
    /// The node's `error` (why it is unreachable), empty when none.
    pub error: String,
    /// The `.connections` cell: the total, or `–` when unknown.
    pub connections: String,
    /// The backplane's state (`up`, ...), empty when unknown.
    pub backplane: String,
}

/// One row of `#leases`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    /// `data-owner`: the owner's node id, empty while unowned.
    pub owner: String,
    /// Whether the row is marked `unowned`.
    pub unowned: bool,
    /// The `.epoch` cell.
    pub epoch: String,
    /// The `.lag` cell, `–` when unknown.
    pub lag: String,
}

/// What the dashboard shows at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardState {
    /// `body[data-status]`: `loading`, `live`, `offline` or `unauthorized`.
    pub status: String,
    /// `performance.timeOrigin` of the page: changes when the page is loaded again.
    pub loaded_at: f64,
    /// The rows of `#nodes` by node id.
    pub nodes: BTreeMap<String, NodeRow>,
    /// The rows of `#leases` by lease id.
    pub leases: BTreeMap<String, LeaseRow>,
    /// `#leader`: the coordinator leader's id, `none` or (before the first answer) `unknown`.
    pub leader: String,
    /// The items of `#problems`.
    pub problems: Vec<String>,
    /// `#updated`: when the last successful refresh was, in the browser's locale.
    pub updated: String,
    /// `#refreshes`: how many refreshes succeeded since the page loaded.
    pub refreshes: u64,
    /// `#error`: the last error, empty when the last refresh succeeded.
    pub error: String,
    /// Whether the `#login` form is shown.
    pub login: bool,
}

impl DashboardState {
    fn from_event(event: &Value) -> Self {
        let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
        let rows = |value: &Value| value.as_object().cloned().unwrap_or_default();
        Self {
            status: text(&event["status"]),
            loaded_at: event["loadedAt"].as_f64().unwrap_or(0.0),
            nodes: rows(&event["nodes"])
                .into_iter()
                .map(|(id, row)| {
                    let row = NodeRow {
                        state: text(&row["state"]),
                        error: text(&row["error"]),
                        connections: text(&row["connections"]),
                        backplane: text(&row["backplane"]),
                    };
                    (id, row)
                })
                .collect(),
            leases: rows(&event["leases"])
                .into_iter()
                .map(|(id, row)| {
                    let row = LeaseRow {
                        owner: text(&row["owner"]),
                        unowned: row["unowned"].as_bool().unwrap_or(false),
                        epoch: text(&row["epoch"]),
                        lag: text(&row["lag"]),
                    };
                    (id, row)
                })
                .collect(),
            leader: text(&event["leader"]),
            problems: event["problems"]
                .as_array()
                .map(|items| items.iter().map(text).collect())
                .unwrap_or_default(),
            updated: text(&event["updated"]),
            refreshes: event["refreshes"].as_u64().unwrap_or(0),
            error: text(&event["error"]),
            login: event["login"].as_bool().unwrap_or(false),
        }
    }

    /// Node id → the state its row shows.
    pub fn node_states(&self) -> BTreeMap<&str, &str> {
        self.nodes
            .iter()
            .map(|(id, row)| (id.as_str(), row.state.as_str()))
            .collect()
    }

    /// Whether the page shows exactly the nodes `ids`, each `ready`.
    pub fn shows_ready(&self, ids: &[&str]) -> bool {
        self.node_states() == ids.iter().map(|id| (*id, "ready")).collect()
    }
}

/// One answer of `/api/admin/*` the page received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiAnswer {
    /// The HTTP status.
    pub status: u16,
    /// Whether the request carried `Authorization: Bearer ...`.
    pub authorized: bool,
}

/// Where screenshot `name` goes: cargo's target directory (`CARGO_TARGET_DIR` when set, the
/// workspace's `target/` otherwise), next to the binaries under test.
pub fn screenshot_path(name: &str) -> PathBuf {
    let workspace = crate_dir()
        .parent()
        .expect("the tests crate lies in the workspace")
        .to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), |dir| workspace.join(dir));
    target.join(name)
}

/// The dashboard open in a headless Chromium, closed when dropped.
pub struct Dashboard {
    driver: Driver,
    /// The state of the latest `state` event: the page shows it until the next one.
    last: Option<DashboardState>,
    /// Set once the driver was told to close: a failed test still removes the browser profile.
    closed: bool,
}

impl Dashboard {
    /// Launches Chromium on `url` (an admin listener's `/`) and waits until the page has loaded
    /// with status 200.
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
            .arg("dashboard.mjs")
            .arg(json!({ "url": url, "executablePath": CHROMIUM }).to_string());
        let mut page = Self {
            driver: Driver::spawn("dashboard", command),
            last: None,
            closed: false,
        };
        let loaded = page
            .driver
            .wait_for("the page loaded, or a failure", LOAD_TIMEOUT, |e| {
                matches!(e["event"].as_str(), Some("loaded" | "error" | "closed"))
            });
        assert_eq!(
            (&loaded["event"], &loaded["status"], &loaded["contentType"]),
            (
                &json!("loaded"),
                &json!(200),
                &json!("text/html; charset=utf-8")
            ),
            "the dashboard did not load: {loaded}\nstderr:\n{}",
            page.driver.stderr()
        );
        page
    }

    /// Waits until the page shows a state for which `predicate` holds (the one it shows now
    /// included) and returns it; panics with the last events when none does within `timeout`.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        predicate: impl Fn(&DashboardState) -> bool,
    ) -> DashboardState {
        if let Some(state) = self.last.as_ref().filter(|s| predicate(s)) {
            return state.clone();
        }
        let deadline = Instant::now() + timeout;
        loop {
            let event = self.next_event(deadline).unwrap_or_else(|| {
                self.fail(&format!("the page did not show {what} within {timeout:?}"))
            });
            match event["event"].as_str() {
                Some("state") => {
                    if let Some(state) = self.last.as_ref().filter(|s| predicate(s)) {
                        return state.clone();
                    }
                }
                Some("error" | "closed") => {
                    self.fail(&format!("the driver ended waiting for {what}"))
                }
                _ => {}
            }
        }
    }

    /// What the page shows now (as of the driver's latest report), if it reported yet.
    pub fn current(&self) -> Option<&DashboardState> {
        self.last.as_ref()
    }

    /// Waits until the answers of `/api/admin/*` received so far satisfy `predicate` and
    /// returns them. The driver reports an answer a little after the page may have shown it.
    pub fn wait_for_answers(
        &mut self,
        what: &str,
        timeout: Duration,
        predicate: impl Fn(&[ApiAnswer]) -> bool,
    ) -> Vec<ApiAnswer> {
        let deadline = Instant::now() + timeout;
        loop {
            let answers = self.api_answers();
            if predicate(&answers) {
                return answers;
            }
            let event = self.next_event(deadline).unwrap_or_else(|| {
                self.fail(&format!("no answers such that {what} within {timeout:?}"))
            });
            if matches!(event["event"].as_str(), Some("error" | "closed")) {
                self.fail(&format!("the driver ended waiting for {what}"));
            }
        }
    }

    /// Types `token` into the login form and submits it.
    pub fn login(&mut self, token: &str) {
        self.run(&json!({ "cmd": "login", "token": token }));
    }

    /// Saves a full-page screenshot as `path` (a PNG).
    pub fn screenshot(&mut self, path: &Path) {
        self.run(&json!({ "cmd": "screenshot", "path": path.display().to_string() }));
    }

    /// Loads the page again (the tab's sessionStorage, and so the token, survives).
    pub fn reload(&mut self) {
        self.run(&json!({ "cmd": "reload" }));
    }

    /// Every answer of `/api/admin/*` the page got so far, oldest first.
    pub fn api_answers(&self) -> Vec<ApiAnswer> {
        self.driver
            .seen()
            .iter()
            .filter(|e| e["event"] == "api")
            .map(|e| ApiAnswer {
                status: e["status"]
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(0),
                authorized: e["authorized"].as_bool().unwrap_or(false),
            })
            .collect()
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

    /// Closes the browser and waits until the driver says it has.
    pub fn close(mut self) {
        assert!(
            self.leave(),
            "the browser did not close within {CLOSE_TIMEOUT:?}\nstderr:\n{}",
            self.driver.stderr()
        );
    }

    /// Sends `command` and waits until the driver has carried it out.
    fn run(&mut self, command: &Value) {
        let name = command["cmd"].as_str().unwrap_or_default().to_owned();
        self.driver.command(command);
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let event = self
                .next_event(deadline)
                .unwrap_or_else(|| self.fail(&format!("command {name} did not finish")));
            match event["event"].as_str() {
                Some("done") if event["cmd"] == name => return,
                Some("failed") => self.fail(&format!("command {name} failed: {event}")),
                Some("error" | "closed") => self.fail(&format!("the driver ended during {name}")),
                _ => {}
            }
        }
    }

    /// The next event before `deadline`, keeping the state it carries.
    fn next_event(&mut self, deadline: Instant) -> Option<Value> {
        let event = self
            .driver
            .next_event(deadline.saturating_duration_since(Instant::now()))?;
        if event["event"] == "state" {
            self.last = Some(DashboardState::from_event(&event));
        }
        Some(event)
    }

    fn fail(&self, what: &str) -> ! {
        let seen = self.driver.seen();
        let recent = &seen[seen.len().saturating_sub(EVENTS_SHOWN)..];
        panic!(
            "dashboard: {what}\nshown now: {:#?}\nlast {} events: {:#?}\nstderr:\n{}",
            self.last,
            recent.len(),
            recent,
            self.driver.stderr()
        );
    }

    /// Ends the driver's input (it closes the browser and removes its profile) and waits for
    /// its `closed` event; whether it came.
    fn leave(&mut self) -> bool {
        self.closed = true;
        self.driver.close_stdin();
        let deadline = Instant::now() + CLOSE_TIMEOUT;
        while let Some(event) = self.next_event(deadline) {
            if event["event"] == "closed" {
                return true;
            }
        }
        false
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        if !self.closed {
            self.leave();
        }
    }
}

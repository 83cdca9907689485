//! Many official JavaScript client connections in one node process (`tests/js/many.mjs`), each
//! recording the numbers it receives, for load and soak tests.

use crate::binary::crate_dir;
use crate::driver::Driver;
use crate::js_client::Transport;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

/// Options of every connection of a fleet.
#[derive(Debug, Clone, Copy, Default)]
pub struct FleetOptions {
    /// `withAutomaticReconnect([0, 250, 500, 1000, 2000])`.
    pub automatic_reconnect: bool,
    /// `skipNegotiation` (WebSockets only).
    pub skip_negotiation: bool,
}

/// The connections of a fleet and what each received.
pub struct JsFleet {
    driver: Driver,
    count: usize,
}

impl JsFleet {
    /// Starts `count` connections per `(transport, count)` group to `url`, each recording the
    /// first argument of `target` messages and reporting once it has `expect` of them; waits
    /// up to `timeout` until all are connected.
    pub fn connect(
        url: &str,
        token: Option<&str>,
        groups: &[(Transport, usize)],
        target: &str,
        expect: usize,
        timeout: Duration,
    ) -> Self {
        Self::connect_with(
            url,
            token,
            groups,
            target,
            expect,
            timeout,
            FleetOptions::default(),
        )
    }

    /// [`Self::connect`] with `options`.
    pub fn connect_with(
        url: &str,
        token: Option<&str>,
        groups: &[(Transport, usize)],
        target: &str,
        expect: usize,
        timeout: Duration,
        options: FleetOptions,
    ) -> Self {
        let clients: Vec<Value> = groups
            .iter()
            .map(|(transport, count)| json!({"transport": transport.name(), "count": count}))
            .collect();
        let config = json!({
            "url": url,
            "token": token,
            "target": target,
            "expect": expect,
            "clients": clients,
            "automaticReconnect": options.automatic_reconnect,
            "skipNegotiation": options.skip_negotiation,
        });
        let mut command = Command::new("node");
        command
            .current_dir(crate_dir().join("js"))
            .arg("many.mjs")
            .arg(config.to_string());
        let mut driver = Driver::spawn("js fleet", command);
        let event = driver.wait_for("all connected or a failure", timeout, |e| {
            matches!(e["event"].as_str(), Some("connected" | "error" | "closed"))
        });
        let count = groups.iter().map(|(_, count)| count).sum();
        assert_eq!(
            event,
            json!({"event": "connected", "count": count}),
            "the fleet did not connect"
        );
        Self { driver, count }
    }

    /// Waits until every connection reported `complete`, and returns each one's transport and
    /// numbers by connection index. Panics on a `closed` event, and after `timeout` with every
    /// connection's numbers so far.
    pub fn wait_complete(&mut self, timeout: Duration) -> Vec<(String, Vec<u64>)> {
        let deadline = Instant::now() + timeout;
        let mut done: Vec<Option<(String, Vec<u64>)>> = vec![None; self.count];
        let mut missing = self.count;
        while missing > 0 {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let Some(event) = self.driver.next_event(remaining) else {
                let (count, report) = (self.count, self.report());
                panic!("{missing} of {count} connections incomplete after {timeout:?}:\n{report}");
            };
            match event["event"].as_str() {
                Some("complete") => {
                    let index = usize::try_from(event["index"].as_u64().expect("an index"))
                        .expect("index fits usize");
                    let numbers = event["numbers"]
                        .as_array()
                        .expect("numbers")
                        .iter()
                        .map(|n| n.as_u64().expect("a number"))
                        .collect();
                    let transport = event["transport"].as_str().unwrap_or("").to_owned();
                    assert!(
                        done[index].replace((transport, numbers)).is_none(),
                        "connection {index} completed twice"
                    );
                    missing -= 1;
                }
                Some("closed" | "error") => panic!("a fleet connection failed: {event}"),
                _ => {}
            }
        }
        done.into_iter().map(|d| d.expect("complete")).collect()
    }

    /// One line per connection with how many numbers it has, for failure messages.
    fn report(&mut self) -> String {
        self.driver.command(&json!({"cmd": "report"}));
        let mut lines = Vec::new();
        while lines.len() < self.count {
            let Some(event) = self.driver.next_event(Duration::from_secs(5)) else {
                break;
            };
            if event["event"] == "count" {
                let numbers = event["numbers"].as_array().map_or(0, Vec::len);
                lines.push(format!(
                    "#{} {}: {numbers} numbers",
                    event["index"], event["transport"]
                ));
            }
        }
        lines.join("\n")
    }

    /// The numbers every connection received so far, by index.
    pub fn numbers(&mut self) -> Vec<Vec<u64>> {
        self.driver.command(&json!({"cmd": "report"}));
        let mut numbers = vec![None; self.count];
        while numbers.iter().any(Option::is_none) {
            let event = self.driver.wait_for_event("count", Duration::from_secs(10));
            let index = usize::try_from(event["index"].as_u64().expect("an index"))
                .expect("index fits usize");
            numbers[index] = Some(
                event["numbers"]
                    .as_array()
                    .expect("numbers")
                    .iter()
                    .map(|n| n.as_u64().expect("a number"))
                    .collect(),
            );
        }
        numbers.into_iter().map(|n| n.expect("reported")).collect()
    }

    /// Every connection's current connection id, by index (`None` while reconnecting).
    pub fn connection_ids(&mut self) -> Vec<Option<String>> {
        self.driver.command(&json!({"cmd": "ids"}));
        let event = self.driver.wait_for_event("ids", Duration::from_secs(10));
        event["ids"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|id| id.as_str().map(str::to_owned))
            .collect()
    }

    /// Waits until `count` distinct connections reported `reconnected` (counting those that
    /// already did), and returns their indices with the connection id each reported (`None`
    /// without negotiation). Panics on a `closed` or `error` event, and after `timeout`.
    pub fn wait_reconnected(
        &mut self,
        count: usize,
        timeout: Duration,
    ) -> BTreeMap<usize, Option<String>> {
        let deadline = Instant::now() + timeout;
        let mut reconnected = BTreeMap::new();
        for event in self.events_of("reconnected") {
            Self::record_reconnected(&event, &mut reconnected);
        }
        while reconnected.len() < count {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let Some(event) = self.driver.next_event(remaining) else {
                panic!(
                    "{} of {count} connections reconnected within {timeout:?}: {:?}",
                    reconnected.len(),
                    reconnected.keys()
                );
            };
            match event["event"].as_str() {
                Some("reconnected") => Self::record_reconnected(&event, &mut reconnected),
                Some("closed" | "error") => panic!("a fleet connection failed: {event}"),
                _ => {}
            }
        }
        reconnected
    }

    fn record_reconnected(event: &Value, into: &mut BTreeMap<usize, Option<String>>) {
        let index =
            usize::try_from(event["index"].as_u64().expect("an index")).expect("index fits usize");
        into.insert(index, event["connectionId"].as_str().map(str::to_owned));
    }

    /// Every event of `kind` the driver printed so far (as consumed by the other methods).
    pub fn events_of(&self, kind: &str) -> Vec<Value> {
        self.driver
            .seen()
            .iter()
            .filter(|e| e["event"] == kind)
            .cloned()
            .collect()
    }

    /// Stops every connection and waits for the driver to report it.
    pub fn stop(&mut self, timeout: Duration) {
        self.driver.command(&json!({"cmd": "stop"}));
        let event = self.driver.wait_for_event("stopped", timeout);
        assert_eq!(event, json!({"event": "stopped", "count": self.count}));
    }
}

//! The Python `signalrcore` client, driven through `tests/py/client.py`.

use crate::binary::crate_dir;
use crate::driver::Driver;
use crate::js_client::Transport;
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

/// How long the Python client may take to connect.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// One signalrcore connection over WebSockets with the JSON protocol.
pub struct PyClient {
    driver: Driver,
}

impl PyClient {
    /// Starts the driver for `url` with an optional token, listening for `listen`; with
    /// `skip_negotiation`, `url` must be the `ws://` URL itself.
    pub fn spawn(url: &str, token: Option<&str>, listen: &[&str], skip_negotiation: bool) -> Self {
        Self::spawn_config(&json!({
            "url": url,
            "token": token,
            "listen": listen,
            "skipNegotiation": skip_negotiation,
        }))
    }

    /// Starts the driver over `transport` (negotiating) and waits until it reports `connected`.
    pub fn connect_over(
        transport: Transport,
        url: &str,
        token: Option<&str>,
        listen: &[&str],
    ) -> Self {
        let mut client = Self::spawn_config(&json!({
            "url": url,
            "token": token,
            "listen": listen,
            "skipNegotiation": false,
            "transport": transport.name(),
        }));
        client.wait_connected();
        client
    }

    fn spawn_config(config: &Value) -> Self {
        let py_dir = crate_dir().join("py");
        let mut command = Command::new(python());
        command
            .current_dir(&py_dir)
            .arg("client.py")
            .arg(config.to_string())
            .env("PYTHONUNBUFFERED", "1");
        Self {
            driver: Driver::spawn("python", command),
        }
    }

    /// Starts the driver and waits until it reports `connected`.
    pub fn connect(
        url: &str,
        token: Option<&str>,
        listen: &[&str],
        skip_negotiation: bool,
    ) -> Self {
        let mut client = Self::spawn(url, token, listen, skip_negotiation);
        client.wait_connected();
        client
    }

    fn wait_connected(&mut self) {
        let event = self
            .driver
            .wait_for("connected or a failure", CONNECT_TIMEOUT, |e| {
                matches!(e["event"].as_str(), Some("connected" | "error" | "closed"))
            });
        assert_eq!(
            event["event"], "connected",
            "Python client did not connect: {event}"
        );
    }

    /// The underlying driver.
    pub fn driver(&mut self) -> &mut Driver {
        &mut self.driver
    }

    /// Asserts that the next message is exactly `target(arguments...)`.
    pub fn expect_message(&mut self, target: &str, arguments: &Value) {
        let message = self
            .driver
            .wait_for_event("message", Duration::from_secs(10));
        assert_eq!(
            message,
            json!({"event": "message", "target": target, "arguments": arguments})
        );
    }
}

/// The Python interpreter: `HERALD_PYTHON` or `python3`.
fn python() -> String {
    std::env::var("HERALD_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

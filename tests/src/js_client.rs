//! The official JavaScript SignalR client (`@microsoft/signalr`), driven through
//! `tests/js/client.mjs`.

use crate::binary::crate_dir;
use crate::driver::Driver;
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

/// How long a client may take to connect (node start-up included).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a message may take to arrive.
pub const MESSAGE_TIMEOUT: Duration = Duration::from_secs(10);

/// A SignalR transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// WebSockets.
    WebSockets,
    /// Server-Sent Events.
    ServerSentEvents,
    /// Long polling.
    LongPolling,
}

impl Transport {
    /// The name SignalR uses for it in negotiate and the clients' options.
    pub fn name(self) -> &'static str {
        match self {
            Self::WebSockets => "WebSockets",
            Self::ServerSentEvents => "ServerSentEvents",
            Self::LongPolling => "LongPolling",
        }
    }
}

/// A SignalR hub protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// The JSON hub protocol.
    Json,
    /// The MessagePack hub protocol.
    MessagePack,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::MessagePack => "messagepack",
        }
    }
}

/// How the driver connects.
#[derive(Debug, Clone)]
pub struct JsOptions {
    /// The hub URL (`.../client/?hub=chat` or `.../hubs/chat`).
    pub url: String,
    /// The transport to force; `None` lets the client pick from what negotiate offers.
    pub transport: Option<Transport>,
    /// The hub protocol.
    pub protocol: Protocol,
    /// The token `accessTokenFactory` returns, if any.
    pub token: Option<String>,
    /// Hub methods to print messages for.
    pub listen: Vec<String>,
    /// `skipNegotiation` (WebSockets only).
    pub skip_negotiation: bool,
    /// `withAutomaticReconnect`.
    pub automatic_reconnect: bool,
    /// `withStatefulReconnect`.
    pub stateful_reconnect: bool,
}

impl JsOptions {
    /// WebSockets, JSON, listening for `listen`.
    pub fn new(url: &str, token: Option<String>, listen: &[&str]) -> Self {
        Self {
            url: url.to_owned(),
            transport: Some(Transport::WebSockets),
            protocol: Protocol::Json,
            token,
            listen: listen.iter().map(|s| (*s).to_owned()).collect(),
            skip_negotiation: false,
            automatic_reconnect: false,
            stateful_reconnect: false,
        }
    }

    /// Uses `protocol`.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Uses `transport`.
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Forces no transport: the client tries what negotiate offers, in its own order.
    pub fn any_transport(mut self) -> Self {
        self.transport = None;
        self
    }

    /// Turns stateful reconnect on (`withStatefulReconnect`).
    pub fn stateful_reconnect(mut self) -> Self {
        self.stateful_reconnect = true;
        self
    }

    /// Sets `skipNegotiation`.
    pub fn skip_negotiation(mut self) -> Self {
        self.skip_negotiation = true;
        self
    }

    /// Turns automatic reconnect on.
    pub fn automatic_reconnect(mut self) -> Self {
        self.automatic_reconnect = true;
        self
    }

    fn to_json(&self) -> Value {
        json!({
            "url": self.url,
            "transport": self.transport.map(Transport::name),
            "protocol": self.protocol.name(),
            "token": self.token,
            "listen": self.listen,
            "skipNegotiation": self.skip_negotiation,
            "automaticReconnect": self.automatic_reconnect,
            "statefulReconnect": self.stateful_reconnect,
        })
    }
}

/// One official JavaScript client connection.
pub struct JsClient {
    driver: Driver,
    connection_id: Option<String>,
    transport_class: Option<String>,
}

impl JsClient {
    /// Starts the driver without waiting for it to connect.
    pub fn spawn(options: &JsOptions) -> Self {
        let js_dir = crate_dir().join("js");
        assert!(
            js_dir
                .join("node_modules")
                .join("@microsoft")
                .join("signalr")
                .is_dir(),
            "{} has no node_modules: run .ci/test (it installs the JS and Python clients)",
            js_dir.display()
        );
        let mut command = Command::new("node");
        command
            .current_dir(&js_dir)
            .arg("client.mjs")
            .arg(options.to_json().to_string());
        Self {
            driver: Driver::spawn("js", command),
            connection_id: None,
            transport_class: None,
        }
    }

    /// Starts the driver and waits until it reports `connected`; panics on any other outcome.
    pub fn connect(options: &JsOptions) -> Self {
        let mut client = Self::spawn(options);
        let event = client
            .driver
            .wait_for("connected or a failure", CONNECT_TIMEOUT, |e| {
                matches!(e["event"].as_str(), Some("connected" | "error" | "closed"))
            });
        assert_eq!(
            event["event"], "connected",
            "JS client did not connect: {event}"
        );
        client.connection_id = event["connectionId"].as_str().map(str::to_owned);
        client.transport_class = event["transport"].as_str().map(str::to_owned);
        client
    }

    /// The connection id the client reported on connecting.
    pub fn connection_id(&self) -> &str {
        self.connection_id
            .as_deref()
            .expect("a connected client has a connection id")
    }

    /// The class name of the transport the client connected with, as the driver reported it:
    /// `WebSocketTransport`, `ServerSentEventsTransport` or `LongPollingTransport`.
    pub fn transport_class(&self) -> Option<&str> {
        self.transport_class.as_deref()
    }

    /// The underlying driver, for raw event access.
    pub fn driver(&mut self) -> &mut Driver {
        &mut self.driver
    }

    /// The next `message` event, skipping others; panics when none arrives in time.
    pub fn next_message(&mut self) -> Value {
        self.driver.wait_for_event("message", MESSAGE_TIMEOUT)
    }

    /// Asserts that the next message is exactly `target(arguments...)`.
    pub fn expect_message(&mut self, target: &str, arguments: &Value) {
        let message = self.next_message();
        assert_eq!(
            message,
            json!({"event": "message", "target": target, "arguments": arguments}),
            "unexpected message for connection {:?}",
            self.connection_id
        );
    }

    /// Waits for an event of `kind` (`closed`, `reconnecting`, ...).
    pub fn wait_for_event(&mut self, kind: &str, timeout: Duration) -> Value {
        self.driver.wait_for_event(kind, timeout)
    }

    /// Asks the client to stop and waits for `stopped`.
    pub fn stop(&mut self) {
        self.driver.command(&json!({"cmd": "stop"}));
        self.driver.wait_for_event("stopped", CONNECT_TIMEOUT);
    }
}

//! `herald probe`: one SignalR round trip through a running Herald (or the load balancer in
//! front of a cluster), as a client and an application server would make it — negotiate, a
//! long-polling connection with the JSON hub protocol, a REST send to the probe's own connection, the
//! invocation received — then the connection closed. Long polling is used on purpose: its
//! requests are independent, so behind a load balancer without session affinity they exercise
//! the forwarding to the node that owns the connection, too.
//!
//! The Helm chart's `helm test` pod runs it; an operator can too, after a rollout.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use herald_proto::ids::HubName;
use serde_json::Value;

use crate::auth::Authenticator;
use crate::config::Config;

/// The SignalR record separator.
const RECORD_SEPARATOR: char = '\u{1e}';
/// How long the tokens the probe mints are valid.
const TOKEN_TTL: Duration = Duration::from_secs(300);

/// What to probe.
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    /// The base URL clients and applications use, e.g. `http://herald.default.svc`.
    pub url: String,
    /// The hub to connect to.
    pub hub: HubName,
    /// The whole round trip must end within this.
    pub timeout: Duration,
}

/// What one probe measured.
#[derive(Debug, Clone)]
pub struct ProbeReport {
    /// The connection id the server gave.
    pub connection_id: String,
    /// From the REST send to the invocation's arrival.
    pub delivery: Duration,
    /// The whole round trip.
    pub total: Duration,
}

/// Runs one round trip; the error says which step failed and what the server answered.
pub async fn probe(config: &Config, target: &ProbeTarget) -> anyhow::Result<ProbeReport> {
    let started = Instant::now();
    let auth = Authenticator::from_config(config);
    let http = reqwest::Client::builder()
        .timeout(target.timeout)
        .build()
        .context("cannot build an HTTP client")?;
    let base = target.url.trim_end_matches('/');
    let hub = target.hub.as_str();
    let user = format!("herald-probe-{:x}", rand::random::<u64>());
    let nonce = format!("{:x}", rand::random::<u64>());

    // 1. Negotiate.
    // Clients send their access token on every request of the connection.
    let client_token = if auth.is_anonymous() {
        None
    } else {
        Some(
            auth.mint_client_token(Some(&user), &target.hub, TOKEN_TTL)
                .context("cannot mint a client token from the configured access key")?,
        )
    };
    let client = |request: reqwest::RequestBuilder| match &client_token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    let negotiate = client(http.post(format!(
        "{base}/client/negotiate?hub={hub}&negotiateVersion=1"
    )));
    let negotiated: Value = answer(negotiate, "negotiate").await?.json()?;
    let token = negotiated["connectionToken"]
        .as_str()
        .context("the negotiate answer has no connectionToken")?
        .to_owned();
    let connection_id = negotiated["connectionId"]
        .as_str()
        .context("the negotiate answer has no connectionId")?
        .to_owned();
    let offers_long_polling = negotiated["availableTransports"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t["transport"] == "LongPolling"));
    if !offers_long_polling {
        bail!(
            "negotiate does not offer LongPolling ({}): add it to client.transports",
            negotiated["availableTransports"]
        );
    }
    let connection = format!(
        "{base}/client/?hub={hub}&id={}",
        url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
    );

    // 2. The handshake, then its answer on the first poll.
    let handshake = format!("{{\"protocol\":\"json\",\"version\":1}}{RECORD_SEPARATOR}");
    answer(
        client(http.post(&connection)).body(handshake),
        "the handshake",
    )
    .await?;
    let poll_request = || client(http.get(&connection));
    let deadline = started + target.timeout;
    let mut handshaken = false;
    while !handshaken {
        for message in poll(poll_request(), deadline).await? {
            if message.as_object().is_some_and(|m| m.is_empty()) {
                handshaken = true;
            } else if let Some(error) = message["error"].as_str() {
                bail!("the handshake was refused: {error}");
            }
        }
    }

    // 3. A REST send to the probe's own connection, then poll until it arrives.
    let path = format!("/api/v1/hubs/{hub}/connections/{connection_id}");
    let mut send = http
        .post(format!("{base}{path}"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(serde_json::json!({ "target": "probe", "arguments": [nonce] }).to_string());
    if !auth.is_anonymous() {
        send = send.bearer_auth(
            auth.mint_rest_token(&path, TOKEN_TTL)
                .context("cannot mint a REST token from the configured access key")?,
        );
    }
    let sent = Instant::now();
    answer(send, "the REST send").await?;
    let delivery = 'received: loop {
        for message in poll(poll_request(), deadline).await? {
            match message["type"].as_u64() {
                Some(1) if message["target"] == "probe" && message["arguments"][0] == nonce => {
                    break 'received sent.elapsed();
                }
                Some(7) => bail!(
                    "the server closed the connection before the message arrived: {}",
                    message["error"].as_str().unwrap_or("no reason given")
                ),
                _ => {}
            }
        }
    };

    // 4. Close the connection.
    answer(client(http.delete(&connection)), "closing the connection").await?;
    Ok(ProbeReport {
        connection_id,
        delivery,
        total: started.elapsed(),
    })
}

/// A successful answer's body, or an error naming `step`, the status and the body.
async fn answer(request: reqwest::RequestBuilder, step: &str) -> anyhow::Result<Body> {
    let response = request
        .send()
        .await
        .with_context(|| format!("{step}: cannot reach the server (--url)"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .with_context(|| format!("{step}: the answer broke off"))?;
    if !status.is_success() {
        bail!("{step}: the server answered {status}: {text}");
    }
    Ok(Body(text))
}

/// An answer's text.
struct Body(String);

impl Body {
    fn json(self) -> anyhow::Result<Value> {
        serde_json::from_str(&self.0).with_context(|| format!("not JSON: {}", self.0))
    }
}

/// One long poll: the messages it carried (an empty list when it timed out empty).
async fn poll(request: reqwest::RequestBuilder, deadline: Instant) -> anyhow::Result<Vec<Value>> {
    if Instant::now() >= deadline {
        bail!("no answer within the probe's --timeout");
    }
    let response = request
        .timeout(deadline.saturating_duration_since(Instant::now()))
        .send()
        .await
        .context("a poll failed: no answer within the probe's --timeout, or the server is gone")?;
    let status = response.status();
    if status == reqwest::StatusCode::NO_CONTENT {
        bail!("the server ended the connection (204 on a poll)");
    }
    let text = response.text().await.context("a poll broke off")?;
    if !status.is_success() {
        bail!("a poll was answered {status}: {text}");
    }
    text.split(RECORD_SEPARATOR)
        .filter(|m| !m.trim().is_empty())
        .map(|m| serde_json::from_str(m).with_context(|| format!("a poll carried non-JSON: {m}")))
        .collect()
}

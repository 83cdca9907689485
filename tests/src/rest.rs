//! A small blocking client for herald's Azure SignalR Service compatible REST API.

use crate::token;
use serde_json::{Value, json};
use std::time::Duration;
use ureq::Agent;
use ureq::http::Request;

/// How to authenticate one request.
#[derive(Debug, Clone)]
pub enum Auth {
    /// A fresh token signed with the client's access key, `aud` = the request URL without query
    /// (no header in anonymous mode).
    Valid,
    /// No `Authorization` header.
    None,
    /// `Authorization: Bearer <token>` with exactly this token.
    Bearer(String),
}

/// Status and body of one HTTP exchange.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status code.
    pub status: u16,
    /// The body as text (empty for `HEAD`).
    pub body: String,
}

impl Reply {
    /// The body parsed as JSON; panics when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    /// Asserts the status is `status` and the body a JSON object with a non-empty `message`.
    pub fn assert_error(&self, status: u16) {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        let body = self.json();
        let message = body.get("message").and_then(Value::as_str);
        assert!(
            message.is_some_and(|m| !m.is_empty()),
            "error body without a non-empty \"message\" string: {body}"
        );
    }

    /// Asserts the status is `status`.
    pub fn assert_status(&self, status: u16) {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
    }
}

/// A REST client for one herald process.
pub struct Rest {
    base_url: String,
    /// The base of token audiences: `base_url` unless the server has another public endpoint.
    audience_base: String,
    access_key: Option<String>,
    agent: Agent,
}

impl Rest {
    /// A client for the server at `base_url`, signing with `access_key` when given.
    pub fn new(base_url: &str, access_key: Option<String>) -> Self {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(20)))
            .build();
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            audience_base: base_url.trim_end_matches('/').to_owned(),
            access_key,
            agent: Agent::new_with_config(config),
        }
    }

    /// Signs tokens for `<audience_base><path>` instead of the request URL: a cluster node
    /// checks the audience against the cluster's public endpoint, not its own address.
    pub fn with_audience_base(mut self, audience_base: &str) -> Self {
        audience_base
            .trim_end_matches('/')
            .clone_into(&mut self.audience_base);
        self
    }

    /// `<base url><path_and_query>`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base_url)
    }

    /// Sends `method <base><path_and_query>` with an optional JSON `body`.
    ///
    /// Transport failures (for instance a connection reset while a large body is written) are
    /// reported as status 0 with the error text as body.
    pub fn request(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<&[u8]>,
        auth: &Auth,
    ) -> Reply {
        self.request_with_headers(method, path_and_query, body, auth, &[])
    }

    /// [`request`](Self::request) with extra request headers (e.g. a `traceparent`).
    pub fn request_with_headers(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<&[u8]>,
        auth: &Auth,
        headers: &[(&str, &str)],
    ) -> Reply {
        let url = self.url(path_and_query);
        let mut builder = Request::builder().method(method).uri(&url);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        match auth {
            Auth::Valid => {
                if let Some(key) = &self.access_key {
                    let audience = format!("{}{path_and_query}", self.audience_base);
                    let bearer = token::rest_token(key, &audience);
                    builder = builder.header("Authorization", format!("Bearer {bearer}"));
                }
            }
            Auth::None => {}
            Auth::Bearer(bearer) => {
                builder = builder.header("Authorization", format!("Bearer {bearer}"));
            }
        }
        let result = match body {
            Some(bytes) => {
                let request = builder
                    .header("Content-Type", "application/json")
                    .body(bytes)
                    .expect("valid request");
                self.agent.run(request)
            }
            None => self.agent.run(builder.body(()).expect("valid request")),
        };
        match result {
            Ok(mut response) => Reply {
                status: response.status().as_u16(),
                body: response.body_mut().read_to_string().unwrap_or_default(),
            },
            Err(error) => Reply {
                status: 0,
                body: error.to_string(),
            },
        }
    }

    /// `POST path` with `{"target":..,"arguments":..}` and a valid token.
    pub fn post_message(&self, path_and_query: &str, target: &str, arguments: &Value) -> Reply {
        let body = message_body(target, arguments);
        self.request("POST", path_and_query, Some(&body), &Auth::Valid)
    }

    /// Broadcasts to every connection of `hub` (`POST /api/v1/hubs/{hub}`).
    pub fn broadcast(&self, hub: &str, target: &str, arguments: &Value) -> Reply {
        self.post_message(&format!("/api/v1/hubs/{hub}"), target, arguments)
    }

    /// Sends to every connection of `user`.
    pub fn send_to_user(&self, hub: &str, user: &str, target: &str, arguments: &Value) -> Reply {
        self.post_message(
            &format!("/api/v1/hubs/{hub}/users/{user}"),
            target,
            arguments,
        )
    }

    /// Sends to one connection.
    pub fn send_to_connection(
        &self,
        hub: &str,
        connection: &str,
        target: &str,
        arguments: &Value,
    ) -> Reply {
        self.post_message(
            &format!("/api/v1/hubs/{hub}/connections/{connection}"),
            target,
            arguments,
        )
    }

    /// Sends to every connection in `group`.
    pub fn send_to_group(&self, hub: &str, group: &str, target: &str, arguments: &Value) -> Reply {
        self.post_message(
            &format!("/api/v1/hubs/{hub}/groups/{group}"),
            target,
            arguments,
        )
    }

    /// `PUT` (add) or `DELETE` (remove) of a connection in a group.
    pub fn group_connection(
        &self,
        method: &str,
        hub: &str,
        group: &str,
        connection: &str,
    ) -> Reply {
        self.request(
            method,
            &format!("/api/v1/hubs/{hub}/groups/{group}/connections/{connection}"),
            None,
            &Auth::Valid,
        )
    }

    /// `PUT` (add) or `DELETE` (remove) of a user in a group.
    pub fn group_user(&self, method: &str, hub: &str, group: &str, user: &str) -> Reply {
        self.request(
            method,
            &format!("/api/v1/hubs/{hub}/groups/{group}/users/{user}"),
            None,
            &Auth::Valid,
        )
    }

    /// `HEAD` of a path under `/api/v1/hubs/{hub}`, such as `/connections/{id}`.
    pub fn head(&self, hub: &str, suffix: &str) -> Reply {
        self.request(
            "HEAD",
            &format!("/api/v1/hubs/{hub}{suffix}"),
            None,
            &Auth::Valid,
        )
    }
}

/// The JSON body of a send: `{"target":target,"arguments":arguments}`.
pub fn message_body(target: &str, arguments: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"target": target, "arguments": arguments}))
        .expect("serializable message")
}

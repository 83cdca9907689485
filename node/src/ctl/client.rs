//! The HTTP side of `herald ctl`: one admin API request at a time, answers kept as the raw
//! body (for `--json`) plus the paging headers, and every failure turned into a [`CtlError`].

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;
use url::Url;

use super::error::CtlError;

/// How long one request may take. An SRE waiting on `herald ctl` during an incident wants a
/// clear "cannot reach" quickly rather than a hang; a node answers from memory in well under a
/// millisecond and a cluster view is bounded by `cluster.request_timeout`, far below this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The most connections one page may ask for (`limit` accepts 1..=1000): the fewest round trips
/// for a full listing.
const PAGE_MAX: usize = 1000;

/// The header naming the cursor of the next page.
const NEXT_CURSOR: &str = "herald-next-cursor";

/// The header naming the nodes a listing could not ask.
const UNREACHABLE_NODES: &str = "herald-unreachable-nodes";

/// Talks to one node's admin listener (any node answers for the whole cluster).
#[derive(Debug, Clone)]
pub struct AdminClient {
    /// The base URL; request paths are appended to its path, so a listener behind a proxy
    /// prefix (`https://ops.example.com/herald/`) works.
    admin: Url,
    /// Sent as `Authorization: Bearer`; `None` for a cluster without `admin.token`.
    token: Option<String>,
    http: reqwest::Client,
}

/// A 2xx answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The body exactly as received, so `--json` can print it unchanged.
    pub body: String,
    /// `Herald-Next-Cursor`: more connections follow.
    pub next_cursor: Option<String>,
    /// `Herald-Unreachable-Nodes`: the nodes this answer is missing.
    pub unreachable: Vec<String>,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self, client: &AdminClient) -> Result<Value, CtlError> {
        serde_json::from_str(&self.body).map_err(|e| client.bad_answer(format!("{e}")))
    }
}

/// Every page of a listing, followed to its end or to the limit.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Each page's body as received.
    pub bodies: Vec<String>,
    /// The elements of all pages, in order.
    pub items: Vec<Value>,
    /// The nodes any page could not ask, in the order first named, each once.
    pub unreachable: Vec<String>,
}

impl Listing {
    /// One JSON array holding every page's elements: the single page's body unchanged, or the
    /// pages' arrays joined as they were received (never re-serialized, so nothing about the
    /// elements changes, not even the order of their keys).
    pub fn json(&self) -> String {
        if let [only] = self.bodies.as_slice() {
            return only.clone();
        }
        let inner: Vec<&str> = self
            .bodies
            .iter()
            .map(|body| {
                let body = body.trim();
                body.strip_prefix('[')
                    .and_then(|b| b.strip_suffix(']'))
                    .unwrap_or(body)
                    .trim()
            })
            .filter(|inner| !inner.is_empty())
            .collect();
        format!("[{}]", inner.join(","))
    }
}

impl AdminClient {
    pub fn new(admin: Url, token: Option<String>) -> Result<Self, CtlError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            // A redirect would carry the token to wherever it points; the admin API never
            // redirects, so one means --admin names something else.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("herald-ctl/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CtlError::Unreachable {
                admin: shown(&admin),
                reason: format!("cannot set up the HTTP client: {}", root_cause(&e)),
            })?;
        Ok(Self { admin, token, http })
    }

    /// `GET` of the admin path made of `segments` (each percent-encoded).
    pub async fn get(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Answer, CtlError> {
        let request = self.http.get(self.url(segments, query));
        self.send(request).await
    }

    /// `POST` without a body.
    pub async fn post(&self, segments: &[&str]) -> Result<Answer, CtlError> {
        let request = self.http.post(self.url(segments, &[]));
        self.send(request).await
    }

    /// Every page of the paged listing at `segments`, following `Herald-Next-Cursor` until no
    /// page follows or `limit` elements have come.
    pub async fn list(
        &self,
        segments: &[&str],
        filters: &[(&str, &str)],
        limit: Option<usize>,
    ) -> Result<Listing, CtlError> {
        let mut listing = Listing::default();
        let mut cursor: Option<String> = None;
        loop {
            let want = limit.map_or(PAGE_MAX, |limit| {
                limit.saturating_sub(listing.items.len()).min(PAGE_MAX)
            });
            let want = want.to_string();
            let mut query = filters.to_vec();
            query.push(("limit", &want));
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor));
            }
            let answer = self.get(segments, &query).await?;
            match answer.json(self)? {
                Value::Array(items) => listing.items.extend(items),
                _ => return Err(self.bad_answer("a page is not a JSON array".to_owned())),
            }
            for node in answer.unreachable {
                if !listing.unreachable.contains(&node) {
                    listing.unreachable.push(node);
                }
            }
            listing.bodies.push(answer.body);
            let Some(next) = answer.next_cursor else {
                break;
            };
            if cursor.as_ref() == Some(&next) {
                return Err(CtlError::CursorLoop { cursor: next });
            }
            if limit.is_some_and(|limit| listing.items.len() >= limit) {
                break;
            }
            cursor = Some(next);
        }
        Ok(listing)
    }

    /// The admin URL as given, for messages.
    pub fn admin(&self) -> String {
        shown(&self.admin)
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.admin.clone();
        url.set_query(None);
        url.set_fragment(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["api", "admin"])
                .extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    async fn send(&self, mut request: reqwest::RequestBuilder) -> Result<Answer, CtlError> {
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        let next_cursor = header_values(response.headers(), NEXT_CURSOR)
            .into_iter()
            .next();
        let unreachable = header_values(response.headers(), UNREACHABLE_NODES);
        let body = response.text().await.map_err(|e| self.transport(e))?;
        if status.is_success() {
            return Ok(Answer {
                body,
                next_cursor,
                unreachable,
            });
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(CtlError::Unauthorized);
        }
        Err(CtlError::Api {
            status: status.as_u16(),
            message: error_message(status, &body),
        })
    }

    fn transport(&self, error: reqwest::Error) -> CtlError {
        if error.is_timeout() {
            CtlError::Timeout {
                admin: self.admin(),
                after: REQUEST_TIMEOUT,
            }
        } else {
            CtlError::Unreachable {
                admin: self.admin(),
                reason: root_cause(&error),
            }
        }
    }

    fn bad_answer(&self, reason: String) -> CtlError {
        CtlError::BadAnswer {
            admin: self.admin(),
            reason,
        }
    }
}

/// `url` without the trailing slash the parser adds to a bare origin.
fn shown(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

/// The comma-separated values of header `name`, over all its occurrences.
fn header_values(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The `message` of the API's JSON error, else what the body says, else the status.
fn error_message(status: reqwest::StatusCode, body: &str) -> String {
    if let Ok(Value::Object(error)) = serde_json::from_str::<Value>(body)
        && let Some(Value::String(message)) = error.get("message")
    {
        return message.clone();
    }
    let reason = status.canonical_reason().unwrap_or("an error");
    let excerpt: String = body.trim().chars().take(200).collect();
    if excerpt.is_empty() {
        format!("the admin API answered {reason}")
    } else {
        format!("the admin API answered {reason}: {excerpt}")
    }
}

/// The innermost cause ("connection refused", "failed to lookup address information: ..."):
/// the outer layers (`error sending request for url (...)`, `client error (Connect)`) say
/// nothing an SRE can act on.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    let text = cause.to_string();
    let text = match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => &text[..at],
        _ => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "unknown error".to_owned(),
    }
}

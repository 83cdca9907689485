//! `POST .../negotiate` as a raw HTTP exchange, for tests of what the server refuses.

use crate::process::HeraldProcess;
use crate::rest::{Auth, Reply, Rest};

/// `POST /client/negotiate?hub=<hub>&negotiateVersion=1<extra_query>` with `auth`.
///
/// `extra_query` is appended as is (start it with `&`).
pub fn negotiate(server: &HeraldProcess, hub: &str, extra_query: &str, auth: &Auth) -> Reply {
    Rest::new(&server.base_url(), server.access_key().map(str::to_owned)).request(
        "POST",
        &format!("/client/negotiate?hub={hub}&negotiateVersion=1{extra_query}"),
        None,
        auth,
    )
}

/// The id to put in `?id=` when connecting after `reply`: `connectionToken` (version 1) or
/// `connectionId` (version 0).
pub fn connection_token(reply: &Reply) -> String {
    let body = reply.json();
    body.get("connectionToken")
        .or_else(|| body.get("connectionId"))
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("negotiate response without connectionToken: {body}"))
        .to_owned()
}

//! Client endpoints: negotiate and the transports, in Azure style (`/client/negotiate?hub=H`,
//! `/client/?hub=H`) and self-hosted style (`/hubs/H/negotiate`, `/hubs/H`).
//!
//! `GET` with a WebSocket upgrade is the WebSocket transport, `GET` accepting
//! `text/event-stream` is Server-Sent Events, any other `GET` is a long poll; `POST` sends
//! client messages (SSE and long polling) and `DELETE` ends a long-polling connection.

use std::time::Instant;

use actix::Actor;
use actix_web::{HttpRequest, HttpResponse, web};
use herald_proto::ids::{HubName, NodeId};
use herald_proto::negotiate::{AvailableTransport, NegotiateResponse, TransportType};

use super::error::ApiError;
use super::limited_body::read_limited;
use super::{AppState, query_value, request_token};
use crate::auth::ClientIdentity;
use crate::connections::{ClaimError, NegotiateError, Negotiated, Opened, token_owner};
use crate::hub::HubError;
use crate::session::actor::{Inbound, Session, SessionParts};
use crate::session::close_reason::CloseReason;
use crate::session::handle::SessionHandle;
use crate::session::link::CloseSession;
use crate::session::outbox::Outbox;
use crate::telemetry::{propagation, spans};
use crate::transport::{long_polling, sse, websocket};
use tracing::Instrument as _;

/// Largest body of one POST send from an SSE or long-polling client (Azure's limit).
const MAX_SEND_BYTES: usize = 1024 * 1024;

/// Registers the client routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for base in ["/client/", "/client", "/hubs/{hub}"] {
        cfg.route(base, web::get().to(connect))
            .route(base, web::post().to(send))
            .route(base, web::delete().to(close));
    }
    cfg.route("/client/negotiate", web::post().to(negotiate))
        .route("/hubs/{hub}/negotiate", web::post().to(negotiate));
}

fn hub_of(req: &HttpRequest, state: &AppState) -> Result<HubName, ApiError> {
    let name = match req.match_info().get("hub") {
        Some(hub) => hub.to_owned(),
        None => query_value(req.query_string(), "hub").ok_or_else(|| {
            ApiError::bad_request("missing the 'hub' query parameter, e.g. /client/?hub=chat")
        })?,
    };
    state.hubs.check(&name).map_err(|e| match e {
        HubError::InvalidName(e) => ApiError::bad_request(e.to_string()),
        e @ HubError::Unknown(_) => ApiError::not_found(e.to_string()),
    })
}

fn identify(
    req: &HttpRequest,
    state: &AppState,
    hub: &HubName,
) -> Result<ClientIdentity, ApiError> {
    let token = request_token(req);
    state
        .auth
        .verify_client(token.as_deref(), hub)
        .map_err(|e| ApiError::unauthorized(e.to_string()))
}

fn require_transport(state: &AppState, transport: TransportType) -> Result<(), ApiError> {
    if state.config.client.transports.contains(&transport) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "the {transport} transport is disabled on this node (client.transports); negotiate to see the enabled ones"
        )))
    }
}

fn connection_token(req: &HttpRequest) -> Result<String, ApiError> {
    query_value(req.query_string(), "id").ok_or_else(|| {
        ApiError::bad_request(
            "missing the 'id' query parameter: negotiate first and pass its connectionToken",
        )
    })
}

/// The node owning `token`'s connection, when that is another node of the cluster.
fn elsewhere(state: &AppState, token: &str) -> Option<NodeId> {
    token_owner(token).filter(|owner| state.cluster.is_clustered() && owner != state.cluster.node())
}

async fn forward(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    owner: &NodeId,
) -> Result<HttpResponse, ApiError> {
    crate::cluster::forward::forward(
        &state.cluster,
        &state.forwarder,
        &state.metrics,
        req,
        payload,
        owner,
        state.config.cluster.request_timeout,
    )
    .await
}

/// Carries a WebSocket for a connection of another node to that node.
async fn proxy_websocket(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    owner: &NodeId,
) -> Result<HttpResponse, ApiError> {
    use crate::cluster::forward::{FORWARDED_HEADER, locate};
    let timeout = state.config.cluster.request_timeout;
    let record = locate(&state.cluster, &state.metrics, req, owner, timeout).await?;
    let base = record.url.trim_end_matches('/');
    let base = base
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    let url = format!(
        "{base}{}",
        req.uri().path_and_query().map_or("/", |p| p.as_str())
    );
    let mut headers = vec![(
        FORWARDED_HEADER.to_owned(),
        state.cluster.node().to_string(),
    )];
    if let Some(value) = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        headers.push(("authorization".to_owned(), value.to_owned()));
    }
    match websocket::start_proxy(
        req,
        payload,
        &url,
        headers,
        state.config.client.max_message_size,
    )
    .await
    {
        Ok(response) => {
            state.metrics.forwarded("ok");
            Ok(response)
        }
        Err(message) => {
            state.metrics.forwarded("error");
            Err(ApiError::new(
                actix_web::http::StatusCode::BAD_GATEWAY,
                "ForwardFailed",
                format!("node {owner}: {message}"),
            ))
        }
    }
}

/// The connection a POST or DELETE names: `Ok` with its session when it lives here, `Err` with
/// the owner's answer when the request was forwarded to the node owning it.
async fn reach(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<Result<(Opened, web::Payload), HttpResponse>, ApiError> {
    let hub = hub_of(req, state)?;
    let token = connection_token(req)?;
    if let Some(owner) = elsewhere(state, &token) {
        return forward(req, payload, state, &owner).await.map(Err);
    }
    identify(req, state, &hub)?;
    let opened = open(req, state, &hub, &token).map_err(claim_error)?;
    Ok(Ok((opened, payload)))
}

fn claim_error(e: ClaimError) -> ApiError {
    ApiError::not_found(e.to_string())
}

async fn negotiate(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let hub = req.match_info().get("hub").map_or_else(
        || query_value(req.query_string(), "hub").unwrap_or_default(),
        str::to_owned,
    );
    let span = spans::negotiate(&hub);
    propagation::continue_from_headers(&span, req.headers());
    let answer = negotiate_here(&req, &state).instrument(span.clone()).await;
    let status = match &answer {
        Ok(response) => response.status(),
        Err(error) => actix_web::ResponseError::status_code(error),
    };
    spans::record_status(&span, status.as_u16());
    answer
}

async fn negotiate_here(req: &HttpRequest, state: &AppState) -> Result<HttpResponse, ApiError> {
    let req = req.clone();
    let hub = hub_of(&req, state)?;
    let identity = identify(&req, state, &hub)?;
    let version: u32 = match query_value(req.query_string(), "negotiateVersion") {
        None => 0,
        Some(v) => v.parse().map_err(|_| {
            ApiError::bad_request(format!("negotiateVersion must be a number, got '{v}'"))
        })?,
    };
    let transports: Vec<AvailableTransport> = state
        .config
        .client
        .transports
        .iter()
        .map(|t| AvailableTransport {
            transport: *t,
            transfer_formats: t.transfer_formats().to_vec(),
        })
        .collect();
    if transports.is_empty() {
        return Err(ApiError::unavailable(
            "no transport is enabled in client.transports",
        ));
    }
    // Stateful reconnect only when asked (a client that did not ask fails on the flag), and only
    // over WebSockets, the one transport that reconnects with the same connection.
    let stateful = query_value(req.query_string(), "useStatefulReconnect").as_deref()
        == Some("true")
        && state
            .config
            .client
            .transports
            .contains(&TransportType::WebSockets);
    let (negotiated, token) = state
        .connections
        .negotiate(
            hub.clone(),
            identity.user_id,
            identity.claims,
            version >= 1,
            stateful,
            Instant::now(),
        )
        .map_err(|e| match e {
            NegotiateError::Draining | NegotiateError::TooManyPending => {
                ApiError::unavailable(e.to_string())
            }
        })?;
    state.metrics.negotiated(&hub);
    tracing::Span::current().record(
        "herald.connection_id",
        tracing::field::display(&negotiated.connection_id),
    );
    let response = NegotiateResponse {
        connection_id: negotiated.connection_id.to_string(),
        connection_token: (version >= 1).then_some(token),
        negotiate_version: version.min(1),
        available_transports: transports,
        use_stateful_reconnect: stateful,
    };
    Ok(HttpResponse::Ok().json(response))
}

/// Starts the session actor of a connection on this worker.
fn start_session(
    state: &AppState,
    negotiated: &Negotiated,
    token: &str,
    client_query: &str,
    transport: &'static str,
) -> SessionHandle {
    // The connection's trace: a connect span under the negotiate request's, parent of the
    // handshake and close spans the session records.
    let span = spans::connect(
        negotiated.hub.as_str(),
        negotiated.connection_id.as_ref(),
        transport,
    );
    if let Some(parent) = &negotiated.trace {
        propagation::continue_from(&span, parent);
    }
    let mut negotiated = negotiated.clone();
    negotiated.trace = propagation::context_of(&span).map(Box::new);
    let _entered = span.enter();
    let outbox = Outbox::new(
        state.config.client.outbound_queue,
        negotiated
            .stateful
            .then_some(state.config.client.reconnect_buffer),
    );
    if state.cluster.is_clustered() {
        // Released once the hub registration's subscriptions are confirmed by Redis.
        outbox.hold();
    }
    let hub = state.hubs.get_or_start(&negotiated.hub);
    let parts = SessionParts {
        negotiated,
        token: token.to_owned(),
        hub,
        connections: state.connections.clone(),
        metrics: state.metrics.clone(),
        settings: state.session,
        disconnect_timeout: state.config.client.disconnect_timeout,
        outbox: outbox.clone(),
        upstream: state.upstream.clone(),
        client_query: client_query.to_owned(),
    };
    SessionHandle::new(Session::new(parts).start(), outbox, state.metrics.clone())
}

fn open(
    req: &HttpRequest,
    state: &AppState,
    hub: &HubName,
    token: &str,
) -> Result<Opened, ClaimError> {
    let query = client_query(req);
    state
        .connections
        .open(token, hub, Instant::now(), |negotiated| {
            start_session(state, negotiated, token, &query, transport_of(req))
        })
}

/// The transport a request that starts a session is for (a long-polling client may send its
/// handshake, a POST, before its first poll).
fn transport_of(req: &HttpRequest) -> &'static str {
    let event_stream = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if websocket::is_upgrade(req) {
        "webSockets"
    } else if event_stream {
        "serverSentEvents"
    } else {
        "longPolling"
    }
}

/// The client's query string for the upstream, without the secrets it carries.
fn client_query(req: &HttpRequest) -> String {
    let kept: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| k != "id" && k != "access_token")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish()
}

async fn connect(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let hub = hub_of(&req, &state)?;
    if websocket::is_upgrade(&req) {
        return connect_websocket(&req, payload, &state, hub).await;
    }
    let token = connection_token(&req)?;
    if let Some(owner) = elsewhere(&state, &token) {
        return forward(&req, payload, &state, &owner).await;
    }
    identify(&req, &state, &hub)?;
    let event_stream = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if event_stream {
        require_transport(&state, TransportType::ServerSentEvents)?;
        let opened = open(&req, &state, &hub, &token).map_err(claim_error)?;
        return Ok(sse::respond(opened.session));
    }
    require_transport(&state, TransportType::LongPolling)?;
    match open(&req, &state, &hub, &token) {
        Ok(opened) => {
            Ok(long_polling::poll(opened.session, state.config.client.poll_timeout).await)
        }
        // The connection ended since the last poll: the spec's "closed" answer.
        Err(ClaimError::Closed) => Ok(HttpResponse::NoContent().finish()),
        Err(e) => Err(claim_error(e)),
    }
}

async fn connect_websocket(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    hub: HubName,
) -> Result<HttpResponse, ApiError> {
    require_transport(state, TransportType::WebSockets)?;
    if let Some(owner) =
        query_value(req.query_string(), "id").and_then(|token| elsewhere(state, &token))
    {
        return proxy_websocket(req, payload, state, &owner).await;
    }
    let identity = identify(req, state, &hub)?;
    let (session, reconnect) = match query_value(req.query_string(), "id") {
        Some(token) => {
            let opened = open(req, state, &hub, &token).map_err(claim_error)?;
            if !opened.created && !opened.negotiated.stateful {
                return Err(ApiError::conflict(
                    "this connection already has a transport; negotiate a new connection",
                ));
            }
            (opened.session, !opened.created)
        }
        // skipNegotiation: the connection starts here.
        None => {
            let (opened, _) = state
                .connections
                .open_direct(
                    hub,
                    identity.user_id,
                    identity.claims,
                    |negotiated, token| {
                        start_session(state, negotiated, token, &client_query(req), "webSockets")
                    },
                )
                .map_err(|e| ApiError::unavailable(e.to_string()))?;
            (opened.session, false)
        }
    };
    let max = state.config.client.max_message_size;
    websocket::start(req, payload, session.clone(), reconnect, max).map_err(|e| {
        session.addr.do_send(CloseSession {
            reason: CloseReason::TransportClosed,
        });
        ApiError::bad_request(format!("websocket upgrade failed: {e}"))
    })
}

async fn send(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (opened, payload) = match reach(&req, payload, &state).await? {
        Ok(here) => here,
        Err(forwarded) => return Ok(forwarded),
    };
    let Some(_in_flight) = opened.session.begin_post() else {
        return Err(ApiError::conflict(
            "another send for this connection is in progress",
        ));
    };
    let data = read_limited(&req, payload, MAX_SEND_BYTES, "the 1 MiB send limit").await?;
    match opened.session.addr.send(Inbound { data }).await {
        Ok(Ok(())) => Ok(HttpResponse::Ok().content_type("text/plain").finish()),
        _ => Err(ApiError::not_found(
            "the connection is closed; negotiate again",
        )),
    }
}

async fn close(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (opened, _) = match reach(&req, payload, &state).await? {
        Ok(here) => here,
        Err(forwarded) => return Ok(forwarded),
    };
    opened.session.addr.do_send(CloseSession {
        reason: CloseReason::ClientClosed,
    });
    Ok(HttpResponse::Accepted().content_type("text/plain").finish())
}

//! Client endpoints: negotiate and the transport connect, in Azure style (`/client/negotiate?hub=H`,
//! `/client/?hub=H`) and self-hosted style (`/hubs/H/negotiate`, `/hubs/H`).

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use herald_proto::ids::HubName;
use herald_proto::negotiate::{
    AvailableTransport, NegotiateResponse, TransferFormat, TransportType,
};

use super::error::ApiError;
use super::{AppState, query_value, request_token};
use crate::auth::ClientIdentity;
use crate::connections::{ClaimError, NegotiateError, Negotiated};
use crate::hub::HubError;
use crate::transport::websocket::{self, WsSessionParts};

/// Registers the client routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/client/negotiate", web::post().to(negotiate))
        .route("/client/", web::get().to(connect))
        .route("/client", web::get().to(connect))
        .route("/hubs/{hub}/negotiate", web::post().to(negotiate))
        .route("/hubs/{hub}", web::get().to(connect));
}

/// The transports this build can serve. Negotiate offers the configured ones among these.
const IMPLEMENTED: &[TransportType] = &[TransportType::WebSockets];

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

fn available_transports(state: &AppState) -> Vec<AvailableTransport> {
    state
        .config
        .client
        .transports
        .iter()
        .filter(|t| IMPLEMENTED.contains(t))
        .map(|t| AvailableTransport {
            transport: *t,
            transfer_formats: match t {
                TransportType::ServerSentEvents => vec![TransferFormat::Text],
                _ => vec![TransferFormat::Text, TransferFormat::Binary],
            },
        })
        .collect()
}

async fn negotiate(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let hub = hub_of(&req, &state)?;
    let identity = identify(&req, &state, &hub)?;
    let version: u32 = match query_value(req.query_string(), "negotiateVersion") {
        None => 0,
        Some(v) => v.parse().map_err(|_| {
            ApiError::bad_request(format!("negotiateVersion must be a number, got '{v}'"))
        })?,
    };
    let transports = available_transports(&state);
    if transports.is_empty() {
        return Err(ApiError::unavailable(
            "no transport is both enabled in client.transports and available on this node",
        ));
    }
    let (negotiated, token) = state
        .connections
        .negotiate(hub.clone(), identity.user_id, version >= 1, Instant::now())
        .map_err(|e| match e {
            NegotiateError::Draining | NegotiateError::TooManyPending => {
                ApiError::unavailable(e.to_string())
            }
        })?;
    state.metrics.negotiated(&hub);
    let response = NegotiateResponse {
        connection_id: negotiated.connection_id.to_string(),
        connection_token: (version >= 1).then_some(token),
        negotiate_version: version.min(1),
        available_transports: transports,
        // Stateful reconnect is not offered: a client that asked connects without it.
        use_stateful_reconnect: false,
    };
    Ok(HttpResponse::Ok().json(response))
}

async fn connect(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let hub = hub_of(&req, &state)?;
    if !websocket::is_upgrade(&req)
        || !state
            .config
            .client
            .transports
            .contains(&TransportType::WebSockets)
    {
        return Err(ApiError::bad_request(
            "this endpoint accepts WebSocket upgrades only; negotiate first to see the transports this node offers",
        ));
    }
    let identity = identify(&req, &state, &hub)?;
    let (negotiated, token) = match query_value(req.query_string(), "id") {
        Some(token) => {
            let negotiated = state
                .connections
                .claim(&token, &hub, Instant::now())
                .map_err(|e| match e {
                    ClaimError::NotFound | ClaimError::WrongHub => {
                        ApiError::not_found(e.to_string())
                    }
                    ClaimError::AlreadyActive => ApiError::conflict(e.to_string()),
                })?;
            (negotiated, token)
        }
        // skipNegotiation: the connection starts here.
        None => state
            .connections
            .open_direct(hub.clone(), identity.user_id)
            .map_err(|e| ApiError::unavailable(e.to_string()))?,
    };
    start_websocket(&req, payload, &state, negotiated, token)
}

fn start_websocket(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    negotiated: Negotiated,
    token: String,
) -> Result<HttpResponse, ApiError> {
    let hub = state.hubs.get_or_start(&negotiated.hub);
    let parts = WsSessionParts {
        negotiated,
        token: token.clone(),
        hub,
        connections: state.connections.clone(),
        metrics: state.metrics.clone(),
        settings: state.session,
        outbound_queue: state.config.client.outbound_queue,
    };
    websocket::start(req, payload, parts).map_err(|e| {
        state.connections.release(&token);
        ApiError::bad_request(format!("websocket upgrade failed: {e}"))
    })
}

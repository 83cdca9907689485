//! The REST API, compatible with Azure SignalR Service's data plane: the v1 paths
//! (`/api/v1/hubs/{hub}/...`) and the 2022-06-01 paths (`/api/hubs/{hub}/...:send`).
//!
//! Every call is authorized first (a bearer JWT signed with the access key whose audience is
//! the request URL), then the hub name is checked, then the body. Sends answer 202 once the
//! message is queued to every local recipient.

pub mod body;
pub mod ops;

use actix_web::dev::Service;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, guard, web};
use herald_proto::ids::{ConnectionId, HubName};

use self::body::{check_name, parse_send_body, parse_ttl};
use self::ops::UserGroupChange;
use super::error::ApiError;
use super::limited_body::read_limited;
use super::{AppState, query_value, query_values};
use crate::hub::HubError;
use crate::hub::actor::{Exists, Membership};
use crate::hub::registry::Scope;
use crate::session::link::Payload;
use crate::telemetry::{propagation, spans};
use herald_proto::backplane::CommandOp;
use tracing::Instrument as _;

/// Which form of the API a route belongs to; they differ in some success statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    V1,
    V2022,
}

/// Who a send or close is for, before the path parameters are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    All,
    User,
    Group,
    Connection,
}

/// Registers the REST routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let get_or_head = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
    let send = |target, api| move |req, payload, state| send(req, payload, state, target, api);
    let close = |target, api| move |req, state| close(req, state, target, api);
    let exists = |target| move |req, state| exists(req, state, target);
    let user_group = |op, api| move |req, state| user_group(req, state, op, api);
    let group_connection = |add, api| move |req, state| group_connection(req, state, add, api);

    let v1 = web::scope("/api/v1/hubs/{hub}")
        .route("", web::post().to(send(Target::All, Api::V1)))
        .route("/users/{user}", web::post().to(send(Target::User, Api::V1)))
        .route("/users/{user}", get_or_head().to(exists(Target::User)))
        .route("/users/{user}/groups", web::delete().to(user_all_groups))
        .route(
            "/users/{user}/groups/{group}",
            web::put().to(user_group(UserGroupOp::Add, Api::V1)),
        )
        .route(
            "/users/{user}/groups/{group}",
            web::delete().to(user_group(UserGroupOp::Remove, Api::V1)),
        )
        .route(
            "/users/{user}/groups/{group}",
            get_or_head().to(user_group(UserGroupOp::Check, Api::V1)),
        )
        .route(
            "/connections/{connection}",
            web::post().to(send(Target::Connection, Api::V1)),
        )
        .route(
            "/connections/{connection}",
            web::delete().to(close(Target::Connection, Api::V1)),
        )
        .route(
            "/connections/{connection}",
            get_or_head().to(exists(Target::Connection)),
        )
        .route(
            "/groups/{group}",
            web::post().to(send(Target::Group, Api::V1)),
        )
        .route("/groups/{group}", get_or_head().to(exists(Target::Group)))
        .route(
            "/groups/{group}/connections/{connection}",
            web::put().to(group_connection(true, Api::V1)),
        )
        .route(
            "/groups/{group}/connections/{connection}",
            web::delete().to(group_connection(false, Api::V1)),
        )
        .route(
            "/groups/{group}/users/{user}",
            web::put().to(user_group(UserGroupOp::Add, Api::V1)),
        )
        .route(
            "/groups/{group}/users/{user}",
            web::delete().to(user_group(UserGroupOp::Remove, Api::V1)),
        )
        .route(
            "/groups/{group}/users/{user}",
            get_or_head().to(user_group(UserGroupOp::Check, Api::V1)),
        );

    let v2022 = web::scope("/api/hubs/{hub}")
        .route("/:send", web::post().to(send(Target::All, Api::V2022)))
        .route(
            "/:closeConnections",
            web::post().to(close(Target::All, Api::V2022)),
        )
        .route(
            "/users/{user}/:send",
            web::post().to(send(Target::User, Api::V2022)),
        )
        .route(
            "/users/{user}/:closeConnections",
            web::post().to(close(Target::User, Api::V2022)),
        )
        .route("/users/{user}", get_or_head().to(exists(Target::User)))
        .route("/users/{user}/groups", web::delete().to(user_all_groups))
        .route(
            "/users/{user}/groups/{group}",
            web::put().to(user_group(UserGroupOp::Add, Api::V2022)),
        )
        .route(
            "/users/{user}/groups/{group}",
            web::delete().to(user_group(UserGroupOp::Remove, Api::V2022)),
        )
        .route(
            "/users/{user}/groups/{group}",
            get_or_head().to(user_group(UserGroupOp::Check, Api::V2022)),
        )
        .route(
            "/groups/{group}/:send",
            web::post().to(send(Target::Group, Api::V2022)),
        )
        .route(
            "/groups/{group}/:closeConnections",
            web::post().to(close(Target::Group, Api::V2022)),
        )
        .route("/groups/{group}", get_or_head().to(exists(Target::Group)))
        .route(
            "/groups/{group}/connections/{connection}",
            web::put().to(group_connection(true, Api::V2022)),
        )
        .route(
            "/groups/{group}/connections/{connection}",
            web::delete().to(group_connection(false, Api::V2022)),
        )
        .route(
            "/connections/{connection}/:send",
            web::post().to(send(Target::Connection, Api::V2022)),
        )
        .route(
            "/connections/{connection}",
            web::delete().to(close(Target::Connection, Api::V2022)),
        )
        .route(
            "/connections/{connection}",
            get_or_head().to(exists(Target::Connection)),
        )
        .route(
            "/connections/{connection}/groups",
            web::delete().to(connection_all_groups),
        );

    cfg.service(
        web::scope("")
            .wrap_fn(|req, srv| {
                let route = req
                    .match_pattern()
                    .unwrap_or_else(|| "unmatched".to_owned());
                let metrics = req
                    .app_data::<web::Data<AppState>>()
                    .map(|s| s.metrics.clone());
                // Health checks are not worth a trace each.
                let span = if route == "/api/health" {
                    tracing::Span::none()
                } else {
                    spans::rest_request(req.method().as_str(), &route, req.path())
                };
                propagation::continue_from_headers(&span, req.headers());
                let response = span.in_scope(|| srv.call(req));
                async move {
                    let response = response.instrument(span.clone()).await?;
                    let status = response.status().as_u16();
                    spans::record_status(&span, status);
                    if let Some(metrics) = metrics {
                        metrics.rest_request(route, status);
                    }
                    Ok(response)
                }
            })
            .service(v1)
            .service(v2022)
            .route(
                "/api/health",
                get_or_head().to(|| async { HttpResponse::Ok().finish() }),
            ),
    );
}

/// Checks the caller's bearer token for this request's URL (anonymous mode accepts anyone).
pub fn authorize_caller(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    state
        .auth
        .verify_rest(header, req.path())
        .map(|_| ())
        .map_err(|e| ApiError::unauthorized(e.to_string()))
}

/// Authorizes the call and resolves its hub.
fn authorize(req: &HttpRequest, state: &AppState) -> Result<HubName, ApiError> {
    authorize_caller(req, state)?;
    let name = req.match_info().get("hub").unwrap_or_default();
    state.hubs.check(name).map_err(|e| match e {
        HubError::InvalidName(e) => ApiError::bad_request(e.to_string()),
        e @ HubError::Unknown(_) => ApiError::not_found(e.to_string()),
    })
}

fn param<'a>(req: &'a HttpRequest, name: &str) -> Result<&'a str, ApiError> {
    let value = req.match_info().get(name).unwrap_or_default();
    check_name(name, value)
}

fn connection_param(req: &HttpRequest) -> Result<ConnectionId, ApiError> {
    param(req, "connection")?
        .parse()
        .map_err(|e: herald_proto::ids::NameError| ApiError::bad_request(e.to_string()))
}

fn scope_of(req: &HttpRequest, target: Target) -> Result<Scope, ApiError> {
    Ok(match target {
        Target::All => Scope::All,
        Target::User => Scope::User(param(req, "user")?.to_owned()),
        Target::Group => Scope::Group(param(req, "group")?.to_owned()),
        Target::Connection => Scope::Connection(connection_param(req)?),
    })
}

fn excluded(req: &HttpRequest) -> Result<Vec<ConnectionId>, ApiError> {
    query_values(req.query_string(), "excluded")
        .into_iter()
        .map(|id| {
            id.parse()
                .map_err(|e: herald_proto::ids::NameError| ApiError::bad_request(e.to_string()))
        })
        .collect()
}

fn accepted(api: Api) -> HttpResponse {
    match api {
        Api::V1 => HttpResponse::Accepted().finish(),
        Api::V2022 => HttpResponse::Ok().finish(),
    }
}

async fn send(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    target: Target,
    _api: Api,
) -> Result<HttpResponse, ApiError> {
    let hub = authorize(&req, &state)?;
    let scope = scope_of(&req, target)?;
    let excluded = excluded(&req)?;
    let body = read_limited(
        &req,
        payload,
        state.config.rest.max_body_size,
        "rest.max_body_size",
    )
    .await?;
    let body = parse_send_body(&body)?;
    let payload = Payload::invocation(&body.target, &body.arguments);
    let delivered = ops::send(&state, &hub, scope, excluded, payload).await?;
    tracing::trace!(%hub, target = %body.target, delivered, "message sent");
    Ok(HttpResponse::Accepted().finish())
}

async fn close(
    req: HttpRequest,
    state: web::Data<AppState>,
    target: Target,
    api: Api,
) -> Result<HttpResponse, ApiError> {
    let hub = authorize(&req, &state)?;
    let scope = scope_of(&req, target)?;
    let excluded = excluded(&req)?;
    let reason = query_value(req.query_string(), "reason").unwrap_or_default();
    let closed = ops::close(&state, &hub, scope, excluded, reason).await?;
    tracing::debug!(%hub, closed, "connections closed through the REST API");
    Ok(accepted(api))
}

async fn exists(
    req: HttpRequest,
    state: web::Data<AppState>,
    target: Target,
) -> Result<HttpResponse, ApiError> {
    let hub = authorize(&req, &state)?;
    let query = match scope_of(&req, target)? {
        Scope::Connection(id) => Exists::Connection(id),
        Scope::User(user) => Exists::User(user),
        Scope::Group(group) => Exists::Group(group),
        Scope::All => return Err(ApiError::bad_request("nothing to check")),
    };
    let found = ops::exists(&state, &hub, query).await?;
    Ok(HttpResponse::new(if found {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    }))
}

async fn group_connection(
    req: HttpRequest,
    state: web::Data<AppState>,
    add: bool,
    api: Api,
) -> Result<HttpResponse, ApiError> {
    let hub = authorize(&req, &state)?;
    let group = param(&req, "group")?.to_owned();
    let id = connection_param(&req)?;
    let (local, remote) = if add {
        (
            Membership::AddToGroup {
                id: id.clone(),
                group: group.clone(),
            },
            CommandOp::AddToGroup { group },
        )
    } else {
        (
            Membership::RemoveFromGroup {
                id: id.clone(),
                group: group.clone(),
            },
            CommandOp::RemoveFromGroup { group },
        )
    };
    ops::connection_groups(&state, &hub, &id, local, remote).await?;
    Ok(accepted(api))
}

async fn connection_all_groups(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let hub = authorize(&req, &state)?;
    let id = connection_param(&req)?;
    let local = Membership::RemoveFromAllGroups { id: id.clone() };
    ops::connection_groups(&state, &hub, &id, local, CommandOp::RemoveFromAllGroups).await?;
    Ok(HttpResponse::Ok().finish())
}

/// What a user-group route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UserGroupOp {
    Add,
    Remove,
    Check,
}

async fn user_group(
    req: HttpRequest,
    state: web::Data<AppState>,
    op: UserGroupOp,
    api: Api,
) -> Result<HttpResponse, ApiError> {
    let hub = authorize(&req, &state)?;
    let user = param(&req, "user")?.to_owned();
    let group = param(&req, "group")?.to_owned();
    let change = match op {
        UserGroupOp::Add => {
            let ttl = parse_ttl(query_value(req.query_string(), "ttl"))?;
            UserGroupChange::Add { group, ttl }
        }
        UserGroupOp::Remove => UserGroupChange::Remove { group },
        UserGroupOp::Check => {
            let found = ops::exists(&state, &hub, Exists::UserInGroup { user, group }).await?;
            return Ok(HttpResponse::new(if found {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            }));
        }
    };
    ops::user_groups(&state, &hub, &user, change).await?;
    Ok(accepted(api))
}

async fn user_all_groups(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let hub = authorize(&req, &state)?;
    let user = param(&req, "user")?.to_owned();
    ops::user_groups(&state, &hub, &user, UserGroupChange::RemoveAll).await?;
    Ok(HttpResponse::Ok().finish())
}

//! The admin listener: liveness, readiness and Prometheus metrics (always open, for probes and
//! scrapers), the cluster-wide admin API under `/api/admin` (behind `admin.token`, see
//! [`auth`]) and the dashboard at `/`. The data comes from [`crate::admin`].

pub mod auth;
pub mod dashboard;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::admin::local::{self, ConnectionFilter};
use crate::admin::paging::{self, Cursor, DEFAULT_LIMIT, MAX_LIMIT};
use crate::admin::{AdminError, AdminState, gather};

/// The header naming where the next page of a listing starts.
pub const NEXT_CURSOR: &str = "herald-next-cursor";
/// The header naming nodes a listing could not ask.
pub const UNREACHABLE_NODES: &str = "herald-unreachable-nodes";

/// Registers the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .service(
            web::scope("/api/admin")
                .wrap(actix_web::middleware::from_fn(auth::require_token))
                .route("/node", web::get().to(local_node))
                .route("/local/node", web::get().to(local_node))
                .route("/local/connections", web::get().to(local_connections))
                .route("/local/drain", web::post().to(local_drain))
                .route("/local/undrain", web::post().to(local_undrain))
                .route("/cluster", web::get().to(cluster))
                .route("/nodes", web::get().to(nodes))
                .route("/leases", web::get().to(leases))
                .route("/connections", web::get().to(connections))
                .route("/hubs/{hub}/groups/{group}", web::get().to(group))
                .route("/hubs/{hub}/users/{user}", web::get().to(user))
                .route("/nodes/{id}/drain", web::post().to(drain))
                .route("/nodes/{id}/undrain", web::post().to(undrain))
                .default_service(web::to(not_found)),
        )
        .configure(dashboard::configure);
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(state: web::Data<AdminState>) -> HttpResponse {
    if *state.app.ready.borrow() {
        HttpResponse::Ok().json(serde_json::json!({ "status": "ready" }))
    } else {
        let message = if state.drain.is_draining() {
            "the node is draining: POST /api/admin/nodes/{id}/undrain or restart it"
        } else {
            "the node is starting, or its backplane is down"
        };
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "status": "unavailable", "message": message }))
    }
}

async fn metrics(state: web::Data<AdminState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.app.metrics.render())
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    error_response(&AdminError::BadRequest(String::new()), req.path())
}

fn error_response(error: &AdminError, path: &str) -> HttpResponse {
    let (mut builder, code) = match error {
        AdminError::Unavailable(_) => (HttpResponse::ServiceUnavailable(), "Unavailable"),
        AdminError::UnknownNode(_) => (HttpResponse::NotFound(), "UnknownNode"),
        AdminError::BadRequest(message) if message.is_empty() => {
            return HttpResponse::NotFound().json(serde_json::json!({
                "code": "NotFound",
                "message": format!("no admin endpoint {path}: see the README's admin API section"),
            }));
        }
        AdminError::BadRequest(_) => (HttpResponse::BadRequest(), "BadRequest"),
        AdminError::NodeFailed { .. } => (HttpResponse::BadGateway(), "NodeFailed"),
    };
    builder.json(serde_json::json!({ "code": code, "message": error.to_string() }))
}

fn json_or_error<T: serde::Serialize>(
    result: Result<T, AdminError>,
    req: &HttpRequest,
) -> HttpResponse {
    match result {
        Ok(value) => HttpResponse::Ok().json(value),
        Err(error) => error_response(&error, req.path()),
    }
}

async fn local_node(state: web::Data<AdminState>) -> HttpResponse {
    HttpResponse::Ok().json(local::node_view(&state).await)
}

/// The query of the connection listings; unknown parameters are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    hub: Option<String>,
    user: Option<String>,
    group: Option<String>,
    node: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
    after: Option<String>,
}

impl ListQuery {
    fn parse(req: &HttpRequest) -> Result<Self, AdminError> {
        let query: Self = serde_urlencoded_query(req.query_string())?;
        if query.hub.is_none() && (query.user.is_some() || query.group.is_some()) {
            return Err(AdminError::BadRequest(
                "user and group filters need hub: add hub=<name>".to_owned(),
            ));
        }
        Ok(query)
    }

    fn filter(&self) -> ConnectionFilter {
        ConnectionFilter {
            hub: self.hub.clone(),
            user: self.user.clone(),
            group: self.group.clone(),
        }
    }

    /// The page size asked for, from 1 to `max`.
    fn limit(&self, max: usize) -> Result<usize, AdminError> {
        match &self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    AdminError::BadRequest(format!(
                        "limit must be a whole number from 1 to {max}, got {text:?}"
                    ))
                }),
        }
    }
}

fn serde_urlencoded_query(query: &str) -> Result<ListQuery, AdminError> {
    web::Query::<ListQuery>::from_query(query)
        .map(web::Query::into_inner)
        .map_err(|e| AdminError::BadRequest(format!("bad query: {e}")))
}

async fn local_connections(req: HttpRequest, state: web::Data<AdminState>) -> HttpResponse {
    let result = async {
        let query = ListQuery::parse(&req)?;
        // The node asking for a cluster page wants one more than a page, to learn whether
        // another page follows.
        let limit = query.limit(MAX_LIMIT + 1)?;
        Ok(local::connections(&state, &query.filter(), query.after.as_deref(), limit).await)
    }
    .await;
    json_or_error(result, &req)
}

async fn local_drain(req: HttpRequest, state: web::Data<AdminState>) -> HttpResponse {
    let id = state.record.id.clone();
    switch(req, state, id, true).await
}

async fn local_undrain(req: HttpRequest, state: web::Data<AdminState>) -> HttpResponse {
    let id = state.record.id.clone();
    switch(req, state, id, false).await
}

async fn switch(
    req: HttpRequest,
    state: web::Data<AdminState>,
    id: String,
    drain: bool,
) -> HttpResponse {
    match state.switch_drain(&id, drain).await {
        Ok(now) => HttpResponse::Accepted().json(serde_json::json!({ "node": id, "state": now })),
        Err(error) => error_response(&error, req.path()),
    }
}

async fn drain(
    req: HttpRequest,
    state: web::Data<AdminState>,
    id: web::Path<String>,
) -> HttpResponse {
    switch(req, state, id.into_inner(), true).await
}

async fn undrain(
    req: HttpRequest,
    state: web::Data<AdminState>,
    id: web::Path<String>,
) -> HttpResponse {
    switch(req, state, id.into_inner(), false).await
}

async fn cluster(req: HttpRequest, state: web::Data<AdminState>) -> HttpResponse {
    json_or_error(gather::cluster_view(&state).await, &req)
}

async fn nodes(req: HttpRequest, state: web::Data<AdminState>) -> HttpResponse {
    let result = async {
        let records = gather::live_nodes(&state).await?;
        let mut nodes = gather::node_views(&state, &records).await;
        let leases = gather::lease_records(&state).await?;
        gather::lease_views(leases, &mut nodes);
        Ok(nodes)
    }
    .await;
    json_or_error(result, &req)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeaseQuery {
    feed: Option<String>,
}

async fn leases(req: HttpRequest, state: web::Data<AdminState>) -> HttpResponse {
    let result = async {
        let query = web::Query::<LeaseQuery>::from_query(req.query_string())
            .map_err(|e| AdminError::BadRequest(format!("bad query: {e}")))?;
        let records = gather::live_nodes(&state).await?;
        let mut nodes = gather::node_views(&state, &records).await;
        let mut leases = gather::lease_views(gather::lease_records(&state).await?, &mut nodes);
        if let Some(feed) = &query.feed {
            leases.retain(|l| &l.feed == feed);
        }
        Ok(leases)
    }
    .await;
    json_or_error(result, &req)
}

async fn connections(req: HttpRequest, state: web::Data<AdminState>) -> HttpResponse {
    let result = async {
        let query = ListQuery::parse(&req)?;
        let limit = query.limit(MAX_LIMIT)?;
        let cursor = query.cursor.as_deref().map(Cursor::decode).transpose()?;
        paging::connections(
            &state,
            &query.filter(),
            query.node.as_deref(),
            cursor,
            limit,
        )
        .await
    }
    .await;
    let page = match result {
        Ok(page) => page,
        Err(error) => return error_response(&error, req.path()),
    };
    let mut response = HttpResponse::Ok().json(&page.connections);
    let headers = response.headers_mut();
    if let Some(next) = &page.next
        && let Ok(value) = HeaderValue::from_str(&next.encode())
    {
        headers.insert(HeaderName::from_static(NEXT_CURSOR), value);
    }
    if !page.unreachable.is_empty() {
        let names: Vec<&str> = page.unreachable.iter().map(|u| u.node.as_str()).collect();
        if let Ok(value) = HeaderValue::from_str(&names.join(", ")) {
            headers.insert(HeaderName::from_static(UNREACHABLE_NODES), value);
        }
    }
    response
}

async fn group(
    req: HttpRequest,
    state: web::Data<AdminState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (hub, group) = path.into_inner();
    json_or_error(paging::group(&state, &hub, &group).await, &req)
}

async fn user(
    req: HttpRequest,
    state: web::Data<AdminState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (hub, user) = path.into_inner();
    json_or_error(paging::user(&state, &hub, &user).await, &req)
}

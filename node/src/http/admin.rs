//! The admin listener: liveness, readiness and Prometheus metrics, plus a JSON view of this
//! node for operators.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::AppState;

/// Registers the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/api/admin/node", web::get().to(node))
        .route("/api/admin/cluster", web::get().to(cluster));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if *state.ready.borrow() {
        HttpResponse::Ok().json(serde_json::json!({ "status": "ready" }))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "status": "unavailable", "message": "the node is starting or draining" }))
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}

#[derive(Serialize)]
struct HubView {
    hub: String,
    connections: usize,
    users: usize,
    groups: usize,
}

#[derive(Serialize)]
struct NodeView {
    node_id: String,
    ready: bool,
    active_connections: usize,
    pending_connections: usize,
    hubs: Vec<HubView>,
}

async fn node(state: web::Data<AppState>) -> HttpResponse {
    let mut hubs = Vec::new();
    for handle in state.hubs.all() {
        if let Ok(stats) = handle.stats().await {
            hubs.push(HubView {
                hub: handle.name().to_string(),
                connections: stats.connections,
                users: stats.users,
                groups: stats.groups,
            });
        }
    }
    hubs.sort_by(|a, b| a.hub.cmp(&b.hub));
    HttpResponse::Ok().json(NodeView {
        node_id: state.config.node_id.to_string(),
        ready: *state.ready.borrow(),
        active_connections: state.connections.active(),
        pending_connections: state.connections.pending(),
        hubs,
    })
}

#[derive(Serialize)]
struct ClusterView {
    node_id: String,
    clustered: bool,
    backplane: String,
    nodes: Vec<herald_proto::backplane::NodeRecord>,
    expired_nodes: Vec<String>,
}

async fn cluster(state: web::Data<AppState>) -> HttpResponse {
    let backplane = match &*state.cluster.state().borrow() {
        crate::backplane::LinkState::Up => "up".to_owned(),
        crate::backplane::LinkState::Down { since, error } => {
            format!("down for {:?}: {error}", since.elapsed())
        }
    };
    let (nodes, expired_nodes) = match state.cluster.store() {
        Some(store) => match store.nodes().await {
            Ok(nodes) => nodes,
            Err(e) => {
                return HttpResponse::ServiceUnavailable().json(
                    serde_json::json!({ "code": "RedisUnavailable", "message": e.to_string() }),
                );
            }
        },
        None => (Vec::new(), Vec::new()),
    };
    HttpResponse::Ok().json(ClusterView {
        node_id: state.config.node_id.to_string(),
        clustered: state.cluster.is_clustered(),
        backplane,
        nodes,
        expired_nodes,
    })
}

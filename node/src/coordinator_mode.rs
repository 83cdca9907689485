//! `herald coordinator`: runs a coordinator of the cluster — one of any number; the elected
//! leader assigns the `[[feeds]]` leases over the live nodes. Serves `/healthz`, `/metrics`
//! (leadership, leader changes, lease moves) and `/api/admin/coordinator` (leader, token,
//! leases, nodes) on the admin listener; `/api/admin/*` is behind `admin.token` like a node's.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context as _;
use herald_coordinator::coordinator::{Coordinator, CoordinatorHandle, CoordinatorSettings};

use crate::backplane::redis::{RedisSecurity, command_connection};
use crate::config::{Config, Role};
use crate::feed::runner::lease_ids;
use crate::http::admin::auth::{AdminToken, require_token};
use crate::metrics::Metrics;
use crate::telemetry::export_queue::SpanCounters;

/// Runs a coordinator until `shutdown` resolves, then resigns leadership.
/// `span_counters` are the trace exporter's, shown on `/metrics` (`None`: no exporter).
pub async fn run(
    config: Config,
    span_counters: Option<std::sync::Arc<SpanCounters>>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    config.require_for(Role::Coordinator)?;
    let target = config
        .redis
        .url
        .clone()
        .context("config key redis.url is required for `herald coordinator`")?;
    let security = RedisSecurity::from_config(&config.redis)?;
    security.warn_if_insecure();
    let conn = command_connection(&target, &security, config.redis.connect_timeout)
        .await
        .with_context(|| format!("cannot connect to redis ({target}); check redis.url"))?;
    let ids = lease_ids(&config.feeds);
    if config.feeds.is_empty() {
        tracing::warn!(
            "no [[feeds]] are configured: the coordinator assigns only leases that nodes create"
        );
    }
    tracing::info!(leases = ids.len(), candidate = %config.node_id, "starting the coordinator");
    let settings = CoordinatorSettings {
        // Nodes subscribe with sharded pub/sub on a Redis Cluster; announce the same way.
        sharded_pubsub: matches!(target, crate::backplane::redis::RedisTarget::Cluster(_)),
        ..CoordinatorSettings::new(config.redis.prefix.clone(), config.node_id.to_string(), ids)
    };
    let handle = Coordinator::spawn(conn, settings).context("cannot start the coordinator")?;
    let metrics = Metrics::new();
    if let Some(counters) = span_counters {
        metrics.attach_span_counters(counters);
    }
    let watcher = actix_web::rt::spawn(watch(handle.clone(), metrics.clone()));
    let data = web::Data::new(handle.clone());
    let rendered = web::Data::new(metrics);
    let admin_token = web::Data::new(AdminToken::from_config(&config));
    let admin = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(rendered.clone())
            .app_data(admin_token.clone())
            .route("/metrics", web::get().to(render))
            .route(
                "/healthz",
                web::get().to(|| async {
                    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
                }),
            )
            .service(
                web::scope("/api/admin")
                    .wrap(actix_web::middleware::from_fn(require_token))
                    .route("/coordinator", web::get().to(status)),
            )
    })
    .disable_signals()
    .workers(1)
    .shutdown_timeout(1)
    .bind(config.admin_listen)
    .with_context(|| format!("cannot listen on {} (admin_listen)", config.admin_listen))?
    .run();
    let admin_handle = admin.handle();
    let admin_task = actix_web::rt::spawn(admin);
    shutdown.await;
    watcher.abort();
    if let Err(error) = handle.stop().await {
        tracing::warn!(%error, "could not resign leadership; another coordinator takes over after the leader TTL");
    }
    admin_handle.stop(true).await;
    let _ = admin_task.await;
    tracing::info!("coordinator stopped");
    Ok(())
}

/// How often the coordinator's status is turned into metrics.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Derives metrics from the coordinator's status: leader token changes and lease owner changes.
async fn watch(handle: CoordinatorHandle, metrics: Metrics) {
    let mut token = None;
    let mut owners: HashMap<String, Option<String>> = HashMap::new();
    let mut tick = tokio::time::interval(WATCH_INTERVAL);
    loop {
        tick.tick().await;
        let Ok(status) = handle.status().await else {
            return;
        };
        let leader_changes = u64::from(status.token.is_some() && status.token != token);
        if status.token.is_some() {
            token = status.token;
        }
        let mut moves = 0u64;
        for lease in &status.leases {
            let previous = owners.insert(lease.id.clone(), lease.owner.clone());
            if previous.is_some_and(|owner| owner != lease.owner) {
                moves += 1;
            }
        }
        let owned = status.leases.iter().filter(|l| l.owner.is_some()).count();
        metrics.coordinator(status.is_leader, owned, status.leases.len() - owned);
        metrics.coordinator_changes(leader_changes, moves);
    }
}

async fn render(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}

async fn status(handle: web::Data<CoordinatorHandle>) -> HttpResponse {
    match handle.status().await {
        Ok(status) => HttpResponse::Ok().json(status),
        Err(error) => HttpResponse::ServiceUnavailable().json(
            serde_json::json!({ "code": "CoordinatorStopped", "message": error.to_string() }),
        ),
    }
}

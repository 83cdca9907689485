//! The composition root: builds the node's parts from config, serves until `shutdown`
//! resolves, then drains.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer, web};
use tokio::sync::watch;

use crate::admin::AdminState;
use crate::auth::Authenticator;
use crate::backplane::in_process::InProcessBackplane;
use crate::backplane::{INCOMING_QUEUE_CAPACITY, LinkState};
use crate::cluster::{Cluster, connect, heartbeat, router};
use crate::config::Config;
use crate::connections::Connections;
use crate::drain::DrainControl;
use crate::http::{self, AppState};
use crate::hub::Hubs;
use crate::metrics::Metrics;
use crate::session::core::SessionSettings;
use crate::telemetry::export_queue::SpanCounters;
use crate::upstream::Upstream;
use anyhow::Context as _;
use herald_coordinator::coordinator::assignments_channel;
use herald_coordinator::lease_store::LeaseStore;
use herald_coordinator::lease_table::LeaseTable;
use herald_proto::backplane::NodeRecord;
use tokio::sync::mpsc;

/// How often negotiated connections that never connected are swept.
const PENDING_SWEEP_INTERVAL: Duration = Duration::from_secs(5);
/// Longest wait for the feed readers to stop at shutdown.
const FEEDS_STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How often shutdown checks whether every session has closed.
const DRAIN_POLL_INTERVAL: Duration = Duration::from_millis(50);

/// How the node finds other nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Alone: an in-process backplane, no Redis.
    Standalone,
    /// In a cluster: the Redis backplane and cluster state (`redis.url`).
    Node,
}

/// Runs a node until `shutdown` resolves, then drains within the grace period.
/// Must be called inside an actix system (e.g. `actix_web::rt::System::new().block_on`).
/// `span_counters` are the trace exporter's, shown on `/metrics` (`None`: no exporter).
pub async fn run(
    config: Config,
    mode: Mode,
    span_counters: Option<Arc<SpanCounters>>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut config = config;
    let embedded = match mode {
        Mode::Standalone => {
            crate::demo::standalone::add_demo_feed(&mut config);
            crate::demo::standalone::start(&config).await?
        }
        Mode::Node => None,
    };
    let config = Arc::new(config);
    let metrics = Metrics::new();
    if let Some(counters) = span_counters {
        metrics.attach_span_counters(counters);
    }
    let auth = Authenticator::from_config(&config);
    if auth.is_anonymous() {
        tracing::warn!(
            "NO ACCESS KEY CONFIGURED: clients and REST callers are not authenticated. \
             Set connection_string (or HERALD_CONNECTION_STRING) with an AccessKey for anything but local use"
        );
    }
    let upstream = Upstream::try_from_config(&config)?;
    match &upstream {
        Some(_) => tracing::info!(
            "client invocations are forwarded to the upstream (upstream.url_template)"
        ),
        None => {
            tracing::info!("no upstream configured: client invocations are answered with an error")
        }
    }
    let (incoming_tx, incoming) = mpsc::channel(INCOMING_QUEUE_CAPACITY);
    let cluster = match mode {
        Mode::Standalone => {
            let backplane = Arc::new(InProcessBackplane::new(incoming_tx));
            Cluster::new(
                config.node_id.clone(),
                &config.redis.prefix,
                backplane,
                None,
                config.cluster.request_timeout,
            )
        }
        Mode::Node => connect::connect(&config, incoming_tx, &metrics).await?,
    };
    let hubs = Hubs::new(&config.hubs, metrics.clone(), cluster.clone());
    let (bump, announcements) = watch::channel(0u64);
    let announcements = if cluster.is_clustered() && !config.feeds.is_empty() {
        let channel = assignments_channel(&config.redis.prefix);
        cluster.subscribe(&channel);
        Some((channel, bump, announcements))
    } else {
        None
    };
    let (router_announcements, announcements) = match announcements {
        Some((channel, bump, rx)) => (Some(router::Announcements { channel, bump }), Some(rx)),
        None => (None, None),
    };
    router::spawn(
        cluster.clone(),
        hubs.clone(),
        incoming,
        metrics.clone(),
        router_announcements,
    );
    let connections = Connections::new(config.node_id.clone(), config.client.negotiate_timeout);
    let drain_control = DrainControl::new(hubs.clone(), connections.clone());
    let record = NodeRecord {
        id: config.node_id.to_string(),
        url: config.advertise_url().to_string(),
        admin_url: config.admin_advertise_url(),
        started_at_ms: crate::metrics::unix_ms(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        draining: false,
    };
    let heartbeat = cluster.store().map(|store| {
        heartbeat::spawn(
            store.clone(),
            record.clone(),
            drain_control.subscribe(),
            config.cluster.heartbeat_interval,
            config.cluster.node_ttl,
        )
    });
    let (ready_tx, ready) = watch::channel(false);
    let session = SessionSettings {
        keep_alive: config.client.keep_alive,
        timeout: config.client.timeout,
        handshake_timeout: config.client.handshake_timeout,
        max_message_size: config.client.max_message_size,
    };
    let state = AppState {
        config: config.clone(),
        auth,
        hubs: hubs.clone(),
        connections: connections.clone(),
        metrics,
        ready,
        session,
        upstream,
        cluster: cluster.clone(),
        forwarder: reqwest::Client::builder()
            .connect_timeout(config.cluster.request_timeout)
            .build()
            .map_err(|e| {
                anyhow::anyhow!("cannot build the HTTP client for forwarded requests: {e}")
            })?,
    };
    let grace = config.shutdown.grace_period;
    let embedded_account = embedded.as_ref().map(|e| e.account.clone());
    let feeds = crate::feed::startup::start(&state, announcements, embedded_account.clone())
        .await
        .context("cannot start [[feeds]]")?;

    let client_state = web::Data::new(state.clone());
    let client_server = HttpServer::new(move || {
        App::new()
            .app_data(client_state.clone())
            .configure(http::client::configure)
            // Before the REST API: its metrics scope matches every path.
            .configure(|cfg| crate::demo::configure(cfg, mode))
            .configure(|cfg| crate::demo::documents::configure(cfg, embedded_account.clone()))
            .configure(http::rest::configure)
    })
    .disable_signals()
    // A client that closes its side is gone: end its SSE stream or long poll now rather than
    // at the next write (browsers never half-close an HTTP request).
    .h1_allow_half_closed(false)
    .shutdown_timeout(grace.as_secs().max(1))
    .bind(config.listen)
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {} (listen): {e}; is another process using the port?",
            config.listen
        )
    })?
    .run();

    let leases: Option<Arc<dyn LeaseTable>> = match (cluster.store(), &feeds) {
        (Some(store), _) => Some(Arc::new(LeaseStore::new(
            store.connection(),
            &config.redis.prefix,
        ))),
        (None, Some(feeds)) => Some(feeds.table()),
        (None, None) => None,
    };
    let admin_token = web::Data::new(http::admin::auth::AdminToken::from_config(&config));
    let admin_state = web::Data::new(AdminState {
        app: state.clone(),
        record: record.clone(),
        drain: drain_control.clone(),
        leases,
        client: state.forwarder.clone(),
        token: config.admin.token.clone(),
    });
    let admin_server = HttpServer::new(move || {
        App::new()
            .app_data(admin_state.clone())
            .app_data(admin_token.clone())
            .configure(http::admin::configure)
    })
    .disable_signals()
    .workers(1)
    .shutdown_timeout(1)
    .bind(config.admin_listen)
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {} (admin_listen): {e}; is another process using the port?",
            config.admin_listen
        )
    })?
    .run();

    let client_handle = client_server.handle();
    let admin_handle = admin_server.handle();
    let client_task = actix_web::rt::spawn(client_server);
    let admin_task = actix_web::rt::spawn(admin_server);

    let sweeper = {
        let connections = connections.clone();
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(PENDING_SWEEP_INTERVAL);
            loop {
                tick.tick().await;
                let expired = connections.sweep(Instant::now());
                if expired > 0 {
                    tracing::debug!(expired, "negotiated connections expired before connecting");
                }
            }
        })
    };

    let readiness = spawn_readiness(
        cluster.state(),
        drain_control.subscribe(),
        ready_tx.clone(),
        state.metrics.clone(),
    );
    let sampler = spawn_sampler(state.metrics.clone());
    tracing::info!(
        node = %config.node_id, listen = %config.listen, admin = %config.admin_listen, endpoint = %config.endpoint(),
        "herald is ready"
    );

    shutdown.await;
    if let Some(embedded) = &embedded {
        embedded.stop();
    }
    readiness.abort();
    // Unready and marked draining first, so this node's leases move while it drains.
    drain_control.drain().await;
    if let Some(feeds) = feeds {
        // Readers stop before their next checkpoint; the coordinators move the leases of a
        // draining node at once.
        if tokio::time::timeout(FEEDS_STOP_TIMEOUT, feeds.stop())
            .await
            .is_err()
        {
            tracing::warn!(
                "feed readers did not stop in time; their leases move when this node is gone"
            );
        }
    }
    wait_for_sessions(&ready_tx, &connections, grace).await;
    if let Some(task) = heartbeat {
        task.abort();
    }
    sampler.abort();
    cluster.shutdown().await;
    if let Some(store) = cluster.store()
        && let Err(error) = store.forget_node(config.node_id.as_str()).await
    {
        tracing::warn!(%error, "could not remove this node from the registry; it expires after cluster.node_ttl");
    }
    sweeper.abort();
    client_handle.stop(true).await;
    admin_handle.stop(true).await;
    let _ = client_task.await;
    let _ = admin_task.await;
    hubs.stop();
    tracing::info!("herald stopped");
    Ok(())
}

/// Keeps readiness in step with the backplane and the drain switch: ready while the link is up
/// and the node is not draining.
fn spawn_readiness(
    mut link: watch::Receiver<LinkState>,
    mut draining: watch::Receiver<bool>,
    ready: watch::Sender<bool>,
    metrics: Metrics,
) -> actix_web::rt::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut was_up = None;
        loop {
            let state = link.borrow_and_update().clone();
            let drains = *draining.borrow_and_update();
            if was_up != Some(state.is_up()) {
                match &state {
                    LinkState::Up => tracing::info!("backplane up"),
                    LinkState::Down { error, .. } => {
                        tracing::warn!(%error, "backplane down: not ready; publishes are buffered")
                    }
                }
                was_up = Some(state.is_up());
            }
            let _ = ready.send(state.is_up() && !drains);
            metrics.readiness(state.is_up() && !drains, state.is_up());
            tokio::select! {
                changed = link.changed() => if changed.is_err() { return },
                changed = draining.changed() => if changed.is_err() { return },
            }
        }
    })
}

/// Samples the activity counters for the admin API's rates and charts.
fn spawn_sampler(metrics: Metrics) -> actix_web::rt::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(crate::metrics::activity::SAMPLE_INTERVAL);
        loop {
            tick.tick().await;
            metrics
                .activity()
                .sample(Instant::now(), crate::metrics::unix_ms());
        }
    })
}

/// Stays unready and waits, within the grace period, for the sessions the drain asked to close.
async fn wait_for_sessions(
    ready: &watch::Sender<bool>,
    connections: &Connections,
    grace: Duration,
) {
    let _ = ready.send(false);
    let open = connections.active();
    tracing::info!(open, grace = ?grace, "waiting for client connections to close");
    let deadline = Instant::now() + grace;
    let mut last_log = Instant::now();
    loop {
        let open = connections.active();
        if open == 0 {
            tracing::info!("every client connection closed");
            return;
        }
        if Instant::now() >= deadline {
            tracing::warn!(
                open,
                "grace period over with connections still open; closing them abruptly"
            );
            return;
        }
        if last_log.elapsed() >= Duration::from_secs(1) {
            tracing::info!(open, "waiting for client connections to close");
            last_log = Instant::now();
        }
        actix_web::rt::time::sleep(DRAIN_POLL_INTERVAL).await;
    }
}

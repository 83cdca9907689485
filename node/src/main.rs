//! The `herald` command line.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use herald_node::Mode;
use herald_node::auth::Authenticator;
use herald_node::config::{Config, Role};
use herald_proto::ids::HubName;

/// Herald: a self-hosted push cluster for the official SignalR clients, with an Azure SignalR
/// Service compatible REST API.
///
/// Every setting can come from the TOML file given with --config and be overridden by a
/// HERALD_* environment variable (HERALD_LISTEN, HERALD_ADMIN_LISTEN, HERALD_CONNECTION_STRING,
/// HERALD_NODE_ID, HERALD_HUBS, HERALD_CLIENT_MAX_MESSAGE_SIZE, ...; see the README).
#[derive(Parser, Debug)]
#[command(name = "herald", version, about, long_about)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, short, global = true, env = "HERALD_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one self-contained node (the default): clients, REST API and admin API in one process.
    Standalone,
    /// Run a cluster node: like standalone, joined to the other nodes through Redis
    /// (`redis.url` / HERALD_REDIS_URL is required).
    Node,
    /// Run a coordinator: assigns the `[[feeds]]` leases over the live nodes (run two for
    /// high availability; one is elected leader).
    Coordinator,
    /// Print a client access token signed with the configured access key.
    Token {
        /// The user id (`nameid` claim); omit for an anonymous client.
        #[arg(long)]
        user: Option<String>,
        /// The hub the token is for (its audience).
        #[arg(long)]
        hub: String,
        /// How long the token is valid, e.g. "1h", "30m" (default: auth.token_ttl).
        #[arg(long, value_parser = humantime::parse_duration)]
        ttl: Option<Duration>,
    },
    /// Write a document into the embedded Cosmos DB account of a running standalone herald
    /// (it then flows through that container's change feed), e.g.
    /// `herald write '{"id":"MSFT","symbol":"MSFT","price":431.2}'`.
    Write {
        /// The document: one JSON object with a string "id" and the container's partition key
        /// (`symbol` for demo/stocks); `-` reads it from standard input.
        document: String,
        /// `database/container` to write to.
        #[arg(long, default_value = "demo/stocks")]
        container: String,
        /// The standalone herald's base URL (default: `http://` + the `listen` setting).
        #[arg(long)]
        url: Option<String>,
    },
    /// Validate the configuration (file, HERALD_* variables, `env:` secrets) as `herald MODE`
    /// would load it, print the effective settings and exit 0; or print the key and what is
    /// wrong and exit 2. Connects to nothing.
    Check {
        /// The command the configuration is for.
        #[arg(long, value_enum, default_value = "node")]
        mode: Role,
    },
    /// One SignalR round trip through a running Herald or the load balancer in front of a
    /// cluster: negotiate, connect (long polling), a REST send to the probe's connection, received,
    /// closed. Signs with the configured access key. Exit 0 when the message arrived.
    Probe {
        /// The base URL of clients and the REST API (default: `http://` + the `listen` setting).
        #[arg(long)]
        url: Option<String>,
        /// The hub to use.
        #[arg(long, default_value = "herald_probe")]
        hub: String,
        /// The whole round trip must end within this.
        #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
    /// Inspect and operate a running cluster through its admin API, e.g. `herald ctl status`
    /// (needs no node configuration; see `herald ctl --help`).
    Ctl(herald_node::ctl::CtlArgs),
}

fn main() -> std::process::ExitCode {
    // One TLS crypto provider for the whole process: Redis over rediss://, the OTLP exporter and
    // Cosmos DB clients all build their rustls configurations from it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let command = match cli.command.unwrap_or(Command::Standalone) {
        // `ctl` is a client of a running cluster, often run from a laptop or a bastion with no
        // node configuration at all: it must not load (or fail on) this machine's config.
        Command::Ctl(args) => return herald_node::ctl::run(args),
        command => command,
    };
    let config = match Config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("herald: configuration error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let role = match &command {
        Command::Standalone => Some(Role::Standalone),
        Command::Node => Some(Role::Node),
        Command::Coordinator => Some(Role::Coordinator),
        Command::Check { mode } => Some(*mode),
        _ => None,
    };
    if let Some(Err(e)) = role.map(|role| config.require_for(role)) {
        eprintln!("herald: configuration error: {e}");
        return std::process::ExitCode::from(2);
    }
    // The standard OTEL_* variables configure traces; a wrong one is a configuration error too.
    let traces = match role.map(|_| herald_node::telemetry::otel_env::from_env(std::env::vars())) {
        Some(Err(e)) => {
            eprintln!("herald: configuration error: {e}");
            return std::process::ExitCode::from(2);
        }
        Some(Ok(traces)) => Some(traces),
        None => None,
    };
    let result = match command {
        Command::Standalone => serve(config, Mode::Standalone),
        Command::Node => serve(config, Mode::Node),
        Command::Coordinator => coordinate(config),
        Command::Check { mode } => {
            println!(
                "configuration OK for `{}`; effective settings:\n{}",
                mode.command(),
                config.summary()
            );
            if let Some(traces) = traces {
                println!("{}", herald_node::telemetry::otel_env::describe(&traces));
            }
            Ok(())
        }
        Command::Token { user, hub, ttl } => token(&config, user, &hub, ttl),
        Command::Write {
            document,
            container,
            url,
        } => write(&config, &document, &container, url),
        Command::Probe { url, hub, timeout } => probe(&config, url, &hub, timeout),
        Command::Ctl(_) => unreachable!("ctl runs before the configuration is loaded"),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("herald: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn coordinate(config: Config) -> anyhow::Result<()> {
    let telemetry = init_telemetry(&config)?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "starting herald (coordinator)\n{}",
        config.summary()
    );
    let result = actix_web::rt::System::new().block_on(herald_node::coordinator_mode::run(
        config,
        telemetry.span_counters(),
        shutdown_signal(),
    ));
    telemetry.shutdown();
    result
}

fn serve(config: Config, mode: Mode) -> anyhow::Result<()> {
    let telemetry = init_telemetry(&config)?;
    let name = match mode {
        Mode::Standalone => "standalone",
        Mode::Node => "cluster node",
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "starting herald ({name})\n{}",
        config.summary()
    );
    let result = actix_web::rt::System::new().block_on(herald_node::run(
        config,
        mode,
        telemetry.span_counters(),
        shutdown_signal(),
    ));
    telemetry.shutdown();
    result
}

fn token(
    config: &Config,
    user: Option<String>,
    hub: &str,
    ttl: Option<Duration>,
) -> anyhow::Result<()> {
    let hub: HubName = hub.parse().context("--hub")?;
    let auth = Authenticator::from_config(config);
    let ttl = ttl.unwrap_or(config.auth.token_ttl);
    let token = auth
        .mint_client_token(user.as_deref(), &hub, ttl)
        .context("cannot mint a token; set connection_string (or HERALD_CONNECTION_STRING) with an AccessKey")?;
    println!("{token}");
    Ok(())
}

fn probe(config: &Config, url: Option<String>, hub: &str, timeout: Duration) -> anyhow::Result<()> {
    let target = herald_node::probe::ProbeTarget {
        url: url.unwrap_or_else(|| format!("http://{}", config.listen)),
        hub: hub.parse().context("--hub")?,
        timeout,
    };
    let report = actix_web::rt::System::new()
        .block_on(herald_node::probe::probe(config, &target))
        .with_context(|| format!("probe of {} failed", target.url))?;
    println!(
        "probe OK: {} negotiated and connected (long polling, hub {}), a REST send arrived in {} ms, {} ms in all",
        report.connection_id,
        target.hub,
        report.delivery.as_millis(),
        report.total.as_millis()
    );
    Ok(())
}

fn write(
    config: &Config,
    document: &str,
    container: &str,
    url: Option<String>,
) -> anyhow::Result<()> {
    let (database, container) = container
        .split_once('/')
        .filter(|(d, c)| !d.is_empty() && !c.is_empty() && !c.contains('/'))
        .context("--container: expected database/container, such as demo/stocks")?;
    let document = if document == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read the document from stdin")?
    } else {
        document.to_owned()
    };
    let base = url.unwrap_or_else(|| format!("http://{}", config.listen));
    let answer = actix_web::rt::System::new().block_on(
        herald_node::demo::documents::write_remote(config, &base, database, container, &document),
    )?;
    println!("{answer}");
    Ok(())
}

/// Logs, and traces when the `OTEL_*` variables configure an exporter.
fn init_telemetry(config: &Config) -> anyhow::Result<herald_node::telemetry::Telemetry> {
    herald_node::telemetry::install(config, config.node_id.as_str(), std::env::vars())
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop herald with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
}

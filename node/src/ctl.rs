//! `herald ctl`: the SRE's command line over the cluster admin API
//! (`node/docs/admin-api.md`).
//!
//! Any node's admin listener answers for the whole cluster, so `ctl` needs one URL (`--admin` /
//! `HERALD_ADMIN_URL`) and, when the cluster sets `admin.token`, that token (`--token` /
//! `HERALD_ADMIN_TOKEN`). It reads nothing else: not the node configuration, not Redis, so it
//! works from any machine that can reach an admin listener, and a broken node config on the
//! machine it runs on does not break it.
//!
//! Output is a table per command, or with `--json` the API's JSON body unchanged, for scripts.
//! Exit codes are part of the interface, so scripts and probes can branch on them:
//! - `0`: done;
//! - `1`: `status` found problems (the cluster view's `problems`), or the API answered that the
//!   request cannot be done (`400`, `403`, `404`, ...: its `message` goes to stderr);
//! - `2`: usage (clap);
//! - `3`: the admin API cannot be used: unreachable, no answer within 10 s, or `401`.
//!
//! Pieces: `client` makes the requests (paging included), `render` turns answers into
//! text with `table`, and this file parses the command line and runs one command.

mod client;
mod error;
mod render;
mod table;

use std::future::Future;
use std::io::{self, Write};
use std::pin::pin;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use url::Url;

use client::AdminClient;
use error::CtlError;

/// Where the admin listener is by default (`admin_listen`'s default): `herald ctl` on a node's
/// own machine needs no flags.
pub const DEFAULT_ADMIN_URL: &str = "http://127.0.0.1:9090";

/// How often `status --watch` redraws; the dashboard refreshes at the same pace, and the
/// API doc prices a watching screen at that rate.
const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// ANSI: cursor home, then clear the screen, so each frame of `--watch` replaces the last.
const CLEAR_SCREEN: &str = "\x1b[H\x1b[2J";

/// `herald ctl [--admin URL] [--token T] [--json] COMMAND`.
#[derive(Debug, Clone, Args)]
pub struct CtlArgs {
    /// The admin listener of any node of the cluster (each answers for all of them); a bare
    /// `host:port` means `http://host:port`.
    #[arg(
        long,
        global = true,
        env = "HERALD_ADMIN_URL",
        value_name = "URL",
        default_value = DEFAULT_ADMIN_URL,
        value_parser = parse_admin_url
    )]
    pub admin: Url,

    /// The cluster's `admin.token`, sent as `Authorization: Bearer` (required for `drain` and
    /// `undrain`, and for everything when the cluster sets one).
    #[arg(
        long,
        global = true,
        env = "HERALD_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// Print the admin API's JSON unchanged instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: CtlCommand,
}

/// The commands of `herald ctl`.
#[derive(Debug, Clone, Subcommand)]
pub enum CtlCommand {
    /// One screen for the whole cluster: nodes, leases, feeds, the coordinator leader and the
    /// problems (exit code 1 when there are any).
    Status {
        /// Redraw every 2 seconds until Ctrl-C.
        #[arg(long)]
        watch: bool,
    },
    /// The live nodes: state, version, uptime, connections, backplane, rates, leases.
    Nodes,
    /// The feed leases: owner, epoch, lag, checkpoint.
    Leases {
        /// Only this feed's leases.
        #[arg(long, value_name = "FEED")]
        feed: Option<String>,
    },
    /// The connections of the whole cluster (every page), filters combined with "and".
    Connections {
        /// Only connections to this hub.
        #[arg(long, value_name = "HUB")]
        hub: Option<String>,
        /// Only this user's connections (needs --hub).
        #[arg(long, value_name = "USER", requires = "hub")]
        user: Option<String>,
        /// Only members of this group (needs --hub).
        #[arg(long, value_name = "GROUP", requires = "hub")]
        group: Option<String>,
        /// Only connections on this node.
        #[arg(long, value_name = "NODE")]
        node: Option<String>,
        /// Stop after this many connections.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        limit: Option<u64>,
    },
    /// A group's members across the cluster.
    Groups { hub: String, group: String },
    /// A user's connections across the cluster and their persistent user-group memberships.
    Users { hub: String, user: String },
    /// Drain a node as SIGTERM would (unready, clients told to reconnect elsewhere, leases
    /// moved), but keep it running until it is restarted or undrained.
    Drain { node: String },
    /// Make a drained node ready again; the coordinator gives it leases on its next balance.
    Undrain { node: String },
}

/// How a command ended; [`Exit::code`] is the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    Ok,
    /// `status` listed problems.
    Problems,
    /// The API answered that the request cannot be done, or its answer was unusable.
    Failed,
    /// The admin API could not be used at all: unreachable, timed out, or the token refused.
    Unreachable,
}

impl Exit {
    fn code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Problems | Self::Failed => 1,
            Self::Unreachable => 3,
        }
    }

    fn of(error: &CtlError) -> Self {
        if error.is_unusable() {
            Self::Unreachable
        } else {
            Self::Failed
        }
    }
}

/// Runs one `herald ctl` command, printing to stdout and stderr.
pub fn run(args: CtlArgs) -> ExitCode {
    let exit = execute(&args, &mut io::stdout().lock(), &mut io::stderr().lock());
    ExitCode::from(exit.code())
}

/// [`run`] with the output streams passed in, for tests.
fn execute(args: &CtlArgs, out: &mut dyn Write, err: &mut dyn Write) -> Exit {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = writeln!(err, "herald ctl: cannot start the I/O runtime: {e}");
            return Exit::Failed;
        }
    };
    let result = runtime.block_on(async {
        let token = args.token.clone().filter(|token| !token.is_empty());
        let client = AdminClient::new(args.admin.clone(), token)?;
        let command = Command {
            client: &client,
            json: args.json,
            out: &mut *out,
            err: &mut *err,
        };
        command.run(&args.command).await
    });
    match result {
        Ok(exit) => exit,
        Err(CtlError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => Exit::Ok,
        Err(error) => {
            let _ = writeln!(err, "herald ctl: {error}");
            Exit::of(&error)
        }
    }
}

/// One command in progress.
struct Command<'a> {
    client: &'a AdminClient,
    /// `--json`: print bodies unchanged.
    json: bool,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
}

impl Command<'_> {
    async fn run(mut self, command: &CtlCommand) -> Result<Exit, CtlError> {
        match command {
            CtlCommand::Status { watch: false } => {
                let (text, exit) = self.status().await?;
                self.print(&text)?;
                Ok(exit)
            }
            CtlCommand::Status { watch: true } => self.watch(WATCH_INTERVAL, interrupted()).await,
            CtlCommand::Nodes => self.show(&["nodes"], &[], render::nodes).await,
            CtlCommand::Leases { feed } => {
                let query: Vec<(&str, &str)> = feed.iter().map(|f| ("feed", f.as_str())).collect();
                self.show(&["leases"], &query, render::leases).await
            }
            CtlCommand::Connections {
                hub,
                user,
                group,
                node,
                limit,
            } => {
                let filters: Vec<(&str, &str)> = [
                    ("hub", hub),
                    ("user", user),
                    ("group", group),
                    ("node", node),
                ]
                .into_iter()
                .filter_map(|(key, value)| value.as_deref().map(|value| (key, value)))
                .collect();
                let limit = limit.map(|limit| usize::try_from(limit).unwrap_or(usize::MAX));
                self.connections(&filters, limit).await
            }
            CtlCommand::Groups { hub, group } => {
                self.show(&["hubs", hub, "groups", group], &[], render::group)
                    .await
            }
            CtlCommand::Users { hub, user } => {
                self.show(&["hubs", hub, "users", user], &[], render::user)
                    .await
            }
            CtlCommand::Drain { node } => self.drain(node, "drain").await,
            CtlCommand::Undrain { node } => self.drain(node, "undrain").await,
        }
    }

    /// The cluster view as text, and whether it lists problems.
    async fn status(&self) -> Result<(String, Exit), CtlError> {
        let answer = self.client.get(&["cluster"], &[]).await?;
        let cluster = answer.json(self.client)?;
        let exit = if render::problems(&cluster).is_empty() {
            Exit::Ok
        } else {
            Exit::Problems
        };
        let text = if self.json {
            answer.body
        } else {
            render::status(&cluster)
        };
        Ok((text, exit))
    }

    /// `status --watch`: redraws every `interval` until `stop` resolves, and exits as the
    /// last frame would have. A failed frame is shown and retried — the node asked may be restarting, which is
    /// when someone is watching — except a refused token, which no retry fixes.
    async fn watch(
        &mut self,
        interval: Duration,
        stop: impl Future<Output = ()>,
    ) -> Result<Exit, CtlError> {
        let mut stop = pin!(stop);
        let mut last = Exit::Ok;
        loop {
            let frame = tokio::select! {
                // Stop first: Ctrl-C wins over a frame that is ready at the same moment.
                biased;
                () = &mut stop => break,
                frame = self.status() => frame,
            };
            let text = match frame {
                Ok((text, exit)) => {
                    last = exit;
                    text
                }
                Err(CtlError::Unauthorized) => return Err(CtlError::Unauthorized),
                Err(error) => {
                    last = Exit::of(&error);
                    format!(
                        "herald ctl: {error}\nretrying every {}; Ctrl-C to stop\n",
                        humantime::format_duration(interval)
                    )
                }
            };
            self.print(&format!("{CLEAR_SCREEN}{text}"))?;
            self.out.flush().map_err(CtlError::Output)?;
            tokio::select! {
                biased;
                () = &mut stop => break,
                () = tokio::time::sleep(interval) => {}
            }
        }
        Ok(last)
    }

    /// A plain `GET`, printed as JSON or through `render`, warning about the nodes a group
    /// or user view could not ask.
    async fn show(
        &mut self,
        segments: &[&str],
        query: &[(&str, &str)],
        render: fn(&serde_json::Value) -> String,
    ) -> Result<Exit, CtlError> {
        let answer = self.client.get(segments, query).await?;
        let value = answer.json(self.client)?;
        if self.json {
            self.print(&answer.body)?;
        } else {
            self.print(&render(&value))?;
        }
        for unreachable in render::unreachable(&value) {
            self.warn(&format!(
                "could not ask node {unreachable}; its part is missing"
            ))?;
        }
        Ok(Exit::Ok)
    }

    async fn connections(
        &mut self,
        filters: &[(&str, &str)],
        limit: Option<usize>,
    ) -> Result<Exit, CtlError> {
        let listing = self.client.list(&["connections"], filters, limit).await?;
        if self.json {
            self.print(&listing.json())?;
        } else {
            self.print(&render::connections(&listing.items))?;
        }
        if !listing.unreachable.is_empty() {
            self.warn(&format!(
                "could not ask {}; their connections are missing from this listing",
                listing.unreachable.join(", ")
            ))?;
        }
        Ok(Exit::Ok)
    }

    /// `POST .../drain` or `.../undrain`. A `202` means it started, whatever its body says.
    async fn drain(&mut self, node: &str, action: &str) -> Result<Exit, CtlError> {
        let answer = self.client.post(&["nodes", node, action]).await?;
        let text = if self.json {
            answer.body
        } else {
            match serde_json::from_str(&answer.body) {
                Ok(value) => render::drain(&value),
                Err(_) => format!("node {node}: {action} started\n"),
            }
        };
        self.print(&text)?;
        Ok(Exit::Ok)
    }

    /// Writes `text`, ending it with a newline if it has none (a JSON body usually has none).
    fn print(&mut self, text: &str) -> Result<(), CtlError> {
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| {
                if text.is_empty() || text.ends_with('\n') {
                    Ok(())
                } else {
                    self.out.write_all(b"\n")
                }
            })
            .map_err(CtlError::Output)
    }

    fn warn(&mut self, warning: &str) -> Result<(), CtlError> {
        writeln!(self.err, "herald ctl: warning: {warning}").map_err(CtlError::Output)
    }
}

/// Resolves on Ctrl-C; never, when the handler cannot be installed (then Ctrl-C ends the
/// process the default way).
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// `--admin`: an `http` or `https` URL; `host:port` alone means `http://host:port`.
fn parse_admin_url(value: &str) -> Result<Url, String> {
    let value = value.trim();
    let with_scheme = if value.contains("://") {
        value.to_owned()
    } else {
        format!("http://{value}")
    };
    let url = Url::parse(&with_scheme)
        .map_err(|e| format!("{e}; give the admin listener's URL, such as {DEFAULT_ADMIN_URL}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "expected an http or https URL, such as {DEFAULT_ADMIN_URL}"
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod samples;
#[cfg(test)]
mod test_server;
#[cfg(test)]
mod tests;

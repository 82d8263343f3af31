//! The `warest` command line: parses the command, loads the config, starts the runtime and
//! hands over to `app` (serve), `store` (migrate) or the small tools below. `main.rs` only
//! calls [`run`]. The sandbox commands live in `sandbox.rs`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, keys};

#[cfg(feature = "sandbox")]
mod sandbox;

#[derive(Parser)]
#[command(name = "warest", version, about = "Self-hosted, multi-session WhatsApp REST gateway")]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi {
        /// Fail if the committed document differs from the code instead of printing it.
        #[arg(long)]
        check: bool,
        /// The committed document.
        #[arg(long, default_value = "openapi/openapi.json")]
        file: String,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Exit 0 when the local gateway answers /api/v1/server/healthz (for container probes).
    Healthcheck,
    /// Run the gateway on an embedded simulated WhatsApp network, with an `echo` contact
    /// and `/api/v1/sandbox/*` (sandbox builds only). The network's state is kept under
    /// `<WAREST_DATA_DIR>/sandbox/`.
    #[cfg(feature = "sandbox")]
    Sandbox {
        /// Run only the network (WebSocket, media, `/api/v1/sandbox/*`, all on `--listen`);
        /// gateways reach it with `WAREST_WA_URL=ws://<listen>/ws/chat`.
        #[arg(long)]
        network_only: bool,
        /// Where the network listens (default: 127.0.0.1 on a free port; required with
        /// `--network-only`, where port 0 picks a free one, named on stderr as
        /// `warest: listening on <address>`).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print `.env.example`: every key, its default and its meaning.
    Example,
    /// Validate the configuration and print it with secrets redacted.
    Check,
}

/// Runs the command the arguments name.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi { check, file } => openapi(check, &file),
        Command::Config { command: ConfigCommand::Example } => {
            print!("{}", keys::env_example());
            ExitCode::SUCCESS
        }
        command => {
            let config = match Config::from_env() {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("warest: {e}");
                    return ExitCode::from(2);
                }
            };
            let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
            rt.block_on(async move {
                match command {
                    Command::Serve => serve(config).await,
                    Command::Migrate => migrate(config).await,
                    Command::Healthcheck => healthcheck(config).await,
                    #[cfg(feature = "sandbox")]
                    Command::Sandbox { network_only: true, listen } => sandbox::network(config, listen).await,
                    #[cfg(feature = "sandbox")]
                    Command::Sandbox { network_only: false, listen } => sandbox::gateway(config, listen).await,
                    Command::Config { command: ConfigCommand::Check } => {
                        println!("{config:#?}");
                        ExitCode::SUCCESS
                    }
                    Command::Openapi { .. } | Command::Config { .. } => unreachable!("handled above"),
                }
            })
        }
    }
}

fn report(e: anyhow::Error) -> ExitCode {
    tracing::error!("{e:#}");
    eprintln!("warest: {e:#}");
    ExitCode::FAILURE
}

async fn serve(config: Config) -> ExitCode {
    let telemetry = crate::telemetry::init(&config);
    for note in &config.notes {
        tracing::warn!("{note}");
    }
    let listener = match bind(&config).await {
        Ok(l) => l,
        Err(e) => return report(e),
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let state = match crate::app::prepare(config).await {
        Ok(s) => s,
        Err(e) => return report(e),
    };
    let restart = state.restart.clone();
    let served = crate::app::serve(state, listener, shutdown).await;
    telemetry.flush().await;
    exit_code(served, &restart)
}

/// Binds `WAREST_HOST:PORT` and says where on stderr, in a stable line: with `PORT=0` the
/// kernel picks the port, and whoever started us (the real-binary tests) reads it there.
async fn bind(config: &Config) -> anyhow::Result<tokio::net::TcpListener> {
    let addr = std::net::SocketAddr::new(config.host, config.port);
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    eprintln!("warest: listening on {}", listener.local_addr()?);
    Ok(listener)
}

/// 75 after a requested restart (for the supervisor to start us again), else 0 or 1.
fn exit_code(served: anyhow::Result<()>, restart: &crate::system::restart::Restarter) -> ExitCode {
    match served {
        Ok(()) if restart.is_requested() => {
            eprintln!("warest: stopped for a restart (exit code {})", crate::system::restart::RESTART_EXIT_CODE);
            ExitCode::from(crate::system::restart::RESTART_EXIT_CODE)
        }
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(e),
    }
}

async fn cancel_on_signal(token: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    token.cancel();
}

async fn migrate(config: Config) -> ExitCode {
    let _telemetry = crate::telemetry::init(&config);
    match crate::app::open_database(&config).await {
        Ok(db) => {
            db.close().await;
            println!("migrations applied ({})", config.database.kind());
            ExitCode::SUCCESS
        }
        Err(e) => report(e),
    }
}

async fn healthcheck(config: Config) -> ExitCode {
    let host = if config.host.is_unspecified() { "127.0.0.1".to_string() } else { config.host.to_string() };
    let url = format!("http://{host}:{}/api/v1/server/healthz", config.port);
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build();
    match client.map(|c| c.get(&url)) {
        Ok(req) => match req.send().await {
            Ok(res) if res.status().is_success() => ExitCode::SUCCESS,
            Ok(res) => {
                eprintln!("warest: {url} answered {}", res.status());
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("warest: {url}: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("warest: {e}");
            ExitCode::FAILURE
        }
    }
}

fn openapi(check: bool, file: &str) -> ExitCode {
    let current = crate::http::docs::openapi_json();
    if !check {
        print!("{current}");
        return ExitCode::SUCCESS;
    }
    match std::fs::read_to_string(file) {
        Ok(committed) if committed == current => {
            println!("{file} is up to date");
            ExitCode::SUCCESS
        }
        Ok(_) => {
            eprintln!("warest: {file} is stale; regenerate it with `warest openapi > {file}`");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("warest: cannot read {file}: {e}");
            ExitCode::FAILURE
        }
    }
}

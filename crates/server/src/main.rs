//! The `switchboard` command line: `serve` runs the server; `config example` prints the
//! documented example configuration.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use switchboard::config::{Config, Overrides};
use switchboard::{Server, bootstrap};
use tracing_subscriber::EnvFilter;

/// A Microsoft Graph-compatible server for Teams chats and Outlook mail.
///
/// Point an application built on an official Graph SDK at Switchboard by changing its base URL
/// and token source; it behaves like Graph.
#[derive(Parser)]
#[command(name = "switchboard", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (Graph under /v1.0 and /beta, the identity platform under /{tenant}/…).
    ///
    /// On first start with an empty data directory it creates a tenant and an administrator
    /// application, and writes their credentials to <data-dir>/admin-credentials.json.
    Serve {
        /// Address and port to listen on [default: 127.0.0.1:8080].
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Directory for the database and credentials [default: ./switchboard-data].
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// TOML configuration file (see config.example.toml).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The URL clients use to reach this server, for links and the credentials file.
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
    },
    /// Print the permission matrix: which delegated scopes and application roles allow each route.
    Permissions,
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the example configuration file, every key documented with its default.
    Example,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Permissions => {
            print!("{}", switchboard_domain::permissions::markdown());
            Ok(())
        }
        Command::Config { command: ConfigCommand::Example } => {
            print!("{}", Config::example());
            Ok(())
        }
        Command::Serve { listen, data_dir, config, public_url } => {
            let overrides = Overrides { listen, data_dir, public_url };
            let config = Config::load(config.as_deref(), &overrides).context("invalid configuration")?;
            let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log));
            tracing_subscriber::fmt().with_env_filter(filter).init();
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(serve(config))
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let data_dir = config.data_dir.clone();
    let server = Server::start(config, listener).await?;
    let creds = server.credentials();
    tracing::info!(
        "Switchboard listening on http://{} (Graph: {}, tenant {}, credentials in {})",
        server.addr(),
        creds.graph_base_url,
        creds.tenant_id,
        data_dir.join(bootstrap::CREDENTIALS_FILE).display()
    );
    server.run_until(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

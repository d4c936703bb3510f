//! The `switchboard` command line: `serve` runs the server; `config example` prints the
//! documented example configuration.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use switchboard::config::{Config, Overrides};
use switchboard::{Server, admin, bootstrap};
use switchboard_domain::credentials::HashCost;
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
        /// Serve HTTPS; without tls_cert/tls_key in the configuration, with a self-signed
        /// certificate kept in <data-dir>/tls/cert.pem (generated on first start).
        #[arg(long)]
        tls: bool,
        /// On first start, seed a fictional organisation; users and passwords go to
        /// <data-dir>/sample-users.json.
        #[arg(long)]
        sample_data: bool,
    },
    /// Application registrations (who may obtain tokens, with which permissions).
    App {
        #[command(subcommand)]
        command: AppCommand,
    },
    /// Tenants (organisations): each has its own users, applications and data.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Print a ready-made bearer token, for curl and scripts.
    ///
    /// With --user, a delegated token for that user (by the tenant's administrator application
    /// unless --app names another); with only --app, an app-only token for that application.
    #[command(group(clap::ArgGroup::new("who").required(true).multiple(true).args(["user", "app"])))]
    Token {
        #[command(flatten)]
        target: Target,
        /// User principal name of the user to sign in.
        #[arg(long, value_name = "UPN")]
        user: Option<String>,
        /// Client id of the application.
        #[arg(long, value_name = "CLIENT_ID")]
        app: Option<String>,
        /// Delegated scopes to grant (comma-separated); default: all the application may have.
        #[arg(long, value_name = "S1,S2", value_delimiter = ',')]
        scopes: Vec<String>,
    },
    /// Token-signing keys: list them, or publish a new one (it signs after the publication lead).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print the permission matrix: which delegated scopes and application roles allow each route.
    Permissions,
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Benchmarks only (tools/loadgen): the HTTP ceiling, a minimal handler on the same stack.
    #[command(hide = true)]
    BenchCeiling {
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8090")]
        listen: String,
    },
    /// Benchmarks only (tools/loadgen): bulk-seed users or messages through the store.
    #[command(hide = true)]
    BenchSeed {
        #[command(flatten)]
        target: Target,
        /// Users to add (`Bench User 000000`…, no password).
        #[arg(long, default_value_t = 0)]
        users: usize,
        /// Messages to add, spread over the --chat list.
        #[arg(long, default_value_t = 0)]
        messages: usize,
        /// CHAT_ID=SENDER_USER_ID (repeatable).
        #[arg(long = "chat", value_name = "CHAT_ID=USER_ID")]
        chats: Vec<String>,
    },
}

/// Which data directory (and tenant) an administration command works on.
#[derive(clap::Args)]
struct Target {
    /// The server's data directory (it may be running).
    #[arg(long, value_name = "DIR", default_value = "./switchboard-data")]
    data_dir: PathBuf,
    /// TOML configuration file (for the hashing cost and the server's URL).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Tenant id or domain [default: the first tenant].
    #[arg(long, value_name = "TENANT")]
    tenant: Option<String>,
}

#[derive(Subcommand)]
enum AppCommand {
    /// Register an application and print its `clientId`, `clientSecret` and `tenantId` as JSON.
    Create {
        #[command(flatten)]
        target: Target,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Application permissions (app-only tokens' roles), comma-separated, e.g. User.Read.All.
        #[arg(long, value_name = "R1,R2", value_delimiter = ',')]
        roles: Vec<String>,
        /// Delegated scopes the application may request for users, comma-separated, e.g. User.Read.
        #[arg(long, value_name = "S1,S2", value_delimiter = ',')]
        scopes: Vec<String>,
        /// A redirect URI for the authorization-code flow (loopback URIs need no registration).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant with its own administrator application; print its credentials as JSON
    /// (the same fields as admin-credentials.json).
    Create {
        #[command(flatten)]
        target: Target,
        /// Organisation name.
        #[arg(long)]
        name: String,
        /// Its verified domain (user principal names end in it).
        #[arg(long)]
        domain: String,
    },
}

/// The data directory a key command works on (keys belong to the whole server, not a tenant).
#[derive(clap::Args)]
struct KeysTarget {
    /// The server's data directory (it may be running: it sees a new key within a minute).
    #[arg(long, value_name = "DIR", default_value = "./switchboard-data")]
    data_dir: PathBuf,
    /// TOML configuration file (for key_publish_lead_secs).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Publish a new signing key now; it signs new tokens once key_publish_lead_secs have passed,
    /// and the key before it is retired when no token it signed is still valid. Prints the key.
    Rotate {
        #[command(flatten)]
        target: KeysTarget,
    },
    /// Print every signing key as JSON: kid, state (next, active, previous, retired) and instants.
    List {
        #[command(flatten)]
        target: KeysTarget,
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
        Command::Keys { command } => {
            let (target, rotate) = match command {
                KeysCommand::Rotate { target } => (target, true),
                KeysCommand::List { target } => (target, false),
            };
            let target = Target {
                data_dir: target.data_dir,
                config: target.config,
                tenant: None,
            };
            admin_command(&target, |store, config, _| async move {
                let out = if rotate {
                    admin::rotate_key(store.as_ref(), config.key_publish_lead_secs).await?
                } else {
                    admin::list_keys(store.as_ref()).await?
                };
                println!("{}", serde_json::to_string_pretty(&out)?);
                Ok(())
            })
        }
        Command::BenchCeiling { listen } => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(switchboard::bench::ceiling(&listen)),
        Command::BenchSeed {
            target,
            users,
            messages,
            chats,
        } => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(async move {
                if users > 0 {
                    switchboard::bench::seed_users(
                        &target.data_dir,
                        target.tenant.as_deref(),
                        users,
                    )
                    .await?;
                }
                if messages > 0 {
                    switchboard::bench::seed_messages(
                        &target.data_dir,
                        target.tenant.as_deref(),
                        messages,
                        &chats,
                    )
                    .await?;
                }
                Ok(())
            }),
        Command::Config {
            command: ConfigCommand::Example,
        } => {
            print!("{}", Config::example());
            Ok(())
        }
        Command::App {
            command:
                AppCommand::Create {
                    target,
                    name,
                    roles,
                    scopes,
                    redirect_uris,
                },
        } => {
            let tenant = target.tenant.clone();
            admin_command(&target, |store, _, cost| async move {
                let created = admin::create_app(
                    store.as_ref(),
                    tenant.as_deref(),
                    &name,
                    &roles,
                    &scopes,
                    &redirect_uris,
                    cost,
                )
                .await?;
                println!("{}", serde_json::to_string_pretty(&created)?);
                Ok(())
            })
        }
        Command::Tenant {
            command:
                TenantCommand::Create {
                    target,
                    name,
                    domain,
                },
        } => admin_command(&target, |store, config, cost| async move {
            let created =
                admin::create_tenant(store.as_ref(), &config, &name, &domain, cost).await?;
            println!("{}", serde_json::to_string_pretty(&created)?);
            Ok(())
        }),
        Command::Token {
            target,
            user,
            app,
            scopes,
        } => {
            let tenant = target.tenant.clone();
            admin_command(&target, |store, config, _| async move {
                let token = admin::token(
                    store.as_ref(),
                    tenant.as_deref(),
                    user.as_deref(),
                    app.as_deref(),
                    &scopes,
                    config.token_lifetime_secs,
                )
                .await?;
                println!("{token}");
                Ok(())
            })
        }
        Command::Serve {
            listen,
            data_dir,
            config,
            public_url,
            tls,
            sample_data,
        } => {
            let overrides = Overrides {
                listen,
                data_dir,
                public_url,
                tls: tls.then_some(true),
                sample_data: sample_data.then_some(true),
            };
            let config =
                Config::load(config.as_deref(), &overrides).context("invalid configuration")?;
            let filter =
                EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log));
            tracing_subscriber::fmt().with_env_filter(filter).init();
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(serve(config))
        }
    }
}

/// Runs an administration command against a data directory.
fn admin_command<F, Fut>(target: &Target, run: F) -> anyhow::Result<()>
where
    F: FnOnce(std::sync::Arc<dyn switchboard_domain::Store>, Config, HashCost) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let overrides = Overrides {
        data_dir: Some(target.data_dir.clone()),
        ..Overrides::default()
    };
    let config =
        Config::load(target.config.as_deref(), &overrides).context("invalid configuration")?;
    let cost = HashCost {
        memory_kib: config.hash_memory_kib,
        iterations: config.hash_iterations,
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let store = admin::open(&config.data_dir)?;
            let result = run(store.clone(), config, cost).await;
            store.shutdown().await;
            result
        })
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let data_dir = config.data_dir.clone();
    let server = Server::start(config, listener).await?;
    let creds = server.credentials();
    tracing::info!(
        "Switchboard listening on {} (Graph: {}, tenant {}, credentials in {})",
        server.url(),
        creds.graph_base_url,
        creds.tenant_id,
        data_dir.join(bootstrap::CREDENTIALS_FILE).display()
    );
    if let Some(cert) = server.tls_certificate() {
        tracing::info!("TLS certificate: {}", cert.display());
    }
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

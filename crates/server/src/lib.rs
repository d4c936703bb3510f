//! The `switchboard` binary's library: configuration, first-start bootstrap, and [`Server`],
//! which wires the store, the identity platform and the HTTP layer together and serves them on a
//! listener until told to stop. Tests start it in-process on `127.0.0.1:0`; `main.rs` is only the
//! command line around it.

pub mod admin;
pub mod bench;
pub mod bootstrap;
pub mod config;
pub mod sample;
pub mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use switchboard_api::{ApiConfig, AppState, MessageRenderings};
use switchboard_auth::{KeyMaintenance, KeyRing, TokenIssuer, TokenService, TrustedIssuers};
use switchboard_domain::Store;
use switchboard_domain::credentials::HashCost;
use switchboard_store_sqlite::{SqliteOptions, SqliteStore};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use bootstrap::AdminCredentials;
pub use config::Config;

/// How long in-flight requests get to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "switchboard.db";

/// A running server.
pub struct Server {
    addr: SocketAddr,
    credentials: AdminCredentials,
    store: Arc<dyn Store>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
    tls_certificate: Option<PathBuf>,
}

impl Server {
    /// Opens the store, bootstraps the data directory and starts serving on `listener` (HTTPS
    /// when `config.tls`, with the certificate from [`tls::ensure_certificate`]).
    pub async fn start(config: Config, listener: TcpListener) -> anyhow::Result<Server> {
        let addr = listener.local_addr()?;
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
        // The certificate first: a bad one stops the start before anything else is touched.
        let tls = if config.tls {
            let files = tls::ensure_certificate(&config)?;
            Some((tls::server_config(&files)?, files.cert))
        } else {
            anyhow::ensure!(
                config.tls_cert.is_none() && config.tls_key.is_none(),
                "tls_cert and tls_key are served only with tls = true (--tls)"
            );
            None
        };
        let db = config.data_dir.join(DATABASE_FILE);
        let options = SqliteOptions {
            readers: config.sqlite_readers,
            ..SqliteOptions::default()
        };
        let store: Arc<dyn Store> = Arc::new(
            tokio::task::spawn_blocking(move || SqliteStore::open(&db, &options))
                .await?
                .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?,
        );
        let scheme = if tls.is_some() { "https" } else { "http" };
        let cost = HashCost {
            memory_kib: config.hash_memory_kib,
            iterations: config.hash_iterations,
        };
        let base_url = config
            .public_url
            .clone()
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("{scheme}://{addr}"));
        let credentials = bootstrap::ensure(
            store.as_ref(),
            &config.data_dir,
            &base_url,
            &config.tenant_domain,
            &config.tenant_name,
            cost,
        )
        .await?;
        if config.sample_data {
            sample::seed(
                store.as_ref(),
                &config.data_dir,
                &credentials.tenant_id,
                &credentials.domain,
                cost,
            )
            .await?;
        }
        let ring = Arc::new(KeyRing::load_or_create(store.as_ref()).await?);
        let trusted = TrustedIssuers::new(&config.trusted_issuers)
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        for tenant in store.tenants().await? {
            let own = switchboard_auth::tokens::issuer(&tenant.id);
            anyhow::ensure!(
                !trusted.trusts(&own),
                "trusted_issuers names {own}, this server's own issuer"
            );
        }
        let tokens = Arc::new(
            TokenIssuer::new(ring.clone(), config.token_lifetime_secs)
                .with_trusted_issuers(trusted),
        );
        // Rotates the signing keys and keeps the ring current; stopped with the server.
        let key_maintenance = KeyMaintenance::start(store.clone(), ring, config.rotation_policy()?);
        let state = AppState {
            store: store.clone(),
            token_service: Arc::new(TokenService::new(
                store.clone(),
                tokens.clone(),
                config.authorization_code_lifetime_secs,
            )),
            tokens,
            config: Arc::new(ApiConfig {
                public_url: config.public_url.clone(),
                tls: tls.is_some(),
                max_body_bytes: config.max_body_bytes,
                hash_cost: cost,
            }),
            // 4 MB a generation: the last pages of a few hundred busy chats (a page of 50 is
            // about 40 KB), at most 8 MB in all.
            renderings: Arc::new(MessageRenderings::new(4 << 20)),
        };
        let app = switchboard_api::app(state);
        let (stop, stopped) = oneshot::channel::<()>();
        let task_store = store.clone();
        let (tls_config, tls_certificate) = tls.unzip();
        let task = tokio::spawn(async move {
            match tls_config {
                Some(config) => {
                    serve(tls::TlsListener::new(listener, config)?, app, stopped).await?
                }
                None => serve(listener, app, stopped).await?,
            }
            key_maintenance.stop().await;
            task_store.shutdown().await;
            Ok(())
        });
        Ok(Server {
            addr,
            credentials,
            store,
            stop: Some(stop),
            task,
            tls_certificate,
        })
    }

    /// The certificate served when TLS is on (the file clients trust when it is self-signed).
    pub fn tls_certificate(&self) -> Option<&Path> {
        self.tls_certificate.as_deref()
    }

    /// `https://{addr}` with TLS, else `http://{addr}`.
    pub fn url(&self) -> String {
        let scheme = if self.tls_certificate.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The administrator's credentials (also in `admin-credentials.json`).
    pub fn credentials(&self) -> &AdminCredentials {
        &self.credentials
    }

    /// The store (for tests and benchmarks that count commits).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Stops accepting connections, lets in-flight requests finish, and flushes the store.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await?
    }

    /// Serves until `signal` completes, then shuts down gracefully.
    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        signal.await;
        self.shutdown().await
    }
}

/// Serves `app` on `listener` until `stopped`, then lets in-flight requests finish (for at most
/// [`DRAIN_TIMEOUT`]).
async fn serve<L>(
    listener: L,
    app: switchboard_api::App,
    stopped: oneshot::Receiver<()>,
) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let (drained_tx, drained_rx) = oneshot::channel::<()>();
    let serve = axum::serve(
        listener,
        axum::ServiceExt::<axum::extract::Request>::into_make_service(app),
    )
    .with_graceful_shutdown(async move {
        let _ = stopped.await;
        let _ = drained_tx.send(());
    });
    tokio::select! {
        result = serve => result?,
        _ = async {
            let _ = drained_rx.await;
            tokio::time::sleep(DRAIN_TIMEOUT).await;
        } => tracing::warn!("requests still running after {DRAIN_TIMEOUT:?}; stopping anyway"),
    }
    Ok(())
}

//! The podledger server: wiring of the store, the projections, the command handler and the
//! GraphQL schema behind actix-web. `main.rs` is the CLI around it; tests start it on port 0.

pub mod copy;
pub mod dashboard;
pub mod demo;
pub mod http;
pub mod identity;
pub mod import;
pub mod jira;
pub mod telemetry;
pub mod traces;
pub mod ws;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use podledger_api::{Api, ApiState, AuthConfig};
use podledger_eventstore::{CommandHandler, SqliteConfig};
use podledger_projections::Projections;

/// The allocator of the server and of everything that links it (the binary, its tests and
/// benches): under a long mixed load glibc's malloc fragments — its own share of the samples
/// doubled and throughput fell 9–15 % within 5 minutes of the soak — where mimalloc held flat
/// and served 18 % more (BENCHMARKS.md, "Costs that do not grow with history").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Everything `serve` needs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The database: a `sqlite:` URL or a path (the embedded default), or a `postgres://` URL
    /// (several replicas may serve one PostgreSQL database).
    pub database_url: String,
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: String,
    /// Token checking.
    pub auth: AuthConfig,
    /// Serve GraphiQL at `/graphiql`.
    pub dev: bool,
    /// What every request is held to (limits, introspection, deadline, per-caller share).
    pub policy: podledger_api::Policy,
    /// Events the read models may be behind the store and `/readyz` still answer ready.
    pub ready_max_lag: u64,
    /// Seed the demo organisation before serving (idempotent).
    pub demo: bool,
    /// WebSocket limits and allowed origins.
    pub ws: ws::WsConfig,
    /// How long a shutdown waits for in-flight requests before dropping them.
    pub shutdown_timeout: std::time::Duration,
    /// How long a shutdown answers `/readyz` with 503 before it stops accepting connections
    /// (time for a load balancer to take the replica out of rotation).
    pub shutdown_delay: std::time::Duration,
    /// HTTP worker threads, each its own event loop owning its connections; 0: one per core.
    /// More workers than cores lets the kernel move work between cores when connections are
    /// unevenly busy (a large subscription fan-out), at the cost of more context switches.
    pub workers: usize,
}

impl ServerConfig {
    /// A server on the database at `database_url` checking tokens with `auth`: on a free
    /// loopback port, without the demo or GraphiQL, with the production [`podledger_api::Policy`],
    /// the default WebSocket limits, `/readyz` ready within 1,000 events, one worker per core.
    pub fn new(database_url: impl Into<String>, auth: AuthConfig) -> Self {
        Self {
            database_url: database_url.into(),
            listen: "127.0.0.1:0".into(),
            auth,
            dev: false,
            policy: podledger_api::Policy::default(),
            ready_max_lag: 1_000,
            demo: false,
            ws: ws::WsConfig::default(),
            shutdown_timeout: std::time::Duration::from_secs(30),
            shutdown_delay: std::time::Duration::ZERO,
            workers: 0,
        }
    }
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Stops it.
    pub handle: actix_web::dev::ServerHandle,
    /// Completes when it stops.
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The read models it serves (for operators' tooling and tests).
    pub projections: Projections,
    /// The API it serves.
    pub api: Api,
    /// Its metrics and readiness.
    pub telemetry: telemetry::Telemetry,
    close_websockets: tokio::sync::watch::Sender<bool>,
    shutdown_delay: std::time::Duration,
}

impl Running {
    /// Stops the server in order, losing no acknowledged write: `/readyz` answers 503 (for
    /// [`ServerConfig::shutdown_delay`], so load balancers stop sending work), every WebSocket
    /// closes with 1001 so its client reconnects elsewhere, the listener closes, requests in
    /// flight finish within [`ServerConfig::shutdown_timeout`], and the changed views are
    /// persisted (the next start catches up from there instead of from the last periodic save).
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let began = std::time::Instant::now();
        self.telemetry.drain();
        tokio::time::sleep(self.shutdown_delay).await;
        let _ = self.close_websockets.send(true);
        self.handle.stop(true).await;
        self.server.await.context("the HTTP server task")??;
        self.projections
            .flush()
            .await
            .context("persisting the views")?;
        tracing::info!(
            took_ms = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX),
            position = self.projections.position(),
            "stopped: in-flight requests finished, views persisted"
        );
        Ok(())
    }
}

/// Opens the store (migrating it), starts the projections and the HTTP server.
pub async fn start(config: ServerConfig) -> anyhow::Result<Running> {
    let began = std::time::Instant::now();
    let store = podledger_eventstore::open(&config.database_url)
        .await
        .with_context(|| {
            format!(
                "opening {}",
                podledger_eventstore::backend::redacted(&config.database_url)
            )
        })?;
    tracing::info!(store = %store.describe(), "event store open");
    let projections = Projections::start(Arc::clone(&store))
        .await
        .context("starting the projections")?;
    if config.demo {
        let summary = demo::seed(store.clone())
            .await
            .context("loading the demo organisation")?;
        // The demo's tokens are printed next: its boards must be there when they are used.
        let head = store.head().await?;
        projections
            .wait_for(head, std::time::Duration::from_secs(60))
            .await
            .context("folding the demo organisation")?;
        tracing::info!(
            commands = summary.commands,
            already_applied = summary.already_applied,
            org = %demo::org_id().as_uuid(),
            "demo organisation ready"
        );
    }
    let handler = Arc::new(CommandHandler::new(store));
    let api = Api::with_policy(
        ApiState::new(handler, projections.clone()),
        config.policy.clone(),
    );
    let telemetry = telemetry::Telemetry::new(&api, config.ready_max_lag, began);
    let bound = http::serve(&config, api.clone(), telemetry.clone())?;
    Ok(Running {
        addr: bound.addr,
        handle: bound.handle,
        server: tokio::spawn(bound.server),
        projections,
        api,
        telemetry,
        close_websockets: bound.close_websockets,
        shutdown_delay: config.shutdown_delay,
    })
}

/// The signing secret for development: `PODLEDGER_JWT_SECRET` if set, else a random secret
/// kept next to the database (created on first use), so that `podledger token` and
/// `podledger serve` agree with no configuration.
pub fn dev_secret(database_url: &str) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(
        !podledger_eventstore::PgConfig::is_postgres_url(database_url),
        "a PostgreSQL database needs --jwt-secret (or PODLEDGER_JWT_SECRET): every replica \
         must check tokens with the same secret, and there is no file beside the database to \
         keep one in"
    );
    let path = secret_path(&SqliteConfig::from_url(database_url).path);
    if let Ok(secret) = std::fs::read(&path) {
        return Ok(secret);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    std::fs::write(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    Ok(secret.into_bytes())
}

fn secret_path(database: &Path) -> PathBuf {
    database.with_file_name("jwt-secret")
}

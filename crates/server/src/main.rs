//! The `podledger` binary: configuration, CLI and telemetry. For now it opens and migrates the
//! event store and reports on it; the GraphQL server joins in a later issue.

mod cli;

use anyhow::Context as _;
use clap::Parser as _;
use podledger_eventstore::{EventStore, SqliteConfig, SqliteEventStore};

use cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PODLEDGER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = SqliteConfig::from_url(&cli.database_url);
    match cli.command {
        Command::Migrate => {
            SqliteEventStore::migrate(&config)
                .await
                .with_context(|| format!("migrating {}", config.path.display()))?;
            println!("migrated {}", config.path.display());
        }
        Command::Status => {
            let store = SqliteEventStore::open(config.clone())
                .await
                .with_context(|| format!("opening {}", config.path.display()))?;
            let head = store.head().await?;
            store.integrity_check().await?;
            println!("podledger {}", env!("CARGO_PKG_VERSION"));
            println!("database  {}", config.path.display());
            println!("events    {head}");
            println!("integrity ok");
        }
    }
    Ok(())
}

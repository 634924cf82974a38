//! Command-line interface: every setting is a flag and a `PODLEDGER_*` environment variable.

use clap::{Parser, Subcommand};

/// podledger: the system of record for agile marketing pods.
#[derive(Debug, Parser)]
#[command(name = "podledger", version, about)]
pub struct Cli {
    /// Where the event store lives: a `sqlite:` URL or a file path.
    #[arg(
        long,
        global = true,
        env = "PODLEDGER_DATABASE_URL",
        default_value = "sqlite://data/podledger.db"
    )]
    pub database_url: String,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the database if needed and apply every migration.
    Migrate,
    /// Open the store and print its version, event count and integrity.
    Status,
}

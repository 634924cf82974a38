//! Command-line interface: every setting is a flag and a `PODLEDGER_*` environment variable.

use clap::{Args, Parser, Subcommand};

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

/// Token settings shared by `serve` and `token`.
#[allow(clippy::struct_field_names)] // the fields are the `--jwt-*` flags
#[derive(Debug, Args)]
pub struct TokenSettings {
    /// HS256 secret; by default a random one kept next to the database.
    #[arg(long, env = "PODLEDGER_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Required `iss`.
    #[arg(long, env = "PODLEDGER_JWT_ISSUER", default_value = "podledger")]
    pub jwt_issuer: String,
    /// Required `aud`.
    #[arg(long, env = "PODLEDGER_JWT_AUDIENCE", default_value = "podledger")]
    pub jwt_audience: String,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the GraphQL server (migrates the database and starts the projections first).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "PODLEDGER_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Serve GraphiQL at /graphiql.
        #[arg(long, env = "PODLEDGER_DEV")]
        dev: bool,
        /// Seed the demo organisation first (idempotent) and print tokens for it.
        #[arg(long, env = "PODLEDGER_DEMO")]
        demo: bool,
        /// Origins allowed to open a WebSocket (comma-separated; default: the server's own).
        #[arg(
            long = "allowed-origin",
            env = "PODLEDGER_ALLOWED_ORIGINS",
            value_delimiter = ','
        )]
        allowed_origins: Vec<String>,
        /// HTTP worker threads (0: one per core; at most 512).
        #[arg(long, env = "PODLEDGER_WORKERS", default_value_t = 0,
              value_parser = clap::value_parser!(u16).range(0..=512))]
        workers: u16,
        /// Token settings.
        #[command(flatten)]
        tokens: TokenSettings,
    },
    /// Mint a development token for a member of an organisation.
    Token {
        /// The organisation (UUID).
        #[arg(long)]
        org: uuid::Uuid,
        /// The person (UUID).
        #[arg(long)]
        person: uuid::Uuid,
        /// Validity in hours.
        #[arg(long, default_value_t = 24)]
        hours: i64,
        /// Token settings.
        #[command(flatten)]
        tokens: TokenSettings,
    },
    /// Seed the demo organisation (idempotent) and print tokens for its key people.
    Demo {
        /// Token settings.
        #[command(flatten)]
        tokens: TokenSettings,
    },
    /// Rebuild every read model from position 0.
    Rebuild,
    /// Create the database if needed and apply every migration.
    Migrate,
    /// Print the GraphQL schema (SDL); `schema/schema.graphql` is this output.
    ExportSchema,
    /// Open the store and print its version, event count and integrity.
    Status,
}

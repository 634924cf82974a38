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
    /// How far clocks may differ when checking `exp`, `nbf` and `iat`, in seconds.
    #[arg(long, env = "PODLEDGER_JWT_LEEWAY_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=300))]
    pub jwt_leeway_secs: u64,
}

/// Sign-in with an identity provider's tokens (RS256, ES256 or `EdDSA`, verified against its
/// JWKS); each subject signs in as the person an `ORG_ADMIN` linked it to (`linkIdentity`).
#[allow(clippy::struct_field_names)] // the fields are the `--oidc-*` flags
#[derive(Debug, Args)]
pub struct IdentitySettings {
    /// The provider's issuer, as its tokens' `iss` says; with it, its tokens are accepted.
    #[arg(long, env = "PODLEDGER_OIDC_ISSUER", requires = "oidc_jwks")]
    pub oidc_issuer: Option<String>,
    /// The provider's keys: its JWKS URL (https) or a JWKS file.
    #[arg(long, env = "PODLEDGER_OIDC_JWKS", requires = "oidc_issuer")]
    pub oidc_jwks: Option<String>,
    /// Required `aud` of the provider's tokens.
    #[arg(long, env = "PODLEDGER_OIDC_AUDIENCE", default_value = "podledger")]
    pub oidc_audience: String,
    /// The claim holding the organisation (its UUID or API id).
    #[arg(long, env = "PODLEDGER_OIDC_ORG_CLAIM", default_value = "org")]
    pub oidc_org_claim: String,
    /// The organisation (UUID) of tokens without that claim.
    #[arg(long, env = "PODLEDGER_OIDC_ORG")]
    pub oidc_org: Option<uuid::Uuid>,
    /// Least seconds between two fetches of the keys when a token names an unknown key.
    #[arg(long, env = "PODLEDGER_OIDC_REFRESH_SECS", default_value_t = 30)]
    pub oidc_refresh_secs: u64,
}

impl IdentitySettings {
    /// The provider these settings name, if any.
    pub fn provider(&self) -> Result<Option<podledger_api::auth::IdentityProvider>, String> {
        let (Some(issuer), Some(jwks)) = (&self.oidc_issuer, &self.oidc_jwks) else {
            return Ok(None);
        };
        let source = podledger_server::identity::key_source(jwks)?;
        let mut provider =
            podledger_api::auth::IdentityProvider::new(issuer, &self.oidc_audience, source);
        provider.org_claim.clone_from(&self.oidc_org_claim);
        provider.default_org = self.oidc_org.map(podledger_domain::ids::OrgId);
        provider.refresh_interval = std::time::Duration::from_secs(self.oidc_refresh_secs);
        Ok(Some(provider))
    }
}

/// What one request may ask for and use (see SECURITY.md for the model behind each).
#[derive(Debug, Args)]
pub struct LimitSettings {
    /// Deepest nesting of brackets (selections, lists, input objects, arguments) and of
    /// fragment spreads; checked before parsing. At most 128: the parser recurses.
    #[arg(long, env = "PODLEDGER_MAX_NESTING", default_value_t = 64,
          value_parser = clap::value_parser!(u16).range(2..=128))]
    pub max_nesting: u16,
    /// Most tokens in a query document; checked before parsing.
    #[arg(long, env = "PODLEDGER_MAX_TOKENS", default_value_t = 15_000)]
    pub max_tokens: usize,
    /// Deepest field nesting of an operation, fragments expanded.
    #[arg(long, env = "PODLEDGER_MAX_DEPTH", default_value_t = 16)]
    pub max_depth: usize,
    /// Most aliases in an operation, fragments expanded.
    #[arg(long, env = "PODLEDGER_MAX_ALIASES", default_value_t = 30)]
    pub max_aliases: u64,
    /// Most root fields of an operation, fragments expanded.
    #[arg(long, env = "PODLEDGER_MAX_ROOT_FIELDS", default_value_t = 20)]
    pub max_root_fields: u64,
    /// Most directives on one field, fragment spread or inline fragment.
    #[arg(long, env = "PODLEDGER_MAX_DIRECTIVES", default_value_t = 8)]
    pub max_directives: usize,
    /// Largest cost of an operation: the most fields its response can hold, connections
    /// counted once per element of their page (see the README).
    #[arg(long, env = "PODLEDGER_MAX_COST", default_value_t = 50_000)]
    pub max_cost: u64,
    /// Largest response, in bytes (a larger one is replaced by a `RESPONSE_TOO_LARGE` error).
    #[arg(long, env = "PODLEDGER_MAX_RESPONSE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_response_bytes: usize,
    /// How long a query or mutation may run, in milliseconds.
    #[arg(long, env = "PODLEDGER_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,
    /// Queries and mutations one caller may have running at once (the next gets HTTP 429).
    #[arg(long, env = "PODLEDGER_MAX_CONCURRENT_PER_CALLER", default_value_t = 8)]
    pub max_concurrent_per_caller: usize,
    /// Introspection and field suggestions without --dev (both are on with --dev).
    #[arg(long, env = "PODLEDGER_INTROSPECTION")]
    pub introspection: bool,
}

impl LimitSettings {
    /// The API policy these settings make (`dev` turns introspection on).
    pub fn policy(&self, dev: bool) -> podledger_api::Policy {
        podledger_api::Policy {
            limits: podledger_api::Limits {
                max_nesting: self.max_nesting.into(),
                max_tokens: self.max_tokens,
                max_depth: self.max_depth,
                max_aliases: self.max_aliases,
                max_root_fields: self.max_root_fields,
                max_directives: self.max_directives,
                max_cost: self.max_cost,
            },
            introspection: dev || self.introspection,
            max_response_bytes: self.max_response_bytes,
            deadline: std::time::Duration::from_millis(self.request_timeout_ms),
            max_concurrent_per_caller: self.max_concurrent_per_caller,
        }
    }
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
        /// Events the read models may be behind the store while /readyz still answers ready.
        #[arg(long, env = "PODLEDGER_READY_MAX_LAG", default_value_t = 1_000)]
        ready_max_lag: u64,
        /// Identity-provider sign-in.
        #[command(flatten)]
        identity: IdentitySettings,
        /// Request limits.
        #[command(flatten)]
        limits: LimitSettings,
    },
    /// Mint a development token: for a member (`--person`) or, with `--service`, for an
    /// integration allowed to record KPI readings of the `--pod`s it names.
    Token {
        /// The organisation (UUID).
        #[arg(long)]
        org: uuid::Uuid,
        /// The person: their id as the API shows it (`Person.id`) or its UUID.
        #[arg(long, required_unless_present = "service", conflicts_with = "service")]
        person: Option<String>,
        /// Mint a service token instead of a member's.
        #[arg(long, requires = "pod")]
        service: bool,
        /// The service's id (UUID; a new one by default).
        #[arg(long, requires = "service")]
        service_id: Option<uuid::Uuid>,
        /// A pod whose KPI readings the service may record (its `Pod.id` or UUID); repeatable.
        #[arg(long, requires = "service")]
        pod: Vec<String>,
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

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

    /// A TOML file of settings: each key a flag's long name (`listen`, `max-cost`, …).
    /// Precedence: flags, then environment variables, then this file, then defaults.
    #[arg(long, global = true, env = "PODLEDGER_CONFIG")]
    pub config: Option<std::path::PathBuf>,

    /// Log lines as text or as JSON objects (one per line).
    #[arg(long, global = true, env = "PODLEDGER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

pub use podledger_server::traces::LogFormat;

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

/// The settings of `serve` (and of `config`, which prints them).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PODLEDGER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Serve GraphiQL at /graphiql.
    #[arg(long, env = "PODLEDGER_DEV")]
    pub dev: bool,
    /// Seed the demo organisation first (idempotent) and print tokens for it.
    #[arg(long, env = "PODLEDGER_DEMO")]
    pub demo: bool,
    /// Origins allowed to open a WebSocket (comma-separated; default: the server's own).
    #[arg(
        long = "allowed-origin",
        env = "PODLEDGER_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
    /// HTTP worker threads (0: one per core; at most 512).
    #[arg(long, env = "PODLEDGER_WORKERS", default_value_t = 0,
          value_parser = clap::value_parser!(u16).range(0..=512))]
    pub workers: u16,
    /// Token settings.
    #[command(flatten)]
    pub tokens: TokenSettings,
    /// Events the read models may be behind the store while /readyz still answers ready.
    #[arg(long, env = "PODLEDGER_READY_MAX_LAG", default_value_t = 1_000)]
    pub ready_max_lag: u64,
    /// Identity-provider sign-in.
    #[command(flatten)]
    pub identity: IdentitySettings,
    /// Request limits.
    #[command(flatten)]
    pub limits: LimitSettings,
    /// On SIGTERM, how long in-flight requests may take to finish, in seconds.
    #[arg(long, env = "PODLEDGER_SHUTDOWN_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub shutdown_timeout_secs: u64,
    /// On SIGTERM, how long /readyz answers 503 before the listener closes, in milliseconds
    /// (time for a load balancer to stop routing here; 5000 suits Kubernetes).
    #[arg(long, env = "PODLEDGER_SHUTDOWN_DELAY_MS", default_value_t = 0)]
    pub shutdown_delay_ms: u64,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the GraphQL server (migrates the database and starts the projections first).
    Serve(Box<ServeArgs>),
    /// Print the effective configuration of `serve` — flags, environment, `--config` file and
    /// defaults merged — as TOML (usable as a `--config` file), each setting with where it
    /// came from; secrets redacted.
    Config(ServeArgs),
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
    /// Import JSON Lines of commands (or exported events) with their business times into a
    /// new organisation (docs/import-format.md); stops at the first refused line.
    Import {
        /// The file (`-` for standard input).
        file: std::path::PathBuf,
        /// Move every date and time by whole weeks so the file's last one falls in this week.
        #[arg(long)]
        shift_to_now: bool,
    },
    /// Write an organisation's history as JSON Lines (its events, in order) that `import`
    /// reads back into an empty store.
    Export {
        /// The organisation: its UUID, its `Organisation.id`, or the `@name` an import gave it.
        #[arg(long)]
        org: String,
        /// Where to write (standard output by default).
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// Copy a whole log between databases (SQLite and PostgreSQL, either way) with positions,
    /// ids, times and metadata intact; resumes where an interrupted copy stopped; verifies by
    /// folding both logs and comparing every view, then persists the target's views.
    Copy {
        /// The source database (`sqlite:` URL, path or `postgres://` URL).
        #[arg(long)]
        from: String,
        /// The target database (created and migrated if needed; empty, or an earlier copy's).
        #[arg(long)]
        to: String,
    },
    /// Convert a Jira issue export (CSV) into the import format, on standard output.
    ConvertJira {
        /// The CSV file.
        file: std::path::PathBuf,
        /// The organisation's name (its `@name` in the output).
        #[arg(long, default_value = "jira")]
        organisation: String,
        /// The pod's name.
        #[arg(long, default_value = "Jira team")]
        pod_name: String,
        /// The pod role of assignees.
        #[arg(long, default_value = "CONTENT_STRATEGIST")]
        role: String,
        /// Sprint length in days.
        #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(i64).range(1..=56))]
        sprint_days: i64,
    },
    /// Ask a running server's probe (`/healthz` by default) and exit 0 when it answers 200 —
    /// for container health checks in images without curl.
    Probe {
        /// The path to ask.
        #[arg(default_value = "/healthz")]
        path: String,
        /// The server's address (`PODLEDGER_LISTEN`; an unspecified address such as `0.0.0.0`
        /// is asked on loopback).
        #[arg(long, env = "PODLEDGER_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Give up after this many milliseconds.
        #[arg(long, default_value_t = 2_000)]
        timeout_ms: u64,
    },
}

/// Where a setting's value came from, in precedence order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// A `PODLEDGER_*` environment variable.
    Environment,
    /// The `--config` file.
    File,
    /// The built-in default.
    Default,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::Flag => "flag",
            Self::Environment => "environment",
            Self::File => "file",
            Self::Default => "default",
        }
    }
}

/// The parsed command line with the `--config` file merged in, and the final matches (for
/// `podledger config`, which reports each setting's source).
#[derive(Debug)]
pub struct Parsed {
    pub cli: Cli,
    matches: clap::ArgMatches,
    from_file: std::collections::HashSet<String>,
}

/// Parses the command line; with `--config`, settings the file gives and neither a flag nor
/// an environment variable set are added as flags, so every setting is checked by clap the
/// same way whatever its source. Exits with clap's message on a bad command line.
pub fn parse() -> anyhow::Result<Parsed> {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let first = Cli::command().get_matches_from(&args);
    let Some(path) = first.get_one::<std::path::PathBuf>("config").cloned() else {
        let cli = Cli::from_arg_matches(&first).unwrap_or_else(|e| e.exit());
        return Ok(Parsed {
            cli,
            matches: first,
            from_file: std::collections::HashSet::new(),
        });
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("reading the configuration {}: {e}", path.display()))?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("in the configuration {}: {e}", path.display()))?;
    let (extra, from_file) = file_flags(&first, &table)
        .map_err(|e| anyhow::anyhow!("in the configuration {}: {e}", path.display()))?;
    let mut all = args;
    all.extend(extra);
    let matches = Cli::command().get_matches_from(&all);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    Ok(Parsed {
        cli,
        matches,
        from_file,
    })
}

/// The flags a configuration `table` adds to a command line matched as `matches`: one per key
/// whose setting came from no flag and no environment variable. A key no subcommand knows is
/// an error; one only another subcommand knows is skipped (one file serves them all).
fn file_flags(
    matches: &clap::ArgMatches,
    table: &toml::Table,
) -> Result<(Vec<std::ffi::OsString>, std::collections::HashSet<String>), String> {
    use clap::CommandFactory as _;
    let root = Cli::command();
    let (name, sub) = matches.subcommand().unwrap_or(("", matches));
    let active = root.find_subcommand(name).unwrap_or(&root);
    let known_anywhere = |long: &str| {
        std::iter::once(&root)
            .chain(root.get_subcommands())
            .flat_map(clap::Command::get_arguments)
            .any(|a| a.get_long() == Some(long))
    };
    let mut flags = Vec::new();
    let mut from_file = std::collections::HashSet::new();
    for (key, value) in table {
        let long = key.replace('_', "-");
        if matches!(long.as_str(), "config" | "help" | "version") || !known_anywhere(&long) {
            return Err(format!("unknown setting `{key}`"));
        }
        let arg = active
            .get_arguments()
            .chain(root.get_arguments())
            .find(|a| a.get_long() == Some(long.as_str()));
        let Some(arg) = arg else { continue };
        let id = arg.get_id().as_str();
        let set_elsewhere = [sub, matches].iter().any(|m| {
            m.try_get_raw(id).is_ok()
                && matches!(
                    m.value_source(id),
                    Some(
                        clap::parser::ValueSource::CommandLine
                            | clap::parser::ValueSource::EnvVariable
                    )
                )
        });
        if set_elsewhere {
            continue;
        }
        let values: Vec<String> = match value {
            toml::Value::Array(items) => items.iter().map(scalar).collect::<Result<_, _>>(),
            other => scalar(other).map(|v| vec![v]),
        }
        .map_err(|e| format!("`{key}`: {e}"))?;
        if arg.get_action().takes_values() {
            for v in values {
                flags.push(format!("--{long}={v}").into());
            }
        } else {
            match values.as_slice() {
                [v] if v == "true" => flags.push(format!("--{long}").into()),
                [v] if v == "false" => {}
                _ => return Err(format!("`{key}` is true or false")),
            }
        }
        from_file.insert(id.to_owned());
    }
    Ok((flags, from_file))
}

fn scalar(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        _ => Err("a string, number or boolean (or an array of them)".into()),
    }
}

impl Parsed {
    /// The effective settings of the `config` subcommand (those of `serve`) as TOML, each
    /// line followed by its source; secrets (`jwt-secret`) and URL passwords redacted.
    pub fn effective_config(&self) -> String {
        use clap::CommandFactory as _;
        use std::fmt::Write as _;
        let root = Cli::command();
        let Some(("config", sub)) = self.matches.subcommand() else {
            return String::new();
        };
        let command = root.find_subcommand("config").unwrap_or(&root);
        let mut out = String::from(
            "# podledger serve: effective configuration (precedence: flag, environment, file, default)\n",
        );
        for arg in root.get_arguments().chain(command.get_arguments()) {
            let (Some(long), id) = (arg.get_long(), arg.get_id().as_str()) else {
                continue;
            };
            if matches!(long, "config" | "help" | "version") {
                continue;
            }
            let m = if sub.try_get_raw(id).is_ok() {
                sub
            } else {
                &self.matches
            };
            let values: Vec<String> = m
                .try_get_raw(id)
                .ok()
                .flatten()
                .map(|raw| raw.map(|v| v.to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            let source = if self.from_file.contains(id) {
                Source::File
            } else {
                match m.value_source(id) {
                    Some(clap::parser::ValueSource::CommandLine) => Source::Flag,
                    Some(clap::parser::ValueSource::EnvVariable) => Source::Environment,
                    _ => Source::Default,
                }
            };
            let rendered = if values.is_empty() {
                if arg.get_value_delimiter().is_some() {
                    "[]".to_owned()
                } else {
                    let _ = writeln!(out, "# {long} = (not set)  # {}", source.as_str());
                    continue;
                }
            } else {
                let shown: Vec<String> = values
                    .iter()
                    .map(|v| toml_value(&redact(long, v)))
                    .collect();
                if values.len() > 1 || arg.get_value_delimiter().is_some() {
                    format!("[{}]", shown.join(", "))
                } else {
                    shown.into_iter().next().unwrap_or_default()
                }
            };
            if long.ends_with("secret") {
                // Commented out: a `<redacted>` value must never become a real setting.
                let _ = writeln!(out, "# {long} = <redacted>  # {}", source.as_str());
                continue;
            }
            let _ = writeln!(out, "{long} = {rendered}  # {}", source.as_str());
        }
        out
    }
}

/// `value` with secrets hidden: the whole value of a `*-secret` setting, the password of a URL.
fn redact(long: &str, value: &str) -> String {
    if long.ends_with("secret") {
        return "<redacted>".to_owned();
    }
    match url::Url::parse(value) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("redacted"));
            url.to_string()
        }
        _ => value.to_owned(),
    }
}

/// A raw setting as a TOML value: numbers and booleans bare, anything else a string.
fn toml_value(raw: &str) -> String {
    if raw == "true"
        || raw == "false"
        || raw.parse::<i64>().is_ok()
        || raw.parse::<f64>().is_ok_and(f64::is_finite) && raw.contains('.')
    {
        raw.to_owned()
    } else {
        toml::Value::String(raw.to_owned()).to_string()
    }
}

//! The `podledger` binary: parses the command line, sets up telemetry, and runs a subcommand.

mod cli;

use anyhow::Context as _;
use podledger_api::AuthConfig;
use podledger_domain::ids::{OrgId, PersonId};
use podledger_server::{ServerConfig, demo, dev_secret, start};

use cli::{Cli, Command, TokenSettings};

fn main() -> anyhow::Result<()> {
    let parsed = cli::parse()?;
    if matches!(parsed.cli.command, Command::Config(_)) {
        print!("{}", parsed.effective_config());
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let tracing = podledger_server::traces::init(parsed.cli.log_format, &runtime)?;
    if let Some(protocol) = tracing.exporting {
        tracing::info!(protocol, "exporting traces over OTLP");
    }
    let result = runtime.block_on(run(parsed.cli));
    // The last spans leave before the runtime (which the gRPC exporter runs on) stops.
    runtime.block_on(async {
        let _ = tokio::task::spawn_blocking(move || tracing.shutdown()).await;
    });
    result
}

fn print_demo_tokens(auth: &AuthConfig) {
    println!(
        "tokens (valid 24 h) for the demo organisation {} (UUID {}); mint more with \
         `podledger token --org <UUID> --person <Person.id>`:",
        podledger_api::ids::to_id("Organisation", demo::org_id().as_uuid()).as_str(),
        demo::org_id()
    );
    for (role, name, person) in demo::key_people() {
        let token = auth.mint_member(demo::org_id(), person, chrono::Duration::hours(24));
        let id = podledger_api::ids::to_id("Person", person.as_uuid());
        println!("  {role:<22} {name:<12} Person.id {}", id.as_str());
        println!("    {token}");
    }
}

fn auth(database_url: &str, tokens: &TokenSettings) -> anyhow::Result<AuthConfig> {
    let secret = match &tokens.jwt_secret {
        Some(s) => s.clone().into_bytes(),
        None => dev_secret(database_url)?,
    };
    Ok(AuthConfig::new(
        secret,
        tokens.jwt_issuer.clone(),
        tokens.jwt_audience.clone(),
    )
    .with_leeway(tokens.jwt_leeway_secs))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = cli.database_url.as_str();
    match cli.command {
        Command::Serve(args) => serve(url.to_owned(), *args).await?,
        Command::Config(_) => unreachable!("printed before the runtime starts"),
        Command::Import { file, shift_to_now } => {
            import(url, &file, shift_to_now).await?;
        }
        Command::Export { org, output } => export(url, &org, output.as_deref()).await?,
        Command::Copy { from, to } => copy(&from, &to).await?,
        Command::ConvertJira {
            file,
            organisation,
            pod_name,
            role,
            sprint_days,
        } => convert_jira(
            &file,
            &podledger_server::jira::Settings {
                organisation,
                pod: pod_name,
                role,
                sprint_days,
                now: chrono::Utc::now(),
            },
        )?,
        Command::Probe {
            path,
            listen,
            timeout_ms,
        } => probe(&path, &listen, timeout_ms).await?,
        Command::Token {
            org,
            person,
            service,
            service_id,
            pod,
            hours,
            tokens,
        } => {
            let auth = auth(&cli.database_url, &tokens)?;
            let token = mint(
                &auth,
                OrgId(org),
                person.as_deref(),
                service.then_some((service_id, pod.as_slice())),
                chrono::Duration::hours(hours),
            )?;
            println!("{token}");
        }
        Command::ExportSchema => print!("{}", podledger_api::sdl()),
        Command::Demo { tokens } => {
            let auth = auth(url, &tokens)?;
            let store = podledger_eventstore::open(url).await?;
            let summary = demo::seed(store).await?;
            println!(
                "demo organisation {} loaded ({} commands applied, {} already there)",
                demo::org_id().as_uuid(),
                summary.commands,
                summary.already_applied
            );
            print_demo_tokens(&auth);
        }
        Command::Rebuild => {
            let store = podledger_eventstore::open(url).await?;
            let started = std::time::Instant::now();
            let projections = podledger_projections::Projections::rebuild(store).await?;
            println!(
                "rebuilt the read models to position {} in {:.1} s",
                projections.position(),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Migrate => {
            let shown = podledger_eventstore::backend::redacted(url);
            podledger_eventstore::backend::migrate(url)
                .await
                .with_context(|| format!("migrating {shown}"))?;
            println!("migrated {shown}");
        }
        Command::Status => {
            let shown = podledger_eventstore::backend::redacted(url);
            let store = podledger_eventstore::open(url)
                .await
                .with_context(|| format!("opening {shown}"))?;
            let head = store.check().await?;
            println!("podledger {}", env!("CARGO_PKG_VERSION"));
            println!("database  {}", store.describe());
            println!("events    {head}");
            println!("integrity ok");
        }
    }
    Ok(())
}

/// `podledger serve`: starts the server, prints the demo's tokens with `--demo`, and serves
/// until a signal stops it.
async fn serve(database_url: String, args: cli::ServeArgs) -> anyhow::Result<()> {
    let signals = signals()?;
    let auth = serve_auth(&database_url, &args.tokens, &args.identity)?;
    let running = start(ServerConfig {
        policy: args.limits.policy(args.dev),
        ready_max_lag: args.ready_max_lag,
        auth: auth.clone(),
        database_url,
        listen: args.listen,
        dev: args.dev,
        demo: args.demo,
        ws: podledger_server::ws::WsConfig {
            allowed_origins: args.allowed_origins,
            ..Default::default()
        },
        shutdown_timeout: std::time::Duration::from_secs(args.shutdown_timeout_secs),
        shutdown_delay: std::time::Duration::from_millis(args.shutdown_delay_ms),
        workers: args.workers.into(),
    })
    .await?;
    if args.demo {
        println!(
            "dashboard: http://{}/ (pick a demo person to sign in)",
            running.addr
        );
        print_demo_tokens(&auth);
    }
    serve_until_stopped(running, signals).await?;
    Ok(())
}

/// `podledger export`: the organisation's events as import lines, to `output` or stdout.
async fn export(url: &str, org: &str, output: Option<&std::path::Path>) -> anyhow::Result<()> {
    let org_id = podledger_api::ids::uuid_of("Organisation", org)
        .map(OrgId)
        .map_or_else(|| podledger_server::import::organisation(org), Ok)
        .map_err(|e| anyhow::anyhow!("--org {org:?}: {e}"))?;
    let store = podledger_eventstore::open(url).await?;
    let mut out: Box<dyn std::io::Write> = if let Some(path) = output {
        Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        ))
    } else {
        Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
    };
    let written = podledger_server::import::export(&*store, org_id, &mut out).await?;
    out.flush()?;
    eprintln!(
        "exported {written} events of organisation {}",
        org_id.as_uuid()
    );
    Ok(())
}

/// `podledger copy`: the whole log from one database to another, with a progress bar on a
/// terminal ([`podledger_server::copy`]).
async fn copy(from: &str, to: &str) -> anyhow::Result<()> {
    use std::io::IsTerminal as _;
    let shown = (
        podledger_eventstore::backend::redacted(from),
        podledger_eventstore::backend::redacted(to),
    );
    let source = podledger_eventstore::open(from)
        .await
        .with_context(|| format!("opening {}", shown.0))?;
    let target = podledger_eventstore::open(to)
        .await
        .with_context(|| format!("opening {}", shown.1))?;
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let started = std::time::Instant::now();
    let copied = podledger_server::copy::copy(
        &source,
        &target,
        podledger_server::copy::BATCH,
        |done, of| {
            bar.set_length(of);
            bar.set_position(done);
        },
    )
    .await;
    bar.finish_and_clear();
    let copied = copied.with_context(|| format!("copying {} to {}", shown.0, shown.1))?;
    println!(
        "copied {} events ({} already there) from {} to {} in {:.1} s; both logs fold to the \
         same {} views, persisted on the target",
        copied.events,
        copied.resumed_at,
        source.describe(),
        target.describe(),
        started.elapsed().as_secs_f64(),
        copied.views
    );
    Ok(())
}

/// `podledger convert-jira`: the converted lines on stdout (a closed pipe ends it quietly).
fn convert_jira(
    file: &std::path::Path,
    settings: &podledger_server::jira::Settings,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let csv =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in podledger_server::jira::convert(&csv, settings)? {
        match writeln!(out, "{line}") {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            other => other?,
        }
    }
    match out.flush() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// `podledger import`: the file through [`podledger_server::import::Importer`], with a progress
/// bar on a terminal and a summary; an error (exit 1) at the first refused line.
async fn import(url: &str, file: &std::path::Path, shift_to_now: bool) -> anyhow::Result<()> {
    use std::io::{IsTerminal as _, Read as _};
    let mut text = String::new();
    if file.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    }
    let store = podledger_eventstore::open(url).await?;
    let mut importer = podledger_server::import::Importer::new(
        store,
        podledger_server::import::Options { shift_to_now },
    );
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(text.lines().count() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} lines {per_sec} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let started = std::time::Instant::now();
    let result = importer.import(&text, |line| bar.set_position(line)).await;
    bar.finish_and_clear();
    let print = |s: &podledger_server::import::Summary| {
        println!(
            "{} lines in {:.1} s: {} commands applied, {} already applied, {} events, {} organisations, {} refusals",
            s.lines,
            started.elapsed().as_secs_f64(),
            s.commands,
            s.already_applied,
            s.events,
            s.organisations,
            s.refusals
        );
    };
    match result {
        Ok(summary) => {
            print(&summary);
            Ok(())
        }
        Err(stopped) => {
            print(&stopped.summary);
            Err(anyhow::anyhow!(
                "{}: {stopped} (nothing after line {} was applied; fix it and run the import again)",
                file.display(),
                stopped.line
            ))
        }
    }
}

/// `podledger probe`: GET `path` on the server listening at `listen`; an error unless 200.
async fn probe(path: &str, listen: &str, timeout_ms: u64) -> anyhow::Result<()> {
    use std::net::ToSocketAddrs as _;
    let mut addr = listen
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| anyhow::anyhow!("{listen} names no address"))?;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let url = format!("http://{addr}{path}");
    let response = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(timeout_ms))
        .build()?
        .get(&url)
        .send()
        .await
        .with_context(|| format!("asking {url}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    println!("{status} {body}");
    anyhow::ensure!(status.is_success(), "{url} answered {status}");
    Ok(())
}

/// A UUID from either an API id of `kind` (`Person.id`, `Pod.id`) or the UUID itself.
fn id_or_uuid(kind: &str, text: &str) -> anyhow::Result<uuid::Uuid> {
    podledger_api::ids::uuid_of(kind, text)
        .ok_or_else(|| anyhow::anyhow!("{text:?} is neither a {kind} id nor a UUID"))
}

/// A development token: a member's, or a service's for the pods it names (API ids or UUIDs).
fn mint(
    auth: &AuthConfig,
    org: OrgId,
    person: Option<&str>,
    service: Option<(Option<uuid::Uuid>, &[String])>,
    valid_for: chrono::Duration,
) -> anyhow::Result<String> {
    if let Some((service_id, pods)) = service {
        let pods = pods
            .iter()
            .map(|p| id_or_uuid("Pod", p).map(podledger_domain::ids::PodId))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let service =
            podledger_domain::ids::ServiceId(service_id.unwrap_or_else(uuid::Uuid::now_v7));
        return Ok(auth.mint_service(org, service, &pods, valid_for));
    }
    let person = id_or_uuid("Person", person.unwrap_or_default())?;
    Ok(auth.mint_member(org, PersonId(person), valid_for))
}

/// The token checks of `serve`: the development secret, and the identity provider if named.
fn serve_auth(
    database_url: &str,
    tokens: &TokenSettings,
    identity: &cli::IdentitySettings,
) -> anyhow::Result<AuthConfig> {
    let auth = auth(database_url, tokens)?;
    Ok(match identity.provider().map_err(anyhow::Error::msg)? {
        Some(provider) => {
            tracing::info!(issuer = %provider.issuer, "accepting the identity provider's tokens");
            auth.with_provider(provider)
        }
        None => auth,
    })
}

/// Announces the server, logs when it is ready, and serves until SIGTERM or SIGINT, then
/// shuts down gracefully ([`podledger_server::Running::shutdown`]).
async fn serve_until_stopped(
    running: podledger_server::Running,
    (mut terminate, mut interrupt): Signals,
) -> anyhow::Result<()> {
    tracing::info!(
        addr = %running.addr,
        "podledger is serving GraphQL at /graphql and the dashboard at /"
    );
    tokio::spawn(log_when_ready(
        running.telemetry.clone(),
        running.api.clone(),
    ));
    let which = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    };
    tracing::info!(signal = which, "shutting down");
    running.shutdown().await
}

/// SIGTERM and SIGINT, listened for from before the server starts: one that arrives while it
/// starts (or before it says where it listens) stops it gracefully once it runs, instead of
/// killing the process with the signal's default action.
type Signals = (tokio::signal::unix::Signal, tokio::signal::unix::Signal);

fn signals() -> anyhow::Result<Signals> {
    use tokio::signal::unix::{SignalKind, signal};
    Ok((
        signal(SignalKind::terminate()).context("listening for SIGTERM")?,
        signal(SignalKind::interrupt()).context("listening for SIGINT")?,
    ))
}

/// Logs how long the server took, from the start of `start`, to answer `/readyz` with 200.
async fn log_when_ready(
    telemetry: podledger_server::telemetry::Telemetry,
    api: podledger_api::Api,
) {
    while telemetry.readiness(&api).await.is_err() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tracing::info!(
        since_start_ms = u64::try_from(telemetry.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "ready (/readyz)"
    );
}

//! `just bench` (HTTP part): the sprint-board GraphQL query against a raw actix-web handler that
//! returns the same JSON payload, in one server process (this binary re-run as a child, demo
//! data seeded), driven from this process: first the maximum rate of each (closed loop), then a
//! fixed rate of 70 % of the GraphQL maximum for both (open loop, latency measured from each
//! request's scheduled time, so a stall is not hidden by the load generator waiting for it).
//!
//! The raw handler does what a hand-written REST endpoint would: verifies the same bearer token,
//! reads the request body and the pod id in it, reads the same live views, computes the same sprint metrics and serialises the same JSON —
//! everything but GraphQL parsing, validation and execution. The bench checks that both bodies
//! are equal before measuring.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use actix_web::{HttpRequest, HttpResponse, web};
use podledger_api::ids::to_id;
use podledger_api::{Api, ApiState, AuthConfig};
use podledger_domain::Actor;
use podledger_domain::ids::PodId;
use podledger_domain::pod::ItemStatus;
use podledger_eventstore::{CommandHandler, SqliteConfig, SqliteEventStore};
use podledger_projections::Projections;
use podledger_projections::metrics::sprint_metrics;
use podledger_server::{demo, http};
use serde_json::{Value, json};
use support::Cpu;
use support::load::{self, Conn, RECONNECTS, percentile};

const CHILD: &str = "PODLEDGER_BENCH_HTTP_SERVE";
const SECRET: &[u8] = b"bench-secret-bench-secret-bench-secret";
const QUERY: &str = "query($pod: ID!) { pod(id: $pod) { currentSprint { id number status goal \
    goalItemIds items { nodes { id title status estimate ownerId } } \
    metrics { committedPoints additions removals } } } }";

fn auth() -> AuthConfig {
    AuthConfig::new(SECRET.to_vec(), "podledger", "podledger")
}

fn acquisition() -> PodId {
    PodId(podledger_server::demo::id("Acquisition"))
}

/// The raw baseline: the same board as the GraphQL query, built by hand.
async fn raw_board(
    projections: web::Data<Projections>,
    auth: web::Data<AuthConfig>,
    request: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    let header = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let Ok(principal) = auth.verify_header(header) else {
        return HttpResponse::Unauthorized().finish();
    };
    let org_id = principal.org.as_uuid();
    let Some(org) = projections.org(org_id) else {
        return HttpResponse::Forbidden().finish();
    };
    if let Actor::Member { person } = &principal.actor
        && !org.state.people.contains_key(person)
    {
        return HttpResponse::Forbidden().finish();
    }
    // The pod named in the request, as the GraphQL variables name it.
    let Some(pod_id) = body["variables"]["pod"]
        .as_str()
        .and_then(|id| {
            podledger_api::ids::from_id("Pod", &async_graphql::ID(id.into()), "pod").ok()
        })
        .map(PodId)
    else {
        return HttpResponse::BadRequest().finish();
    };
    let Some(pod) = projections.pod(org_id, pod_id) else {
        return HttpResponse::NotFound().finish();
    };
    let board = pod.current_sprint().map(|s| {
        let metrics = sprint_metrics(&pod, s);
        let items: Vec<Value> = s
            .items
            .iter()
            .filter_map(|i| pod.item(*i))
            .map(|i| {
                let ready = i.status == ItemStatus::New
                    && podledger_domain::pod::readiness_gaps(
                        i.acceptance_criteria.is_some(),
                        i.estimate.is_some(),
                        i.owner.is_some_and(|o| org.state.is_member_of(o, pod_id)),
                    )
                    .is_empty();
                json!({
                    "id": to_id("Item", i.id.as_uuid()).0,
                    "title": i.title,
                    "status": if ready { json!("READY") } else { json!(i.status) },
                    "estimate": i.estimate,
                    "ownerId": i.owner.map(|o| to_id("Person", o.as_uuid()).0),
                })
            })
            .collect();
        json!({
            "id": to_id("Sprint", s.id.as_uuid()).0,
            "number": s.number,
            "status": s.status,
            "goal": s.goal,
            "goalItemIds": s.goal_items.iter().map(|i| to_id("Item", i.as_uuid()).0).collect::<Vec<_>>(),
            "items": { "nodes": items },
            "metrics": {
                "committedPoints": metrics.committed_points,
                "additions": metrics.additions,
                "removals": metrics.removals,
            },
        })
    });
    HttpResponse::Ok().json(json!({"data": {"pod": {"currentSprint": board}}}))
}

/// The child: the real API and the raw handler in one actix server over a seeded database.
async fn serve(dir: &str) -> anyhow::Result<()> {
    let store =
        SqliteEventStore::open(SqliteConfig::from_url(&format!("sqlite://{dir}/bench.db"))).await?;
    let projections = Projections::start(store.clone()).await?;
    demo::seed(Arc::new(store.clone())).await?;
    let handler = Arc::new(CommandHandler::new(Arc::new(store)));
    // One token stands for every dashboard the load generator plays, so the per-caller share
    // (8 running requests by default) would refuse most of them: lifted here, every other
    // limit as served.
    let api = Api::with_policy(
        ApiState::new(handler, projections.clone()),
        podledger_api::Policy {
            max_concurrent_per_caller: usize::MAX,
            ..podledger_api::Policy::default()
        },
    );
    let telemetry =
        podledger_server::telemetry::Telemetry::new(&api, 1_000, std::time::Instant::now());
    let routes = http::routes(api, auth(), telemetry, false);
    let (projections, auth) = (web::Data::new(projections), web::Data::new(auth()));
    let mut server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .wrap(actix_web::middleware::from_fn(http::limit_body))
            .configure(routes.clone())
            .app_data(projections.clone())
            .app_data(auth.clone())
            .route("/raw/board", web::post().to(raw_board))
    });
    // As the server: actix's default of one per core unless BENCH_SERVER_WORKERS says.
    if let Ok(workers @ 1..) = usize::try_from(env("BENCH_SERVER_WORKERS", 0)) {
        server = server.workers(workers);
    }
    let server = server.bind("127.0.0.1:0")?;
    println!("LISTEN {}", server.addrs()[0]);
    server.run().await?;
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    GraphQl,
    Raw,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Self::GraphQl => "GraphQL sprint board",
            Self::Raw => "raw actix handler",
        }
    }
}

struct Load {
    addr: SocketAddr,
    graphql: Vec<u8>,
    raw: Vec<u8>,
}

impl Load {
    fn new(addr: SocketAddr, token: &str, body: &Value) -> Self {
        let body = serde_json::to_string(body).expect("json");
        let request = |path: &str| {
            format!(
                "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nAccept: application/json\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        };
        Self {
            addr,
            graphql: request("/graphql"),
            raw: request("/raw/board"),
        }
    }

    fn request(&self, target: Target) -> &[u8] {
        match target {
            Target::GraphQl => &self.graphql,
            Target::Raw => &self.raw,
        }
    }

    async fn once(&self, target: Target) -> Value {
        let mut conn = Conn::open(self.addr).await;
        serde_json::from_slice(conn.call(self.request(target)).await).expect("json body")
    }

    /// Closed loop: `workers` connections, one request in flight each, for `secs`; req/s.
    async fn max_rate(self: &Arc<Self>, target: Target, workers: usize, secs: u64) -> f64 {
        let endpoint = Arc::new(Endpoint(self.clone(), target));
        let (done, elapsed) = load::closed_loop(self.addr, &endpoint, workers, secs as f64).await;
        done.len() as f64 / elapsed
    }

    /// Open loop at `rate` requests/s for `secs` over `conns` connections (see
    /// `load::open_loop`). Returns the latencies from when each was due and how late each was
    /// sent (µs, sorted).
    async fn fixed_rate(
        self: &Arc<Self>,
        target: Target,
        rate: f64,
        secs: u64,
        conns: usize,
    ) -> (Vec<u64>, Vec<u64>) {
        let endpoint = Arc::new(Endpoint(self.clone(), target));
        let samples = load::open_loop(self.addr, &endpoint, rate, secs as f64, conns).await;
        let mut latencies: Vec<u64> = samples.iter().map(|s| s.latency_us).collect();
        let mut lags: Vec<u64> = samples.iter().map(|s| s.sent_late_us).collect();
        latencies.sort_unstable();
        lags.sort_unstable();
        (latencies, lags)
    }
}

/// One endpoint of the two, as the shared load loops send it.
struct Endpoint(Arc<Load>, Target);

impl load::Requests for Endpoint {
    fn request(&self, _k: u64) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(self.0.request(self.1))
    }
}

/// The open loop: `rates[0]` requests/s to GraphQL and `rates[1]` to the raw handler, `rounds`
/// times alternating, p50/p99 from each request's scheduled time.
async fn latency_at(
    load: &Arc<Load>,
    server: u32,
    rates: [f64; 2],
    (secs, rounds, open_conns): (u64, u64, usize),
) {
    let mut latencies = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [Target::GraphQl, Target::Raw]
        } else {
            [Target::Raw, Target::GraphQl]
        };
        for target in order {
            let cpu = Cpu::start(server);
            let rate = rates[usize::from(target == Target::Raw)];
            let (lat, lag) = load.fixed_rate(target, rate, secs, open_conns).await;
            let used = cpu.report();
            let ms = |us: u64| us as f64 / 1000.0;
            let row = (
                lat.len() as f64,
                ms(percentile(&lat, 0.50)),
                ms(percentile(&lat, 0.99)),
                ms(*lat.last().expect("requests")),
            );
            println!(
                "  round {round}: {:<22} p50 {:.2} ms, p99 {:.2} ms (sent late: p99 {:.2} ms)   {used}",
                target.name(),
                row.1,
                row.2,
                ms(percentile(&lag, 0.99)),
            );
            latencies[usize::from(target == Target::Raw)].push(row);
        }
    }
    println!(
        "\n| endpoint | req/s | requests per run | p50 ms | p99 ms (median of {rounds}) | worst p99 ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for target in [Target::GraphQl, Target::Raw] {
        let rows = &latencies[usize::from(target == Target::Raw)];
        let pick = |f: fn(&(f64, f64, f64, f64)) -> f64| median(rows.iter().map(f).collect());
        println!(
            "| {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} |",
            target.name(),
            rates[usize::from(target == Target::Raw)],
            pick(|r| r.0),
            pick(|r| r.1),
            pick(|r| r.2),
            rows.iter().map(|r| r.2).fold(0.0, f64::max),
        );
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    if let Ok(dir) = std::env::var(CHILD) {
        return actix_web::rt::System::new().block_on(serve(&dir));
    }
    let dir = tempfile::tempdir()?;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .env(CHILD, dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut line,
    )?;
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("LISTEN ")
        .ok_or_else(|| anyhow::anyhow!("child said {line:?}"))?
        .parse()?;
    // One thread by default: the generator shares the 2 cores with the server, and one thread
    // needs no wake-ups across threads.
    let threads = usize::try_from(env("BENCH_CLIENT_THREADS", 1)).unwrap_or(1);
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    let result = runtime.block_on(measure(addr, child.id()));
    child.kill()?;
    child.wait()?;
    result
}

async fn measure(addr: SocketAddr, server: u32) -> anyhow::Result<()> {
    let (secs, rounds, workers) = (
        env("BENCH_SECS", 5),
        env("BENCH_ROUNDS", 3),
        env("BENCH_WORKERS", 32) as usize,
    );
    let (_, _, admin) = demo::key_people()[0];
    let load = Arc::new(Load::new(
        addr,
        &auth().mint_member(demo::org_id(), admin, chrono::Duration::hours(1)),
        &json!({"query": QUERY, "variables": {"pod": to_id("Pod", acquisition().as_uuid()).0}}),
    ));
    let (graphql, raw) = (
        load.once(Target::GraphQl).await,
        load.once(Target::Raw).await,
    );
    anyhow::ensure!(graphql == raw, "payloads differ:\n{graphql}\n{raw}");
    anyhow::ensure!(
        graphql["data"]["pod"]["currentSprint"]["items"]["nodes"]
            .as_array()
            .is_some_and(|items| !items.is_empty()),
        "the board is empty: {graphql}"
    );
    let size = serde_json::to_vec(&graphql)?.len();
    println!(
        "same payload from both ({size} bytes); {workers} workers, {secs} s per run, {rounds} rounds"
    );
    // Warm up both.
    load.max_rate(Target::GraphQl, workers, 1).await;
    load.max_rate(Target::Raw, workers, 1).await;

    let mut max = [Vec::new(), Vec::new()];
    let mut ratios = Vec::new();
    for round in 0..rounds {
        // Alternate the order so that neither always runs on a warmer machine.
        let order = if round % 2 == 0 {
            [Target::GraphQl, Target::Raw]
        } else {
            [Target::Raw, Target::GraphQl]
        };
        for target in order {
            let cpu = Cpu::start(server);
            let rate = load.max_rate(target, workers, secs).await;
            println!(
                "  round {round}: {:<22} {rate:>8.0} req/s   {}",
                target.name(),
                cpu.report()
            );
            max[usize::from(target == Target::Raw)].push(rate);
        }
        ratios.push(max[0][round as usize] / max[1][round as usize]);
    }
    let (ours, raw) = (median(max[0].clone()), median(max[1].clone()));
    println!("\n| endpoint | max req/s (median of {rounds}) | vs raw |");
    println!("|---|---:|---:|");
    println!(
        "| {} | {ours:.0} | {:.2} |",
        Target::GraphQl.name(),
        ours / raw
    );
    println!("| {} | {raw:.0} | 1.00 |", Target::Raw.name());
    println!(
        "median of the {rounds} side-by-side ratios: {:.2}",
        median(ratios)
    );

    println!(
        "(server-closed connections, reconnected: {})",
        RECONNECTS.load(Ordering::Relaxed)
    );
    // 70 % by default (the operating point); BENCH_OPEN_PERCENT finds the knee, and
    // BENCH_OPEN_BASE=raw takes the percentage of the raw handler's maximum instead (what this
    // machine allows any endpoint at the same share of its own maximum).
    let percent = env("BENCH_OPEN_PERCENT", 70);
    // BENCH_OPEN_BASE=own runs each endpoint at the percentage of its *own* maximum.
    let share = |max: f64| (max * percent as f64 / 100.0).floor();
    let (rates, base_name) = match std::env::var("BENCH_OPEN_BASE").as_deref() {
        Ok("raw") => ([share(raw); 2], "raw handler's maximum"),
        Ok("own") => ([share(ours), share(raw)], "each endpoint's own maximum"),
        _ => ([share(ours); 2], "GraphQL maximum"),
    };
    // Enough connections that in-flight requests never wait for a free one (Little's law: 20k
    // req/s at 2 ms is 40 in flight), so a late response is the server's, not the generator's.
    let open_conns = env("BENCH_OPEN_CONNECTIONS", 256) as usize;
    println!(
        "\nfixed rates {:.0} / {:.0} req/s (GraphQL / raw: {percent} % of the {base_name}) over {open_conns} connections, {secs} s per run, {rounds} rounds:\n",
        rates[0], rates[1]
    );
    latency_at(&load, server, rates, (secs, rounds, open_conns)).await;
    Ok(())
}

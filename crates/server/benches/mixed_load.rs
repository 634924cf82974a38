//! `just bench` (mixed load, issue 20): the real server (`podledger_server::start` with the demo
//! organisation on a fresh SQLite file, this binary re-run as a child) under two workloads sent
//! from this process with the lean keep-alive client of the HTTP bench:
//!
//! - **mixed**: 70 % reads (organisation overview, sprint board, pod metrics, a backlog page) and
//!   30 % mutations (`createItem`, `raiseBlocker`, `submitIntakeRequest` on the demo's
//!   Acquisition pod, `addPerson` on the organisation);
//! - **hot pod**: 100 % writes on that one pod (`createItem` and `raiseBlocker`).
//!
//! Each workload: its maximum rate with 64 clients (closed loop), then an open loop at 70 % of
//! that maximum (`BENCH_OPEN_PERCENT`) over 256 connections, latency from each request's due
//! time, per kind. Beside it, in the same run, the store's own group commit of single-event
//! appends from 64 writers on the same disk. After each run the server is killed (SIGKILL) and
//! every acknowledged mutation is counted in its log: each exactly once.
//!
//! `BENCH_GENERATOR_CPUS` and `BENCH_SERVER_CPUS` ("1", "0,1") pin the load generator and the
//! server; unset, the two share both cores.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use memchr::memmem;
use podledger_api::AuthConfig;
use podledger_api::ids::to_id;
use podledger_eventstore::{EventStore as _, SqliteConfig, SqliteEventStore};
use podledger_server::demo;
use serde_json::json;

#[path = "../../eventstore/benches/support/baseline.rs"]
mod baseline;
mod support;

use baseline::{WRITERS, group_commit, median, setting};
use support::Cpu;
use support::load::{self, Requests, percentile};

const CHILD: &str = "PODLEDGER_BENCH_MIXED_SERVE";
const SECRET: &[u8] = b"mixed-load-bench-secret-mixed-load";

fn auth() -> AuthConfig {
    AuthConfig::new(SECRET.to_vec(), "podledger", "podledger")
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Kind {
    Overview,
    Board,
    PodMetrics,
    BacklogPage,
    CreateItem,
    RaiseBlocker,
    SubmitIntake,
    AddPerson,
}

impl Kind {
    const ALL: [Self; 8] = [
        Self::Overview,
        Self::Board,
        Self::PodMetrics,
        Self::BacklogPage,
        Self::CreateItem,
        Self::RaiseBlocker,
        Self::SubmitIntake,
        Self::AddPerson,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Overview => "organisation overview",
            Self::Board => "sprint board",
            Self::PodMetrics => "pod metrics",
            Self::BacklogPage => "backlog page",
            Self::CreateItem => "createItem",
            Self::RaiseBlocker => "raiseBlocker",
            Self::SubmitIntake => "submitIntakeRequest",
            Self::AddPerson => "addPerson",
        }
    }

    fn is_mutation(self) -> bool {
        matches!(
            self,
            Self::CreateItem | Self::RaiseBlocker | Self::SubmitIntake | Self::AddPerson
        )
    }

    /// The event an acknowledged mutation of this kind appends, and the stream it lands on.
    fn event(self) -> Option<(&'static str, String)> {
        let pod = format!("pod-{}", demo::id("Acquisition"));
        match self {
            Self::CreateItem => Some(("ItemCreated", pod)),
            Self::RaiseBlocker => Some(("BlockerRaised", pod)),
            Self::SubmitIntake => Some(("IntakeRequestSubmitted", pod)),
            Self::AddPerson => Some(("PersonAdded", format!("org-{}", demo::org_id()))),
            _ => None,
        }
    }

    fn document(self) -> &'static str {
        match self {
            Self::Overview => {
                "query { organisation { name pods(first: 100) { nodes { id name focus \
                 productOwner { name } scrumMaster { name } members(first: 100) { totalCount } \
                 currentSprint { number status goal startDate endDate } \
                 metrics { closedSprints averageVelocity goalCompletionRate blockersOpen } } } } }"
            }
            Self::Board => {
                "query($pod: ID!) { pod(id: $pod) { currentSprint { id number status goal \
                 goalItemIds items { nodes { id title status estimate ownerId } } \
                 metrics { committedPoints additions removals } } } }"
            }
            Self::PodMetrics => {
                "query($pod: ID!) { pod(id: $pod) { metrics { averageVelocity \
                 blockerMedianHours blockersWithin48H } } }"
            }
            Self::BacklogPage => {
                "query($pod: ID!) { pod(id: $pod) { backlog(first: 20) { totalCount \
                 nodes { id title status estimate } pageInfo { hasNextPage endCursor } } } }"
            }
            Self::CreateItem => {
                "mutation($pod: ID!) { createItem(input: {podId: $pod, title: \"Partner \
                 webinar landing page\", outputCategory: \"landing page\", estimate: 3}) \
                 { position } }"
            }
            Self::RaiseBlocker => {
                "mutation($pod: ID!) { raiseBlocker(podId: $pod, category: DEPENDENCY, \
                 description: \"Waiting on the brand team\") { position } }"
            }
            Self::SubmitIntake => {
                "mutation($pod: ID!) { submitIntakeRequest(podId: $pod, title: \"Co-marketing \
                 one-pager\", outputCategory: \"one-pager\") { position } }"
            }
            Self::AddPerson => "mutation($name: String!) { addPerson(name: $name) { position } }",
        }
    }
}

/// A workload: kinds with weights (out of 100).
struct Workload {
    name: &'static str,
    weights: &'static [(Kind, u64)],
}

const MIXED: Workload = Workload {
    name: "mixed: 70 % reads, 30 % mutations",
    weights: &[
        (Kind::Overview, 15),
        (Kind::Board, 25),
        (Kind::PodMetrics, 15),
        (Kind::BacklogPage, 15),
        (Kind::CreateItem, 12),
        (Kind::RaiseBlocker, 10),
        (Kind::SubmitIntake, 6),
        (Kind::AddPerson, 2),
    ],
};

const HOT_POD: Workload = Workload {
    name: "hot pod: 100 % writes on one pod",
    weights: &[(Kind::CreateItem, 50), (Kind::RaiseBlocker, 50)],
};

/// The requests of one workload: request `k`'s kind comes from a hash of `k`, so every run and
/// every loop sends the same mix in the same order.
struct Mix {
    table: Vec<Kind>,
    fixed: HashMap<Kind, Vec<u8>>,
    head: String,
    admin: String,
}

impl Mix {
    fn new(addr: SocketAddr, workload: &Workload) -> Self {
        let table: Vec<Kind> = workload
            .weights
            .iter()
            .flat_map(|&(kind, weight)| std::iter::repeat_n(kind, weight as usize))
            .collect();
        assert_eq!(table.len(), 100, "weights add up to 100");
        let auth = auth();
        let token = |person| auth.mint_member(demo::org_id(), person, chrono::Duration::hours(2));
        let (admin, po) = (
            token(demo::key_people()[0].2),
            token(demo::key_people()[2].2),
        );
        let pod = to_id("Pod", demo::id("Acquisition")).0;
        let head = format!(
            "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
        );
        let fixed = Kind::ALL
            .into_iter()
            .filter(|k| *k != Kind::AddPerson)
            .map(|kind| {
                let body = json!({"query": kind.document(), "variables": {"pod": pod}});
                (kind, request(&head, &po, &body.to_string()))
            })
            .collect();
        Self {
            table,
            fixed,
            head,
            admin,
        }
    }

    fn kind(&self, k: u64) -> Kind {
        // splitmix64: consecutive requests spread over the table.
        let mut z = k.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        self.table[((z ^ (z >> 31)) % 100) as usize]
    }
}

fn request(head: &str, token: &str, body: &str) -> Vec<u8> {
    format!(
        "{head}Authorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

impl Requests for Mix {
    fn request(&self, k: u64) -> Cow<'_, [u8]> {
        match self.kind(k) {
            Kind::AddPerson => {
                let body = json!({"query": Kind::AddPerson.document(),
                                  "variables": {"name": format!("Integration user {k}")}});
                Cow::Owned(request(&self.head, &self.admin, &body.to_string()))
            }
            kind => Cow::Borrowed(&self.fixed[&kind]),
        }
    }

    fn check(&self, k: u64, body: &[u8]) {
        let kind = self.kind(k);
        assert!(
            memmem::find(body, b"\"errors\"").is_none()
                && (!kind.is_mutation() || memmem::find(body, b"\"position\":\"").is_some()),
            "{}: {}",
            kind.name(),
            String::from_utf8_lossy(body)
        );
    }
}

/// The child: the real server with the demo organisation on `dir/<file>`; prints its address
/// and the log's head before any load, then serves until it is killed.
fn serve(db: &str) -> anyhow::Result<()> {
    load::pin_from_env("BENCH_SERVER_CPUS");
    baseline::runtime().block_on(async {
        let running = support::demo_server(std::path::Path::new(db), &auth()).await;
        let head = running.projections.store().head().await?;
        println!("LISTEN {} {head}", running.addr);
        running.server.await??;
        Ok(())
    })
}

struct Child {
    process: std::process::Child,
    addr: SocketAddr,
    head: u64,
    db: std::path::PathBuf,
}

fn spawn(db: std::path::PathBuf) -> anyhow::Result<Child> {
    let mut process = std::process::Command::new(std::env::current_exe()?)
        .env(CHILD, &db)
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(process.stdout.take().expect("stdout")),
        &mut line,
    )?;
    let mut words = line
        .trim()
        .strip_prefix("LISTEN ")
        .ok_or_else(|| anyhow::anyhow!("child said {line:?}"))?
        .split(' ');
    let addr = words.next().unwrap_or_default().parse()?;
    let head = words.next().unwrap_or_default().parse()?;
    Ok(Child {
        process,
        addr,
        head,
        db,
    })
}

/// What one run of a workload measured.
struct Run {
    max_rate: f64,
    open_rate: f64,
    /// Per kind: latencies (µs, sorted) in the open loop.
    latencies: HashMap<Kind, Vec<u64>>,
    reads: Vec<u64>,
    mutations: Vec<u64>,
    sent_late_p99_ms: f64,
    cpu: String,
    acknowledged: u64,
}

/// One run: a fresh server, its maximum, the open loop at `percent` % of it, then SIGKILL and
/// every acknowledged mutation counted in the log.
fn run(
    generator: &tokio::runtime::Runtime,
    db: std::path::PathBuf,
    workload: &Workload,
    (secs, percent): (f64, f64),
) -> anyhow::Result<Run> {
    let mut child = spawn(db)?;
    let mix = Arc::new(Mix::new(child.addr, workload));
    let mut acknowledged: HashMap<Kind, u64> = HashMap::new();
    let mut count = |ks: &mut dyn Iterator<Item = u64>| {
        for k in ks {
            *acknowledged.entry(mix.kind(k)).or_default() += 1;
        }
    };
    let pinned = load::pin_from_env("BENCH_GENERATOR_CPUS");
    let (max_rate, samples, cpu) = generator.block_on(async {
        // Warm-up, then the maximum; request indexes never repeat within a run.
        let (warm, _) = load::closed_loop(child.addr, &mix, WRITERS, 1.0).await;
        count(&mut warm.into_iter());
        let offset = Arc::new(Offset(mix.clone(), 1 << 40));
        let (done, elapsed) = load::closed_loop(child.addr, &offset, WRITERS, secs).await;
        let max_rate = done.len() as f64 / elapsed;
        count(&mut done.into_iter().map(|k| k + (1 << 40)));
        let rate = (max_rate * percent / 100.0).floor();
        let cpu = Cpu::start(child.process.id());
        let offset = Arc::new(Offset(mix.clone(), 2 << 40));
        let samples = load::open_loop(child.addr, &offset, rate, secs, 256).await;
        let cpu = cpu.report();
        (max_rate, samples, cpu)
    });
    if pinned.is_some() {
        unpin();
    }
    count(&mut samples.iter().map(|s| s.k + (2 << 40)));
    child.process.kill()?;
    child.process.wait()?;
    let in_log = count_in_log(&child.db, child.head)?;
    for kind in Kind::ALL.into_iter().filter(|k| k.is_mutation()) {
        let (acked, logged) = (
            acknowledged.get(&kind).copied().unwrap_or(0),
            in_log.get(&kind).copied().unwrap_or(0),
        );
        anyhow::ensure!(
            acked == logged,
            "{}: {acked} acknowledged, {logged} in the log after SIGKILL",
            kind.name()
        );
    }
    let mut latencies: HashMap<Kind, Vec<u64>> = HashMap::new();
    let (mut reads, mut mutations, mut late) = (Vec::new(), Vec::new(), Vec::new());
    for s in &samples {
        let kind = mix.kind(s.k + (2 << 40));
        latencies.entry(kind).or_default().push(s.latency_us);
        if kind.is_mutation() {
            mutations.push(s.latency_us);
        } else {
            reads.push(s.latency_us);
        }
        late.push(s.sent_late_us);
    }
    for l in latencies.values_mut() {
        l.sort_unstable();
    }
    reads.sort_unstable();
    mutations.sort_unstable();
    late.sort_unstable();
    Ok(Run {
        max_rate,
        open_rate: (max_rate * percent / 100.0).floor(),
        latencies,
        reads,
        mutations,
        sent_late_p99_ms: ms(percentile(&late, 0.99)),
        cpu,
        acknowledged: in_log.values().sum(),
    })
}

/// A workload's requests from index `1` on: the loops number their requests from 0, and the
/// runs of one server must not repeat a name.
struct Offset(Arc<Mix>, u64);

impl Requests for Offset {
    fn request(&self, k: u64) -> Cow<'_, [u8]> {
        self.0.request(k + self.1)
    }

    fn check(&self, k: u64, body: &[u8]) {
        self.0.check(k + self.1, body);
    }
}

/// Back to every CPU (the group commit baseline runs on the whole machine).
fn unpin() {
    // A pinned thread's `available_parallelism` is its pinned set: name every CPU there may be.
    let mut all = rustix::thread::CpuSet::new();
    for cpu in 0..rustix::thread::CpuSet::MAX_CPU.min(64) {
        all.set(cpu);
    }
    let _ = rustix::thread::sched_setaffinity(None, &all);
}

/// The mutations' events appended after `head`, per kind (a killed server's log, read from its
/// file).
fn count_in_log(db: &std::path::Path, head: u64) -> anyhow::Result<HashMap<Kind, u64>> {
    baseline::runtime().block_on(async {
        let store = SqliteEventStore::open(SqliteConfig::new(db)).await?;
        let wanted: Vec<(Kind, (&str, String))> = Kind::ALL
            .into_iter()
            .filter_map(|k| Some((k, k.event()?)))
            .collect();
        let mut counts = HashMap::new();
        let mut after = head;
        loop {
            let page = store.read_all(after, 10_000).await?;
            let Some(last) = page.last() else { break };
            after = last.position;
            for e in &page {
                if let Some((kind, _)) = wanted
                    .iter()
                    .find(|(_, (ty, stream))| e.event_type == *ty && e.stream == *stream)
                {
                    *counts.entry(*kind).or_default() += 1;
                }
            }
        }
        Ok(counts)
    })
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn main() -> anyhow::Result<()> {
    if let Ok(db) = std::env::var(CHILD) {
        return serve(&db);
    }
    let (secs, rounds, percent): (f64, usize, f64) = (
        setting("BENCH_SECS", 5.0),
        setting("BENCH_ROUNDS", 3),
        setting("BENCH_OPEN_PERCENT", 70.0),
    );
    let dir = tempfile::tempdir()?;
    // One thread: the generator shares the cores with the server and needs no cross-thread
    // wake-ups (as in the HTTP bench).
    let generator = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let baseline_rt = baseline::runtime();
    println!(
        "{WRITERS} clients for the maximum, 256 connections for the open loop at {percent} % of it, \
         {secs} s each, {rounds} rounds; generator CPUs {}, server CPUs {}",
        std::env::var("BENCH_GENERATOR_CPUS").unwrap_or_else(|_| "any".into()),
        std::env::var("BENCH_SERVER_CPUS").unwrap_or_else(|_| "any".into()),
    );
    let mixed = mixed_from_env();
    let mut results: Vec<(usize, Run)> = Vec::new();
    let mut group = Vec::new();
    for round in 0..rounds {
        for (w, workload) in [&mixed, &HOT_POD].into_iter().enumerate() {
            if !selected(workload) {
                continue;
            }
            let db = dir.path().join(format!("mixed-{w}-{round}.db"));
            let r = run(&generator, db, workload, (secs, percent))?;
            println!(
                "round {round}, {}: max {:.0} req/s; open loop {:.0} req/s: reads p50 {:.2} / p99 {:.2} ms, \
                 mutations p50 {:.2} / p99 {:.2} ms (sent late p99 {:.2} ms; {}); {} mutations acknowledged, each once in the log after SIGKILL",
                workload.name,
                r.max_rate,
                r.open_rate,
                pct_ms(&r.reads, 0.5),
                pct_ms(&r.reads, 0.99),
                pct_ms(&r.mutations, 0.5),
                pct_ms(&r.mutations, 0.99),
                r.sent_late_p99_ms,
                r.cpu,
                r.acknowledged,
            );
            results.push((w, r));
        }
        let g = baseline_rt.block_on(group_commit(dir.path(), round, secs));
        println!("round {round}: store group commit {g:.0} appends/s");
        group.push(g);
    }
    report(&[&mixed, &HOT_POD], &results, &mut group, rounds);
    Ok(())
}

/// The mixed workload, or the one `BENCH_MIX` gives ("board:50,createItem:50": kinds by name
/// with weights adding up to 100) to find which kind slows which.
fn mixed_from_env() -> Workload {
    let Ok(mix) = std::env::var("BENCH_MIX") else {
        return MIXED;
    };
    let weights: Vec<(Kind, u64)> = mix
        .split(',')
        .map(|part| {
            let (name, weight) = part.split_once(':').expect("kind:weight");
            let kind = Kind::ALL
                .into_iter()
                .find(|k| k.name().starts_with(name.trim()))
                .expect("a kind's name");
            (kind, weight.trim().parse().expect("a weight"))
        })
        .collect();
    Workload {
        name: "mixed (BENCH_MIX)",
        weights: Vec::leak(weights),
    }
}

/// `BENCH_WORKLOADS` ("mixed", "hot"; both when unset) picks the workloads to run.
fn selected(workload: &Workload) -> bool {
    std::env::var("BENCH_WORKLOADS").map_or(true, |names| {
        names
            .split(',')
            .any(|n| workload.name.starts_with(n.trim()))
    })
}

fn pct_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    ms(percentile(sorted, p))
}

/// The runs of workload `w`.
fn runs_of(results: &[(usize, Run)], w: usize) -> Vec<&Run> {
    results
        .iter()
        .filter(|(i, _)| *i == w)
        .map(|(_, r)| r)
        .collect()
}

fn report(workloads: &[&Workload], results: &[(usize, Run)], group: &mut [f64], rounds: usize) {
    let group_median = median(&mut group.to_vec());
    println!("\n| median of {rounds} rounds | per second | vs group commit |");
    println!("|---|---:|---:|");
    println!(
        "| store group commit, single-event appends from {WRITERS} writers to their own streams | {group_median:.0} | 1.00 |"
    );
    for (w, workload) in workloads.iter().enumerate() {
        if !selected(workload) {
            continue;
        }
        let runs = runs_of(results, w);
        let mut max: Vec<f64> = runs.iter().map(|r| r.max_rate).collect();
        // Ratios per round, side by side with that round's group commit.
        let mut ratios: Vec<f64> = runs
            .iter()
            .zip(group.iter())
            .map(|(r, g)| {
                let writes: f64 = workload
                    .weights
                    .iter()
                    .filter(|(k, _)| k.is_mutation())
                    .map(|(_, w)| *w as f64 / 100.0)
                    .sum();
                r.max_rate * writes / g
            })
            .collect();
        println!(
            "| {}, maximum with {WRITERS} clients (of it mutations: ratio) | {:.0} | {:.2} |",
            workload.name,
            median(&mut max),
            median(&mut ratios)
        );
    }
    println!(
        "\n| open loop at the share of each workload's own maximum | req/s | reads p50 / p99 ms | mutations p50 / p99 ms | worst round p99 (reads / mutations) |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (w, workload) in workloads.iter().enumerate() {
        if !selected(workload) {
            continue;
        }
        let runs = runs_of(results, w);
        let pick =
            |f: &dyn Fn(&Run) -> f64| median(&mut runs.iter().map(|r| f(r)).collect::<Vec<_>>());
        let worst = |f: &dyn Fn(&Run) -> f64| runs.iter().map(|r| f(r)).fold(0.0, f64::max);
        println!(
            "| {} | {:.0} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} |",
            workload.name,
            pick(&|r| r.open_rate),
            pick(&|r| pct_ms(&r.reads, 0.5)),
            pick(&|r| pct_ms(&r.reads, 0.99)),
            pick(&|r| pct_ms(&r.mutations, 0.5)),
            pick(&|r| pct_ms(&r.mutations, 0.99)),
            worst(&|r| pct_ms(&r.reads, 0.99)),
            worst(&|r| pct_ms(&r.mutations, 0.99)),
        );
        println!("  per kind, p99 ms (median of rounds):");
        for kind in Kind::ALL {
            if runs.iter().all(|r| !r.latencies.contains_key(&kind)) {
                continue;
            }
            println!(
                "    {:<22} p50 {:.2}  p99 {:.2}",
                kind.name(),
                pick(&|r| r.latencies.get(&kind).map_or(f64::NAN, |l| pct_ms(l, 0.5))),
                pick(&|r| r.latencies.get(&kind).map_or(f64::NAN, |l| pct_ms(l, 0.99))),
            );
        }
    }
}

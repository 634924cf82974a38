//! `just bench` (history growth, issue 22): the same request mix against the demo's Acquisition
//! pod after its stream has grown by 1k, 10k and 100k events of history (sprint cycles as the
//! rebuild bench writes them: items, ownership, commitments, scope changes, blockers, approvals,
//! service requests, closes, retros) and its KPI by as many readings — each request's p50 and
//! p99 side by side with the smallest history, in one run.
//!
//! The mix (`BENCH_CLIENTS`, default 8, concurrent clients for `BENCH_SECS`, default 10, per
//! history size), by weight: the dashboard's organisation overview 15, a sprint board 25, a
//! closed sprint's metrics 20, pod metrics 20, the pod's KPIs with their latest reading 15,
//! `raiseBlocker` 4, `createItem` 1 — reads by many, writes to the one pod, as integrations and
//! dashboards use it. Then, alone, time travel: the board and the sprint's metrics as of a
//! random past position of the pod, `BENCH_TRAVELS` (default 50) times.
//!
//! `BENCH_HISTORY` (default `1000,10000,100000`) lists the sizes; the first is the baseline.
//! `BENCH_SOAK=900` runs the soak instead: a fresh demo server under 95 % reads and 5 %
//! `raiseBlocker` on one pod for 15 minutes, each minute's throughput and RSS.

#[path = "../../projections/benches/support/generate.rs"]
#[allow(dead_code)]
mod generate;

#[path = "../../eventstore/benches/support/baseline.rs"]
#[allow(dead_code)]
mod baseline;

#[allow(dead_code)]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use podledger_api::AuthConfig;
use podledger_api::ids::to_id;
use podledger_domain::ids::{KpiId, PersonId, PodId};

use podledger_server::demo;
use serde_json::{Value, json};

use baseline::{median, runtime, setting};

const OVERVIEW: &str = "query { organisation { name pods(first: 100) { nodes { id name focus \
    productOwner { name } scrumMaster { name } members(first: 100) { totalCount nodes { name podRoles } } \
    currentSprint { number status goal startDate endDate } \
    metrics { closedSprints averageVelocity goalCompletionRate blockersOpen } } } \
    healthFindings(first: 500) { nodes { kind podId } } \
    healthAudit { podId failing warning patterns { pattern status } } } }";

const BOARD: &str = "query($pod: ID!, $sprint: ID!, $asOf: AsOfInput) { sprint(podId: $pod, id: $sprint, asOf: $asOf) { \
    id number status goal goalItemIds startDate endDate \
    items(first: 500) { nodes { id title estimate status owner { name } pendingOwner { name } } } \
    burndown { committedPoints days { date remaining scope ideal } } } }";

const SPRINT_METRICS: &str = "query($pod: ID!, $sprint: ID!, $asOf: AsOfInput) { sprint(podId: $pod, id: $sprint, asOf: $asOf) { \
    metrics { committedPoints velocity commitmentReliability scopeChurn taskCompletion goalMet backlogChurnRate } } }";

const POD_METRICS: &str = "query($pod: ID!) { pod(id: $pod) { metrics { averageVelocity blockerMedianHours blockersWithin48H } } }";

const KPIS: &str = "query($pod: ID!) { pod(id: $pod) { kpis(first: 20) { nodes { name target latest { value observedAt attainment status } } } } }";

const RAISE: &str = "mutation($pod: ID!) { raiseBlocker(podId: $pod, category: DEPENDENCY, description: \"Waiting on the brand team\") { position } }";

const CREATE: &str = "mutation($i: CreateItemInput!) { createItem(input: $i) { position } }";

/// The mix: (name, weight).
const MIX: [(&str, u32); 7] = [
    ("organisation overview", 15),
    ("sprint board", 25),
    ("sprint metrics (closed sprint)", 20),
    ("pod metrics", 20),
    ("pod KPIs, latest reading", 15),
    ("raiseBlocker", 4),
    ("createItem", 1),
];

struct Target {
    url: String,
    token: String,
    pod: String,
    board_sprint: String,
    closed_sprint: String,
}

async fn post(client: &reqwest::Client, t: &Target, query: &str, variables: Value) -> Value {
    let answer: Value = client
        .post(&t.url)
        .bearer_auth(&t.token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(answer.get("errors").is_none(), "{answer}");
    answer
}

/// One request of kind `k` of [`MIX`].
async fn request(client: &reqwest::Client, t: &Target, k: usize) {
    let board = json!({"pod": t.pod, "sprint": t.board_sprint});
    let closed = json!({"pod": t.pod, "sprint": t.closed_sprint});
    let pod = json!({"pod": t.pod});
    match k {
        0 => post(client, t, OVERVIEW, json!({})).await,
        1 => post(client, t, BOARD, board).await,
        2 => post(client, t, SPRINT_METRICS, closed).await,
        3 => post(client, t, POD_METRICS, pod).await,
        4 => post(client, t, KPIS, pod).await,
        5 => post(client, t, RAISE, pod).await,
        _ => {
            let input = json!({"i": {"podId": t.pod, "title": "Spring webinar landing page",
                                     "outputCategory": "landing page", "estimate": 3}});
            post(client, t, CREATE, input).await
        }
    };
}

/// Latencies (ms) per kind of the mix, and time travel's.
type Samples = (Vec<Vec<f64>>, Vec<f64>);

fn pick(r: u64) -> usize {
    let total: u32 = MIX.iter().map(|(_, w)| w).sum();
    let mut x = (r % u64::from(total)) as u32;
    for (k, (_, w)) in MIX.iter().enumerate() {
        if x < *w {
            return k;
        }
        x -= w;
    }
    MIX.len() - 1
}

async fn run_size(
    dir: &std::path::Path,
    events: u64,
    secs: f64,
    clients: usize,
    travels: usize,
) -> (u64, Samples) {
    let (running, auth) = serve(dir, &format!("history-{events}.db")).await;
    let store = running.projections.store().clone();
    let org = demo::org_id();
    let pod = PodId(demo::id("Acquisition"));
    let grown = generate::grow_pod(
        &*store,
        org,
        demo::key_people()[0].2,
        pod,
        PersonId(demo::id("Ari Amari")),
        events,
        KpiId(demo::id("Acquisition kpi")),
        events,
    )
    .await;
    let head = store.head().await.unwrap();
    running
        .projections
        .wait_for(head, Duration::from_secs(600))
        .await
        .unwrap();
    let stream_len = store
        .read_stream(&format!("pod-{pod}"), 0, usize::MAX >> 1)
        .await
        .unwrap()
        .len() as u64;
    let target = Arc::new(target(&running, &auth));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    // Warm up: every kind once.
    for k in 0..MIX.len() {
        request(&client, &target, k).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (client, target, stop) = (client.clone(), target.clone(), stop.clone());
            tokio::spawn(async move {
                let mut samples = vec![Vec::new(); MIX.len()];
                let mut r = 0x9E37_79B9_7F4A_7C15_u64.wrapping_mul(c as u64 + 1);
                while !stop.load(Ordering::Relaxed) {
                    r ^= r << 13;
                    r ^= r >> 7;
                    r ^= r << 17;
                    let k = pick(r);
                    let t = Instant::now();
                    request(&client, &target, k).await;
                    samples[k].push(t.elapsed().as_secs_f64() * 1e3);
                }
                samples
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut mix = vec![Vec::new(); MIX.len()];
    for task in tasks {
        for (k, s) in task.await.unwrap().into_iter().enumerate() {
            mix[k].extend(s);
        }
    }
    let rss_before = rss_mb();
    let travel = time_travel(&client, &target, &*store, pod, grown, travels).await;
    println!(
        "history {events}: RSS {rss_before:.0} MB before time travel, {:.0} MB after ({} snapshots kept)",
        rss_mb(),
        running.projections.snapshots().len()
    );
    running.handle.stop(true).await;
    (stream_len, (mix, travel))
}

/// A server on the demo organisation in `dir/name`, with every limit as served but the
/// per-caller share of running requests (one token stands for every client here).
async fn serve(dir: &std::path::Path, name: &str) -> (podledger_server::Running, AuthConfig) {
    let auth = AuthConfig::new(
        b"history-bench-secret-history-bench".to_vec(),
        "podledger",
        "podledger",
    );
    let running = support::demo_server(&dir.join(name), &auth).await;
    (running, auth)
}

/// The Acquisition pod's requests as the demo's PO Paula Price.
fn target(running: &podledger_server::Running, auth: &AuthConfig) -> Target {
    let po = demo::key_people()[2].2;
    Target {
        url: format!("http://{}/graphql", running.addr),
        token: auth.mint_member(demo::org_id(), po, chrono::Duration::hours(1)),
        pod: to_id("Pod", demo::id("Acquisition")).0,
        board_sprint: to_id("Sprint", demo::id("Acquisition sprint 6")).0,
        closed_sprint: to_id("Sprint", demo::id("Acquisition sprint 5")).0,
    }
}

/// The soak of issue 22: 16 clients (`BENCH_CLIENTS`) for `secs` against a fresh demo server,
/// 95 % reads (organisation overview 30, sprint board 35, closed sprint's metrics 30) and 5 %
/// `raiseBlocker` on one pod; each minute's requests/s and the process's RSS, then the last
/// minute against the first and the bytes of RSS per event added.
async fn soak(dir: &std::path::Path, secs: u64, clients: usize) {
    const KINDS: [(usize, u32); 4] = [(0, 30), (1, 35), (2, 30), (5, 5)];
    let (running, auth) = serve(dir, "soak.db").await;
    let store = running.projections.store().clone();
    let target = Arc::new(target(&running, &auth));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    let minutes = secs.div_ceil(60) as usize;
    let counts: Arc<Vec<std::sync::atomic::AtomicU64>> = Arc::new(
        (0..minutes)
            .map(|_| std::sync::atomic::AtomicU64::new(0))
            .collect(),
    );
    let (head0, rss0) = (store.head().await.unwrap(), rss_mb());
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (client, target, counts) = (client.clone(), target.clone(), counts.clone());
            tokio::spawn(async move {
                let mut r = 0x9E37_79B9_7F4A_7C15_u64.wrapping_mul(c as u64 + 1);
                while started.elapsed().as_secs() < secs {
                    r ^= r << 13;
                    r ^= r >> 7;
                    r ^= r << 17;
                    let mut x = (r % 100) as u32;
                    let kind = KINDS
                        .iter()
                        .find(|(_, w)| {
                            let hit = x < *w;
                            x = x.saturating_sub(*w);
                            hit
                        })
                        .map_or(0, |(k, _)| *k);
                    request(&client, &target, kind).await;
                    let minute = (started.elapsed().as_secs() / 60) as usize;
                    if let Some(count) = counts.get(minute) {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for minute in 0..minutes {
        let until = Duration::from_secs(60 * (minute as u64 + 1)).min(Duration::from_secs(secs));
        tokio::time::sleep(until.saturating_sub(started.elapsed())).await;
        let events = store.head().await.unwrap() - head0;
        println!(
            "minute {minute}: {:.0} requests/s, RSS {:.0} MB, {events} events added",
            counts[minute].load(Ordering::Relaxed) as f64 / 60.0,
            rss_mb()
        );
    }
    for t in tasks {
        t.await.unwrap();
    }
    let events = store.head().await.unwrap() - head0;
    let (first, last) = (
        counts[0].load(Ordering::Relaxed) as f64,
        counts[minutes - 1].load(Ordering::Relaxed) as f64,
    );
    println!(
        "\nsoak, {clients} clients, {secs} s: last minute {:.0} requests/s, first {:.0}: **{:.2}**; \
         RSS {rss0:.0} → {:.0} MB for {events} events added: {:.0} bytes per event",
        last / 60.0,
        first / 60.0,
        last / first,
        rss_mb(),
        (rss_mb() - rss0) * 1024.0 * 1024.0 / events.max(1) as f64
    );
    running.handle.stop(true).await;
}

/// Time travel, alone: the board and the closed sprint's metrics at a random past position of
/// the pod's grown history, `travels` times; latencies in ms.
async fn time_travel(
    client: &reqwest::Client,
    target: &Target,
    store: &dyn podledger_eventstore::EventStore,
    pod: PodId,
    grown: u64,
    travels: usize,
) -> Vec<f64> {
    let positions: Vec<u64> = store
        .read_stream(&format!("pod-{pod}"), 0, usize::MAX >> 1)
        .await
        .unwrap()
        .iter()
        .map(|e| e.position)
        .collect();
    let mut travel = Vec::new();
    let mut r = 0x2545_F491_4F6C_DD1D_u64;
    for _ in 0..travels {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        // Past the demo's own events, so the sprint exists.
        let lo = positions.len() - grown as usize;
        let at = positions[lo + (r as usize % grown as usize)];
        let as_of = json!({"position": at.to_string()});
        let t = Instant::now();
        post(
            client,
            target,
            BOARD,
            json!({"pod": target.pod, "sprint": target.board_sprint, "asOf": as_of}),
        )
        .await;
        post(
            client,
            target,
            SPRINT_METRICS,
            json!({"pod": target.pod, "sprint": target.closed_sprint, "asOf": as_of}),
        )
        .await;
        travel.push(t.elapsed().as_secs_f64() * 1e3);
    }
    travel
}

/// One history size's figures.
struct Row {
    /// The pod stream's length.
    len: u64,
    /// p50, p99 (ms) and count per kind of the mix.
    figures: Vec<(f64, f64, usize)>,
    /// Time travel p50 and p99 (ms).
    travel: (f64, f64),
    /// Requests per second, all kinds.
    rate: f64,
}

/// This process's resident memory (the server runs in it), MB.
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

fn main() {
    let secs: f64 = setting("BENCH_SECS", 10.0);
    let clients: usize = setting("BENCH_CLIENTS", 8);
    let travels: usize = setting("BENCH_TRAVELS", 50);
    let rounds: usize = setting("BENCH_ROUNDS", 3);
    let sizes: Vec<u64> = std::env::var("BENCH_HISTORY")
        .unwrap_or_else(|_| "1000,10000,100000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("BENCH_HISTORY: sizes separated by commas")
        })
        .collect();
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    if let Ok(secs) = std::env::var("BENCH_SOAK") {
        let secs: u64 = secs.parse().expect("BENCH_SOAK: seconds");
        rt.block_on(soak(dir.path(), secs, setting("BENCH_CLIENTS", 16)));
        return;
    }
    let mut rows: BTreeMap<u64, Vec<Row>> = BTreeMap::new();
    rt.block_on(async {
        // Rounds of every size in turn: each ratio is taken within a round, side by side.
        for round in 0..rounds {
            for &events in &sizes {
                let dir = dir.path().join(format!("round-{round}"));
                std::fs::create_dir_all(&dir).unwrap();
                let (len, (mut mix, mut travel)) =
                    run_size(&dir, events, secs, clients, travels).await;
                let total: usize = mix.iter().map(Vec::len).sum();
                let figures: Vec<(f64, f64, usize)> = mix
                    .iter_mut()
                    .map(|s| (percentile(s, 0.5), percentile(s, 0.99), s.len()))
                    .collect();
                let tt = (percentile(&mut travel, 0.5), percentile(&mut travel, 0.99));
                println!(
                    "round {round}, history {events}: pod stream {len} events, {:.0} requests/s, time travel p50 {:.1} ms p99 {:.1} ms",
                    total as f64 / secs,
                    tt.0,
                    tt.1
                );
                for ((name, _), (p50, p99, n)) in MIX.iter().zip(&figures) {
                    println!("  {name}: p50 {p50:.2} ms, p99 {p99:.2} ms ({n})");
                }
                let row = Row {
                    len,
                    figures,
                    travel: tt,
                    rate: total as f64 / secs,
                };
                rows.entry(events).or_default().push(row);
            }
        }
    });
    table(&sizes, &rows, clients, rounds);
}

/// The medians over the rounds, side by side; the last column is the median of the rounds'
/// ratios of the largest history to the smallest.
fn table(sizes: &[u64], rows: &BTreeMap<u64, Vec<Row>>, clients: usize, rounds: usize) {
    let (base, last) = (sizes[0], sizes[sizes.len() - 1]);
    let med = |f: &dyn Fn(&Row) -> f64, size: u64| {
        let mut v: Vec<f64> = rows[&size].iter().map(f).collect();
        median(&mut v)
    };
    let ratio = |f: &dyn Fn(&Row) -> f64| {
        let mut v: Vec<f64> = rows[&last]
            .iter()
            .zip(&rows[&base])
            .map(|(l, b)| f(l) / f(b))
            .collect();
        median(&mut v)
    };
    print!("\n| request (medians of {rounds} rounds) |");
    for s in sizes {
        print!(" p50 / p99 at +{s} (ms) |");
    }
    println!(" p50 at +{last} / p50 at +{base} |");
    print!("|---|");
    for _ in sizes {
        print!("---:|");
    }
    println!("---:|");
    for (k, (name, _)) in MIX.iter().enumerate() {
        print!("| {name} |");
        for s in sizes {
            let p50 = med(&|r| r.figures[k].0, *s);
            let p99 = med(&|r| r.figures[k].1, *s);
            print!(" {p50:.2} / {p99:.2} |");
        }
        println!(" **{:.2}** |", ratio(&|r| r.figures[k].0));
    }
    print!("| time travel: board + sprint metrics asOf a past position |");
    for s in sizes {
        let (p50, p99) = (med(&|r| r.travel.0, *s), med(&|r| r.travel.1, *s));
        print!(" {p50:.1} / {p99:.1} |");
    }
    println!(" **{:.2}** |", ratio(&|r| r.travel.0));
    print!("| requests/s, all kinds ({clients} clients) |");
    for s in sizes {
        print!(" {:.0} |", med(&|r| r.rate, *s));
    }
    println!(" **{:.2}** |", ratio(&|r| r.rate));
    print!("| pod stream length (events) |");
    for s in sizes {
        print!(" {} |", rows[s][0].len);
    }
    println!(" |");
}

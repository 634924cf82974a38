//! `just bench` (projections part): rebuild the views of a generated organisation of
//! `BENCH_EVENTS` (default 1,000,000) events and, in the same run, a raw scan of the events
//! table; then time travel — a pod's sprint board and metrics as of random past positions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use podledger_eventstore::{EventStore, RecordedEvent, SqliteConfig, SqliteEventStore};
use podledger_projections::metrics::sprint_metrics;
use podledger_projections::{AsOf, ProjectionOptions, Projections};
use sqlx::Row;

#[path = "support/generate.rs"]
mod generate;

/// The allocator `podledger rebuild` runs with (the server's).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use generate::{PODS, generate};

/// What `Projections::rebuild` does — forget the persisted views, fold the log, persist every
/// view — timed in two parts: returns the projections, the seconds to reach the head, and the
/// seconds in all.
async fn rebuild(store: &SqliteEventStore, head: u64) -> (Projections, f64, f64) {
    podledger_eventstore::Backend::clear_views(store)
        .await
        .unwrap();
    let t = Instant::now();
    let options = ProjectionOptions {
        catch_up_from: 1,
        ..ProjectionOptions::default()
    };
    let projections = Projections::start_with(store.clone(), options)
        .await
        .unwrap();
    projections
        .wait_for(head, Duration::from_secs(3_600))
        .await
        .unwrap();
    let fold = t.elapsed().as_secs_f64();
    projections.flush().await.unwrap();
    (projections, fold, t.elapsed().as_secs_f64())
}

/// [`rebuild`] in a fresh process, as `podledger rebuild` runs (in this one, each round would
/// start from the heap the rounds before it left behind): the bench binary re-run with
/// `BENCH_DB`. Returns the seconds to the head and in all.
fn rebuild_in_child(db: &std::path::Path) -> (f64, f64) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--bench")
        .env("BENCH_DB", db)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("REBUILD "))
        .unwrap_or_else(|| {
            panic!(
                "the rebuild child failed: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let mut numbers = line.split(' ').map(|n| n.parse::<f64>().unwrap());
    (numbers.next().unwrap(), numbers.next().unwrap())
}

/// Every column of every event in position order: what both raw scans read.
const RAW_SCAN: &str = "SELECT position, event_id, stream_id, stream_version, event_type, \
    schema_version, payload, org_id, actor, correlation_id, causation_id, recorded_at \
    FROM events ORDER BY position";

/// Every column of every event, row by row, straight from SQLite on one thread: the floor.
fn raw_sqlite(path: &std::path::Path) -> f64 {
    let t = Instant::now();
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap();
    conn.pragma_update(None, "mmap_size", 268_435_456).unwrap();
    let mut statement = conn.prepare(RAW_SCAN).unwrap();
    let mut rows = statement.query([]).unwrap();
    let mut sum = 0usize;
    while let Some(row) = rows.next().unwrap() {
        for i in 0..12 {
            sum += match row.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => t.len(),
                rusqlite::types::ValueRef::Integer(n) => n as usize & 1,
                _ => 0,
            };
        }
    }
    std::hint::black_box(sum);
    t.elapsed().as_secs_f64()
}

/// Every column of every event, row by row, through sqlx; returns the seconds and the bytes
/// of payload.
async fn raw_sqlx(store: &SqliteEventStore) -> (f64, usize) {
    let t = Instant::now();
    let mut bytes = 0usize;
    let mut rows = sqlx::query(RAW_SCAN).fetch(store.reader_pool());
    while let Some(row) = rows.try_next().await.unwrap() {
        bytes += row.get::<&str, _>(6).len();
    }
    (t.elapsed().as_secs_f64(), bytes)
}

/// Calls `each` with every page of 1,000 events of `read_all`, in order.
async fn for_each_page(store: &SqliteEventStore, mut each: impl FnMut(Vec<RecordedEvent>)) {
    let mut after = 0;
    loop {
        let page = store.read_all(after, 1_000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.position;
        each(page);
    }
}

/// `read_all` in pages of 1,000, events per second.
async fn read_all(store: &SqliteEventStore) -> f64 {
    let t = Instant::now();
    let mut n = 0;
    for_each_page(store, |page| n += page.len()).await;
    n as f64 / t.elapsed().as_secs_f64()
}

/// The old single-threaded path, in memory: `read_all`, decode, fold; prints its rates.
async fn in_memory(store: &SqliteEventStore, head: u64) {
    let t = Instant::now();
    let mut views = podledger_projections::Views::default();
    let mut decode_time = Duration::ZERO;
    for_each_page(store, |page| {
        let d = Instant::now();
        let envelopes: Vec<_> = page
            .into_iter()
            .map(|r| podledger_projections::envelope::Envelope::decode(r).unwrap())
            .collect();
        decode_time += d.elapsed();
        for e in envelopes {
            views.apply(e);
        }
    })
    .await;
    let fold_all = head as f64 / t.elapsed().as_secs_f64();
    println!(
        "(one thread, read_all + decode + fold in memory: {fold_all:.0} events/s; decode alone {:.0} events/s)",
        head as f64 / decode_time.as_secs_f64()
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// The largest persisted pod view: its stored size, and the median of 5 decodes in ms.
async fn decode_largest_pod(store: &SqliteEventStore) -> (usize, f64) {
    let body: Vec<u8> = sqlx::query_scalar(
        "SELECT body FROM read_models WHERE kind = 'pod' ORDER BY length(body) DESC LIMIT 1",
    )
    .fetch_one(store.reader_pool())
    .await
    .unwrap();
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let raw = lz4_flex::decompress_size_prepended(&body).unwrap();
            let view: podledger_projections::pod_view::PodView =
                postcard::from_bytes(&raw).unwrap();
            std::hint::black_box(view);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (body.len(), times[2])
}

/// A pod's board and sprint metrics as of 200 random past positions: p50 and p99 in ms.
async fn time_travel(
    projections: &Projections,
    org: uuid::Uuid,
    pods: &[podledger_domain::ids::PodId],
    head: u64,
) -> (f64, f64) {
    let mut latencies = Vec::new();
    let mut rng = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in 0..200 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let position = rng % head + 1;
        let pod = pods[(rng >> 32) as usize % pods.len()];
        let t = Instant::now();
        if let Some(views) = projections
            .pod_as_of(org, pod, AsOf::Position(position))
            .await
            .unwrap()
            && let Some(view) = views.pods.get(&pod)
            && let Some(sprint) = view.current_sprint().or_else(|| view.sprints().last())
        {
            std::hint::black_box(sprint_metrics(view, sprint));
        }
        latencies.push(t.elapsed());
    }
    latencies.sort();
    (
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
    )
}

fn main() {
    let total: u64 = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if let Ok(db) = std::env::var("BENCH_DB") {
            // Rebuild an existing database (one kept with BENCH_KEEP, or the parent's) and stop.
            let store = SqliteEventStore::open(SqliteConfig::new(db)).await.unwrap();
            let head = store.head().await.unwrap();
            let (_, fold, all) = rebuild(&store, head).await;
            println!("rebuild of {head} events: {:.0} events/s ({fold:.2} s to the head, {:.2} s persisting)", head as f64 / all, all - fold);
            println!("REBUILD {fold} {all}");
            if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
                let rss: Vec<&str> = status.lines().filter(|l| l.starts_with("Rss")).collect();
                println!("memory after the rebuild: {}", rss.join(", ").split_whitespace().collect::<Vec<_>>().join(" "));
            }
            return;
        }
        let base = std::env::var("BENCH_DIR").map_or_else(|_| std::env::temp_dir(), Into::into);
        let dir = tempfile::tempdir_in(base).unwrap();
        let config = SqliteConfig::new(dir.path().join("org.db"));
        let store = SqliteEventStore::open(config.clone()).await.unwrap();
        let t = Instant::now();
        let (org, pods) = generate(&store, total).await;
        let head = store.head().await.unwrap();
        println!("generated an organisation of {head} events ({PODS} pods) in {:.1} s\n", t.elapsed().as_secs_f64());

        if std::env::var("BENCH_KEEP").is_ok() {
            // Keep the generated database (BENCH_DB=<it> rebuilds it again without generating).
            println!("kept: {}", dir.path().join("org.db").display());
            std::mem::forget(dir);
        }
        let (sqlx_secs, bytes) = raw_sqlx(&store).await;
        let read_all = read_all(&store).await;
        in_memory(&store, head).await;

        // Rounds, side by side: the raw SQLite scan, then the rebuild.
        let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
        let (mut raws, mut rebuilds, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        // A warm-up first, reported but not counted: right after generating, the first round
        // also competes with the writeback of the file just written.
        let (fold, all) = rebuild_in_child(store.path());
        println!("warm-up: rebuild {:.0}/s ({fold:.2} s to the head, {:.2} s persisting)", head as f64 / all, all - fold);
        for round in 0..rounds {
            let raw = head as f64 / raw_sqlite(store.path());
            let (fold, all) = rebuild_in_child(store.path());
            let rate = head as f64 / all;
            println!("round {round}: raw scan {raw:.0}/s, rebuild {rate:.0}/s ({fold:.2} s to the head, {:.2} s persisting), ratio {:.2}", all - fold, rate / raw);
            raws.push(raw);
            rebuilds.push(rate);
            ratios.push(rate / raw);
        }
        let raw = median(&mut raws);
        println!("\n| what | events/s | vs raw scan |");
        println!("|---|---:|---:|");
        println!("| raw scan: SQLite rows, all columns, one thread (rusqlite; {} MB of payload), median | {raw:.0} | 1.00 |", bytes / 1_000_000);
        println!("| raw scan through sqlx rows | {:.0} | {:.2} |", head as f64 / sqlx_secs, head as f64 / sqlx_secs / raw);
        println!("| `read_all` (pages of 1,000, sqlx) | {read_all:.0} | {:.2} |", read_all / raw);
        println!("| **rebuild** every view from 0 and persist, median of {rounds} | {:.0} | {:.2} (median of the rounds' ratios) |", median(&mut rebuilds), median(&mut ratios));
        // The views the last child persisted, as a restarted server has them: without any
        // time-travel snapshot (the warm-up is run below, on its own, and timed).
        let options = ProjectionOptions { warm_snapshots: false, ..ProjectionOptions::default() };
        let projections = Projections::start_with(store.clone(), options).await.unwrap();
        projections.wait_for(head, Duration::from_secs(3_600)).await.unwrap();
        let projections = Arc::new(projections);
        let cold = time_travel(&projections, org.as_uuid(), &pods, head).await;
        let t = Instant::now();
        let replayed = projections.warm_snapshots(head).await.unwrap();
        let warm_up = t.elapsed().as_secs_f64();
        let warm = time_travel(&projections, org.as_uuid(), &pods, head).await;
        // What a persisted snapshot would cost to load: decoding one pod's view as persisted
        // (LZ4, then postcard), the largest of the organisation.
        let (bytes, decode) = decode_largest_pod(&store).await;
        println!(
            "\nloading a pod's persisted view ({} events, {:.1} MB stored): {decode:.1} ms",
            head / PODS as u64,
            bytes as f64 / 1e6
        );
        println!(
            "\ntime travel, pod board + sprint metrics as of a random position ({} events per pod stream, 200 each):\n\
             - right after a restart (each look leaves its snapshots behind): p50 {:.1} ms, p99 {:.1} ms\n\
             - after the warm-up ({replayed} views replayed in {warm_up:.2} s, {} snapshots): p50 {:.1} ms, p99 {:.1} ms",
            head / PODS as u64,
            cold.0, cold.1,
            projections.snapshots().len(),
            warm.0, warm.1,
        );
    });
}

//! `just bench` (issue 16): a rebuild from PostgreSQL against a raw scan of its events table,
//! side by side in one run. The bench organisation of `rebuild.rs` (`BENCH_EVENTS`, default
//! 500,000 events, generated into SQLite) is restored into a fresh database of a throw-away
//! cluster with PostgreSQL's durable defaults; then, `BENCH_ROUNDS` (default 3) times:
//!
//! - **raw scan**: every column of every event, in position order, through one sqlx
//!   connection (the rows streamed, the payload touched) — what reading the log costs at all;
//! - **rebuild**: `Projections::rebuild` — forget the persisted views, fold the log from
//!   position 0 on every core (two scanners streaming chunks from PostgreSQL), persist every
//!   view in PostgreSQL.

use std::time::Instant;

use futures_util::TryStreamExt as _;
use podledger_eventstore::{
    Backend as _, EventStore as _, PgConfig, PgEventStore, SqliteConfig, SqliteEventStore,
};
use podledger_projections::Projections;
use sqlx::Row as _;

#[path = "support/generate.rs"]
#[allow(dead_code)] // the server's benches grow pods with it
mod generate;
#[path = "../../eventstore/tests/support/postgres.rs"]
#[allow(dead_code)] // the tests' part of it
mod postgres;

/// The allocator `podledger rebuild` runs with (the server's).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Seconds to stream every column of every event from `url`, one connection.
async fn raw_scan(url: &str) -> f64 {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let t = Instant::now();
    let mut bytes = 0usize;
    let mut rows = sqlx::query(
        "SELECT position, event_id, stream_id, stream_version, event_type, schema_version, \
         payload, org_id, actor, correlation_id, causation_id, recorded_at, occurred_at \
         FROM events ORDER BY position",
    )
    .fetch(&mut conn);
    while let Some(row) = rows.try_next().await.unwrap() {
        bytes += row.get::<&str, _>(6).len() + row.get::<&str, _>(2).len();
    }
    std::hint::black_box(bytes);
    t.elapsed().as_secs_f64()
}

fn main() {
    let (total, rounds): (u64, usize) =
        (setting("BENCH_EVENTS", 500_000), setting("BENCH_ROUNDS", 3));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteEventStore::open(SqliteConfig::new(dir.path().join("org.db")))
            .await
            .unwrap();
        generate::generate(&sqlite, total).await;
        let head = sqlite.head().await.unwrap();
        let url = postgres::durable_cluster().database().await;
        let pg = PgEventStore::open(PgConfig::new(url.clone())).await.unwrap();
        let t = Instant::now();
        let mut after = 0;
        loop {
            let page = sqlite.read_all(after, 20_000).await.unwrap();
            let Some(last) = page.last() else { break };
            after = last.position;
            pg.restore(&page).await.unwrap();
        }
        sqlx::query("VACUUM ANALYZE events")
            .execute(&sqlx::PgPool::connect(&url).await.unwrap())
            .await
            .unwrap();
        println!(
            "{head} events of the bench organisation restored into PostgreSQL (fsync=on) in {:.1} s\n",
            t.elapsed().as_secs_f64()
        );
        let (mut raws, mut rebuilds, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..=rounds {
            let raw = head as f64 / raw_scan(&url).await;
            let t = Instant::now();
            let rebuilt = Projections::rebuild(pg.clone()).await.unwrap();
            let rate = head as f64 / t.elapsed().as_secs_f64();
            assert_eq!(rebuilt.position(), head);
            drop(rebuilt);
            if round == 0 {
                println!("warm-up: raw scan {raw:.0}/s, rebuild {rate:.0}/s (not counted)");
                continue;
            }
            println!("round {round}: raw scan {raw:.0}/s, rebuild {rate:.0}/s, ratio {:.2}", rate / raw);
            raws.push(raw);
            rebuilds.push(rate);
            ratios.push(rate / raw);
        }
        println!("\n| what (PostgreSQL, {head} events) | events/s (median of {rounds}) | vs raw scan |");
        println!("|---|---:|---:|");
        println!("| raw scan: every column, one connection, in position order | {:.0} | 1.00 |", median(&mut raws));
        println!(
            "| **rebuild** every view from 0 and persist them in PostgreSQL | {:.0} | {:.2} (median of the rounds' ratios) |",
            median(&mut rebuilds),
            median(&mut ratios)
        );
    });
}

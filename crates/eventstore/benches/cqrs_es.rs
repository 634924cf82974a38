//! `just bench` (issue 16): our stores against **cqrs-es** with its **postgres-es** and
//! **sqlite-es** repositories — the crates a Rust team would pick instead — appending the same
//! events with the same durability, side by side in one run, rounds alternating.
//!
//! Each writer owns its aggregates (`STREAMS` / writers of them) and appends one event at a
//! time to the next, with the version it expects: `ExpectedVersion::Exact` for ours, the next
//! `sequence` for cqrs-es (its primary key refuses a stale one) — optimistic concurrency on both
//! sides. The payload is the same JSON, the metadata the same fields (actor, correlation,
//! causation, organisation, business time).
//!
//! - PostgreSQL: a throw-away cluster with its durable defaults (`fsync=on`,
//!   `synchronous_commit=on`), a fresh database per measurement; `PgEventStore` against
//!   `PostgresEventRepository::persist` (one transaction per append, from a pool of 64).
//! - SQLite: a fresh file per measurement, WAL with `synchronous=FULL` for both;
//!   `SqliteEventStore` against `SqliteEventRepository::persist` (a pool of 8, waiting up to
//!   10 s for the write lock).
//!
//! `BENCH_SECS` (default 3), `BENCH_ROUNDS` (default 3). Run with
//! `cargo bench -p podledger-eventstore --features cqrs-es-comparison --bench cqrs_es`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{PersistedEventRepository as _, SerializedEvent};
use cqrs_es::{Aggregate, DomainEvent};
use podledger_eventstore::conformance::{event, write};
use podledger_eventstore::{
    EventStore, ExpectedVersion, NewEvent, PgConfig, PgEventStore, SqliteConfig, SqliteEventStore,
};
use serde::{Deserialize, Serialize};
use sqlx::Executor as _;

use baseline::{median, runtime, setting};

#[path = "support/baseline.rs"]
#[allow(dead_code)] // the SQLite group commit is the other write benches'
mod baseline;
#[path = "../tests/support/postgres.rs"]
#[allow(dead_code)] // the tests' part of it
mod postgres;

const STREAMS: u64 = 10_000;

/// The aggregate cqrs-es needs a type for; the bench appends through its repository only.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Stream;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Happened(serde_json::Value);

impl DomainEvent for Happened {
    fn event_type(&self) -> String {
        "TestHappened".into()
    }
    fn event_version(&self) -> String {
        "1".into()
    }
}

impl Aggregate for Stream {
    const TYPE: &'static str = "stream";
    type Command = ();
    type Event = Happened;
    type Error = std::io::Error;
    type Services = ();

    async fn handle(
        &mut self,
        (): Self::Command,
        (): &Self::Services,
        _sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        Ok(())
    }

    fn apply(&mut self, _event: Self::Event) {}
}

/// One of the stores compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    OursPg,
    CqrsPg,
    OursSqlite,
    CqrsSqlite,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Self::OursPg => "ours (PostgreSQL)",
            Self::CqrsPg => "cqrs-es + postgres-es",
            Self::OursSqlite => "ours (SQLite)",
            Self::CqrsSqlite => "cqrs-es + sqlite-es",
        }
    }
}

/// A store that appends one event to a stream at a version.
enum Sink {
    Ours(Arc<dyn EventStore>),
    PostgresEs(postgres_es::PostgresEventRepository),
    SqliteEs(sqlite_es::SqliteEventRepository),
}

impl Sink {
    /// Appends `e` as the event after `version` of `stream`.
    async fn put(&self, stream: &str, version: u64, e: NewEvent) {
        match self {
            Self::Ours(store) => {
                store
                    .append(write(stream, ExpectedVersion::Exact(version), vec![e]))
                    .await
                    .expect("append");
            }
            Self::PostgresEs(repo) => repo
                .persist::<Stream>(&[serialized(stream, version, &e)], None)
                .await
                .expect("persist"),
            Self::SqliteEs(repo) => repo
                .persist::<Stream>(&[serialized(stream, version, &e)], None)
                .await
                .expect("persist"),
        }
    }
}

/// Our event as cqrs-es stores it: the same payload, the same metadata fields.
fn serialized(stream: &str, version: u64, e: &NewEvent) -> SerializedEvent {
    let m = &e.metadata;
    SerializedEvent {
        aggregate_id: stream.to_owned(),
        sequence: (version + 1) as usize,
        aggregate_type: Stream::TYPE.to_owned(),
        event_type: e.event_type.clone(),
        event_version: e.schema_version.to_string(),
        payload: serde_json::from_str(&e.payload).expect("JSON payload"),
        metadata: serde_json::json!({
            "event_id": e.event_id.to_string(),
            "org_id": m.org_id.to_string(),
            "actor": m.actor,
            "correlation_id": m.correlation_id.to_string(),
            "causation_id": m.causation_id.map(|c| c.to_string()),
            "occurred_at": m.occurred_at.map(|t| t.to_rfc3339()),
        }),
    }
}

async fn sink(variant: Variant, dir: &std::path::Path, round: usize) -> Sink {
    match variant {
        Variant::OursPg => {
            let url = postgres::durable_cluster().database().await;
            Sink::Ours(Arc::new(
                PgEventStore::open(PgConfig::new(url)).await.expect("open"),
            ))
        }
        Variant::CqrsPg => {
            let url = postgres::durable_cluster().database().await;
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(64)
                .connect(&url)
                .await
                .expect("pool");
            pool.execute(
                "CREATE TABLE events (aggregate_type text NOT NULL, aggregate_id text NOT NULL, \
                 sequence bigint CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL, \
                 event_version text NOT NULL, payload json NOT NULL, metadata json NOT NULL, \
                 PRIMARY KEY (aggregate_type, aggregate_id, sequence)); \
                 CREATE TABLE snapshots (aggregate_type text NOT NULL, aggregate_id text NOT NULL, \
                 last_sequence bigint NOT NULL, current_snapshot bigint NOT NULL, \
                 payload json NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, last_sequence))",
            )
            .await
            .expect("postgres-es tables (its db/init.sql)");
            Sink::PostgresEs(postgres_es::PostgresEventRepository::new(pool))
        }
        Variant::OursSqlite => {
            let path = dir.join(format!("ours-{round}.db"));
            Sink::Ours(Arc::new(
                SqliteEventStore::open(SqliteConfig::new(path))
                    .await
                    .expect("open"),
            ))
        }
        Variant::CqrsSqlite => {
            use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
            let options = SqliteConnectOptions::new()
                .filename(dir.join(format!("cqrs-{round}.db")))
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10));
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await
                .expect("pool");
            pool.execute(
                "CREATE TABLE events (aggregate_type text NOT NULL, aggregate_id text NOT NULL, \
                 sequence integer CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL, \
                 event_version text NOT NULL, payload text NOT NULL, metadata text NOT NULL, \
                 PRIMARY KEY (aggregate_type, aggregate_id, sequence)) STRICT; \
                 CREATE TABLE snapshots (aggregate_type text NOT NULL, aggregate_id text NOT NULL, \
                 last_sequence integer NOT NULL, current_snapshot integer NOT NULL, \
                 payload text NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)) \
                 STRICT",
            )
            .await
            .expect("sqlite-es tables (its migration)");
            Sink::SqliteEs(sqlite_es::SqliteEventRepository::new(pool))
        }
    }
}

/// Events per second and p50/p99 latency (µs) from `writers` writers for `secs`.
async fn measure(sink: Arc<Sink>, writers: usize, secs: f64) -> (f64, u64, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let per_writer = (STREAMS / writers as u64).max(1);
    let tasks: Vec<_> = (0..writers as u64)
        .map(|w| {
            let (sink, stop) = (sink.clone(), stop.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut versions: HashMap<u64, u64> = HashMap::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let k = n % per_writer;
                    let version = versions.entry(k).or_default();
                    let stream = format!("w{w}-{k}");
                    let began = Instant::now();
                    sink.put(&stream, *version, event(n)).await;
                    latencies.push(began.elapsed().as_micros() as u64);
                    *version += 1;
                    n += 1;
                }
                latencies
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("writer"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    (latencies.len() as f64 / elapsed, at(0.5), at(0.99))
}

fn main() {
    let (secs, rounds): (f64, usize) = (setting("BENCH_SECS", 3.0), setting("BENCH_ROUNDS", 3));
    let dir = tempfile::tempdir().expect("temp dir");
    runtime().block_on(async {
        println!(
            "durable appends (PostgreSQL fsync=on, synchronous_commit=on; SQLite WAL, \
             synchronous=FULL); {secs} s per measurement, {rounds} rounds"
        );
        println!(
            "\n| writers | store | events/s (median) | p50 µs | p99 µs | ours / cqrs-es (median of rounds) |"
        );
        println!("|---:|---|---:|---:|---:|---:|");
        for writers in [1, 8, 64] {
            for pair in [
                [Variant::OursPg, Variant::CqrsPg],
                [Variant::OursSqlite, Variant::CqrsSqlite],
            ] {
                let mut rows: [Vec<(f64, u64, u64)>; 2] = [Vec::new(), Vec::new()];
                for round in 0..rounds {
                    let mut order = [0, 1];
                    order.rotate_left(round % 2);
                    for i in order {
                        let sink = Arc::new(sink(pair[i], dir.path(), round * 100 + writers).await);
                        rows[i].push(measure(sink, writers, secs).await);
                    }
                }
                let ratio = median(
                    &mut rows[0]
                        .iter()
                        .zip(&rows[1])
                        .map(|(ours, theirs)| ours.0 / theirs.0)
                        .collect::<Vec<_>>(),
                );
                for (i, variant) in pair.iter().enumerate() {
                    println!(
                        "| {writers} | {} | {:.0} | {:.0} | {:.0} | {} |",
                        variant.name(),
                        median(&mut rows[i].iter().map(|r| r.0).collect::<Vec<_>>()),
                        median(&mut rows[i].iter().map(|r| r.1 as f64).collect::<Vec<_>>()),
                        median(&mut rows[i].iter().map(|r| r.2 as f64).collect::<Vec<_>>()),
                        if i == 0 {
                            format!("{ratio:.2}")
                        } else {
                            "—".to_owned()
                        }
                    );
                }
            }
        }
    });
}

//! `just bench` (PostgreSQL appends, issue 16): durable single-event appends to 10,000 streams
//! with 1, 8 and 64 concurrent writers on a throw-away PostgreSQL cluster with its durable
//! defaults (`fsync=on`, `synchronous_commit=on`) — ours against raw INSERTs of the same rows on
//! the same server, side by side in one run, rounds alternating:
//!
//! - `ours`: `PgEventStore::append` — expected version, idempotency by event id, dense
//!   positions under the commit lock, `NOTIFY`, group commit;
//! - `raw-group`: the queued rows as one multi-row `INSERT` per transaction on one connection —
//!   the same group commit without any check, lock or notification;
//! - `raw-row`: one `INSERT` per transaction from a pool of connections.
//!
//! The raw variants insert the same rows (every column) into the same table, made by the
//! store's migrations with its indexes, so the ratio is what the store's checks, lock and
//! notification cost — not the schema.
//!
//! `BENCH_SECS` (default 3), `BENCH_ROUNDS` (default 3).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use podledger_eventstore::conformance::{event, write};
use podledger_eventstore::{EventStore, ExpectedVersion, NewEvent, PgConfig, PgEventStore};
use sqlx::Connection;
use sqlx::postgres::{PgConnection, PgPoolOptions};
use tokio::sync::{mpsc, oneshot};

use baseline::{median, runtime, setting};

#[path = "support/baseline.rs"]
#[allow(dead_code)] // the SQLite group commit is the other write benches'
mod baseline;
#[path = "../tests/support/postgres.rs"]
#[allow(dead_code)] // the tests' part of it
mod postgres;

const STREAMS: u64 = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Ours,
    RawGroup,
    RawRow,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Self::Ours => "ours",
            Self::RawGroup => "raw-group",
            Self::RawRow => "raw-row",
        }
    }
}

/// Every column of the store's `events` table for one event, as the raw variants insert it:
/// the same rows into the same table (its indexes included), without any check.
const RAW_INSERT: &str = "INSERT INTO events (position, event_id, stream_id, stream_version, \
    event_type, schema_version, payload, org_id, actor, correlation_id, causation_id, recorded_at, \
    occurred_at) SELECT * FROM UNNEST($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], \
    $5::text[], $6::int[], $7::text[], $8::uuid[], $9::text[], $10::uuid[], $11::uuid[], \
    $12::bigint[], $13::bigint[])";

/// Positions and stream versions for the raw variants, handed out in call order.
#[derive(Default)]
struct Numbering(std::sync::Mutex<(i64, std::collections::HashMap<String, i64>)>);

impl Numbering {
    fn next(&self, stream: &str) -> (i64, i64) {
        let mut n = self.0.lock().expect("numbering");
        n.0 += 1;
        let position = n.0;
        let version = n.1.entry(stream.to_owned()).or_default();
        *version += 1;
        (position, *version)
    }
}

/// `RAW_INSERT` of `rows` (stream, position, version, event).
fn raw_insert(
    rows: &[(String, i64, i64, NewEvent)],
) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let now = chrono::Utc::now().timestamp_micros();
    sqlx::query(RAW_INSERT)
        .bind(rows.iter().map(|r| r.1).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.3.event_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.2).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|r| r.3.event_type.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|r| r.3.schema_version as i32)
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|r| r.3.payload.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|r| r.3.metadata.org_id).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|r| r.3.metadata.actor.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|r| r.3.metadata.correlation_id)
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|r| r.3.metadata.causation_id)
                .collect::<Vec<_>>(),
        )
        .bind(vec![now; rows.len()])
        .bind(
            rows.iter()
                .map(|r| r.3.metadata.occurred_at.map(|t| t.timestamp_micros()))
                .collect::<Vec<_>>(),
        )
}

/// Something that stores one event durably.
#[async_trait::async_trait]
trait Sink: Send + Sync {
    async fn put(&self, stream: String, event: NewEvent);
}

#[async_trait::async_trait]
impl Sink for PgEventStore {
    async fn put(&self, stream: String, event: NewEvent) {
        self.append(write(&stream, ExpectedVersion::Any, vec![event]))
            .await
            .expect("append");
    }
}

/// One INSERT per transaction from a pool.
struct RawRow(sqlx::PgPool, Numbering);

#[async_trait::async_trait]
impl Sink for RawRow {
    async fn put(&self, stream: String, e: NewEvent) {
        let (position, version) = self.1.next(&stream);
        raw_insert(&[(stream, position, version, e)])
            .execute(&self.0)
            .await
            .expect("raw insert");
    }
}

/// The queued rows as one multi-row INSERT per transaction, on one connection.
struct RawGroup(mpsc::Sender<(String, NewEvent, oneshot::Sender<()>)>);

impl RawGroup {
    async fn start(url: &str) -> Self {
        let mut conn = PgConnection::connect(url).await.expect("connect");
        let (tx, mut rx) = mpsc::channel::<(String, NewEvent, oneshot::Sender<()>)>(4096);
        tokio::spawn(async move {
            let numbering = Numbering::default();
            let mut group = Vec::new();
            while rx.recv_many(&mut group, 1024).await > 0 {
                let (rows, replies): (Vec<_>, Vec<_>) = group
                    .drain(..)
                    .map(|(stream, event, reply)| {
                        let (position, version) = numbering.next(&stream);
                        ((stream, position, version, event), reply)
                    })
                    .unzip();
                let mut t = conn.begin().await.expect("begin");
                raw_insert(&rows)
                    .execute(&mut *t)
                    .await
                    .expect("raw group insert");
                t.commit().await.expect("commit");
                for reply in replies {
                    let _ = reply.send(());
                }
            }
        });
        Self(tx)
    }
}

#[async_trait::async_trait]
impl Sink for RawGroup {
    async fn put(&self, stream: String, event: NewEvent) {
        let (reply, done) = oneshot::channel();
        self.0.send((stream, event, reply)).await.expect("queue");
        done.await.expect("stored");
    }
}

/// Events per second and p50/p99 latency (µs) from `writers` writers for `secs`.
async fn measure(sink: Arc<dyn Sink>, writers: usize, secs: f64) -> (f64, u64, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers as u64)
        .map(|w| {
            let (sink, stop) = (sink.clone(), stop.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = w;
                while !stop.load(Ordering::Relaxed) {
                    // Streams spread by a multiplicative hash of a per-writer counter.
                    let stream = format!("s-{}", n.wrapping_mul(0x9E37_79B9) % STREAMS);
                    let began = Instant::now();
                    sink.put(stream, event(n)).await;
                    latencies.push(began.elapsed().as_micros() as u64);
                    n += writers as u64;
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

async fn sink(variant: Variant, url: String) -> Arc<dyn Sink> {
    match variant {
        Variant::Ours => Arc::new(PgEventStore::open(PgConfig::new(url)).await.expect("open")),
        // The raw variants write the store's own table, created by its migrations.
        Variant::RawGroup => {
            PgEventStore::migrate(&PgConfig::new(url.clone()))
                .await
                .expect("migrate");
            Arc::new(RawGroup::start(&url).await)
        }
        Variant::RawRow => {
            PgEventStore::migrate(&PgConfig::new(url.clone()))
                .await
                .expect("migrate");
            let pool = PgPoolOptions::new()
                .max_connections(64)
                .connect(&url)
                .await
                .expect("pool");
            Arc::new(RawRow(pool, Numbering::default()))
        }
    }
}

fn main() {
    let (secs, rounds): (f64, usize) = (setting("BENCH_SECS", 3.0), setting("BENCH_ROUNDS", 3));
    runtime().block_on(async {
        let cluster = postgres::durable_cluster();
        println!(
            "PostgreSQL with fsync=on, synchronous_commit=on; {secs} s per measurement, {rounds} rounds"
        );
        println!("\n| writers | variant | events/s (median) | p50 µs | p99 µs | ours / this (median of rounds) |");
        println!("|---:|---|---:|---:|---:|---:|");
        for writers in [1, 8, 64] {
            let variants = [Variant::Ours, Variant::RawGroup, Variant::RawRow];
            let mut rows: Vec<Vec<(f64, u64, u64)>> = vec![Vec::new(); 3];
            for round in 0..rounds {
                let mut order = variants;
                order.rotate_left(round % 3);
                for variant in order {
                    let url = cluster.database().await;
                    let sink = sink(variant, url).await;
                    let measured = measure(sink, writers, secs).await;
                    rows[variants.iter().position(|v| *v == variant).unwrap_or(0)]
                        .push(measured);
                }
            }
            for (i, variant) in variants.iter().enumerate() {
                let rate = median(&mut rows[i].iter().map(|r| r.0).collect::<Vec<_>>());
                let ratio = median(
                    &mut rows[0]
                        .iter()
                        .zip(&rows[i])
                        .map(|(ours, this)| ours.0 / this.0)
                        .collect::<Vec<_>>(),
                );
                println!(
                    "| {writers} | {} | {rate:.0} | {:.0} | {:.0} | {} |",
                    variant.name(),
                    median(&mut rows[i].iter().map(|r| r.1 as f64).collect::<Vec<_>>()),
                    median(&mut rows[i].iter().map(|r| r.2 as f64).collect::<Vec<_>>()),
                    if *variant == Variant::Ours {
                        "—".to_owned()
                    } else {
                        format!("{ratio:.2}")
                    }
                );
            }
        }
    });
}

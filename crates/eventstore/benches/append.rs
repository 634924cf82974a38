//! `just bench`: durable single-event appends to Zipf-distributed streams with 1, 8 and 64
//! concurrent writers — ours against raw INSERTs of the same rows in the same durability mode
//! (WAL, `synchronous=FULL`), side by side in one run — then the read-all scan rate.
//!
//! Baselines:
//! - `raw-row`: one INSERT per transaction from a pool of connections (no group commit);
//! - `raw-group`: plain multi-row INSERTs of the queued rows, one transaction per group, on
//!   one connection — the same group commit as ours without any check. The ratio against it is
//!   what our checks (expected version, idempotency, positions) and plumbing cost.
//!
//! `BENCH_SECS` (default 3) sets each measurement's length; `BENCH_ROUNDS` (default 3) how many
//! alternating rounds the medians come from.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use podledger_eventstore::conformance::{event, write};
use podledger_eventstore::sqlite::MIGRATOR;
use podledger_eventstore::{EventStore, ExpectedVersion, NewEvent, SqliteConfig, SqliteEventStore};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, QueryBuilder, Sqlite, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

const STREAMS: usize = 10_000;
const ZIPF_S: f64 = 1.0;

struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let weights: Vec<f64> = (1..=n).map(|k| 1.0 / (k as f64).powf(s)).collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let cdf = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        Self { cdf }
    }

    fn sample(&self, rng: &mut u64) -> usize {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        let u = (*rng >> 11) as f64 / (1u64 << 53) as f64;
        self.cdf.partition_point(|c| *c < u).min(self.cdf.len() - 1)
    }
}

fn payload_event(n: u64) -> NewEvent {
    let mut e = event(n);
    e.payload = format!(
        r#"{{"itemId":"{}","title":"Spring webinar landing page","outputCategory":"landing page","estimate":{},"acceptanceCriteria":"Live on /spring with tracking"}}"#,
        uuid::Uuid::now_v7(),
        n % 13
    );
    e
}

fn options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(30))
        .disable_statement_logging()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Ours,
    RawGroup,
    RawRow,
}

impl Variant {
    const fn name(self) -> &'static str {
        match self {
            Self::Ours => "ours",
            Self::RawGroup => "raw-group",
            Self::RawRow => "raw-row",
        }
    }
}

/// One appender interface for the three variants.
#[derive(Clone)]
enum Appender {
    Ours(Arc<SqliteEventStore>),
    RawGroup(mpsc::Sender<(String, NewEvent, oneshot::Sender<()>)>),
    RawRow(
        sqlx::SqlitePool,
        Arc<std::sync::Mutex<HashMap<String, i64>>>,
    ),
}

impl Appender {
    async fn append(&self, stream: String, e: NewEvent) {
        match self {
            Self::Ours(store) => {
                store
                    .append(write(&stream, ExpectedVersion::Any, vec![e]))
                    .await
                    .unwrap();
            }
            Self::RawGroup(tx) => {
                let (reply, done) = oneshot::channel();
                tx.send((stream, e, reply)).await.unwrap();
                done.await.unwrap();
            }
            Self::RawRow(pool, versions) => {
                // Version bookkeeping in memory, position by INTEGER PRIMARY KEY: the cheapest
                // correct single-row insert.
                let version = {
                    let mut v = versions.lock().unwrap();
                    let v = v.entry(stream.clone()).or_insert(0);
                    *v += 1;
                    *v
                };
                sqlx::query(
                    "INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, payload, \
                     org_id, actor, correlation_id, causation_id, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                )
                .bind(e.event_id)
                .bind(&stream)
                .bind(version)
                .bind(&e.event_type)
                .bind(i64::from(e.schema_version))
                .bind(&e.payload)
                .bind(e.metadata.org_id)
                .bind(&e.metadata.actor)
                .bind(e.metadata.correlation_id)
                .bind(e.metadata.causation_id)
                .bind(0_i64)
                .execute(pool)
                .await
                .unwrap();
            }
        }
    }
}

async fn raw_group_writer(
    path: std::path::PathBuf,
    mut rx: mpsc::Receiver<(String, NewEvent, oneshot::Sender<()>)>,
) {
    let mut conn = SqliteConnection::connect_with(&options(&path))
        .await
        .unwrap();
    let mut versions: HashMap<String, i64> = HashMap::new();
    let mut position: i64 = 0;
    let mut group = Vec::new();
    while rx.recv_many(&mut group, 1024).await > 0 {
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .unwrap();
        let rows: Vec<(i64, i64, &String, &NewEvent)> = group
            .iter()
            .map(|(stream, e, _)| {
                let v = versions.entry(stream.clone()).or_insert(0);
                *v += 1;
                position += 1;
                (position, *v, stream, e)
            })
            .collect();
        // One multi-row INSERT per group (1,024 rows × 12 values stays under SQLite's limit).
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (position, event_id, stream_id, stream_version, event_type, schema_version, \
             payload, org_id, actor, correlation_id, causation_id, recorded_at) ",
        );
        qb.push_values(&rows, |mut b, (pos, v, stream, e)| {
            b.push_bind(*pos)
                .push_bind(e.event_id)
                .push_bind(stream.as_str())
                .push_bind(*v)
                .push_bind(e.event_type.as_str())
                .push_bind(i64::from(e.schema_version))
                .push_bind(e.payload.as_str())
                .push_bind(e.metadata.org_id)
                .push_bind(e.metadata.actor.as_str())
                .push_bind(e.metadata.correlation_id)
                .push_bind(e.metadata.causation_id)
                .push_bind(0_i64);
        });
        qb.build()
            .persistent(false)
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("COMMIT").execute(&mut conn).await.unwrap();
        for (_, _, reply) in group.drain(..) {
            let _ = reply.send(());
        }
    }
}

async fn appender(variant: Variant, dir: &Path, writers: usize) -> Appender {
    let path = dir.join(format!("{}-{writers}.db", variant.name()));
    match variant {
        Variant::Ours => Appender::Ours(Arc::new(
            SqliteEventStore::open(SqliteConfig::new(&path))
                .await
                .unwrap(),
        )),
        Variant::RawGroup => {
            let mut conn = SqliteConnection::connect_with(&options(&path))
                .await
                .unwrap();
            MIGRATOR.run(&mut conn).await.unwrap();
            conn.close().await.unwrap();
            let (tx, rx) = mpsc::channel(4096);
            tokio::spawn(raw_group_writer(path, rx));
            Appender::RawGroup(tx)
        }
        Variant::RawRow => {
            let pool = SqlitePoolOptions::new()
                .max_connections(writers.min(16) as u32)
                .connect_with(options(&path))
                .await
                .unwrap();
            MIGRATOR.run(&pool).await.unwrap();
            Appender::RawRow(pool, Arc::default())
        }
    }
}

struct Measured {
    events_per_s: f64,
    p50_us: u64,
    p99_us: u64,
}

async fn measure(
    variant: Variant,
    dir: &Path,
    writers: usize,
    secs: f64,
    zipf: &Arc<Zipf>,
) -> Measured {
    let app = appender(variant, dir, writers).await;
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let app = app.clone();
            let zipf = Arc::clone(zipf);
            tokio::spawn(async move {
                let mut rng = 0x9E37_79B9_7F4A_7C15_u64 ^ ((w as u64 + 1) * 0x2545_F491_4F6C_DD1D);
                let mut latencies = Vec::new();
                let mut n = 0;
                while Instant::now() < deadline {
                    let stream = format!("pod-{}", zipf.sample(&mut rng));
                    let e = payload_event(n);
                    n += 1;
                    let t = Instant::now();
                    app.append(stream, e).await;
                    latencies.push(t.elapsed().as_micros() as u64);
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1];
    Measured {
        events_per_s: all.len() as f64 / elapsed,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let secs: f64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let zipf = Arc::new(Zipf::new(STREAMS, ZIPF_S));
        let base = std::env::var("BENCH_DIR").map_or_else(|_| std::env::temp_dir(), Into::into);
        println!(
            "append benchmark: {STREAMS} Zipf(s={ZIPF_S}) streams, single-event appends, WAL + synchronous=FULL, \
             {secs} s per measurement, median of {rounds} alternating rounds\n"
        );
        println!("| writers | variant | events/s | p50 µs | p99 µs | ours / this |");
        println!("|---:|---|---:|---:|---:|---:|");
        let mut scan_source = None;
        for writers in std::env::var("BENCH_WRITERS").map_or_else(|_| vec![1usize, 8, 64], |w| w.split(',').map(|x| x.parse().unwrap()).collect()) {
            let mut results: HashMap<&str, Vec<Measured>> = HashMap::new();
            for round in 0..rounds {
                // Alternate the order so that drift on a shared machine hits every variant.
                let order = if round % 2 == 0 {
                    [Variant::Ours, Variant::RawGroup, Variant::RawRow]
                } else {
                    [Variant::RawRow, Variant::RawGroup, Variant::Ours]
                };
                for variant in order {
                    let dir = tempfile::tempdir_in(&base).unwrap();
                    let m = measure(variant, dir.path(), writers, secs, &zipf).await;
                    results.entry(variant.name()).or_default().push(m);
                    if variant == Variant::Ours && writers == 64 && round == 0 {
                        scan_source = Some(dir);
                    }
                }
            }
            let ours = median(results["ours"].iter().map(|m| m.events_per_s).collect());
            for variant in [Variant::Ours, Variant::RawGroup, Variant::RawRow] {
                let ms = &results[variant.name()];
                let eps = median(ms.iter().map(|m| m.events_per_s).collect());
                let p50 = median(ms.iter().map(|m| m.p50_us as f64).collect());
                let p99 = median(ms.iter().map(|m| m.p99_us as f64).collect());
                let ratio = if variant == Variant::Ours { "—".to_owned() } else { format!("{:.2}", ours / eps) };
                println!("| {writers} | {} | {eps:.0} | {p50:.0} | {p99:.0} | {ratio} |", variant.name());
            }
        }
        if let Some(dir) = scan_source {
            let store = SqliteEventStore::open(SqliteConfig::new(dir.path().join("ours-64.db"))).await.unwrap();
            let mut scans = Vec::new();
            let mut total = 0;
            for _ in 0..rounds {
                let started = Instant::now();
                let (mut after, mut n) = (0, 0);
                loop {
                    let page = store.read_all(after, 1_000).await.unwrap();
                    let Some(last) = page.last() else { break };
                    after = last.position;
                    n += page.len();
                }
                total = n;
                scans.push(n as f64 / started.elapsed().as_secs_f64());
            }
            println!("\nread_all scan (pages of 1,000, {total} events): {:.0} events/s (median of {rounds})", median(scans));
        }
    });
}

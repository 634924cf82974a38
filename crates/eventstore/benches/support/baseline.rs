//! The baseline the write benches compare with, and their knobs: the store's own group commit
//! of single-event appends from 64 writers to their own streams. Shared by the hot-stream bench
//! here and the server's mixed-load and import benches (`#[path]`-included: benches cannot share
//! a crate).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use podledger_eventstore::conformance::{event, write};
use podledger_eventstore::{EventStore, ExpectedVersion, SqliteConfig, SqliteEventStore};

/// Concurrent writers of every write bench.
pub const WRITERS: usize = 64;

/// The middle value (sorts `values`).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A numeric setting from the environment, or its default.
pub fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The runtime of the write benches: two workers, like the server's.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Single-event appends per second from [`WRITERS`] writers to their own streams, for `secs`,
/// in a fresh store under `dir`.
pub async fn group_commit(dir: &std::path::Path, round: usize, secs: f64) -> f64 {
    let store = SqliteEventStore::open(SqliteConfig::new(dir.join(format!("append-{round}.db"))))
        .await
        .unwrap();
    let store: Arc<dyn EventStore> = Arc::new(store);
    let appended = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS as u64)
        .map(|w| {
            let (store, appended, stop) = (store.clone(), appended.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    store
                        .append(write(
                            &format!("s-{w}"),
                            ExpectedVersion::Any,
                            vec![event(n)],
                        ))
                        .await
                        .unwrap();
                    appended.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    appended.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

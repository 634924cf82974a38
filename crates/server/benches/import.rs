//! `just bench` (import): `podledger import` throughput — the demo file (943 commands) for
//! `BENCH_ORGS` (default 40) organisations, each its own header — against the store's own
//! group-commit rate for single-event appends from 64 concurrent writers, side by side in one
//! run on the same disk, both `synchronous=FULL` (what `import` uses). Medians of
//! `BENCH_ROUNDS` (default 3) alternating rounds.

#[path = "../../eventstore/benches/support/baseline.rs"]
#[allow(dead_code)]
mod baseline;

use std::sync::Arc;
use std::time::Instant;

use podledger_eventstore::conformance::{event, write};
use podledger_eventstore::{EventStore, ExpectedVersion, SqliteConfig, SqliteEventStore};
use podledger_server::import::{Importer, Options};

/// The demo file once per organisation.
fn file(orgs: usize) -> String {
    let demo = podledger_server::demo::FILE;
    let (header, body) = demo.split_once('\n').expect("a header");
    let mut out = String::with_capacity(demo.len() * orgs);
    for n in 0..orgs {
        out.push_str(&header.replace("@northwind", &format!("@bench {n}")));
        out.push('\n');
        out.push_str(body);
    }
    out
}

/// Imports `text` into a fresh store; (events, events per second).
async fn import(dir: &std::path::Path, round: usize, text: &str) -> (u64, f64) {
    let store = SqliteEventStore::open(SqliteConfig::new(dir.join(format!("import-{round}.db"))))
        .await
        .unwrap();
    let started = Instant::now();
    let summary = Importer::new(Arc::new(store), Options::default())
        .import(text, |_| {})
        .await
        .unwrap();
    (
        summary.events,
        summary.events as f64 / started.elapsed().as_secs_f64(),
    )
}

/// `events` single-event appends from 64 writers to a fresh store; events per second.
async fn group_commit(dir: &std::path::Path, round: usize, events: u64) -> f64 {
    let store = SqliteEventStore::open(SqliteConfig::new(dir.join(format!("append-{round}.db"))))
        .await
        .unwrap();
    let store: Arc<dyn EventStore> = Arc::new(store);
    let per_writer = events / 64;
    let started = Instant::now();
    let writers: Vec<_> = (0..64u64)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in 0..per_writer {
                    store
                        .append(write(
                            &format!("s-{w}-{}", n % 100),
                            ExpectedVersion::Any,
                            vec![event(n)],
                        ))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    (per_writer * 64) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let orgs: usize = baseline::setting("BENCH_ORGS", 40);
    let rounds: usize = baseline::setting("BENCH_ROUNDS", 3);
    let rt = baseline::runtime();
    let dir = tempfile::tempdir().unwrap();
    let text = file(orgs);
    let (mut imported, mut appended, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut events = 0;
    rt.block_on(async {
        for round in 0..rounds {
            let (n, import_rate) = import(dir.path(), round, &text).await;
            events = n;
            let append_rate = group_commit(dir.path(), round, n).await;
            println!(
                "round {round}: import {import_rate:.0} events/s, group commit {append_rate:.0} events/s, ratio {:.2}",
                import_rate / append_rate
            );
            imported.push(import_rate);
            appended.push(append_rate);
            ratios.push(import_rate / append_rate);
        }
    });
    println!(
        "\n| {events} events ({orgs} organisations × the demo file), median of {rounds} | events/s | vs group commit |"
    );
    println!("|---|---:|---:|");
    println!(
        "| store group commit, single-event appends, 64 writers | {:.0} | 1.00 |",
        baseline::median(&mut appended)
    );
    println!(
        "| `podledger import` (one organisation after another, lines in order) | {:.0} | {:.2} (median of the rounds' ratios) |",
        baseline::median(&mut imported),
        baseline::median(&mut ratios)
    );
}

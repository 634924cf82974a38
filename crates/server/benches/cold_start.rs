//! `just bench` (cold start): `podledger serve` started as a process on the bench organisation
//! of `BENCH_EVENTS` (default 1,000,000) events, until it answers `/readyz` with 200 — with the
//! views persisted (what every restart after the first finds), and, side by side in the same
//! run, with no persisted views (a first start, or one after `podledger rebuild` was skipped):
//! a fold of the whole log. Each figure is the median of `BENCH_ROUNDS` (default 5) processes:
//! the server's own log (`ready (/readyz)`, from `main` to ready) and the wall clock from the
//! spawn to the first 200 from `/readyz` seen by a poller outside.

#[path = "../../projections/benches/support/generate.rs"]
#[allow(dead_code)]
mod generate;

#[path = "../../eventstore/benches/support/baseline.rs"]
#[allow(dead_code)]
mod baseline;

use std::io::BufRead as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use podledger_eventstore::{EventStore as _, SqliteConfig, SqliteEventStore};
use podledger_projections::Projections;

/// One start of the binary on `db`: (ms the server logged from start to ready, ms from the
/// spawn to a 200 from `/readyz`). Stopped with SIGTERM afterwards.
fn start_once(db: &std::path::Path) -> (f64, f64) {
    let spawned = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_podledger"))
        .args([
            "--log-format",
            "json",
            "--database-url",
            db.to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--jwt-secret",
            "cold-start-bench-secret-cold-start",
        ])
        .env("PODLEDGER_LOG", "info")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    let mut logged = None;
    let mut polled = None;
    for line in stderr.lines() {
        let line = line.unwrap();
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if let Some(a) = json["fields"]["addr"].as_str() {
            addr = Some(a.to_owned());
            // Poll /readyz from outside until it answers 200.
            let a = a.to_owned();
            loop {
                if let Ok(mut s) = std::net::TcpStream::connect(&a) {
                    use std::io::{Read as _, Write as _};
                    let _ = s.write_all(
                        format!("GET /readyz HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\n\r\n")
                            .as_bytes(),
                    );
                    let mut answer = String::new();
                    let _ = s.read_to_string(&mut answer);
                    if answer.starts_with("HTTP/1.1 200") {
                        polled = Some(spawned.elapsed().as_secs_f64() * 1_000.0);
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        if json["fields"]["message"] == "ready (/readyz)" {
            logged = json["fields"]["since_start_ms"].as_f64();
            break;
        }
    }
    assert!(addr.is_some(), "the server never listened");
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    child.wait().unwrap();
    (logged.expect("a ready log line"), polled.unwrap())
}

fn main() {
    let total: u64 = baseline::setting("BENCH_EVENTS", 1_000_000);
    let rounds: usize = baseline::setting("BENCH_ROUNDS", 5);
    let rt = baseline::runtime();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let head = rt.block_on(async {
        let store = SqliteEventStore::open(SqliteConfig::new(&db))
            .await
            .unwrap();
        let t = Instant::now();
        generate::generate(&store, total).await;
        let head = store.head().await.unwrap();
        println!(
            "generated {head} events in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        head
    });
    let persisted_views = |persist: bool| {
        rt.block_on(async {
            let store = SqliteEventStore::open(SqliteConfig::new(&db))
                .await
                .unwrap();
            if persist {
                // `podledger rebuild`: every view persisted at the head.
                Projections::rebuild(store).await.unwrap();
            } else {
                podledger_eventstore::Backend::clear_views(&store)
                    .await
                    .unwrap();
            }
        });
    };
    let mut table = Vec::new();
    for persist in [true, false] {
        persisted_views(persist);
        let (mut logged, mut polled) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            if !persist && round > 0 {
                // Each start persists what it folded: clear again so every round folds all.
                persisted_views(false);
            }
            let (l, p) = start_once(&db);
            println!(
                "{} round {round}: ready after {l:.0} ms (logged), {p:.0} ms from spawn",
                if persist {
                    "persisted views"
                } else {
                    "no persisted views"
                }
            );
            logged.push(l);
            polled.push(p);
        }
        table.push((
            persist,
            baseline::median(&mut logged),
            baseline::median(&mut polled),
        ));
    }
    println!(
        "\n| cold start of `podledger serve`, {head} events, median of {rounds} | logged: start to ready | spawn to first 200 from /readyz |"
    );
    println!("|---|---:|---:|");
    for (persist, logged, polled) in &table {
        println!(
            "| {} | {logged:.0} ms | {polled:.0} ms |",
            if *persist {
                "views persisted (every restart)"
            } else {
                "no views persisted (whole log folded)"
            }
        );
    }
    println!(
        "ratio, persisted / whole fold (spawn to 200): {:.3}",
        table[0].2 / table[1].2
    );
}

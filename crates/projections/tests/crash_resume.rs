//! A crash never applies an event twice or skips one: a child process appends commands and
//! projects them, persisting every few milliseconds; the parent SIGKILLs it at a random moment
//! (possibly mid-persist), restarts the projections from what was persisted, and checks that
//! they equal a rebuild from position 0.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use common::World;
use podledger_eventstore::{EventStore, SqliteConfig, SqliteEventStore};
use podledger_projections::{ProjectionOptions, Projections};

const CHILD_ENV: &str = "PODLEDGER_PROJECTION_CHILD_DIR";

/// The child: builds a world in the given directory and keeps creating sprint history, with the
/// projections persisting every 5 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of projections_resume_exactly_after_sigkill"]
async fn projection_child() {
    let dir = std::env::var(CHILD_ENV).expect("run by the crash test");
    let w = World::in_dir(dir.as_ref()).await;
    let fast = Projections::start_with(
        w.store.clone(),
        ProjectionOptions {
            flush_every: Duration::from_millis(5),
            ..ProjectionOptions::default()
        },
    )
    .await
    .unwrap();
    loop {
        let (_, closed) = w.worked_example().await;
        if let Some(p) = closed.last_position {
            fast.wait_for(p, Duration::from_secs(10)).await.unwrap();
        }
        println!("CYCLE {}", fast.position());
    }
}

fn random_ms(below: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    (u64::from(nanos) * 2_654_435_761) % below
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projections_resume_exactly_after_sigkill() {
    let cycles: u32 = std::env::var("CRASH_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    for cycle in 0..cycles {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "projection_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(500 + random_ms(1_000)));
        child.kill().unwrap();
        child.wait().unwrap();

        let store = SqliteEventStore::open(SqliteConfig::new(dir.path().join("w.db")))
            .await
            .unwrap();
        podledger_eventstore::Backend::check(&store).await.unwrap();
        let head = store.head().await.unwrap();
        // Resume through the subscription, or (odd cycles) by catching up on every core from
        // the persisted views.
        let options = ProjectionOptions {
            catch_up_from: if cycle % 2 == 0 { u64::MAX } else { 1 },
            ..ProjectionOptions::default()
        };
        let resumed = Projections::start_with(store.clone(), options)
            .await
            .unwrap();
        let checkpoint = resumed.position();
        assert!(
            checkpoint <= head,
            "cycle {cycle}: checkpoint beyond the head"
        );
        resumed
            .wait_for(head, Duration::from_secs(30))
            .await
            .unwrap();
        let rebuilt = Projections::rebuild(store.clone()).await.unwrap();
        assert_eq!(
            resumed.snapshot(),
            rebuilt.snapshot(),
            "cycle {cycle}: resuming from checkpoint {checkpoint} differs from a rebuild to {head}"
        );
        eprintln!("cycle {cycle}: resumed from {checkpoint} of {head} events, equal to a rebuild");
    }
}

//! Nothing acknowledged is lost: a child process appends from many tasks and prints each
//! acknowledged append; the parent SIGKILLs it at a random moment, reopens the store, and checks
//! that every acknowledged event is there exactly once, at its acknowledged position, in order,
//! and that `PRAGMA integrity_check` passes. `CRASH_CYCLES` sets the number of cycles
//! (default 20; `just soak` runs 100).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use podledger_eventstore::conformance::{event, write};
use podledger_eventstore::{EventStore, ExpectedVersion, SqliteConfig, SqliteEventStore};
use uuid::Uuid;

const CHILD_ENV: &str = "PODLEDGER_CRASH_CHILD_DB";
const WRITERS: u64 = 32;

/// The child: appends forever from many tasks, printing `ACK <position> <stream> <version>
/// <event-id>` after each acknowledged append. Run only by the parent below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of acknowledged_appends_survive_sigkill"]
async fn crash_child() {
    let path = std::env::var(CHILD_ENV).expect("run by the crash test");
    let store = Arc::new(
        SqliteEventStore::open(SqliteConfig::new(path))
            .await
            .unwrap(),
    );
    let tasks: Vec<_> = (0..WRITERS)
        .map(|task| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0u64.. {
                    let stream = format!("crash-{}", (task + i) % 8);
                    let events = vec![event(i), event(i)];
                    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
                    let outcome = store
                        .append(write(&stream, ExpectedVersion::Any, events))
                        .await
                        .unwrap();
                    let version = outcome.stream_versions[0].1;
                    // One line per event; println! locks stdout, so lines never interleave.
                    println!(
                        "ACK {} {stream} {} {}",
                        outcome.first_position,
                        version - 1,
                        ids[0]
                    );
                    println!(
                        "ACK {} {stream} {} {}",
                        outcome.last_position, version, ids[1]
                    );
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

struct Ack {
    position: u64,
    stream: String,
    version: u64,
}

fn random_below(n: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let mut x = u64::from(nanos) ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x % n
}

async fn one_cycle(path: &std::path::Path, cycle: u32) -> usize {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let kill_after = Duration::from_millis(50 + random_below(400));
    let (first_ack_tx, first_ack) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut acks = HashMap::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let mut parts = line.split_whitespace();
            if parts.next() != Some("ACK") {
                continue;
            }
            let (Some(pos), Some(stream), Some(version), Some(id)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                continue; // a line cut short by the kill was never fully acknowledged
            };
            let (Ok(position), Ok(version), Ok(id)) =
                (pos.parse(), version.parse(), id.parse::<Uuid>())
            else {
                continue;
            };
            if acks.is_empty() {
                let _ = first_ack_tx.send(());
            }
            acks.insert(
                id,
                Ack {
                    position,
                    stream: stream.to_owned(),
                    version,
                },
            );
        }
        acks
    });
    // Kill at a random moment while the child is writing: time from its first acknowledgement,
    // since opening a store after the previous kill (WAL recovery) takes a varying while.
    let started = first_ack.recv_timeout(Duration::from_secs(60));
    std::thread::sleep(kill_after);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let acks = reader.join().unwrap();
    assert!(
        started.is_ok() && !acks.is_empty(),
        "cycle {cycle}: the child acknowledged nothing within a minute"
    );

    let store = SqliteEventStore::open(SqliteConfig::new(path))
        .await
        .unwrap();
    podledger_eventstore::Backend::check(&store).await.unwrap();
    let head = store.head().await.unwrap();
    let all = store.read_all(0, usize::MAX).await.unwrap();
    assert_eq!(
        all.len() as u64,
        head,
        "cycle {cycle}: positions have a gap"
    );
    let mut by_id = HashMap::new();
    let mut versions: BTreeMap<&str, u64> = BTreeMap::new();
    for (i, e) in all.iter().enumerate() {
        assert_eq!(
            e.position,
            i as u64 + 1,
            "cycle {cycle}: positions out of order"
        );
        assert!(
            by_id.insert(e.event_id, e).is_none(),
            "cycle {cycle}: event stored twice"
        );
        let v = versions.entry(e.stream.as_str()).or_default();
        *v += 1;
        assert_eq!(
            e.stream_version, *v,
            "cycle {cycle}: stream versions out of order"
        );
    }
    for (id, ack) in &acks {
        let stored = by_id
            .get(id)
            .unwrap_or_else(|| panic!("cycle {cycle}: acknowledged event {id} was lost"));
        assert_eq!(stored.position, ack.position, "cycle {cycle}: {id} moved");
        assert_eq!(stored.stream, ack.stream);
        assert_eq!(stored.stream_version, ack.version);
    }
    acks.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_appends_survive_sigkill() {
    let cycles: u32 = std::env::var("CRASH_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let mut total = 0;
    for cycle in 0..cycles {
        total += one_cycle(&path, cycle).await;
    }
    eprintln!("{cycles} SIGKILL cycles, {total} acknowledged events, none lost");
    assert!(total > 0, "no append was ever acknowledged");
}

//! The PostgreSQL backend runs the whole conformance suite on a throw-away cluster (one
//! database per case), plus what only a shared database can show: two stores on one database,
//! as two replicas would be, keep positions dense and see each other's commits live; and no
//! reader skips an event that commits after a higher position was visible.

use std::sync::Arc;

use podledger_eventstore::{EventStore, PgConfig, PgEventStore};

#[path = "support/postgres.rs"]
mod postgres;

async fn fresh() -> ((), podledger_eventstore::SharedBackend) {
    let url = postgres::cluster().database().await;
    let store = PgEventStore::open(PgConfig::new(url)).await.unwrap();
    ((), Arc::new(store))
}

podledger_eventstore::conformance_suite!(fresh);

/// Sixteen stores on one database — sixteen processes' writers — each holding its transactions
/// open for a random time before committing, while a subscription reads from the start: the
/// reader gets every event once, in dense positions, although writers commit concurrently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reader_skips_an_event_that_commits_after_a_higher_position_was_visible() {
    use futures_util::StreamExt;
    use podledger_eventstore::ExpectedVersion;
    use podledger_eventstore::conformance::{event, write};

    const WRITERS: usize = 16;
    const APPENDS: usize = 250;
    const EVENTS_PER_APPEND: u64 = 50;
    let total = WRITERS * APPENDS * EVENTS_PER_APPEND as usize;
    assert!(total >= 200_000);
    let url = postgres::cluster().database().await;
    let reader = PgEventStore::open(PgConfig::new(url.clone()))
        .await
        .unwrap();
    let mut feed = reader.subscribe(0);
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let url = url.clone();
            tokio::spawn(async move {
                let store = PgEventStore::open(PgConfig {
                    delay_before_commit: Some(std::time::Duration::from_millis(2)),
                    readers: 2,
                    ..PgConfig::new(url)
                })
                .await
                .unwrap();
                for a in 0..APPENDS {
                    let events = (0..EVENTS_PER_APPEND).map(event).collect();
                    store
                        .append(write(
                            &format!("s-{w}-{a}"),
                            ExpectedVersion::NoStream,
                            events,
                        ))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut expected = 1;
    while expected <= total as u64 {
        let event = tokio::time::timeout(std::time::Duration::from_secs(60), feed.next())
            .await
            .expect("the feed stalled")
            .expect("the feed ended")
            .unwrap();
        assert_eq!(event.position, expected, "skipped or repeated a position");
        assert!(seen.insert(event.event_id), "an event twice");
        expected += 1;
    }
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(reader.head().await.unwrap(), total as u64);
}

/// Two stores on one database, as two replicas: a subscriber on one gets what the other
/// appends, live (woken by the other's notification, or at worst by its poll).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_on_one_replica_gets_what_another_appends() {
    use futures_util::StreamExt;
    use podledger_eventstore::ExpectedVersion;
    use podledger_eventstore::conformance::{event, write};

    let url = postgres::cluster().database().await;
    let (a, b) = (
        PgEventStore::open(PgConfig::new(url.clone()))
            .await
            .unwrap(),
        PgEventStore::open(PgConfig::new(url)).await.unwrap(),
    );
    let mut feed = a.subscribe(0);
    for n in 1..=3 {
        let written = b
            .append(write("s", ExpectedVersion::Any, vec![event(n)]))
            .await
            .unwrap();
        let got = tokio::time::timeout(std::time::Duration::from_secs(10), feed.next())
            .await
            .expect("live delivery")
            .unwrap()
            .unwrap();
        assert_eq!(got.position, written.last_position);
    }
}

#[tokio::test]
async fn stored_events_can_be_neither_updated_deleted_nor_truncated() {
    use podledger_eventstore::ExpectedVersion;
    use podledger_eventstore::conformance::{event, write};

    let url = postgres::cluster().database().await;
    let store = PgEventStore::open(PgConfig::new(url)).await.unwrap();
    store
        .append(write("s", ExpectedVersion::Any, vec![event(1)]))
        .await
        .unwrap();
    for statement in [
        "UPDATE events SET payload = '{}'",
        "DELETE FROM events",
        "TRUNCATE events",
    ] {
        let refused = sqlx::query(statement)
            .execute(store.reader_pool())
            .await
            .unwrap_err();
        assert!(
            refused.to_string().contains("append-only"),
            "{statement}: {refused}"
        );
    }
    assert_eq!(store.head().await.unwrap(), 1);
}

/// A writer alone on its database commits on the fast path (one statement per group, from what
/// it remembers); after another process's append it re-reads once, then is fast again; and a
/// condition on a stream it does not remember is always checked against the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_alone_commits_on_the_fast_path_and_rereads_after_another_process_writes() {
    use podledger_eventstore::conformance::{event, write};
    use podledger_eventstore::{Backend as _, ExpectedVersion, StoreError, StreamWrite};
    let url = postgres::cluster().database().await;
    let a = PgEventStore::open(PgConfig::new(url.clone()))
        .await
        .unwrap();
    let b = PgEventStore::open(PgConfig::new(url)).await.unwrap();
    let checked = |s: &PgEventStore| s.metrics().checked_commits.get();
    for n in 0..20 {
        a.append(write("a", ExpectedVersion::Exact(n), vec![event(n)]))
            .await
            .unwrap();
    }
    assert_eq!(checked(&a), 0, "new and remembered streams need no re-read");
    b.append(write("b", ExpectedVersion::NoStream, vec![event(0)]))
        .await
        .unwrap();
    a.append(write("a", ExpectedVersion::Exact(20), vec![event(20)]))
        .await
        .unwrap();
    assert_eq!(checked(&a), 1, "B's append moved the head: A re-reads once");
    a.append(write("a", ExpectedVersion::Exact(21), vec![event(21)]))
        .await
        .unwrap();
    assert_eq!(checked(&a), 1, "and is fast again");
    // A condition on B's stream, which A never wrote: checked, and refused when stale.
    let stale = a
        .append(vec![
            StreamWrite {
                stream: "b".into(),
                expected: ExpectedVersion::NoStream,
                events: vec![],
            },
            write("a", ExpectedVersion::Exact(22), vec![event(22)]).remove(0),
        ])
        .await;
    assert!(
        matches!(
            stale,
            Err(StoreError::WrongExpectedVersion { actual: 1, .. })
        ),
        "{stale:?}"
    );
    assert_eq!(checked(&a), 2);
    assert_eq!(a.head().await.unwrap(), 23);
}

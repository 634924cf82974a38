//! The conformance suite: one `pub async fn` per guarantee of [`EventStore`]. Every backend's
//! tests run every case on a fresh, empty store through one macro, [`conformance_suite!`]
//! (`tests/sqlite_conformance.rs`, `tests/postgres_conformance.rs`); a new backend is done when
//! it passes all of them. Cases panic on failure, like assertions.

/// A `#[tokio::test]` per case of the suite, each on a store from `$fresh().await` (which
/// returns `(guard, Arc<dyn EventStore>)`: the guard keeps the store's files or database until
/// the case ends), and a test that no case of [`CASES`] is left out. The one list of the cases
/// every backend runs.
#[macro_export]
macro_rules! conformance_suite {
    ($fresh:path) => {
        $crate::conformance_suite!(
            @cases $fresh,
            append_to_a_new_stream,
            no_stream_is_refused_when_the_stream_exists,
            exact_version_must_match,
            any_version_always_appends,
            multi_stream_append_is_all_or_nothing,
            a_write_without_events_guards_another_stream,
            retrying_an_append_returns_the_original_positions,
            an_event_id_reused_elsewhere_is_a_conflict,
            malformed_appends_are_refused,
            a_large_append_is_stored_whole,
            positions_are_contiguous_in_commit_order_under_concurrency,
            concurrent_exact_appends_let_exactly_one_win,
            reads_page_from_a_position,
            subscription_catches_up_then_goes_live_without_gap_or_repeat,
            position_at_follows_each_organisations_business_time,
            a_stream_written_twice_in_one_append_chains_its_versions,
        );
    };
    (@cases $fresh:path, $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (_guard, store) = $fresh().await;
                $crate::conformance::$case(store).await;
            }
        )*

        #[test]
        fn every_conformance_case_runs_here() {
            let here = [$(stringify!($case)),*];
            for case in $crate::conformance::CASES {
                assert!(here.contains(case), "case {case} is not run here");
            }
        }
    };
}

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use uuid::Uuid;

use crate::store::{EventMetadata, EventStore, ExpectedVersion, NewEvent, StoreError, StreamWrite};

/// Every case, by name, for backends that want to loop.
pub const CASES: &[&str] = &[
    "append_to_a_new_stream",
    "no_stream_is_refused_when_the_stream_exists",
    "exact_version_must_match",
    "any_version_always_appends",
    "multi_stream_append_is_all_or_nothing",
    "a_write_without_events_guards_another_stream",
    "retrying_an_append_returns_the_original_positions",
    "an_event_id_reused_elsewhere_is_a_conflict",
    "malformed_appends_are_refused",
    "a_large_append_is_stored_whole",
    "positions_are_contiguous_in_commit_order_under_concurrency",
    "concurrent_exact_appends_let_exactly_one_win",
    "reads_page_from_a_position",
    "subscription_catches_up_then_goes_live_without_gap_or_repeat",
    "position_at_follows_each_organisations_business_time",
    "a_stream_written_twice_in_one_append_chains_its_versions",
];

const ORG: Uuid = Uuid::from_u128(0x0dd5_0000_0000_0000_0000_0000_0000_0001);

/// A test event with a fresh id; an odd `n` has a business time (microsecond-exact, in 2023),
/// an even one none.
pub fn event(n: u64) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "TestHappened".into(),
        schema_version: 1,
        payload: format!(r#"{{"n":{n}}}"#),
        metadata: EventMetadata {
            org_id: ORG,
            actor: "member:00000000-0000-0000-0000-000000000001".into(),
            correlation_id: Uuid::now_v7(),
            causation_id: Some(Uuid::now_v7()),
            occurred_at: (n % 2 == 1)
                .then(|| chrono::DateTime::from_timestamp_micros(1_700_000_000_123_456 + n as i64))
                .flatten(),
        },
    }
}

/// A single-stream write.
pub fn write(stream: &str, expected: ExpectedVersion, events: Vec<NewEvent>) -> Vec<StreamWrite> {
    vec![StreamWrite {
        stream: stream.into(),
        expected,
        events,
    }]
}

/// Appending to a new stream stores the events with versions 1.. and positions 1.., with all
/// metadata intact.
pub async fn append_to_a_new_stream(store: Arc<dyn EventStore>) {
    let events = vec![event(1), event(2)];
    let outcome = store
        .append(write("s-1", ExpectedVersion::NoStream, events.clone()))
        .await
        .unwrap();
    assert_eq!((outcome.first_position, outcome.last_position), (1, 2));
    assert_eq!(outcome.stream_versions, vec![("s-1".to_owned(), 2)]);
    let stored = store.read_stream("s-1", 0, 10).await.unwrap();
    assert_eq!(stored.len(), 2);
    for (i, (s, e)) in stored.iter().zip(&events).enumerate() {
        assert_eq!(s.position, i as u64 + 1);
        assert_eq!(s.stream_version, i as u64 + 1);
        assert_eq!(s.event_id, e.event_id);
        assert_eq!(s.event_type, e.event_type);
        assert_eq!(s.schema_version, e.schema_version);
        assert_eq!(s.payload, e.payload);
        assert_eq!(s.metadata, e.metadata);
        assert!((chrono::Utc::now() - s.recorded_at).num_seconds().abs() < 60);
        // Business time: the one written, else the commit time.
        assert_eq!(
            s.occurred_at(),
            e.metadata.occurred_at.unwrap_or(s.recorded_at)
        );
    }
    let paged = store.read_all(0, 10).await.unwrap();
    assert_eq!(
        paged[0].metadata.occurred_at,
        events[0].metadata.occurred_at
    );
    assert_eq!(paged[1].metadata.occurred_at, None);
    assert_eq!(store.head().await.unwrap(), 2);
    let found = store.find_event(events[1].event_id).await.unwrap().unwrap();
    assert_eq!(found.position, 2);
    assert!(store.find_event(Uuid::now_v7()).await.unwrap().is_none());
}

/// `NoStream` fails once the stream has events, and writes nothing.
pub async fn no_stream_is_refused_when_the_stream_exists(store: Arc<dyn EventStore>) {
    store
        .append(write("s", ExpectedVersion::NoStream, vec![event(1)]))
        .await
        .unwrap();
    let err = store
        .append(write("s", ExpectedVersion::NoStream, vec![event(2)]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::WrongExpectedVersion { actual: 1, .. }),
        "{err:?}"
    );
    assert_eq!(store.head().await.unwrap(), 1);
}

/// `Exact(n)` appends only when the stream has exactly n events.
pub async fn exact_version_must_match(store: Arc<dyn EventStore>) {
    store
        .append(write(
            "s",
            ExpectedVersion::Exact(0),
            vec![event(1), event(2)],
        ))
        .await
        .unwrap();
    let err = store
        .append(write("s", ExpectedVersion::Exact(1), vec![event(3)]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::WrongExpectedVersion {
                actual: 2,
                expected: ExpectedVersion::Exact(1),
                ..
            }
        ),
        "{err:?}"
    );
    let ok = store
        .append(write("s", ExpectedVersion::Exact(2), vec![event(3)]))
        .await
        .unwrap();
    assert_eq!(ok.stream_versions, vec![("s".to_owned(), 3)]);
}

/// `Any` appends whatever the version.
pub async fn any_version_always_appends(store: Arc<dyn EventStore>) {
    for n in 0..3 {
        store
            .append(write("s", ExpectedVersion::Any, vec![event(n)]))
            .await
            .unwrap();
    }
    assert_eq!(store.read_stream("s", 0, 10).await.unwrap().len(), 3);
}

/// A multi-stream append with one failing expectation writes nothing to any stream.
pub async fn multi_stream_append_is_all_or_nothing(store: Arc<dyn EventStore>) {
    store
        .append(write("b", ExpectedVersion::Any, vec![event(0)]))
        .await
        .unwrap();
    let writes = vec![
        StreamWrite {
            stream: "a".into(),
            expected: ExpectedVersion::NoStream,
            events: vec![event(1), event(2)],
        },
        StreamWrite {
            stream: "b".into(),
            expected: ExpectedVersion::NoStream,
            events: vec![event(3)],
        },
    ];
    assert!(matches!(
        store.append(writes).await,
        Err(StoreError::WrongExpectedVersion { .. })
    ));
    assert!(store.read_stream("a", 0, 10).await.unwrap().is_empty());
    assert_eq!(store.head().await.unwrap(), 1);
    let writes = vec![
        StreamWrite {
            stream: "a".into(),
            expected: ExpectedVersion::NoStream,
            events: vec![event(1)],
        },
        StreamWrite {
            stream: "b".into(),
            expected: ExpectedVersion::Exact(1),
            events: vec![event(3)],
        },
    ];
    let outcome = store.append(writes).await.unwrap();
    assert_eq!((outcome.first_position, outcome.last_position), (2, 3));
    assert_eq!(
        outcome.stream_versions,
        vec![("a".to_owned(), 1), ("b".to_owned(), 2)]
    );
}

/// A write with no events is a pure condition: the append fails if that stream moved.
pub async fn a_write_without_events_guards_another_stream(store: Arc<dyn EventStore>) {
    store
        .append(write("guard", ExpectedVersion::Any, vec![event(0)]))
        .await
        .unwrap();
    let guarded = |expected| {
        vec![
            StreamWrite {
                stream: "guard".into(),
                expected: ExpectedVersion::Exact(expected),
                events: vec![],
            },
            StreamWrite {
                stream: "target".into(),
                expected: ExpectedVersion::Any,
                events: vec![event(1)],
            },
        ]
    };
    let outcome = store.append(guarded(1)).await.unwrap();
    assert_eq!(
        outcome.stream_versions,
        vec![("guard".to_owned(), 1), ("target".to_owned(), 1)]
    );
    store
        .append(write("guard", ExpectedVersion::Any, vec![event(2)]))
        .await
        .unwrap();
    assert!(matches!(
        store.append(guarded(1)).await,
        Err(StoreError::WrongExpectedVersion { actual: 2, .. })
    ));
    assert_eq!(store.read_stream("target", 0, 10).await.unwrap().len(), 1);
}

/// Retrying an append with the same event ids returns the original positions and stores nothing
/// new — even when the stream moved in between and the expectation no longer holds.
pub async fn retrying_an_append_returns_the_original_positions(store: Arc<dyn EventStore>) {
    let events = vec![event(1), event(2)];
    let first = store
        .append(write("s", ExpectedVersion::NoStream, events.clone()))
        .await
        .unwrap();
    store
        .append(write("s", ExpectedVersion::Any, vec![event(3)]))
        .await
        .unwrap();
    let retry = store
        .append(write("s", ExpectedVersion::NoStream, events.clone()))
        .await
        .unwrap();
    assert_eq!(retry, first);
    assert_eq!(store.head().await.unwrap(), 3);
    // A retry racing with itself inside one group commit is also answered once.
    let again = vec![event(9)];
    let (a, b) = tokio::join!(
        store.append(write("t", ExpectedVersion::Any, again.clone())),
        store.append(write("t", ExpectedVersion::Any, again.clone())),
    );
    assert_eq!(a.unwrap(), b.unwrap());
    assert_eq!(store.read_stream("t", 0, 10).await.unwrap().len(), 1);
}

/// An event id already stored in another stream, or only part of an append's ids already
/// stored, is a conflict, not a silent duplicate.
pub async fn an_event_id_reused_elsewhere_is_a_conflict(store: Arc<dyn EventStore>) {
    let e = event(1);
    store
        .append(write("s", ExpectedVersion::Any, vec![e.clone()]))
        .await
        .unwrap();
    assert!(matches!(
        store
            .append(write("other", ExpectedVersion::Any, vec![e.clone()]))
            .await,
        Err(StoreError::IdempotencyConflict { .. })
    ));
    assert!(matches!(
        store
            .append(write("s", ExpectedVersion::Any, vec![e, event(2)]))
            .await,
        Err(StoreError::IdempotencyConflict { .. })
    ));
    assert_eq!(store.head().await.unwrap(), 1);
}

/// Empty appends, a repeated id or a repeated stream within one append are refused.
pub async fn malformed_appends_are_refused(store: Arc<dyn EventStore>) {
    assert!(matches!(
        store.append(vec![]).await,
        Err(StoreError::InvalidRequest(_))
    ));
    assert!(matches!(
        store.append(write("s", ExpectedVersion::Any, vec![])).await,
        Err(StoreError::InvalidRequest(_))
    ));
    let e = event(1);
    assert!(matches!(
        store
            .append(write("s", ExpectedVersion::Any, vec![e.clone(), e]))
            .await,
        Err(StoreError::InvalidRequest(_))
    ));
    let one = event(1);
    let mut same_id_twice = write("s", ExpectedVersion::Any, vec![one.clone()]);
    same_id_twice.extend(write("t", ExpectedVersion::Any, vec![one]));
    assert!(matches!(
        store.append(same_id_twice).await,
        Err(StoreError::InvalidRequest(_))
    ));
    assert_eq!(store.head().await.unwrap(), 0);
}

/// A stream written several times in one append (commands decided one after another): each
/// write's expectation is checked against what the earlier writes leave, positions follow the
/// writes' order across streams, and a wrong expectation anywhere writes nothing.
pub async fn a_stream_written_twice_in_one_append_chains_its_versions(store: Arc<dyn EventStore>) {
    let mut chained = write("a", ExpectedVersion::NoStream, vec![event(1)]);
    chained.extend(write("b", ExpectedVersion::NoStream, vec![event(2)]));
    chained.extend(write(
        "a",
        ExpectedVersion::Exact(1),
        vec![event(3), event(4)],
    ));
    chained.extend(write("b", ExpectedVersion::Exact(1), vec![]));
    let outcome = store.append(chained).await.unwrap();
    assert_eq!((outcome.first_position, outcome.last_position), (1, 4));
    let a = store.read_stream("a", 0, 10).await.unwrap();
    let positions: Vec<(u64, u64)> = a.iter().map(|e| (e.position, e.stream_version)).collect();
    assert_eq!(positions, vec![(1, 1), (3, 2), (4, 3)]);
    // The second write expects the version before the append: refused, nothing written.
    let mut stale = write("a", ExpectedVersion::Exact(3), vec![event(5)]);
    stale.extend(write("a", ExpectedVersion::Exact(3), vec![event(6)]));
    assert!(matches!(
        store.append(stale).await,
        Err(StoreError::WrongExpectedVersion { actual: 4, .. })
    ));
    assert_eq!(store.head().await.unwrap(), 4);
}

/// One append of many events (more than one SQL statement can carry) is stored whole, in order.
pub async fn a_large_append_is_stored_whole(store: Arc<dyn EventStore>) {
    let events: Vec<NewEvent> = (0..5_000).map(event).collect();
    let outcome = store
        .append(write("big", ExpectedVersion::NoStream, events.clone()))
        .await
        .unwrap();
    assert_eq!((outcome.first_position, outcome.last_position), (1, 5_000));
    let stored = store.read_stream("big", 0, 10_000).await.unwrap();
    assert_eq!(stored.len(), 5_000);
    assert!(
        stored
            .iter()
            .zip(&events)
            .all(|(s, e)| s.event_id == e.event_id)
    );
    let next = store
        .append(write("big", ExpectedVersion::Exact(5_000), vec![event(0)]))
        .await
        .unwrap();
    assert_eq!(next.first_position, 5_001);
}

/// Under concurrent appends, positions are 1..=n with no gap, every acknowledged position holds
/// the acknowledged event, and each stream's versions are 1..=k in position order.
pub async fn positions_are_contiguous_in_commit_order_under_concurrency(
    store: Arc<dyn EventStore>,
) {
    let tasks: Vec<_> = (0..16u64)
        .map(|task| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for i in 0..40u64 {
                    let stream = format!("s-{}", (task * 7 + i) % 5);
                    let events = vec![event(i), event(i + 1000)];
                    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
                    let outcome = store
                        .append(write(&stream, ExpectedVersion::Any, events))
                        .await
                        .unwrap();
                    assert_eq!(outcome.last_position, outcome.first_position + 1);
                    acked.push((outcome.first_position, ids[0]));
                    acked.push((outcome.last_position, ids[1]));
                }
                acked
            })
        })
        .collect();
    let mut acked = BTreeMap::new();
    for t in tasks {
        for (pos, id) in t.await.unwrap() {
            assert!(
                acked.insert(pos, id).is_none(),
                "position {pos} acknowledged twice"
            );
        }
    }
    let all = store.read_all(0, 10_000).await.unwrap();
    assert_eq!(all.len(), 16 * 40 * 2);
    let mut versions: BTreeMap<String, u64> = BTreeMap::new();
    for (i, e) in all.iter().enumerate() {
        assert_eq!(
            e.position,
            i as u64 + 1,
            "gap or disorder in global positions"
        );
        assert_eq!(acked[&e.position], e.event_id);
        let v = versions.entry(e.stream.clone()).or_default();
        *v += 1;
        assert_eq!(e.stream_version, *v, "stream versions follow commit order");
    }
}

/// Of many concurrent `Exact(0)` appends to one stream, exactly one wins.
pub async fn concurrent_exact_appends_let_exactly_one_win(store: Arc<dyn EventStore>) {
    let tasks: Vec<_> = (0..12)
        .map(|n| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .append(write("race", ExpectedVersion::Exact(0), vec![event(n)]))
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => wins += 1,
            Err(StoreError::WrongExpectedVersion { actual: 1, .. }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(store.read_stream("race", 0, 100).await.unwrap().len(), 1);
}

/// `read_stream` and `read_all` start after the given version or position and honour the limit.
pub async fn reads_page_from_a_position(store: Arc<dyn EventStore>) {
    for n in 0..10 {
        let stream = if n % 2 == 0 { "even" } else { "odd" };
        store
            .append(write(stream, ExpectedVersion::Any, vec![event(n)]))
            .await
            .unwrap();
    }
    let page = store.read_all(3, 4).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.position).collect::<Vec<_>>(),
        [4, 5, 6, 7]
    );
    let page = store.read_stream("even", 2, 10).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.stream_version).collect::<Vec<_>>(),
        [3, 4, 5]
    );
    assert!(store.read_all(10, 10).await.unwrap().is_empty());
    assert!(store.read_stream("none", 0, 10).await.unwrap().is_empty());
}

/// A subscription from a position delivers every later event once, in order: the stored ones,
/// then those committed while it runs.
pub async fn subscription_catches_up_then_goes_live_without_gap_or_repeat(
    store: Arc<dyn EventStore>,
) {
    for n in 0..100 {
        store
            .append(write("s", ExpectedVersion::Any, vec![event(n)]))
            .await
            .unwrap();
    }
    let mut sub = store.subscribe(30);
    let writer = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            for n in 0..100u64 {
                let events = (0..2).map(|k| event(n * 2 + k)).collect();
                store
                    .append(write("live", ExpectedVersion::Any, events))
                    .await
                    .unwrap();
                if n % 10 == 0 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        })
    };
    let mut seen = HashSet::new();
    for expected in 31..=300u64 {
        let e = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .expect("the subscription delivers live events")
            .expect("the subscription does not end")
            .unwrap();
        assert_eq!(e.position, expected);
        assert!(seen.insert(e.event_id));
    }
    writer.await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(200), sub.next())
            .await
            .is_err(),
        "nothing beyond the last event"
    );
}

/// `position_at` answers per organisation by business time: an imported organisation's past
/// (business times years before the commits) beside another's live events (no business time:
/// the commit time counts), with ties going to the later position.
pub async fn position_at_follows_each_organisations_business_time(store: Arc<dyn EventStore>) {
    use chrono::{TimeZone as _, Utc};
    let imported = Uuid::from_u128(0x0dd5_0000_0000_0000_0000_0000_0000_0002);
    let day = |d: u32| Utc.with_ymd_and_hms(2024, 3, d, 9, 0, 0).unwrap();
    let at = |n: u64, org: Uuid, when: Option<chrono::DateTime<Utc>>| {
        let mut e = event(n);
        e.metadata.org_id = org;
        e.metadata.occurred_at = when;
        e
    };
    let live = |n| at(n, ORG, None);
    let past = |n, d| at(n, imported, Some(day(d)));
    store
        .append(write("live", ExpectedVersion::Any, vec![live(1)]))
        .await
        .unwrap(); // 1
    store
        .append(write(
            "past",
            ExpectedVersion::Any,
            vec![past(2, 1), past(3, 2), past(4, 2)],
        ))
        .await
        .unwrap(); // 2, 3, 4
    store
        .append(write("live", ExpectedVersion::Any, vec![live(5)]))
        .await
        .unwrap(); // 5
    store
        .append(write("past", ExpectedVersion::Any, vec![past(6, 5)]))
        .await
        .unwrap(); // 6
    let position = |org, t| {
        let store = store.clone();
        async move { store.position_at(org, t).await.unwrap() }
    };
    assert_eq!(
        position(imported, day(1) - chrono::Duration::seconds(1)).await,
        0
    );
    assert_eq!(position(imported, day(1)).await, 2);
    assert_eq!(
        position(imported, day(2)).await,
        4,
        "ties: the later position"
    );
    assert_eq!(position(imported, day(4)).await, 4);
    assert_eq!(position(imported, day(30)).await, 6);
    // The live organisation's events count by commit time: none in 2024, both now.
    assert_eq!(position(ORG, day(30)).await, 0);
    assert_eq!(
        position(ORG, Utc::now() + chrono::Duration::seconds(5)).await,
        5
    );
    assert_eq!(position(Uuid::now_v7(), Utc::now()).await, 0);
}

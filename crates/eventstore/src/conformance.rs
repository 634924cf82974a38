//! The conformance suite: one `pub async fn` per guarantee of [`EventStore`]. Every backend's
//! tests run every case on a fresh, empty store through one macro, [`conformance_suite!`]
//! (`tests/sqlite_conformance.rs`, `tests/postgres_conformance.rs`); a new backend is done when
//! it passes all of them. Cases panic on failure, like assertions.

/// A `#[tokio::test]` per case of the suite, each on a store from `$fresh().await` (which
/// returns `(guard, SharedBackend)`: the guard keeps the store's files or database until
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
            scans_lend_every_event_in_order_and_a_stream_up_to_a_position,
            an_organisations_events_filter_by_stream_actor_type_and_time,
            views_and_their_checkpoint_only_move_forward,
            a_restored_log_keeps_positions_ids_times_and_metadata,
            live_events_equal_the_stored_ones_field_for_field,
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

use crate::backend::{OrgEvents, ScannedEvent, SharedBackend, StoredView};
use crate::store::{
    EventMetadata, ExpectedVersion, NewEvent, RecordedEvent, StoreError, StreamWrite,
};

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
    "scans_lend_every_event_in_order_and_a_stream_up_to_a_position",
    "an_organisations_events_filter_by_stream_actor_type_and_time",
    "views_and_their_checkpoint_only_move_forward",
    "a_restored_log_keeps_positions_ids_times_and_metadata",
    "live_events_equal_the_stored_ones_field_for_field",
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
pub async fn append_to_a_new_stream(store: SharedBackend) {
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
pub async fn no_stream_is_refused_when_the_stream_exists(store: SharedBackend) {
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
pub async fn exact_version_must_match(store: SharedBackend) {
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
pub async fn any_version_always_appends(store: SharedBackend) {
    for n in 0..3 {
        store
            .append(write("s", ExpectedVersion::Any, vec![event(n)]))
            .await
            .unwrap();
    }
    assert_eq!(store.read_stream("s", 0, 10).await.unwrap().len(), 3);
}

/// A multi-stream append with one failing expectation writes nothing to any stream.
pub async fn multi_stream_append_is_all_or_nothing(store: SharedBackend) {
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
pub async fn a_write_without_events_guards_another_stream(store: SharedBackend) {
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
pub async fn retrying_an_append_returns_the_original_positions(store: SharedBackend) {
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
pub async fn an_event_id_reused_elsewhere_is_a_conflict(store: SharedBackend) {
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
pub async fn malformed_appends_are_refused(store: SharedBackend) {
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
pub async fn a_stream_written_twice_in_one_append_chains_its_versions(store: SharedBackend) {
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
pub async fn a_large_append_is_stored_whole(store: SharedBackend) {
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
pub async fn positions_are_contiguous_in_commit_order_under_concurrency(store: SharedBackend) {
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
pub async fn concurrent_exact_appends_let_exactly_one_win(store: SharedBackend) {
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
pub async fn reads_page_from_a_position(store: SharedBackend) {
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
pub async fn subscription_catches_up_then_goes_live_without_gap_or_repeat(store: SharedBackend) {
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
pub async fn position_at_follows_each_organisations_business_time(store: SharedBackend) {
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

/// A scan lends exactly the events `read_all` returns for its range, every field a projection
/// reads intact (each lent event compared with the one read, during the callback it lives
/// for), and a stream scan those of one stream after a version up to a global position
/// (blocking calls: made from a blocking thread, as the read side makes them).
pub async fn scans_lend_every_event_in_order_and_a_stream_up_to_a_position(store: SharedBackend) {
    for n in 1..=30 {
        let stream = if n % 3 == 0 { "b" } else { "a" };
        store
            .append(write(stream, ExpectedVersion::Any, vec![event(n)]))
            .await
            .unwrap();
    }
    let all = store.read_all(0, 100).await.unwrap();
    let scanning = Arc::clone(&store);
    let (range, last, in_stream, version) = tokio::task::spawn_blocking(move || {
        let lend = |positions: &mut Vec<u64>, e: &ScannedEvent<'_>| {
            let read = all.iter().find(|r| r.position == e.position).unwrap();
            assert_eq!(*e, read.as_scanned());
            positions.push(e.position);
        };
        let mut range = Vec::new();
        let last = scanning.scan(4, 25, &mut |e| lend(&mut range, e)).unwrap();
        let mut in_stream = Vec::new();
        let version = scanning
            .scan_stream("b", 2, 20, &mut |e| lend(&mut in_stream, e))
            .unwrap();
        let empty = scanning
            .scan(30, 40, &mut |_| panic!("nothing after the head"))
            .unwrap();
        assert_eq!(empty, None);
        (range, last, in_stream, version)
    })
    .await
    .unwrap();
    assert_eq!(range, (5..=25).collect::<Vec<u64>>());
    assert_eq!(last, Some(25));
    // Stream b holds positions 3, 6, 9, …: after its version 2 (position 6) and up to 20: 9..18.
    assert_eq!(in_stream, [9, 12, 15, 18]);
    assert_eq!(version, Some(6));
}

/// `org_events` keeps one organisation's events after a position, by stream, actor, type and
/// commit-time range, oldest first, at most `limit`.
pub async fn an_organisations_events_filter_by_stream_actor_type_and_time(store: SharedBackend) {
    let other = Uuid::from_u128(0x0dd5_0000_0000_0000_0000_0000_0000_0003);
    let mut theirs = event(99);
    theirs.metadata.org_id = other;
    store
        .append(write("theirs", ExpectedVersion::Any, vec![theirs]))
        .await
        .unwrap();
    for n in 1..=6 {
        let mut e = event(n);
        if n % 2 == 0 {
            e.event_type = "OtherHappened".into();
            e.metadata.actor = "service:00000000-0000-0000-0000-000000000009".into();
        }
        let stream = if n <= 3 { "first" } else { "second" };
        store
            .append(write(stream, ExpectedVersion::Any, vec![e]))
            .await
            .unwrap();
    }
    let mid = store.read_all(4, 1).await.unwrap()[0].recorded_at;
    let query = |q: OrgEvents<'static>| {
        let store = Arc::clone(&store);
        async move {
            store
                .org_events(&q)
                .await
                .unwrap()
                .iter()
                .map(|e| e.position)
                .collect::<Vec<_>>()
        }
    };
    let all = OrgEvents {
        org: ORG,
        limit: 100,
        ..OrgEvents::default()
    };
    assert_eq!(query(all.clone()).await, [2, 3, 4, 5, 6, 7]);
    assert_eq!(
        query(OrgEvents {
            after: 4,
            limit: 2,
            ..all.clone()
        })
        .await,
        [5, 6]
    );
    assert_eq!(
        query(OrgEvents {
            stream: Some("second"),
            ..all.clone()
        })
        .await,
        [5, 6, 7]
    );
    assert_eq!(
        query(OrgEvents {
            event_type: Some("OtherHappened"),
            ..all.clone()
        })
        .await,
        [3, 5, 7]
    );
    assert_eq!(
        query(OrgEvents {
            actor: Some("service:00000000-0000-0000-0000-000000000009"),
            stream: Some("first"),
            ..all.clone()
        })
        .await,
        [3]
    );
    let from_mid = query(OrgEvents {
        from: Some(mid),
        ..all.clone()
    })
    .await;
    assert_eq!(
        from_mid.first(),
        Some(&5),
        "commit times are ordered with positions"
    );
    let before_mid = query(OrgEvents {
        to: Some(mid),
        ..all.clone()
    })
    .await;
    assert!(before_mid.iter().all(|p| *p < 5) && !before_mid.contains(&5));
    assert_eq!(
        query(OrgEvents { org: other, ..all }).await,
        [1],
        "another organisation's events are never mixed in"
    );
}

/// Persisted views load back as saved under their checkpoint's name; a view offered at a lower
/// position than the stored one, and a lower checkpoint, leave what is stored (replicas
/// persisting the same views in any order); clearing forgets everything.
pub async fn views_and_their_checkpoint_only_move_forward(store: SharedBackend) {
    const NAME: &str = "views/test/1";
    assert_eq!(store.load_views(NAME).await.unwrap(), None);
    let (a, b, org) = (Uuid::now_v7(), Uuid::now_v7(), ORG);
    let view = |kind, id, position, body: &[u8]| StoredView {
        kind,
        id,
        org_id: org,
        position,
        body: body.to_vec(),
    };
    store
        .save_views(
            NAME,
            &[view("pod", a, 10, b"a@10"), view("org", b, 7, b"b@7")],
            10,
        )
        .await
        .unwrap();
    // A replica behind this one persists older copies and an older checkpoint.
    store
        .save_views(
            NAME,
            &[view("pod", a, 8, b"a@8"), view("kpi", b, 5, b"kpi@5")],
            8,
        )
        .await
        .unwrap();
    let loaded = store.load_views(NAME).await.unwrap().unwrap();
    assert_eq!(loaded.checkpoint, 10);
    let mut views = loaded.views;
    views.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        views,
        [
            ("kpi".to_owned(), b, org, b"kpi@5".to_vec()),
            ("org".to_owned(), b, org, b"b@7".to_vec()),
            ("pod".to_owned(), a, org, b"a@10".to_vec()),
        ]
    );
    store
        .save_views(NAME, &[view("pod", a, 12, b"a@12")], 12)
        .await
        .unwrap();
    let loaded = store.load_views(NAME).await.unwrap().unwrap();
    assert_eq!(loaded.checkpoint, 12);
    assert!(
        loaded
            .views
            .contains(&("pod".to_owned(), a, org, b"a@12".to_vec()))
    );
    assert_eq!(
        store.load_views("views/other/1").await.unwrap(),
        None,
        "another format's name"
    );
    store.clear_views().await.unwrap();
    assert_eq!(store.load_views(NAME).await.unwrap(), None);
}

/// A restored log is the source's, field for field, in the same positions (times included,
/// which an append would take from the clock); a batch that does not follow the head is
/// refused whole; appends continue after it; the check passes.
pub async fn a_restored_log_keeps_positions_ids_times_and_metadata(store: SharedBackend) {
    let at = |n: u64, stream: &str, version: u64| {
        let e = event(n);
        RecordedEvent {
            position: n,
            event_id: e.event_id,
            stream: stream.into(),
            stream_version: version,
            event_type: e.event_type,
            schema_version: 3,
            payload: e.payload,
            metadata: e.metadata,
            recorded_at: chrono::DateTime::from_timestamp_micros(1_600_000_000_000_000 + n as i64)
                .unwrap(),
        }
    };
    let first = vec![at(1, "a", 1), at(2, "b", 1), at(3, "a", 2)];
    assert_eq!(store.restore(&first).await.unwrap(), 3);
    let gap = vec![at(5, "a", 3)];
    assert!(matches!(
        store.restore(&gap).await,
        Err(StoreError::InvalidRequest(_))
    ));
    let again = vec![at(4, "a", 3), at(5, "b", 2)];
    assert_eq!(store.restore(&again).await.unwrap(), 5);
    let stored = store.read_all(0, 100).await.unwrap();
    assert_eq!(stored, [first, again].concat());
    assert_eq!(store.head().await.unwrap(), 5);
    let next = store
        .append(write("a", ExpectedVersion::Exact(3), vec![event(6)]))
        .await
        .unwrap();
    assert_eq!(next.first_position, 6);
    assert_eq!(store.check().await.unwrap(), 6);
}

/// What a live subscription delivers is what the store holds, field for field — times (a
/// business time finer than microseconds included), versions, metadata — for concurrent
/// appends (grouped by the writer), multi-stream appends, and a retried append, which is
/// delivered once.
pub async fn live_events_equal_the_stored_ones_field_for_field(store: SharedBackend) {
    store
        .append(write("before", ExpectedVersion::Any, vec![event(0)]))
        .await
        .unwrap();
    let mut feed = store.subscribe(1);
    let retried = write(
        "retried",
        ExpectedVersion::NoStream,
        vec![event(1), event(2)],
    );
    let appends: Vec<_> = (0..16_u64)
        .map(|n| {
            let store = Arc::clone(&store);
            let writes = match n {
                0 | 1 => retried.clone(),
                2 => vec![
                    StreamWrite {
                        stream: "one".into(),
                        expected: ExpectedVersion::Any,
                        events: vec![event(3), event(4)],
                    },
                    StreamWrite {
                        stream: "two".into(),
                        expected: ExpectedVersion::Any,
                        events: vec![event(5)],
                    },
                ],
                // A business time finer than the store keeps (microseconds).
                3 => {
                    let mut fine = event(n);
                    fine.metadata.occurred_at =
                        chrono::DateTime::from_timestamp(1_700_000_000, 123_456_789);
                    write("fine", ExpectedVersion::Any, vec![fine])
                }
                _ => write(&format!("s{}", n % 4), ExpectedVersion::Any, vec![event(n)]),
            };
            tokio::spawn(async move { store.append(writes).await.unwrap() })
        })
        .collect();
    for append in appends {
        append.await.unwrap();
    }
    // 2 (retried, once) + 3 (two streams) + 13 single events.
    let expected = 18;
    let mut live = Vec::new();
    while live.len() < expected {
        let next = tokio::time::timeout(Duration::from_secs(10), feed.next())
            .await
            .expect("live events within 10 s")
            .expect("the feed continues")
            .expect("an event");
        live.push(next);
    }
    let stored = store.read_all(1, 100).await.unwrap();
    assert_eq!(stored.len(), expected);
    assert_eq!(live, stored);
}

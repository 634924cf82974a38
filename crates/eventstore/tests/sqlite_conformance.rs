//! The SQLite backend runs the whole conformance suite, plus what only SQLite can show:
//! durability settings, reopening, and the append-only triggers.

use std::sync::Arc;

use podledger_eventstore::conformance::{event, write};
use podledger_eventstore::{EventStore, ExpectedVersion, SqliteConfig, SqliteEventStore};
use sqlx::Connection;

async fn fresh() -> (tempfile::TempDir, podledger_eventstore::SharedBackend) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteEventStore::open(SqliteConfig::new(dir.path().join("events.db")))
        .await
        .unwrap();
    (dir, Arc::new(store))
}

podledger_eventstore::conformance_suite!(fresh);

/// Two stores on one file, as two processes would open it.
async fn two_on_one_file() -> (tempfile::TempDir, SqliteEventStore, SqliteEventStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let a = SqliteEventStore::open(SqliteConfig::new(&path))
        .await
        .unwrap();
    let b = SqliteEventStore::open(SqliteConfig::new(&path))
        .await
        .unwrap();
    (dir, a, b)
}

#[tokio::test]
async fn the_database_is_wal_with_synchronous_full_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let config = SqliteConfig::new(dir.path().join("events.db"));
    let store = SqliteEventStore::open(config.clone()).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.reader_pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    // `synchronous` is per connection; every connection the store opens (writer and readers)
    // is built from the same options, so a reader answers for them all. 2 = FULL, 1 = NORMAL.
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(store.reader_pool())
        .await
        .unwrap();
    assert_eq!(sync, 2);
    let relaxed = SqliteEventStore::open(config.synchronous_normal())
        .await
        .unwrap();
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(relaxed.reader_pool())
        .await
        .unwrap();
    assert_eq!(sync, 1);
}

#[tokio::test]
async fn events_survive_reopening_and_positions_continue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.db");
    {
        let store = SqliteEventStore::open(SqliteConfig::new(&path))
            .await
            .unwrap();
        store
            .append(write(
                "s",
                ExpectedVersion::NoStream,
                vec![event(1), event(2)],
            ))
            .await
            .unwrap();
    }
    let store = SqliteEventStore::open(SqliteConfig::new(&path))
        .await
        .unwrap();
    assert_eq!(store.head().await.unwrap(), 2);
    let outcome = store
        .append(write("s", ExpectedVersion::Exact(2), vec![event(3)]))
        .await
        .unwrap();
    assert_eq!(outcome.first_position, 3);
    podledger_eventstore::Backend::check(&store).await.unwrap();
}

#[tokio::test]
async fn stored_events_can_be_neither_updated_nor_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.db");
    let store = SqliteEventStore::open(SqliteConfig::new(&path))
        .await
        .unwrap();
    store
        .append(write("s", ExpectedVersion::NoStream, vec![event(1)]))
        .await
        .unwrap();
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    let update = sqlx::query("UPDATE events SET payload = '{}'")
        .execute(&mut conn)
        .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM events").execute(&mut conn).await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    assert_eq!(store.read_all(0, 10).await.unwrap().len(), 1);
}

#[test]
fn config_reads_sqlite_urls_and_plain_paths() {
    assert_eq!(
        SqliteConfig::from_url("sqlite://data/x.db").path,
        std::path::Path::new("data/x.db")
    );
    assert_eq!(
        SqliteConfig::from_url("sqlite:x.db?mode=rwc").path,
        std::path::Path::new("x.db")
    );
    assert_eq!(
        SqliteConfig::from_url("/tmp/y.db").path,
        std::path::Path::new("/tmp/y.db")
    );
}

#[tokio::test]
async fn two_writers_on_one_file_like_two_processes_keep_positions_and_versions_right() {
    let (_dir, a, b) = two_on_one_file().await;
    a.append(write("s", ExpectedVersion::NoStream, vec![event(1)]))
        .await
        .unwrap();
    // b has never seen "s": it must read its version.
    let from_b = b
        .append(write("s", ExpectedVersion::Exact(1), vec![event(2)]))
        .await
        .unwrap();
    assert_eq!((from_b.first_position, from_b.stream_versions[0].1), (2, 2));
    // a remembers version 1 and head 1; both are stale now and must not decide anything.
    let from_a = a
        .append(write("s", ExpectedVersion::Exact(2), vec![event(3)]))
        .await
        .unwrap();
    assert_eq!((from_a.first_position, from_a.stream_versions[0].1), (3, 3));
    b.append(write("t", ExpectedVersion::Any, vec![event(4)]))
        .await
        .unwrap();
    let any_a = a
        .append(write("s", ExpectedVersion::Any, vec![event(5)]))
        .await
        .unwrap();
    assert_eq!((any_a.first_position, any_a.stream_versions[0].1), (5, 4));
    let stale = b
        .append(write("s", ExpectedVersion::Exact(3), vec![event(6)]))
        .await;
    assert!(matches!(
        stale,
        Err(podledger_eventstore::StoreError::WrongExpectedVersion { actual: 4, .. })
    ));
    let all = a.read_all(0, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    podledger_eventstore::Backend::check(&a).await.unwrap();
}

/// A condition on a stream the writer does not remember (written before this store opened) is
/// checked against the file, never taken for a new stream's.
#[tokio::test]
async fn a_condition_on_a_stream_written_before_the_store_opened_is_checked() {
    use podledger_eventstore::{StoreError, StreamWrite};
    let dir = tempfile::tempdir().unwrap();
    let config = SqliteConfig::new(dir.path().join("events.db"));
    let first = SqliteEventStore::open(config.clone()).await.unwrap();
    first
        .append(write("org", ExpectedVersion::NoStream, vec![event(0)]))
        .await
        .unwrap();
    drop(first);
    let reopened = SqliteEventStore::open(config).await.unwrap();
    let refused = reopened
        .append(vec![
            StreamWrite {
                stream: "org".into(),
                expected: ExpectedVersion::NoStream,
                events: vec![],
            },
            write("pod", ExpectedVersion::NoStream, vec![event(1)]).remove(0),
        ])
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::WrongExpectedVersion { actual: 1, .. })
        ),
        "{refused:?}"
    );
    assert_eq!(reopened.head().await.unwrap(), 1, "nothing written");
}

/// A stream read from the version a reader holds is answered by an index lookup when nothing
/// is newer (the command handler's question before every batch) — and still returns what
/// another process appended since.
#[tokio::test]
async fn a_stream_read_from_the_version_held_sees_what_another_process_appended_since() {
    let (_dir, a, b) = two_on_one_file().await;
    assert!(b.read_stream("s", 0, 10).await.unwrap().is_empty());
    a.append(write("s", ExpectedVersion::NoStream, vec![event(1)]))
        .await
        .unwrap();
    let first = b.read_stream("s", 0, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(b.read_stream("s", 1, 10).await.unwrap().is_empty());
    assert!(b.read_stream("s", 7, 10).await.unwrap().is_empty());
    a.append(write(
        "s",
        ExpectedVersion::Exact(1),
        vec![event(2), event(3)],
    ))
    .await
    .unwrap();
    let newer = b.read_stream("s", 1, 10).await.unwrap();
    assert_eq!(
        newer.iter().map(|e| e.stream_version).collect::<Vec<_>>(),
        [2, 3]
    );
    assert_eq!(
        b.read_stream("s", 1, 1).await.unwrap().len(),
        1,
        "the limit holds"
    );
}

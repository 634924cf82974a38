//! The load–decide–append loop against a real SQLite store: metadata, idempotent retries,
//! refusals that write nothing, retries on concurrent writes (within one process a batch
//! holds the organisation it read, so local writes never conflict), R12, and tenant isolation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use podledger_domain::ids::{ItemId, OrgId, PersonId, PodId};
use podledger_domain::org::OrgCommand;
use podledger_domain::pod::PodCommand;
use podledger_domain::roles::{PodFocus, PodRole};
use podledger_domain::{Actor, Command, Context, DomainError, ErrorCode};
use podledger_eventstore::{
    AppendOutcome, CommandHandler, EventStore, EventStream, HandleError, RecordedEvent,
    RequestMeta, SqliteConfig, SqliteEventStore, StoreError, StreamWrite,
};
use uuid::Uuid;

struct World {
    dir: tempfile::TempDir,
    handler: Arc<CommandHandler>,
    org: OrgId,
    admin: PersonId,
    po: PersonId,
    pod: PodId,
}

fn ctx(org: OrgId, person: PersonId) -> Context {
    Context::new(org, Actor::member(person), Utc::now())
}

fn meta() -> RequestMeta {
    RequestMeta {
        correlation_id: Uuid::now_v7(),
        ..RequestMeta::default()
    }
}

fn create_item(item: ItemId, title: &str) -> PodCommand {
    PodCommand::CreateItem {
        item_id: item,
        title: title.into(),
        description: None,
        output_category: "email".into(),
        acceptance_criteria: None,
        estimate: Some(3),
        parent_epic: None,
        requester: None,
    }
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteEventStore::open(SqliteConfig::new(dir.path().join("e.db")))
        .await
        .unwrap();
    let handler = Arc::new(CommandHandler::new(Arc::new(store)));
    let (org, admin, po, pod) = (
        OrgId(Uuid::now_v7()),
        PersonId(Uuid::now_v7()),
        PersonId(Uuid::now_v7()),
        PodId(Uuid::now_v7()),
    );
    let setup = [
        OrgCommand::CreateOrganisation {
            name: "Acme".into(),
            sprint_length_days: None,
            founder_name: "Ada".into(),
            founder_email: None,
        },
        OrgCommand::AddPerson {
            person_id: po,
            name: "Paula".into(),
            email: None,
        },
        OrgCommand::CreatePod {
            pod_id: pod,
            name: "Acquisition".into(),
            focus: PodFocus::Acquisition,
        },
        OrgCommand::AssignPodRole {
            person_id: po,
            pod_id: pod,
            role: PodRole::ProductOwner,
        },
    ];
    for c in setup {
        handler
            .execute(&Command::Org(c), &ctx(org, admin), meta())
            .await
            .unwrap();
    }
    World {
        dir,
        handler,
        org,
        admin,
        po,
        pod,
    }
}

#[tokio::test]
async fn a_command_appends_its_events_with_the_request_metadata() {
    let w = world().await;
    let correlation = Uuid::now_v7();
    let item = ItemId(Uuid::now_v7());
    let done = w
        .handler
        .execute(
            &Command::Pod {
                pod_id: w.pod,
                command: create_item(item, "Landing page"),
            },
            &ctx(w.org, w.po),
            RequestMeta {
                correlation_id: correlation,
                causation_id: None,
                idempotency_key: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(done.events.len(), 1);
    assert_eq!(done.target_version, 1);
    let stored = w
        .handler
        .store()
        .read_all(done.last_position.unwrap() - 1, 10)
        .await
        .unwrap();
    let e = &stored[0];
    assert_eq!(e.stream, format!("pod-{}", w.pod));
    assert_eq!(e.event_type, "ItemCreated");
    assert_eq!(e.schema_version, 2);
    assert_eq!(e.metadata.org_id, w.org.as_uuid());
    assert_eq!(e.metadata.actor, format!("member:{}", w.po));
    assert_eq!(e.metadata.correlation_id, correlation);
}

#[tokio::test]
async fn a_refused_command_writes_nothing() {
    let w = world().await;
    let head = w.handler.store().head().await.unwrap();
    let err = w
        .handler
        .execute(
            &Command::Pod {
                pod_id: w.pod,
                command: create_item(ItemId(Uuid::now_v7()), ""),
            },
            &ctx(w.org, w.po),
            meta(),
        )
        .await
        .unwrap_err();
    assert!(matches!(&err, HandleError::Domain(e) if e.code() == ErrorCode::ValidationFailed));
    let err = w
        .handler
        .execute(
            &Command::Pod {
                pod_id: w.pod,
                command: create_item(ItemId(Uuid::now_v7()), "ok"),
            },
            &ctx(w.org, w.admin),
            meta(),
        )
        .await
        .unwrap_err();
    assert!(matches!(&err, HandleError::Domain(e) if e.code() == ErrorCode::Forbidden));
    assert_eq!(w.handler.store().head().await.unwrap(), head);
}

#[tokio::test]
async fn a_retried_command_with_its_idempotency_key_returns_the_original_result() {
    let w = world().await;
    let key = Uuid::now_v7();
    let command = Command::Org(OrgCommand::CreateOrganisation {
        name: "Beta".into(),
        sprint_length_days: Some(7),
        founder_name: "Bo".into(),
        founder_email: None,
    });
    let beta = ctx(OrgId(Uuid::now_v7()), PersonId(Uuid::now_v7()));
    let meta = RequestMeta {
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        idempotency_key: Some(key),
    };
    let first = w.handler.execute(&command, &beta, meta).await.unwrap();
    assert_eq!(first.events.len(), 3);
    let head = w.handler.store().head().await.unwrap();
    let retry = w.handler.execute(&command, &beta, meta).await.unwrap();
    assert!(retry.replayed);
    assert_eq!(retry.last_position, first.last_position);
    assert_eq!(retry.events, first.events);
    assert_eq!(
        w.handler.store().head().await.unwrap(),
        head,
        "nothing appended twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commands_on_one_pod_all_succeed() {
    let w = world().await;
    let tasks: Vec<_> = (0..24)
        .map(|n| {
            let handler = Arc::clone(&w.handler);
            let (org, po, pod) = (w.org, w.po, w.pod);
            tokio::spawn(async move {
                handler
                    .execute(
                        &Command::Pod {
                            pod_id: pod,
                            command: create_item(ItemId(Uuid::now_v7()), &format!("item {n}")),
                        },
                        &ctx(org, po),
                        meta(),
                    )
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let pod = w
        .handler
        .store()
        .read_stream(&format!("pod-{}", w.pod), 0, 100)
        .await
        .unwrap();
    assert_eq!(pod.len(), 24);
}

#[tokio::test]
async fn r12_a_stale_expected_version_is_a_concurrency_conflict() {
    let w = world().await;
    let item = ItemId(Uuid::now_v7());
    let pod_cmd = |command| Command::Pod {
        pod_id: w.pod,
        command,
    };
    let created = w
        .handler
        .execute(&pod_cmd(create_item(item, "a")), &ctx(w.org, w.po), meta())
        .await
        .unwrap();
    let estimate = |n| PodCommand::EstimateItem {
        item_id: item,
        estimate: n,
    };
    w.handler
        .execute(
            &pod_cmd(estimate(5)),
            &ctx(w.org, w.po).expecting(created.target_version),
            meta(),
        )
        .await
        .unwrap();
    let err = w
        .handler
        .execute(
            &pod_cmd(estimate(8)),
            &ctx(w.org, w.po).expecting(created.target_version),
            meta(),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        HandleError::Domain(DomainError::ConcurrencyConflict { .. })
    ));
}

#[tokio::test]
async fn a_token_of_another_organisation_cannot_reach_a_pod() {
    let w = world().await;
    let other = OrgId(Uuid::now_v7());
    w.handler
        .execute(
            &Command::Org(OrgCommand::CreateOrganisation {
                name: "Other".into(),
                sprint_length_days: None,
                founder_name: "Eve".into(),
                founder_email: None,
            }),
            &ctx(other, w.po),
            meta(),
        )
        .await
        .unwrap();
    // w.po is the founder (admin) of `other`, but the pod belongs to w.org.
    let err = w
        .handler
        .execute(
            &Command::Pod {
                pod_id: w.pod,
                command: create_item(ItemId(Uuid::now_v7()), "x"),
            },
            &ctx(other, w.po),
            meta(),
        )
        .await
        .unwrap_err();
    assert!(matches!(&err, HandleError::Domain(e) if e.code() == ErrorCode::NotFound));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handlers_on_one_store_like_two_replicas_resolve_conflicts_by_retrying() {
    let w = world().await;
    let replica = Arc::new(CommandHandler::new(Arc::clone(w.handler.store())));
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let handler = if n % 2 == 0 {
                Arc::clone(&w.handler)
            } else {
                Arc::clone(&replica)
            };
            let (org, po, pod) = (w.org, w.po, w.pod);
            tokio::spawn(async move {
                handler
                    .execute(
                        &Command::Pod {
                            pod_id: pod,
                            command: create_item(ItemId(Uuid::now_v7()), &format!("item {n}")),
                        },
                        &ctx(org, po),
                        meta(),
                    )
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let state = replica
        .load(&podledger_domain::Target::Pod(w.pod), w.org)
        .await
        .unwrap();
    assert_eq!(state.pod.items.len(), 16);
    assert_eq!(state.pod.backlog.len(), 16);
}

#[tokio::test]
async fn commands_run_in_order_decide_on_each_others_state_and_stop_at_the_first_refusal() {
    let w = world().await;
    let (a, b) = (ItemId(Uuid::now_v7()), ItemId(Uuid::now_v7()));
    let pod = |command| Command::Pod {
        pod_id: w.pod,
        command,
    };
    let keyed = || RequestMeta {
        idempotency_key: Some(Uuid::now_v7()),
        ..meta()
    };
    // Given: item a is created, then estimated — a decision that needs the first one's event —
    // then an estimate of an item that does not exist (refused), then item b.
    let commands = vec![
        (pod(create_item(a, "first")), ctx(w.org, w.po), keyed()),
        (
            pod(PodCommand::EstimateItem {
                item_id: a,
                estimate: 5,
            }),
            ctx(w.org, w.po),
            keyed(),
        ),
        (
            pod(PodCommand::EstimateItem {
                item_id: ItemId(Uuid::now_v7()),
                estimate: 5,
            }),
            ctx(w.org, w.po),
            keyed(),
        ),
        (pod(create_item(b, "never")), ctx(w.org, w.po), keyed()),
    ];
    let head = w.handler.store().head().await.unwrap();
    // When they run in order.
    let (done, refused) = w.handler.execute_in_order(&commands).await.unwrap();
    // Then the two before the refusal are appended in one commit, in order; the rest are not.
    assert_eq!(done.len(), 2);
    let (index, error) = refused.expect("the third is refused");
    assert_eq!(index, 2);
    assert!(matches!(error, HandleError::Domain(_)), "{error:?}");
    assert_eq!(done[0].last_position, Some(head + 1));
    assert_eq!(done[1].last_position, Some(head + 2));
    assert_eq!(w.handler.store().head().await.unwrap(), head + 2);
    let stored = w.handler.store().read_all(head, 10).await.unwrap();
    let types: Vec<&str> = stored.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["ItemCreated", "ItemEstimated"]);
    // And a live command afterwards sees their state (the handler's cache was refreshed).
    let estimated = w
        .handler
        .execute(
            &pod(PodCommand::EstimateItem {
                item_id: a,
                estimate: 8,
            }),
            &ctx(w.org, w.po),
            meta(),
        )
        .await
        .unwrap();
    assert_eq!(estimated.last_position, Some(head + 3));
}

/// The real store, with a count of what the handler asked of it: reads of a stream from its
/// start, and appends refused for a stale expected version.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn EventStore>,
    stream: String,
    reads_from_start: AtomicUsize,
    conflicts: AtomicUsize,
}

#[async_trait::async_trait]
impl EventStore for Counting {
    async fn append(&self, writes: Vec<StreamWrite>) -> Result<AppendOutcome, StoreError> {
        let outcome = self.inner.append(writes).await;
        if matches!(outcome, Err(StoreError::WrongExpectedVersion { .. })) {
            self.conflicts.fetch_add(1, Ordering::Relaxed);
        }
        outcome
    }
    async fn read_stream(
        &self,
        stream: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if stream == self.stream && after_version == 0 {
            self.reads_from_start.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.read_stream(stream, after_version, limit).await
    }
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_all(after, limit).await
    }
    async fn find_event(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        self.inner.find_event(event_id).await
    }
    async fn head(&self) -> Result<u64, StoreError> {
        self.inner.head().await
    }
    async fn position_at(
        &self,
        org_id: Uuid,
        time: chrono::DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.inner.position_at(org_id, time).await
    }
    fn subscribe(&self, after: u64) -> EventStream {
        self.inner.subscribe(after)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_on_a_pod_while_its_organisation_changes_in_the_same_process_never_conflict() {
    // Given: a pod with history, served by a handler whose store counts what it is asked.
    let w = world().await;
    let stream = format!("pod-{}", w.pod);
    let store = Arc::new(Counting {
        inner: Arc::clone(w.handler.store()),
        stream: stream.clone(),
        reads_from_start: AtomicUsize::new(0),
        conflicts: AtomicUsize::new(0),
    });
    let handler = Arc::new(CommandHandler::new(store.clone()));
    let pod_command = |n: usize| Command::Pod {
        pod_id: w.pod,
        command: create_item(ItemId(Uuid::now_v7()), &format!("item {n}")),
    };
    handler
        .execute(&pod_command(0), &ctx(w.org, w.po), meta())
        .await
        .unwrap();
    // When: commands on the pod — each batch reads the organisation and appends against its
    // version — run while people are added to the organisation, 32 of each at a time.
    for round in 0..20 {
        let tasks: Vec<_> = (0..64)
            .map(|n| {
                let handler = Arc::clone(&handler);
                let (command, as_whom) = if n % 2 == 0 {
                    (pod_command(n), ctx(w.org, w.po))
                } else {
                    (
                        Command::Org(OrgCommand::AddPerson {
                            person_id: PersonId(Uuid::now_v7()),
                            name: format!("Person {round}.{n}"),
                            email: None,
                        }),
                        ctx(w.org, w.admin),
                    )
                };
                tokio::spawn(async move { handler.execute(&command, &as_whom, meta()).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
    }
    // Then: every command succeeded without one conflict at the store (a pod batch holds the
    // organisation it read until its append returns), and the pod's stream was read from its
    // start once, when the handler first loaded it.
    assert_eq!(store.conflicts.load(Ordering::Relaxed), 0);
    assert_eq!(store.reads_from_start.load(Ordering::Relaxed), 1);
    let state = handler
        .load(&podledger_domain::Target::Pod(w.pod), w.org)
        .await
        .unwrap();
    assert_eq!(state.pod.items.len(), 1 + 20 * 32);
    assert_eq!(state.org.people.len(), 2 + 20 * 32);
}

/// A handler holds a pod's state between batches and asks the store only whether anything is
/// newer (an index lookup on SQLite): what another process wrote in between must still reach
/// its next decision — an item created there can be estimated here, not refused as unknown.
#[tokio::test]
async fn a_handler_on_another_store_of_the_same_file_decides_on_what_the_first_wrote() {
    let w = world().await;
    let path = w.dir.path().join("e.db");
    let other = CommandHandler::new(Arc::new(
        SqliteEventStore::open(SqliteConfig::new(&path))
            .await
            .unwrap(),
    ));
    // Each runs a command on the pod as its product owner.
    let on_pod = |handler: &CommandHandler, command| {
        let handler = handler.clone();
        let (pod, ctx) = (w.pod, ctx(w.org, w.po));
        async move {
            handler
                .execute(
                    &Command::Pod {
                        pod_id: pod,
                        command,
                    },
                    &ctx,
                    meta(),
                )
                .await
        }
    };
    let estimate = |item_id| PodCommand::EstimateItem {
        item_id,
        estimate: 5,
    };
    // The other process holds the pod's state after its own write...
    on_pod(&other, create_item(ItemId(Uuid::now_v7()), "there"))
        .await
        .unwrap();
    // ...then this one creates an item...
    let here = ItemId(Uuid::now_v7());
    on_pod(&w.handler, create_item(here, "here")).await.unwrap();
    // ...which the other's next decision knows.
    let estimated = on_pod(&other, estimate(here)).await.unwrap();
    assert_eq!(estimated.target_version, 3);
    // And a refusal still rests on the stored state: an unknown item is unknown in both.
    let unknown = on_pod(&other, estimate(ItemId(Uuid::now_v7())))
        .await
        .unwrap_err();
    assert!(matches!(&unknown, HandleError::Domain(e) if e.code() == ErrorCode::NotFound));
}

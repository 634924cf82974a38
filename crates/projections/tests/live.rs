//! Live projections on a real store: read-your-writes, the worked example through real
//! commands, restart from persisted views, timeouts, tenant isolation, audit log, time travel.

mod common;

use std::time::Duration;

use common::{World, new_id};
use podledger_domain::ids::{ItemId, PodId};
use podledger_domain::pod::{PodCommand, SprintStatus};
use podledger_projections::audit::{AuditFilter, audit_log};
use podledger_projections::metrics::{pod_metrics, sprint_metrics};
use podledger_projections::{AsOf, ProjectionError, Projections, Views};

#[tokio::test]
async fn a_write_followed_by_wait_for_its_position_is_visible() {
    let w = World::new().await;
    let item = ItemId(new_id());
    let done = w
        .pod_cmd(
            w.po,
            PodCommand::CreateItem {
                item_id: item,
                title: "Webinar page".into(),
                description: None,
                output_category: "landing page".into(),
                acceptance_criteria: None,
                estimate: Some(3),
                parent_epic: None,
                requester: None,
            },
        )
        .await;
    w.settle(&done).await;
    let pod = w.projections.pod(w.org.as_uuid(), w.pod).unwrap();
    assert_eq!(pod.state.items[&item].title, "Webinar page");
    assert_eq!(pod.state.backlog, [item]);
    assert!(w.projections.position() >= done.last_position.unwrap());
}

#[tokio::test]
async fn the_worked_example_through_real_commands() {
    let w = World::new().await;
    let (sprint, closed) = w.worked_example().await;
    w.settle(&closed).await;
    let pod = w.projections.pod(w.org.as_uuid(), w.pod).unwrap();
    let m = sprint_metrics(&pod, pod.sprint(sprint).unwrap());
    assert_eq!(m.status, SprintStatus::Closed);
    assert_eq!(m.committed_points, Some(16));
    assert_eq!(m.velocity, Some(13));
    assert_eq!(m.commitment_reliability, Some(0.5));
    assert_eq!(m.scope_churn, Some(0.8125));
    assert_eq!(m.task_completion, Some(1.0));
    assert_eq!(m.goal_met, Some(true));
    let by_cause = m.velocity_by_cause.unwrap();
    assert_eq!(
        (
            by_cause.committed_done,
            by_cause.reestimated_done,
            by_cause.added_done,
            by_cause.removed,
            by_cause.not_done
        ),
        (8, 3, 2, 8, 0)
    );
    let pm = pod_metrics(&pod, None);
    assert_eq!(pm.average_velocity, Some(13.0));
    assert_eq!(pm.goal_completion_rate, Some(1.0));
}

/// A world that ran the worked example, with its views persisted; and those views.
async fn persisted_worked_example() -> (World, Views) {
    let w = World::new().await;
    let (_, closed) = w.worked_example().await;
    w.settle(&closed).await;
    w.projections.flush().await.unwrap();
    let views = w.projections.snapshot();
    (w, views)
}

#[tokio::test]
async fn views_survive_a_restart_and_resume_from_their_checkpoint() {
    let (w, before) = persisted_worked_example().await;
    let restarted = Projections::start(w.store.clone()).await.unwrap();
    assert_eq!(
        restarted.position(),
        before.position,
        "resumed at the checkpoint"
    );
    assert_eq!(restarted.snapshot(), before);
    let more = w.ready_item(1).await;
    let last = w.store_head().await;
    restarted
        .wait_for(last, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(
        restarted
            .pod(w.org.as_uuid(), w.pod)
            .unwrap()
            .items
            .contains_key(&more)
    );
    let rebuilt = Projections::rebuild(w.store.clone()).await.unwrap();
    assert_eq!(
        rebuilt.snapshot(),
        restarted.snapshot(),
        "rebuild from 0 gives the live state"
    );
}

#[tokio::test]
async fn a_view_that_cannot_be_read_back_makes_the_restart_fold_the_log_again() {
    let (w, before) = persisted_worked_example().await;
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        w.store.path().display()
    ))
    .await
    .unwrap();
    sqlx::query("UPDATE read_models SET body = x'0badf00d' WHERE kind = 'pod'")
        .execute(&mut conn)
        .await
        .unwrap();
    let restarted = Projections::start(w.store.clone()).await.unwrap();
    restarted
        .wait_for(before.position, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(restarted.snapshot(), before, "folded again from position 0");
    restarted.flush().await.unwrap();
    let again = Projections::start(w.store.clone()).await.unwrap();
    assert_eq!(
        again.position(),
        before.position,
        "the flush stored readable views"
    );
    assert_eq!(again.snapshot(), before);
}

#[tokio::test]
async fn waiting_for_a_position_never_reached_times_out_clearly() {
    let w = World::new().await;
    let far = w.projections.position() + 1_000;
    let err = w
        .projections
        .wait_for(far, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(matches!(err, ProjectionError::Timeout { wanted, .. } if wanted == far));
    assert!(err.to_string().contains("not"), "{err}");
}

#[tokio::test]
async fn a_pod_is_invisible_to_another_organisation() {
    let w = World::new().await;
    let item = w.ready_item(2).await;
    let _ = item;
    w.projections
        .wait_for(w.store_head().await, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(w.projections.pod(w.org.as_uuid(), w.pod).is_some());
    assert!(w.projections.pod(new_id(), w.pod).is_none());
    assert!(
        w.projections
            .pod(w.org.as_uuid(), PodId(new_id()))
            .is_none()
    );
}

#[tokio::test]
async fn the_audit_log_filters_by_stream_actor_type_and_time_and_pages_by_position() {
    let w = World::new().await;
    let start = chrono::Utc::now();
    w.ready_item(3).await;
    w.ready_item(5).await;
    let pool = &w.store;
    let org = w.org.as_uuid();
    let all = audit_log(pool, org, &AuditFilter::default(), 0, 1_000)
        .await
        .unwrap();
    assert!(all.windows(2).all(|p| p[0].position < p[1].position));
    let created = audit_log(
        pool,
        org,
        &AuditFilter {
            event_type: Some("ItemCreated".into()),
            ..AuditFilter::default()
        },
        0,
        100,
    )
    .await
    .unwrap();
    assert_eq!(created.len(), 2);
    let by_owner = audit_log(
        pool,
        org,
        &AuditFilter {
            actor: Some(format!("member:{}", w.owner)),
            stream: Some(format!("pod-{}", w.pod)),
            from: Some(start),
            ..AuditFilter::default()
        },
        0,
        100,
    )
    .await
    .unwrap();
    assert_eq!(by_owner.len(), 2, "two acceptances");
    assert!(
        by_owner
            .iter()
            .all(|e| e.event_type == "DeliveryOwnershipAccepted")
    );
    let first_page = audit_log(pool, org, &AuditFilter::default(), 0, 3)
        .await
        .unwrap();
    let second_page = audit_log(
        pool,
        org,
        &AuditFilter::default(),
        first_page[2].position,
        3,
    )
    .await
    .unwrap();
    assert_eq!(second_page[0].position, all[3].position);
    assert!(
        audit_log(pool, new_id(), &AuditFilter::default(), 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let future = AuditFilter {
        from: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
        ..AuditFilter::default()
    };
    assert!(
        audit_log(pool, org, &future, 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_pod_as_of_a_position_or_a_time_is_the_state_then() {
    let w = World::new().await;
    let first = w.ready_item(3).await;
    let mid = w.store_head().await;
    let mid_time = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = w.ready_item(5).await;
    let then = w
        .projections
        .pod_as_of(w.org.as_uuid(), w.pod, AsOf::Position(mid))
        .await
        .unwrap()
        .unwrap();
    let pod = &then.pods[&w.pod];
    assert!(pod.items.contains_key(&first));
    assert!(!pod.items.contains_key(&second));
    let by_time = w
        .projections
        .pod_as_of(w.org.as_uuid(), w.pod, AsOf::Time(mid_time))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_time.pods[&w.pod], *pod);
    let before_pod = w
        .projections
        .pod_as_of(w.org.as_uuid(), w.pod, AsOf::Position(1))
        .await
        .unwrap();
    assert!(before_pod.is_none(), "the pod did not exist at position 1");
}

impl World {
    async fn store_head(&self) -> u64 {
        use podledger_eventstore::EventStore;
        self.store.head().await.unwrap()
    }
}

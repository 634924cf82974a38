//! `just bench` (hot stream): 64 concurrent writers each creating items on ONE pod through the
//! `CommandHandler` (load, decide, append; pipelined per stream) for `BENCH_SECS` (default 3),
//! against the store's own group commit of single-event appends from 64 writers to distinct
//! streams, side by side in one run on the same disk, both `synchronous=FULL`. Medians of
//! `BENCH_ROUNDS` (default 3) alternating rounds; every acknowledged command is counted in the
//! log afterwards.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use podledger_domain::ids::{ItemId, OrgId, PersonId, PodId};
use podledger_domain::org::OrgCommand;
use podledger_domain::pod::PodCommand;
use podledger_domain::roles::{PodFocus, PodRole};
use podledger_domain::{Actor, Command, Context};
use podledger_eventstore::{
    CommandHandler, EventStore, RequestMeta, SqliteConfig, SqliteEventStore,
};
use uuid::Uuid;

#[path = "support/baseline.rs"]
mod baseline;

use baseline::{WRITERS, group_commit, median, runtime, setting};

fn meta() -> RequestMeta {
    RequestMeta {
        correlation_id: Uuid::now_v7(),
        ..RequestMeta::default()
    }
}

/// An organisation with one pod and its PO; returns the handler, the pod and the PO.
async fn pod(store: Arc<dyn EventStore>) -> (CommandHandler, OrgId, PodId, PersonId) {
    let handler = CommandHandler::new(store);
    let (org, admin, po, pod) = (
        OrgId(Uuid::now_v7()),
        PersonId(Uuid::now_v7()),
        PersonId(Uuid::now_v7()),
        PodId(Uuid::now_v7()),
    );
    let as_admin = Context::new(org, Actor::member(admin), Utc::now());
    for command in [
        OrgCommand::CreateOrganisation {
            name: "Bench".into(),
            sprint_length_days: None,
            founder_name: "Admin".into(),
            founder_email: None,
        },
        OrgCommand::CreatePod {
            pod_id: pod,
            name: "Hot".into(),
            focus: PodFocus::Acquisition,
        },
        OrgCommand::AddPerson {
            person_id: po,
            name: "PO".into(),
            email: None,
        },
        OrgCommand::AssignPodRole {
            person_id: po,
            pod_id: pod,
            role: PodRole::ProductOwner,
        },
    ] {
        handler
            .execute(&Command::Org(command), &as_admin, meta())
            .await
            .unwrap();
    }
    (handler, org, pod, po)
}

/// Commands acknowledged per second on one pod; checks the log holds every one of them.
async fn hot_pod(dir: &std::path::Path, round: usize, secs: f64) -> f64 {
    let store = SqliteEventStore::open(SqliteConfig::new(dir.join(format!("hot-{round}.db"))))
        .await
        .unwrap();
    let store: Arc<dyn EventStore> = Arc::new(store);
    let (handler, org, pod, po) = self::pod(store.clone()).await;
    let acknowledged = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (handler, acknowledged, stop) =
                (handler.clone(), acknowledged.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let command = Command::Pod {
                        pod_id: pod,
                        command: PodCommand::CreateItem {
                            item_id: ItemId(Uuid::now_v7()),
                            title: "Spring webinar landing page".into(),
                            description: None,
                            output_category: "landing page".into(),
                            acceptance_criteria: Some("Live and tracked".into()),
                            estimate: Some(3),
                            parent_epic: None,
                            requester: None,
                        },
                    };
                    let ctx = Context::new(org, Actor::member(po), Utc::now());
                    handler.execute(&command, &ctx, meta()).await.unwrap();
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let acknowledged = acknowledged.load(Ordering::Relaxed);
    let stored = store
        .read_stream(&format!("pod-{}", pod.as_uuid()), 0, usize::MAX >> 1)
        .await
        .unwrap()
        .len() as u64;
    assert_eq!(
        stored, acknowledged,
        "every acknowledged command is in the log, once"
    );
    acknowledged as f64 / elapsed
}

fn main() {
    let (secs, rounds): (f64, usize) = (setting("BENCH_SECS", 3.0), setting("BENCH_ROUNDS", 3));
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (mut hot, mut group, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    rt.block_on(async {
        for round in 0..rounds {
            let h = hot_pod(dir.path(), round, secs).await;
            let g = group_commit(dir.path(), round, secs).await;
            println!(
                "round {round}: one pod {h:.0} commands/s, group commit {g:.0} appends/s, ratio {:.2}",
                h / g
            );
            hot.push(h);
            group.push(g);
            ratios.push(h / g);
        }
    });
    println!(
        "\n| {WRITERS} writers, {secs} s, median of {rounds} | per second | vs group commit |"
    );
    println!("|---|---:|---:|");
    println!(
        "| store group commit, single-event appends to their own streams | {:.0} | 1.00 |",
        median(&mut group)
    );
    println!(
        "| `createItem` on one pod through the command handler (acknowledged) | {:.0} | {:.2} (median of the rounds' ratios) |",
        median(&mut hot),
        median(&mut ratios)
    );
}

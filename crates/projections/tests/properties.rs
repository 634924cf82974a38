//! Properties over random command sequences on a real store:
//! - rebuilding from position 0 gives exactly the live views, and so does catching up on every
//!   core from the views of an earlier position;
//! - every view as of a past position equals the live view captured at that position.

mod common;

use std::time::Duration;

use common::random::{Known, Rng, random_command};
use common::{World, new_id};
use podledger_projections::catch_up::{CHUNK, catch_up_in_chunks};
use podledger_projections::{AsOf, ProjectionOptions, Projections, ViewKey, Views};

fn same_views(live: &Views, replayed: &Views, keys: &[ViewKey], position: u64) {
    for key in keys {
        match key {
            ViewKey::Org(id) => assert_eq!(
                live.orgs.get(id),
                replayed.orgs.get(id),
                "org at {position}"
            ),
            ViewKey::Pod(id) => assert_eq!(
                live.pods.get(id),
                replayed.pods.get(id),
                "pod at {position}"
            ),
            ViewKey::Kpi(id) => {
                assert_eq!(
                    live.kpis.get(id),
                    replayed.kpis.get(id),
                    "kpi at {position}"
                );
                if let Some(kpi) = live.kpis.get(id) {
                    assert_eq!(
                        kpi.latest(),
                        kpi.latest_by_definition(),
                        "kpi at {position}"
                    );
                }
            }
        }
    }
}

/// Retros and requests to the shared service were among the random commands' events.
fn the_operating_model_took_part(seed: u64, pod: &podledger_projections::pod_view::PodView) {
    eprintln!(
        "seed {seed:x}: {} retros, {} approvals, {} service requests",
        pod.state.retros.len(),
        pod.state.approvals.len(),
        pod.state.service_requests.len()
    );
    assert!(
        !pod.state.retros.is_empty() && !pod.state.service_requests.is_empty(),
        "seed {seed:x}: the operating model's events take part"
    );
}

/// Metrics kept as the events arrive (the pod's tally, a closed sprint's kept metrics) equal
/// the same metrics computed from the whole history.
fn the_tally_equals_the_definitions(view: &podledger_projections::pod_view::PodView, at: &str) {
    use podledger_projections::metrics::{
        pod_metrics, pod_metrics_by_definition, sprint_metrics, sprint_metrics_at,
    };
    use podledger_projections::operating as op;
    for last_n in [None, Some(1), Some(2), Some(5)] {
        assert_eq!(
            pod_metrics(view, last_n),
            pod_metrics_by_definition(view, last_n),
            "{at}: pod metrics over the last {last_n:?}"
        );
    }
    // The §9 figures kept with the view, at now and later (approvals fall late, requests
    // breach as the clock moves).
    assert_eq!(
        op::retro_stats(view),
        op::retro_stats_by_definition(view),
        "{at}: retro follow-through"
    );
    let now = chrono::Utc::now();
    for now in [0, 3, 30].map(|d| now + chrono::Duration::days(d)) {
        assert_eq!(
            op::approval_stats(view, None, now),
            op::approval_stats_by_definition(view, None, now),
            "{at}: approvals at {now}"
        );
        assert_eq!(
            op::pod_service_stats(view, now),
            op::pod_service_stats_by_definition(view, now),
            "{at}: requests to shared services at {now}"
        );
        let pods = || std::iter::once((podledger_domain::ids::PodId(uuid::Uuid::nil()), view));
        assert_eq!(
            op::service_stats(pods(), now),
            op::service_stats_by_definition(pods(), now),
            "{at}: shared services at {now}"
        );
    }
    for (index, sprint) in view.sprints().enumerate() {
        assert_eq!(
            *sprint_metrics_at(view, index).unwrap(),
            sprint_metrics(view, sprint),
            "{at}: sprint {} metrics",
            sprint.number
        );
    }
}

/// The view's indexes (last closed sprints, approvals and blockers by time, by item, by id)
/// find what a walk of every record finds.
fn the_indexes_equal_walks(view: &podledger_projections::pod_view::PodView, at: &str) {
    // The last closed sprint and the one before it, by the tally and by a walk.
    let now = view
        .sprints()
        .filter_map(|s| s.closed_at)
        .max()
        .unwrap_or_default();
    for now in [now, now - chrono::Duration::hours(1)] {
        let closed = |before: Option<chrono::DateTime<chrono::Utc>>| {
            view.sprints()
                .filter(|s| {
                    s.status == podledger_domain::pod::SprintStatus::Closed
                        && s.closed_at.is_some_and(|t| t <= now)
                        && before.is_none_or(|b| s.closed_at.is_some_and(|t| t < b))
                })
                .max_by_key(|s| s.closed_at)
                .map(|s| s.id)
        };
        let last = closed(None);
        let previous = last.and_then(|l| closed(view.sprint(l).unwrap().closed_at));
        let (t_last, t_previous) = view.tally.closed.last_by(now);
        let id = |c: Option<&podledger_projections::tally::ClosedSprint>| {
            c.map(|c| view.sprint_at(c.index as usize).unwrap().id)
        };
        assert_eq!(
            (id(t_last), id(t_previous)),
            (last, previous),
            "{at}: last closed"
        );
    }
    // Approvals of each sprint's window, by bisection and by a walk; its stale blockers by
    // the tally's sets and by a walk, at its close (or start) and 47 h, 49 h and 30 days after.
    for sprint in view.sprints() {
        if let Some(t0) = sprint.started_at {
            let end = sprint.closed_at.unwrap_or(t0);
            for now in [0, 47, 49, 24 * 30].map(|h| end + chrono::Duration::hours(h)) {
                let t1 = sprint
                    .closed_at
                    .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
                let raised: Vec<_> = view
                    .blockers()
                    .filter(|b| b.raised_at >= t0 && b.raised_at < t1)
                    .collect();
                let stale: Vec<_> = raised
                    .iter()
                    .filter(|b| {
                        let deadline = b.raised_at + chrono::Duration::hours(48);
                        b.resolved_at.map_or(now > deadline, |r| r > deadline)
                    })
                    .map(|b| b.id)
                    .collect();
                assert_eq!(
                    view.stale_blockers_raised_between(t0, t1, now),
                    (raised.len(), stale),
                    "{at}: stale blockers of sprint {} at {now}",
                    sprint.number
                );
            }
            let t1 = sprint
                .closed_at
                .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
            let bisected: Vec<_> = view
                .approvals_asked_between(t0, t1)
                .map(|(id, _)| id)
                .collect();
            let walked: Vec<_> = view
                .approvals
                .iter()
                .map(|a| a.id)
                .filter(|id| {
                    let r = view.state.approvals[id].requested_at;
                    r >= t0 && r < t1
                })
                .collect();
            assert_eq!(
                bisected, walked,
                "{at}: approvals of sprint {}",
                sprint.number
            );
        }
    }
}

/// The view's sets (open retro actions, unsettled requests, planned sprints) hold what a walk
/// finds.
fn the_sets_equal_walks(view: &podledger_projections::pod_view::PodView, at: &str) {
    // Open retro actions and unsettled requests: every one a walk finds that matters.
    let open: Vec<_> = view
        .state
        .retro_actions
        .iter()
        .filter(|(_, a)| a.outcome.is_none())
        .map(|(id, _)| *id)
        .collect();
    assert!(
        open.iter().eq(view.open_retro_actions.keys()),
        "{at}: open retro actions"
    );
    for (id, r) in &view.state.service_requests {
        let settled =
            r.closed_at.is_some() && !r.breached_at(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        assert_eq!(
            view.unsettled_requests.contains_key(id),
            !settled,
            "{at}: request {id:?}"
        );
    }
    // The current sprint: the active one, or the first still planned.
    let walked = match view.state.active_sprint {
        Some(active) => Some(active),
        None => view
            .sprints()
            .find(|s| s.status == podledger_domain::pod::SprintStatus::Planned)
            .map(|s| s.id),
    };
    assert_eq!(
        view.current_sprint().map(|s| s.id),
        walked,
        "{at}: current sprint"
    );
    // The blocker indexes equal walks of every blocker.
    let unresolved: Vec<_> = view.unresolved_blockers().map(|b| b.id).collect();
    let walked: Vec<_> = view
        .blockers()
        .filter(|b| b.resolved_at.is_none())
        .map(|b| b.id)
        .collect();
    assert_eq!(unresolved, walked, "{at}: unresolved blockers");
    for b in view.blockers() {
        assert_eq!(
            view.blocker(b.id).map(|x| x.history),
            Some(b.history),
            "{at}"
        );
        if let Some(item) = b.item {
            let of_item: Vec<_> = view.blockers_of_item(item).map(|x| x.id).collect();
            let walked: Vec<_> = view
                .blockers()
                .filter(|x| x.item == Some(item))
                .map(|x| x.id)
                .collect();
            assert_eq!(of_item, walked, "{at}: blockers of an item");
        }
    }
}

/// One fold per stream: the read models hold the very state the command handler decides on —
/// `PodView` and `OrgView` wrap the domain's `PodState` and `OrgState` — after every command of
/// a random sequence, accepted or refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_models_hold_the_decision_state_after_any_command_sequence() {
    for seed in [0xD1CE_u64, 0xF00D] {
        let w = World::new().await;
        let mut rng = Rng(seed);
        let mut known = Known::new();
        let mut compared = 0;
        for step in 0..400 {
            let view = w.projections.pod(w.org.as_uuid(), w.pod).unwrap();
            let (person, command) = random_command(&mut rng, &w, &mut known, &view);
            let Ok(done) = w.try_as(person, command).await else {
                continue;
            };
            let Some(p) = done.last_position else {
                continue;
            };
            w.projections
                .wait_for(p, Duration::from_secs(10))
                .await
                .unwrap();
            let decided = w
                .handler
                .load(&podledger_domain::Target::Pod(w.pod), w.org)
                .await
                .unwrap();
            let view = w.projections.pod(w.org.as_uuid(), w.pod).unwrap();
            assert_eq!(
                view.state, decided.pod,
                "seed {seed:x}, step {step}: the pod's read model and decision state differ"
            );
            assert_eq!(view.state.version, view.version());
            let org = w.projections.org(w.org.as_uuid()).unwrap();
            assert_eq!(
                org.state, decided.org,
                "seed {seed:x}, step {step}: the organisation's read model and decision state differ"
            );
            // The history covers exactly the state's items, sprints, blockers and requests.
            let mut ids: Vec<_> = view.state.items.keys().copied().collect();
            ids.sort();
            assert!(
                ids.iter().eq(view.items.keys()),
                "seed {seed:x}, step {step}"
            );
            assert_eq!(view.sprints().count(), view.state.sprints.len());
            // The burndown moves by one item per event; its last sample is a recount.
            if let Some(sprint) = view.current_sprint()
                && let Some(last) = sprint.history.burndown.last()
            {
                let (mut remaining, mut scope) = (0, 0);
                for item in sprint.items.iter().filter_map(|i| view.state.items.get(i)) {
                    scope += item.estimate.unwrap_or(0);
                    if item.status != podledger_domain::pod::ItemStatus::Done {
                        remaining += item.estimate.unwrap_or(0);
                    }
                }
                assert_eq!(
                    (last.remaining, last.scope),
                    (remaining, scope),
                    "seed {seed:x}, step {step}: burndown of sprint {}",
                    sprint.number
                );
            }
            assert_eq!(view.blockers().count(), view.state.blockers.len());
            assert_eq!(view.intake().count(), view.state.intake.len());
            the_tally_equals_the_definitions(&view, &format!("seed {seed:x}, step {step}"));
            the_indexes_equal_walks(&view, &format!("seed {seed:x}, step {step}"));
            the_sets_equal_walks(&view, &format!("seed {seed:x}, step {step}"));
            compared += 1;
        }
        assert!(
            compared > 100,
            "seed {seed:x}: only {compared} states compared"
        );
    }
}

/// A runner following `w`'s store that keeps a time-travel snapshot every 8 events of a stream
/// (and, if `warm`, takes those of the views' past when it starts from a checkpoint).
async fn snapshotting_runner(w: &World, warm: bool) -> Projections {
    let options = ProjectionOptions {
        snapshot_every: 8,
        warm_snapshots: warm,
        ..ProjectionOptions::default()
    };
    Projections::start_with(w.store.clone(), options)
        .await
        .unwrap()
}

/// `asOf` from the snapshots taken live (`snapshotting`), from those a replay leaves behind (a
/// runner started after the fact, with none), from those a runner's warm-up takes, and from
/// each stream's first event: the same views as the live ones captured then.
async fn snapshots_never_change_an_answer(
    w: &World,
    snapshotting: &Projections,
    keys: &[ViewKey],
    captured: &[(u64, Views)],
    head: u64,
) {
    snapshotting
        .wait_for(head, Duration::from_secs(10))
        .await
        .unwrap();
    let taken_live = snapshotting.snapshots().len();
    assert!(taken_live > 10, "only {taken_live} snapshots taken live");
    let afterwards = snapshotting_runner(w, false).await;
    assert!(afterwards.snapshots().is_empty());
    // A runner started from the same checkpoint that takes the past's snapshots in the
    // background takes the very ones the live fold took.
    let warmed = snapshotting_runner(w, true).await;
    let started = std::time::Instant::now();
    while warmed.snapshots().len() < taken_live && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        warmed.snapshots().len(),
        taken_live,
        "the warm-up's snapshots"
    );
    for (position, then) in captured {
        for runner in [snapshotting, &afterwards, &warmed] {
            let from_snapshots = runner.replay_with(keys, *position, true).await.unwrap();
            same_views(then, &from_snapshots, keys, *position);
            let from_scratch = runner.replay_with(keys, *position, false).await.unwrap();
            same_views(then, &from_scratch, keys, *position);
            assert_eq!(from_snapshots.occurred_at, from_scratch.occurred_at);
        }
    }
    assert!(
        !afterwards.snapshots().is_empty(),
        "replays leave snapshots behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_equals_live_and_as_of_equals_the_past_live_state() {
    let mut closed_sprints = 0;
    for seed in [0x5EED_u64, 0xBEEF, 0x00C0_FFEE] {
        let w = World::new().await;
        // A second runner following the same store takes a time-travel snapshot every 8
        // events of a stream as it folds them live.
        let snapshotting = snapshotting_runner(&w, false).await;
        let mut rng = Rng(seed);
        let mut known = Known::new();
        let mut captured = Vec::new();
        let (mut accepted, mut refused) = (0, 0);
        for step in 0..600 {
            let view = w.projections.pod(w.org.as_uuid(), w.pod).unwrap();
            let (person, command) = random_command(&mut rng, &w, &mut known, &view);
            match w.try_as(person, command).await {
                Ok(done) => {
                    accepted += 1;
                    if let Some(p) = done.last_position {
                        w.projections
                            .wait_for(p, Duration::from_secs(10))
                            .await
                            .unwrap();
                        if step % 7 == 0 {
                            captured.push((p, w.projections.snapshot()));
                        }
                    }
                }
                Err(e) => {
                    refused += 1;
                    if std::env::var("PROP_DEBUG").is_ok() {
                        eprintln!("refused: {e}");
                    }
                }
            }
        }
        eprintln!(
            "seed {seed:x}: {accepted} accepted, {refused} refused, {} positions compared",
            captured.len()
        );
        assert!(
            accepted > 150,
            "seed {seed:x}: only {accepted} commands accepted ({refused} refused)"
        );
        let live = w.projections.snapshot();
        let pod = live.pods.get(&w.pod).expect("the pod has events");
        assert!(
            pod.sprints().any(|s| s.started_at.is_some()),
            "seed {seed:x}: no sprint started"
        );
        closed_sprints += pod.sprints.iter().filter(|s| s.closing.is_some()).count();
        the_operating_model_took_part(seed, pod);

        let rebuilt = Projections::rebuild(w.store.clone()).await.unwrap();
        assert_eq!(
            rebuilt.snapshot(),
            live,
            "seed {seed:x}: rebuild differs from live"
        );
        // Catching up on every core from views persisted at an earlier position gives the
        // live views too.
        let head = live.position;
        for ((position, then), chunk) in captured
            .iter()
            .step_by(9)
            .zip([1, 7, 64, CHUNK].iter().cycle())
        {
            let progress = podledger_projections::catch_up::scanned_so_far();
            let caught =
                tokio::task::block_in_place(|| catch_up_in_chunks(&w.store, then, head, *chunk))
                    .unwrap();
            assert_eq!(caught.skipped, 0);
            assert_eq!(caught.scanned, head - position);
            // Its progress was counted, chunk by chunk (other tests' catch-ups may add more).
            assert!(
                podledger_projections::catch_up::scanned_so_far() - progress >= head - position
            );
            assert_eq!(
                caught.views, live,
                "seed {seed:x}: catching up from {position} in chunks of {chunk} differs from live"
            );
        }

        let keys = [
            ViewKey::Org(w.org.as_uuid()),
            ViewKey::Pod(w.pod),
            ViewKey::Kpi(known.kpi),
        ];
        for (position, then) in &captured {
            let replayed = w.projections.replay(&keys, *position).await.unwrap();
            same_views(then, &replayed, &keys, *position);
            let via_api = w
                .projections
                .pod_as_of(w.org.as_uuid(), w.pod, AsOf::Position(*position))
                .await
                .unwrap();
            if let Some(v) = via_api {
                assert_eq!(v.pods.get(&w.pod), then.pods.get(&w.pod));
            }
        }
        assert!(captured.len() > 20);
        snapshots_never_change_an_answer(&w, &snapshotting, &keys, &captured, live.position).await;
    }
    eprintln!("random sequences closed {closed_sprints} sprints");
    assert!(
        closed_sprints >= 2,
        "the sequences closed only {closed_sprints} sprints"
    );
}

/// Issue 20's property: commands on one pod sent at once — decided in batches against the state
/// each left and appended together — give the log and the views of running the accepted ones
/// one by one in the order the log acknowledged them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commands_on_one_stream_equal_running_them_one_by_one_in_log_order() {
    use podledger_domain::{Actor, Context};
    use podledger_eventstore::{EventStore as _, RequestMeta};
    for seed in [0x0001_u64, 0xD1CE, 0x0BAD_CAFE] {
        let w = World::new().await;
        let mut rng = Rng(seed);
        let mut known = Known::new();
        let base = chrono::Utc::now() - chrono::Duration::days(1);
        let mut clock = 0;
        let mut accepted = Vec::new();
        for _ in 0..50 {
            let view = w.projections.pod(w.org.as_uuid(), w.pod).unwrap();
            // Eight commands from one view, sent at once: they queue behind each other.
            let mut running = Vec::new();
            for _ in 0..8 {
                clock += 1;
                let (person, command) = random_command(&mut rng, &w, &mut known, &view);
                let at = base + chrono::Duration::seconds(clock);
                let (handler, org) = (w.handler.clone(), w.org);
                let meta = RequestMeta {
                    correlation_id: new_id(),
                    ..RequestMeta::default()
                };
                running.push(tokio::spawn(async move {
                    let ctx = Context::new(org, Actor::member(person), at);
                    let result = handler.execute(&command, &ctx, meta).await;
                    (person, command, (at, meta), result)
                }));
            }
            for task in running {
                let (person, command, at, result) = task.await.unwrap();
                if let Ok(done) = result
                    && let Some(position) = done.last_position
                {
                    accepted.push((position, person, command, at));
                }
            }
            let head = w.store.head().await.unwrap();
            w.projections
                .wait_for(head, Duration::from_secs(10))
                .await
                .unwrap();
        }
        assert!(
            accepted.len() > 60,
            "seed {seed:x}: {} accepted",
            accepted.len()
        );
        accepted.sort_by_key(|a| a.0);
        let positions: Vec<u64> = accepted.iter().map(|a| a.0).collect();
        let mut unique = positions.clone();
        unique.dedup();
        assert_eq!(
            positions, unique,
            "each acknowledged command has its own position"
        );

        let one_by_one = World::like(&w).await;
        for (_, person, command, (at, meta)) in &accepted {
            let ctx = Context::new(one_by_one.org, Actor::member(*person), *at);
            one_by_one
                .handler
                .execute(command, &ctx, *meta)
                .await
                .unwrap_or_else(|e| panic!("seed {seed:x}: refused one by one: {e}"));
        }
        let stream = format!("pod-{}", w.pod.as_uuid());
        let log = |store: &podledger_eventstore::SqliteEventStore| {
            let store = store.clone();
            let stream = stream.clone();
            async move {
                store
                    .read_stream(&stream, 0, 100_000)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|e| (e.stream_version, e.event_type, e.payload))
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            log(&w.store).await,
            log(&one_by_one.store).await,
            "seed {seed:x}: logs differ"
        );
        let head = one_by_one.store.head().await.unwrap();
        one_by_one
            .projections
            .wait_for(head, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(
            w.projections.pod(w.org.as_uuid(), w.pod),
            one_by_one.projections.pod(w.org.as_uuid(), w.pod),
            "seed {seed:x}: pod views differ"
        );
    }
}

/// Views written at their own pace — a stream of 16 events or more only once it has doubled
/// since it was last written or its first unwritten event is 60 positions behind, a flush
/// after every batch — and the checkpoint that makes: a copy
/// of the database taken between commands (what a crash leaves: one consistent transaction)
/// resumes to exactly the live views, passing over the events a view written after the
/// checkpoint already holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_persisted_at_their_own_pace_resume_to_the_live_views() {
    use podledger_eventstore::{EventStore as _, SqliteConfig, SqliteEventStore};
    let options = ProjectionOptions {
        flush_every: Duration::ZERO,
        persist_growth: 2,
        persist_growth_from: 16,
        persist_lag: 60,
        ..ProjectionOptions::default()
    };
    let w = World::with_options(options).await;
    let mut rng = Rng(0xCAFE);
    let mut known = Known::new();
    let (mut resumed, mut ahead) = (0, 0);
    for step in 0..400 {
        let view = w.projections.pod(w.org.as_uuid(), w.pod).unwrap();
        let (person, command) = random_command(&mut rng, &w, &mut known, &view);
        let _ = w.try_as(person, command).await;
        if step % 3 == 0 {
            // The organisation's stream grows too, so its view is written while the pod's
            // waits (and the other way round).
            w.org(podledger_domain::org::OrgCommand::AddPerson {
                person_id: podledger_domain::ids::PersonId(new_id()),
                name: format!("person {step}"),
                email: None,
            })
            .await;
        }
        if step % 20 != 19 {
            continue;
        }
        let head = w.store.head().await.unwrap();
        w.projections
            .wait_for(head, Duration::from_secs(10))
            .await
            .unwrap();
        let copy = w.dir.path().join(format!("copy-{step}.db"));
        let (checkpoint, furthest): (i64, i64) = {
            let db = rusqlite::Connection::open(w.store.path()).unwrap();
            db.execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
                .unwrap();
            let copied = rusqlite::Connection::open(&copy).unwrap();
            copied
                .query_row(
                    "SELECT (SELECT coalesce(max(position), 0) FROM projection_checkpoints), \
                     (SELECT coalesce(max(position), 0) FROM read_models)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
        };
        if furthest > checkpoint {
            ahead += 1;
        }
        let store = SqliteEventStore::open(SqliteConfig::new(&copy))
            .await
            .unwrap();
        let copied_head = store.head().await.unwrap();
        assert_eq!(copied_head, head);
        let options = ProjectionOptions {
            warm_snapshots: false,
            ..ProjectionOptions::default()
        };
        let restarted = Projections::start_with(store, options).await.unwrap();
        restarted
            .wait_for(head, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(
            restarted.snapshot(),
            w.projections.snapshot(),
            "step {step}: resumed from checkpoint {checkpoint} (a view written at {furthest})"
        );
        resumed += 1;
    }
    assert_eq!(resumed, 20);
    assert!(
        ahead >= 3,
        "only {ahead} copies held a view written after their checkpoint"
    );
}

//! Subscriptions: a pod's sprint board, its metrics, KPI readings and the organisation's raw
//! event feed. Every feed is driven by the projection runner's announcements (one store
//! subscription per process), so a message is sent only once the read models have applied the
//! change it reports: a client that receives it and then queries sees the same state.

// Field resolvers are `async fn` by async-graphql's convention, whether or not they await.
#![allow(clippy::unused_async)]

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use async_graphql::{Context, ID, SimpleObject, Subscription};
use futures_util::{Stream, StreamExt, stream};
use podledger_domain::ids::{KpiId, PodId};
use podledger_projections::audit::audit_log;
use podledger_projections::metrics::pod_metrics;
use podledger_projections::{Applied, Projections, ViewKey};
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use crate::context::{position, require_reader, state};
use crate::error::ApiError;
use crate::ids::from_id;
use crate::objects::judged;
use crate::objects::{Kpi, Operating, PodMetrics, PodScope, Sprint};
use crate::query::{AuditEntry, audit_filter};

/// Events read from the store per page of the event feed.
const EVENT_PAGE: usize = 500;

/// Live feeds.
#[derive(Debug)]
pub struct SubscriptionRoot;

/// A new KPI reading, judged against its target.
#[derive(SimpleObject, Clone, Debug)]
pub struct KpiReadingAdded {
    /// The KPI (as it is after the reading).
    pub kpi: Kpi,
    /// The reading with its attainment and status.
    pub reading: crate::objects::KpiReading,
}

/// `look()` now, then again after every announced batch that `relevant` says may matter (and
/// after falling behind the announcements, when anything may have changed); each look gives the
/// messages to send.
fn on_changes<T: Send + 'static>(
    changes: broadcast::Receiver<Arc<Applied>>,
    relevant: impl Fn(&Applied) -> bool + Send + 'static,
    mut look: impl FnMut() -> Vec<T> + Send + 'static,
) -> impl Stream<Item = T> {
    // `changes` was subscribed before this first look: nothing falls between the two.
    let first = look();
    let rest = stream::unfold(
        (changes, relevant, look),
        |(mut changes, relevant, mut look)| async move {
            loop {
                match changes.recv().await {
                    Ok(applied) if !relevant(&applied) => {}
                    Ok(_) | Err(RecvError::Lagged(_)) => {
                        let items = look();
                        if !items.is_empty() {
                            return Some((stream::iter(items), (changes, relevant, look)));
                        }
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    )
    .flatten();
    stream::iter(first).chain(rest)
}

/// How often a feed whose figures also move with time alone (a request breaching its due time,
/// an approval going late) looks again when no event announced a change.
const TIME_DRIVEN: std::time::Duration = std::time::Duration::from_secs(60);

/// [`on_changes`], and a look every `every` as well: for figures that change with the clock.
/// A look that finds nothing new sends nothing.
fn on_changes_or_every<T: Send + 'static>(
    changes: broadcast::Receiver<Arc<Applied>>,
    relevant: impl Fn(&Applied) -> bool + Send + 'static,
    every: std::time::Duration,
    mut look: impl FnMut() -> Vec<T> + Send + 'static,
) -> impl Stream<Item = T> {
    let first = look();
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let rest = stream::unfold(
        (changes, relevant, look, ticks),
        |(mut changes, relevant, mut look, mut ticks)| async move {
            loop {
                let look_now = tokio::select! {
                    received = changes.recv() => match received {
                        Ok(applied) => relevant(&applied),
                        Err(RecvError::Lagged(_)) => true,
                        Err(RecvError::Closed) => return None,
                    },
                    _ = ticks.tick() => true,
                };
                if look_now {
                    let items = look();
                    if !items.is_empty() {
                        return Some((stream::iter(items), (changes, relevant, look, ticks)));
                    }
                }
            }
        },
    )
    .flatten();
    stream::iter(first).chain(rest)
}

fn live_scope(projections: &Projections, org: Uuid, pod: PodId) -> Option<Arc<PodScope>> {
    PodScope::live(projections.org(org)?, pod, projections.pod(org, pod)?)
}

/// The pod named by `pod_id`, if it is one of the caller's organisation's.
fn own_pod(ctx: &Context<'_>, pod_id: &ID) -> async_graphql::Result<(Uuid, PodId)> {
    let p = require_reader(ctx)?;
    let pod = PodId(from_id("Pod", pod_id, "podId")?);
    let org = p.org.as_uuid();
    if live_scope(&state(ctx).projections, org, pod).is_none() {
        return Err(ApiError::not_found("podId", "pod", pod.as_uuid()).into());
    }
    Ok((org, pod))
}

/// A board as its subscribers last saw it: its sprint and items, by version.
#[derive(Debug, PartialEq, Eq)]
struct BoardVersion {
    sprint: podledger_domain::ids::SprintId,
    version: u64,
    items: Vec<(podledger_domain::ids::ItemId, u64)>,
}

#[Subscription]
impl SubscriptionRoot {
    /// The pod's sprint board (its active sprint, or else the next planned one) now, then after
    /// each change to it; null while the pod has no such sprint.
    async fn sprint_board(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = Option<Sprint>> + use<>> {
        let (org, pod) = own_pod(ctx, &pod_id)?;
        let projections = state(ctx).projections.clone();
        let changes = projections.changes();
        // What the board shows changes exactly when its sprint's or one of its items'
        // version moves (every event that changes them bumps it).
        let mut last: Option<Option<BoardVersion>> = None;
        Ok(on_changes(
            changes,
            move |applied| applied.touches(ViewKey::Pod(pod)),
            move || {
                let Some(scope) = live_scope(&projections, org, pod) else {
                    return Vec::new();
                };
                let board = scope.view.current_sprint().map(|sprint| BoardVersion {
                    sprint: sprint.id,
                    version: sprint.version,
                    items: sprint
                        .items
                        .iter()
                        .filter_map(|i| Some((*i, scope.view.state.items.get(i)?.version)))
                        .collect(),
                });
                if last.as_ref() == Some(&board) {
                    return Vec::new();
                }
                let message = board.as_ref().and_then(|b| Sprint::of(&scope, b.sprint));
                last = Some(board);
                vec![message]
            },
        ))
    }

    /// The pod's metrics (SPEC §6) and its §9 figures — retro follow-through, approvals,
    /// shared-service requests, failing and warning patterns — now, then whenever they change:
    /// after an event of the pod or its organisation, or as time passes (a request breaching
    /// its due time, an approval going late; looked at every minute).
    async fn pod_metrics(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = PodMetrics> + use<>> {
        let (org, pod) = own_pod(ctx, &pod_id)?;
        let projections = state(ctx).projections.clone();
        let changes = projections.changes();
        let mut last = None;
        Ok(on_changes_or_every(
            changes,
            move |applied| applied.touches(ViewKey::Pod(pod)) || applied.touches(ViewKey::Org(org)),
            TIME_DRIVEN,
            move || {
                let Some(scope) = live_scope(&projections, org, pod) else {
                    return Vec::new();
                };
                let figures = (
                    pod_metrics(&scope.view, None),
                    Arc::new(Operating::of(&scope)),
                );
                if last.as_ref() == Some(&figures) {
                    return Vec::new();
                }
                let message = PodMetrics::new(
                    &figures.0,
                    crate::objects::OperatingSource::Ready(figures.1.clone()),
                );
                last = Some(figures);
                vec![message]
            },
        ))
    }

    /// Each new reading of one KPI (`kpiId`) or of every KPI of a pod (`podId`), with its
    /// attainment — readings recorded after the subscription started.
    async fn kpi_readings(
        &self,
        ctx: &Context<'_>,
        pod_id: Option<ID>,
        kpi_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = KpiReadingAdded> + use<>> {
        let p = require_reader(ctx)?;
        let org = p.org.as_uuid();
        let projections = state(ctx).projections.clone();
        let wanted: Box<dyn Fn(&podledger_projections::kpi_view::KpiView) -> bool + Send> =
            match (pod_id, kpi_id) {
                (Some(pod_id), None) => {
                    let (_, pod) = own_pod(ctx, &pod_id)?;
                    Box::new(move |k| k.pod_id == pod)
                }
                (None, Some(kpi_id)) => {
                    let kpi = KpiId(from_id("Kpi", &kpi_id, "kpiId")?);
                    if projections.kpi(org, kpi).is_none() {
                        return Err(ApiError::not_found("kpiId", "KPI", kpi.as_uuid()).into());
                    }
                    Box::new(move |k| k.id == kpi)
                }
                _ => {
                    return Err(ApiError::bad_input(
                        "podId",
                        "give exactly one of podId and kpiId",
                    )
                    .into());
                }
            };
        let changes = projections.changes();
        // Readings seen per KPI: only those recorded from now on are sent.
        let mut seen: Option<HashMap<KpiId, usize>> = None;
        Ok(on_changes(
            changes,
            move |applied| {
                applied
                    .changed
                    .iter()
                    .any(|(o, k)| *o == org && matches!(k, ViewKey::Kpi(_)))
            },
            move || {
                let Some(org_view) = projections.org(org) else {
                    return Vec::new();
                };
                let kpis: Vec<_> = org_view
                    .state
                    .pods
                    .keys()
                    .flat_map(|pod| projections.kpis_of_pod(org, *pod))
                    .filter(|k| wanted(k))
                    .collect();
                let first = seen.is_none();
                let seen = seen.get_or_insert_with(HashMap::new);
                let mut added = Vec::new();
                for kpi in kpis {
                    let count =
                        seen.entry(kpi.id)
                            .or_insert(if first { kpi.readings.len() } else { 0 });
                    for reading in (*count..kpi.readings.len()).filter_map(|i| kpi.readings.get(i))
                    {
                        added.push(KpiReadingAdded {
                            kpi: Kpi::new(kpi.clone(), org_view.clone()),
                            reading: judged(kpi.judge(reading)),
                        });
                    }
                    *count = kpi.readings.len();
                }
                added.sort_by(|a, b| a.reading.position.cmp(&b.reading.position));
                added
            },
        ))
    }

    /// The organisation's events (or one pod's) after global position `after` ("0": from the
    /// start), in order, then each new one as it is recorded — for integrations. Every message
    /// carries its global position and event id (`actorId` filters by a `Person` or `Service` id): subscribing again with `after` set to the last
    /// position received loses nothing and repeats nothing. Same readers as `auditLog`.
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "String::from(\"0\")")] after: String,
        pod_id: Option<ID>,
        event_type: Option<String>,
        actor_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<AuditEntry>> + use<>> {
        let p = require_reader(ctx)?;
        let after = position(&after, "after")?;
        let filter =
            audit_filter(ctx, pod_id, actor_id, event_type, None, None, "event feed").await?;
        let s = state(ctx).clone();
        let org = p.org.as_uuid();
        let changes = s.projections.changes();
        let pending: VecDeque<AuditEntry> = VecDeque::new();
        Ok(stream::unfold(
            (changes, pending, after, Some(s)),
            move |(mut changes, mut pending, mut after, s)| {
                let filter = filter.clone();
                async move {
                    let s = s?;
                    loop {
                        if let Some(entry) = pending.pop_front() {
                            return Some((Ok(entry), (changes, pending, after, Some(s))));
                        }
                        // Only what the read models have applied (so committed, in order).
                        let upto = s.projections.position();
                        let page = match audit_log(
                            &**s.projections.store(),
                            org,
                            &filter,
                            after,
                            EVENT_PAGE,
                        )
                        .await
                        {
                            Ok(page) => page,
                            Err(e) => {
                                let error = ApiError::from(e).into();
                                return Some((Err(error), (changes, pending, after, None)));
                            }
                        };
                        let mut reached = None;
                        let org_view = s.projections.org(org);
                        for entry in page.into_iter().take_while(|e| e.position <= upto) {
                            reached = Some(entry.position);
                            pending.push_back(AuditEntry::of(entry, org_view.as_ref()));
                        }
                        if let Some(reached) = reached {
                            after = reached;
                            continue;
                        }
                        // Caught up: wait for the next batch of this organisation.
                        loop {
                            match changes.recv().await {
                                Ok(applied) if applied.touches_org(org) => break,
                                Ok(_) => {}
                                Err(RecvError::Lagged(_)) => break,
                                Err(RecvError::Closed) => return None,
                            }
                        }
                    }
                }
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn given_no_event_when_time_passes_then_a_clock_driven_feed_looks_again_and_sends_only_what_changed()
     {
        let (_announce, changes) = broadcast::channel::<Arc<Applied>>(4);
        // A figure that moves with the clock alone: 0, 0, then 1 from the third look on.
        let looks = Arc::new(AtomicU32::new(0));
        let counted = looks.clone();
        let mut last = None;
        let feed = on_changes_or_every(
            changes,
            |_| true,
            std::time::Duration::from_millis(20),
            move || {
                let figure = u32::from(counted.fetch_add(1, Ordering::SeqCst) >= 2);
                if last == Some(figure) {
                    return Vec::new();
                }
                last = Some(figure);
                vec![figure]
            },
        );
        let mut feed = Box::pin(feed);
        assert_eq!(feed.next().await, Some(0), "the first look, at once");
        let next = tokio::time::timeout(std::time::Duration::from_secs(5), feed.next())
            .await
            .expect("a later look without any event");
        assert_eq!(next, Some(1));
        assert!(
            looks.load(Ordering::SeqCst) >= 3,
            "the unchanged look sent nothing"
        );
    }
}

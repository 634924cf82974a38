//! The metrics of SPEC §9, as pure functions of the views at a time: retro follow-through
//! (§9.2), approval waits and late approvals (§9.3), shared-service SLA attainment, turnaround,
//! breaches and pod-days waiting (§9.1). Undefined values are `None`, never 0 or NaN.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use podledger_domain::ids::{ItemId, PodId, ServiceRequestId, SharedServiceId, SprintId};
use podledger_domain::pod::{RetroOutcome, ServiceRequestStatus, SprintStatus};
use serde::{Deserialize, Serialize};

use crate::metrics::median_and_p90;
use crate::pod_view::PodView;

fn hours(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 3_600_000.0
}

fn ratio(numerator: u32, denominator: u32) -> Option<f64> {
    (denominator != 0).then(|| f64::from(numerator) / f64::from(denominator))
}

/// Retro follow-through of a pod (SPEC §9.2).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetroStats {
    /// Retros recorded.
    pub retros: u32,
    /// Action items recorded.
    pub actions: u32,
    /// Actions whose next sprint has closed (the denominator).
    pub judged: u32,
    /// Of those, implemented.
    pub implemented: u32,
    /// Of those, still open when the next sprint closed: not followed through.
    pub not_followed_through: u32,
    /// implemented / judged.
    pub follow_through: Option<f64>,
}

/// A retro action that was not followed through: open when its next sprint closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Unfollowed {
    /// The action.
    pub action: podledger_domain::ids::RetroActionId,
    /// The sprint whose retro recorded it.
    pub retro_sprint: SprintId,
    /// The next sprint, which closed without it.
    pub next_sprint: SprintId,
    /// Its owner.
    pub owner: podledger_domain::ids::PersonId,
}

/// The retro actions of `pod` not followed through.
pub fn unfollowed_actions(pod: &PodView) -> Vec<Unfollowed> {
    pod.open_retro_actions
        .keys()
        .filter_map(|id| Some((id, pod.state.retro_actions.get(id)?)))
        .filter(|(_, a)| a.outcome.is_none())
        .filter_map(|(id, a)| {
            let (next, sprint) = pod.state.next_sprint(a.sprint)?;
            (sprint.status == SprintStatus::Closed).then_some(Unfollowed {
                action: *id,
                retro_sprint: a.sprint,
                next_sprint: next,
                owner: a.owner,
            })
        })
        .collect()
}

/// Retro follow-through of `pod`, kept with the view until a sprint, retro or action event.
pub fn retro_stats(pod: &PodView) -> RetroStats {
    pod.settled.get_or_init(|| Settled::of(pod)).retros.clone()
}

/// Retro follow-through of `pod` by SPEC §9.2's definition, from every action (the oracle of
/// [`retro_stats`]).
pub fn retro_stats_by_definition(pod: &PodView) -> RetroStats {
    let mut stats = RetroStats {
        retros: pod.state.retros.len() as u32,
        actions: pod.state.retro_actions.len() as u32,
        ..RetroStats::default()
    };
    for action in pod.state.retro_actions.values() {
        let judged = pod
            .state
            .next_sprint(action.sprint)
            .is_some_and(|(_, s)| s.status == SprintStatus::Closed);
        if !judged {
            continue;
        }
        stats.judged += 1;
        match action.outcome {
            Some(RetroOutcome::Implemented) => stats.implemented += 1,
            Some(RetroOutcome::Dropped(_)) => {}
            None => stats.not_followed_through += 1,
        }
    }
    stats.follow_through = ratio(stats.implemented, stats.judged);
    stats
}

/// Approvals of a pod, or of one sprint (SPEC §9.3).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalStats {
    /// Approval requests made.
    pub requested: u32,
    /// Of those, decided.
    pub decided: u32,
    /// Median hours from request to decision over decided requests.
    pub wait_median_hours: Option<f64>,
    /// p90 (nearest rank) of the same.
    pub wait_p90_hours: Option<f64>,
    /// Late: decided after the deadline, or still pending past it.
    pub late: u32,
    /// DONE items (of the sprint, or of the pod's closed sprints).
    pub done_items: u32,
    /// Of those, items that needed an approval (one was asked for them).
    pub done_needing_approval: u32,
    /// `done_needing_approval` / `done_items`.
    pub share_done_needing_approval: Option<f64>,
    /// The late requests' items.
    pub late_items: Vec<ItemId>,
}

/// Approvals of `pod` asked for in `[from, to)` (the whole history when `None`), judged at
/// `now`; DONE items are those of the sprint, or of every closed sprint.
pub fn approval_stats(
    pod: &PodView,
    sprint: Option<SprintId>,
    now: DateTime<Utc>,
) -> ApprovalStats {
    if sprint.is_some() {
        return approval_stats_by_definition(pod, sprint, now);
    }
    let kept = &pod.settled.get_or_init(|| Settled::of(pod)).approvals;
    let late_items: Vec<ItemId> = kept
        .late_or_pending
        .iter()
        .filter(|(_, due)| due.is_none_or(|due| now > due))
        .map(|(item, _)| *item)
        .collect();
    ApprovalStats {
        requested: kept.requested,
        decided: kept.decided,
        wait_median_hours: kept.waits.0,
        wait_p90_hours: kept.waits.1,
        late: late_items.len() as u32,
        done_items: kept.done_items,
        done_needing_approval: kept.done_needing_approval,
        share_done_needing_approval: ratio(kept.done_needing_approval, kept.done_items),
        late_items,
    }
}

/// [`approval_stats`] by SPEC §9.3's definition, from every approval (its oracle; a sprint's
/// approvals are found by bisection either way).
pub fn approval_stats_by_definition(
    pod: &PodView,
    sprint: Option<SprintId>,
    now: DateTime<Utc>,
) -> ApprovalStats {
    let window = sprint
        .and_then(|s| pod.sprint(s))
        .and_then(|s| Some((s.started_at?, s.closed_at.unwrap_or(now))));
    let mut stats = ApprovalStats::default();
    let mut waits = Vec::new();
    // A sprint's approvals found by bisection over the order asked, taken in id order (as a
    // walk of every approval takes them); every approval without a sprint.
    let approvals: Vec<&podledger_domain::pod::Approval> = match window {
        Some((from, to)) => {
            let mut asked: Vec<_> = pod.approvals_asked_between(from, to).collect();
            asked.sort_by_key(|(id, _)| *id);
            asked.into_iter().map(|(_, a)| a).collect()
        }
        None => pod.state.approvals.values().collect(),
    };
    for approval in approvals {
        stats.requested += 1;
        let late = match &approval.decision {
            Some(d) => {
                stats.decided += 1;
                waits.push(hours(approval.requested_at, d.at));
                d.at > approval.due_at
            }
            None => now > approval.due_at,
        };
        if late {
            stats.late += 1;
            stats.late_items.push(approval.item);
        }
    }
    (stats.wait_median_hours, stats.wait_p90_hours) = median_and_p90(&mut waits);
    let asked = |item: &ItemId| pod.approvals_by_item.contains_key(item);
    let done: Vec<ItemId> = match sprint.and_then(|s| pod.sprint(s)) {
        Some(s) => match &s.history.closing {
            Some(c) => c.done.iter().map(|(i, _)| *i).collect(),
            None => s
                .items
                .iter()
                .copied()
                .filter(|i| {
                    pod.state
                        .items
                        .get(i)
                        .is_some_and(|i| i.status == podledger_domain::pod::ItemStatus::Done)
                })
                .collect(),
        },
        None => pod
            .sprints
            .iter()
            .filter_map(|s| s.closing.as_ref())
            .flat_map(|c| c.done.iter().map(|(i, _)| *i))
            .collect(),
    };
    stats.done_items = done.len() as u32;
    stats.done_needing_approval = done.iter().filter(|i| asked(i)).count() as u32;
    stats.share_done_needing_approval = ratio(stats.done_needing_approval, stats.done_items);
    stats
}

/// A pod's requests to shared services (SPEC §9.1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodServiceStats {
    /// Requests opened.
    pub requests: u32,
    /// Requests waiting now (OPEN or ACCEPTED).
    pub waiting: u32,
    /// Σ over its requests of (closed-or-now − received) in days, each at least 0.
    pub pod_days_waiting: f64,
    /// Requests breached at `now`.
    pub breached: u32,
    /// Breached and still waiting.
    pub open_breaches: Vec<ServiceRequestId>,
}

/// `pod`'s requests to shared services at `now`: the closed ones from what the view keeps, the
/// others (open work) walked.
pub fn pod_service_stats(pod: &PodView, now: DateTime<Utc>) -> PodServiceStats {
    let kept = &pod.settled.get_or_init(|| Settled::of(pod)).services;
    let mut stats = PodServiceStats {
        requests: kept.requests,
        breached: kept.closed_late_due.partition_point(|due| *due < now) as u32,
        ..PodServiceStats::default()
    };
    let mut waited_ms = kept.closed_waited_ms;
    let open = kept
        .open
        .iter()
        .filter_map(|id| Some((id, pod.state.service_requests.get(id)?)));
    for (id, r) in open {
        count_pod_request(&mut stats, &mut waited_ms, *id, r, now);
    }
    stats.pod_days_waiting = days(waited_ms);
    stats
}

/// Counts request `id` (`r`) into its pod's figures at `now`, all but the count of requests
/// (SPEC §9.1), and the milliseconds it waited into `waited_ms`.
fn count_pod_request(
    stats: &mut PodServiceStats,
    waited_ms: &mut i64,
    id: ServiceRequestId,
    r: &podledger_domain::pod::ServiceRequest,
    now: DateTime<Utc>,
) {
    if r.status.is_waiting() {
        stats.waiting += 1;
    }
    *waited_ms += waited(r, now);
    if r.breached_at(now) {
        stats.breached += 1;
        if r.status.is_waiting() {
            stats.open_breaches.push(id);
        }
    }
}

/// Milliseconds request `r` waited by `now` (from receipt to its close, or to `now`), at least 0.
fn waited(r: &podledger_domain::pod::ServiceRequest, now: DateTime<Utc>) -> i64 {
    (r.closed_at.unwrap_or(now) - r.received_at)
        .num_milliseconds()
        .max(0)
}

fn days(ms: i64) -> f64 {
    ms as f64 / 86_400_000.0
}

/// [`pod_service_stats`] by SPEC §9.1's definition, from every request (its oracle).
pub fn pod_service_stats_by_definition(pod: &PodView, now: DateTime<Utc>) -> PodServiceStats {
    let mut stats = PodServiceStats::default();
    let mut waited_ms = 0;
    for (id, r) in &pod.state.service_requests {
        stats.requests += 1;
        count_pod_request(&mut stats, &mut waited_ms, *id, r, now);
    }
    stats.pod_days_waiting = days(waited_ms);
    stats
}

/// A shared service's figures (SPEC §9.1), over every pod's requests to it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStats {
    /// Requests received.
    pub requests: u32,
    /// Delivered.
    pub delivered: u32,
    /// Delivered by their due time.
    pub delivered_on_time: u32,
    /// Breached at `now` (not delivered or rejected by their due time).
    pub breached: u32,
    /// delivered on time / (delivered or breached).
    pub sla_attainment: Option<f64>,
    /// Median hours from receipt to delivery, over delivered requests.
    pub turnaround_median_hours: Option<f64>,
    /// p90 (nearest rank) of the same.
    pub turnaround_p90_hours: Option<f64>,
    /// Breached requests still waiting now.
    pub open_breaches: u32,
    /// Requests waiting now.
    pub waiting: u32,
}

/// The figures of every shared service at `now`, over the requests of `pods`: each pod's closed
/// requests from what its view keeps (the turnaround median and p90 selected across the pods'
/// sorted lists), its open ones walked.
pub fn service_stats<'a>(
    pods: impl IntoIterator<Item = (PodId, &'a PodView)>,
    now: DateTime<Utc>,
) -> BTreeMap<SharedServiceId, ServiceStats> {
    let mut stats: BTreeMap<SharedServiceId, ServiceStats> = BTreeMap::new();
    let mut turnaround: BTreeMap<SharedServiceId, Vec<&[f64]>> = BTreeMap::new();
    let mut open_delivered: BTreeMap<SharedServiceId, Vec<f64>> = BTreeMap::new();
    for (_, pod) in pods {
        let kept = &pod.settled.get_or_init(|| Settled::of(pod)).services;
        for (service, k) in &kept.by_service {
            let s = stats.entry(*service).or_default();
            s.requests += k.requests;
            s.delivered += k.delivered;
            let late = k.closed_late_due.partition_point(|due| *due < now) as u32;
            let delivered_late = k.delivered_late_due.partition_point(|due| *due < now) as u32;
            s.breached += late;
            s.delivered_on_time += k.delivered - delivered_late;
            turnaround.entry(*service).or_default().push(&k.turnaround);
        }
        let open = kept
            .open
            .iter()
            .filter_map(|id| pod.state.service_requests.get(id));
        for r in open {
            let s = stats.entry(r.service).or_default();
            count_request(s, r, now, open_delivered.entry(r.service).or_default());
        }
    }
    for (service, s) in &mut stats {
        s.sla_attainment = s.attainment();
        let mut lists = turnaround.remove(service).unwrap_or_default();
        let mut extra = open_delivered.remove(service).unwrap_or_default();
        extra.sort_by(f64::total_cmp);
        lists.push(&extra);
        (s.turnaround_median_hours, s.turnaround_p90_hours) = median_and_p90_of_sorted(&lists);
    }
    stats
}

impl ServiceStats {
    /// Delivered on time / (delivered on time or breached).
    fn attainment(&self) -> Option<f64> {
        ratio(
            self.delivered_on_time,
            self.delivered_on_time + self.breached,
        )
    }
}

/// Counts request `r` into its service's figures `s` at `now` (SPEC §9.1), and its turnaround
/// into `turnaround` if it was delivered.
fn count_request(
    s: &mut ServiceStats,
    r: &podledger_domain::pod::ServiceRequest,
    now: DateTime<Utc>,
    turnaround: &mut Vec<f64>,
) {
    s.requests += 1;
    let breached = r.breached_at(now);
    if r.status == ServiceRequestStatus::Delivered {
        s.delivered += 1;
        if let Some(at) = r.closed_at {
            turnaround.push(hours(r.received_at, at));
        }
        if !breached {
            s.delivered_on_time += 1;
        }
    }
    if breached {
        s.breached += 1;
    }
    if r.status.is_waiting() {
        s.waiting += 1;
        if breached {
            s.open_breaches += 1;
        }
    }
}

/// The median (mean of the two middles for an even count) and nearest-rank p90 of the union of
/// sorted lists, selected without merging them.
fn median_and_p90_of_sorted(lists: &[&[f64]]) -> (Option<f64>, Option<f64>) {
    let n: usize = lists.iter().map(|l| l.len()).sum();
    if n == 0 {
        return (None, None);
    }
    let median = if n % 2 == 1 {
        kth(lists, n / 2)
    } else {
        f64::midpoint(kth(lists, n / 2 - 1), kth(lists, n / 2))
    };
    let rank = (n * 9).div_ceil(10).max(1);
    (Some(median), Some(kth(lists, rank - 1)))
}

/// The `k`-th smallest (from 0) of the union of sorted lists: for each list in turn, the
/// first of its values with more than `k` values at or below it, if fewer than `k + 1` are
/// below it. O(lists² · log²) — the lists are a service's pods.
fn kth(lists: &[&[f64]], k: usize) -> f64 {
    let below = |x: f64| -> usize {
        lists
            .iter()
            .map(|l| l.partition_point(|v| v.total_cmp(&x).is_lt()))
            .sum()
    };
    let at_or_below = |x: f64| -> usize {
        lists
            .iter()
            .map(|l| l.partition_point(|v| v.total_cmp(&x).is_le()))
            .sum()
    };
    for list in lists {
        let j = list.partition_point(|v| at_or_below(*v) <= k);
        if let Some(&x) = list.get(j)
            && below(x) <= k
        {
            return x;
        }
    }
    unreachable!("k is below the lists' total length")
}

/// [`service_stats`] by SPEC §9.1's definition, from every request of every pod (its oracle).
pub fn service_stats_by_definition<'a>(
    pods: impl IntoIterator<Item = (PodId, &'a PodView)>,
    now: DateTime<Utc>,
) -> BTreeMap<SharedServiceId, ServiceStats> {
    let mut stats: BTreeMap<SharedServiceId, ServiceStats> = BTreeMap::new();
    let mut turnaround: BTreeMap<SharedServiceId, Vec<f64>> = BTreeMap::new();
    for (_, pod) in pods {
        for r in pod.state.service_requests.values() {
            let s = stats.entry(r.service).or_default();
            count_request(s, r, now, turnaround.entry(r.service).or_default());
        }
    }
    for (service, s) in &mut stats {
        s.sla_attainment = s.attainment();
        let mut times = turnaround.remove(service).unwrap_or_default();
        (s.turnaround_median_hours, s.turnaround_p90_hours) = median_and_p90(&mut times);
    }
    stats
}

/// What a pod's §9 figures need that does not move with the clock, computed from its whole
/// history on first use and kept with the view until an event that changes it (a sprint's, a
/// retro's, an approval's or a service request's: [`PodView::settled`]); a request then reads
/// it and walks only what is still open.
#[derive(Clone, Debug, Default)]
pub struct Settled {
    retros: RetroStats,
    approvals: KeptApprovals,
    services: KeptServices,
}

#[derive(Clone, Debug, Default)]
struct KeptApprovals {
    requested: u32,
    decided: u32,
    /// Median and p90 of the decided ones' waits, in hours.
    waits: (Option<f64>, Option<f64>),
    /// Approvals decided late (`None`) or still pending (`Some`: late once past it), in id
    /// order, with their items.
    late_or_pending: Vec<(ItemId, Option<DateTime<Utc>>)>,
    done_items: u32,
    done_needing_approval: u32,
}

#[derive(Clone, Debug, Default)]
struct KeptServices {
    requests: u32,
    /// Milliseconds waited by the requests closed (and not waiting).
    closed_waited_ms: i64,
    /// Due times, sorted, of the closed requests not answered or cancelled by them: each is
    /// breached once `now` is past it.
    closed_late_due: Vec<DateTime<Utc>>,
    /// The other requests (waiting, or without a close time), in id order: walked.
    open: Vec<ServiceRequestId>,
    by_service: BTreeMap<SharedServiceId, KeptService>,
}

/// A pod's closed requests to one service.
#[derive(Clone, Debug, Default)]
struct KeptService {
    requests: u32,
    delivered: u32,
    /// Due times, sorted, of the closed requests not answered or cancelled by them.
    closed_late_due: Vec<DateTime<Utc>>,
    /// Of those, the delivered ones'.
    delivered_late_due: Vec<DateTime<Utc>>,
    /// Hours from receipt to delivery, sorted.
    turnaround: Vec<f64>,
}

impl Settled {
    /// From every retro action, approval and request of `pod`.
    pub fn of(pod: &PodView) -> Self {
        let by_definition = approval_stats_by_definition(pod, None, DateTime::<Utc>::MIN_UTC);
        let mut approvals = KeptApprovals {
            requested: by_definition.requested,
            decided: by_definition.decided,
            waits: (
                by_definition.wait_median_hours,
                by_definition.wait_p90_hours,
            ),
            done_items: by_definition.done_items,
            done_needing_approval: by_definition.done_needing_approval,
            ..KeptApprovals::default()
        };
        for approval in pod.state.approvals.values() {
            match &approval.decision {
                Some(d) if d.at > approval.due_at => {
                    approvals.late_or_pending.push((approval.item, None));
                }
                Some(_) => {}
                None => approvals
                    .late_or_pending
                    .push((approval.item, Some(approval.due_at))),
            }
        }
        let mut services = KeptServices::default();
        for (id, r) in &pod.state.service_requests {
            services.requests += 1;
            let Some(closed_at) = r.closed_at.filter(|_| !r.status.is_waiting()) else {
                services.open.push(*id);
                continue;
            };
            let service = services.by_service.entry(r.service).or_default();
            service.requests += 1;
            services.closed_waited_ms += waited(r, closed_at);
            // Breached at any time past its due time, unless answered or cancelled by it (as
            // `ServiceRequest::breached_at` decides).
            let late = r.breached_at(DateTime::<Utc>::MAX_UTC);
            if late {
                services.closed_late_due.push(r.due_at);
                service.closed_late_due.push(r.due_at);
            }
            if r.status == ServiceRequestStatus::Delivered {
                service.delivered += 1;
                service.turnaround.push(hours(r.received_at, closed_at));
                if late {
                    service.delivered_late_due.push(r.due_at);
                }
            }
        }
        services.closed_late_due.sort();
        for service in services.by_service.values_mut() {
            service.closed_late_due.sort();
            service.delivered_late_due.sort();
            service.turnaround.sort_by(f64::total_cmp);
        }
        Self {
            retros: retro_stats_by_definition(pod),
            approvals,
            services,
        }
    }

    /// Whether `event` can change what is kept.
    pub const fn changed_by(event: &podledger_domain::pod::PodEvent) -> bool {
        use podledger_domain::pod::PodEvent as E;
        matches!(
            event,
            E::SprintPlanned { .. }
                | E::SprintDatesChanged { .. }
                | E::SprintGoalSet { .. }
                | E::SprintStarted { .. }
                | E::SprintClosed { .. }
                | E::RetroRecorded { .. }
                | E::RetroActionResolved { .. }
                | E::ApprovalRequested { .. }
                | E::ApprovalDecided { .. }
                | E::ServiceRequestOpened { .. }
                | E::ServiceRequestAccepted { .. }
                | E::ServiceRequestDelivered { .. }
                | E::ServiceRequestRejected { .. }
                | E::ServiceRequestCancelled { .. }
                | E::ServiceRequestEscalated { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The selection across sorted lists equals sorting their union, for counts odd and even,
    /// with ties, across one to five lists.
    #[test]
    fn median_and_p90_across_sorted_lists_equal_those_of_their_union() {
        let mut seed = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for case in 0..300 {
            let lists: Vec<Vec<f64>> = (0..=case % 5)
                .map(|_| {
                    let mut l: Vec<f64> = (0..next() % 9)
                        .map(|_| (next() % 20) as f64 / 2.0)
                        .collect();
                    l.sort_by(f64::total_cmp);
                    l
                })
                .collect();
            let slices: Vec<&[f64]> = lists.iter().map(Vec::as_slice).collect();
            let mut union: Vec<f64> = lists.concat();
            assert_eq!(
                median_and_p90_of_sorted(&slices),
                median_and_p90(&mut union),
                "case {case}: {lists:?}"
            );
        }
    }
}

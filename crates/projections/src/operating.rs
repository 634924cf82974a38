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

/// Retro follow-through of `pod`.
pub fn retro_stats(pod: &PodView) -> RetroStats {
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

/// `pod`'s requests to shared services at `now`.
pub fn pod_service_stats(pod: &PodView, now: DateTime<Utc>) -> PodServiceStats {
    let mut stats = PodServiceStats::default();
    for (id, r) in &pod.state.service_requests {
        stats.requests += 1;
        if r.status.is_waiting() {
            stats.waiting += 1;
        }
        let end = r.closed_at.unwrap_or(now);
        stats.pod_days_waiting += (hours(r.received_at, end) / 24.0).max(0.0);
        if r.breached_at(now) {
            stats.breached += 1;
            if r.status.is_waiting() {
                stats.open_breaches.push(*id);
            }
        }
    }
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

/// The figures of every shared service at `now`, over the requests of `pods`.
pub fn service_stats<'a>(
    pods: impl IntoIterator<Item = (PodId, &'a PodView)>,
    now: DateTime<Utc>,
) -> BTreeMap<SharedServiceId, ServiceStats> {
    let mut stats: BTreeMap<SharedServiceId, ServiceStats> = BTreeMap::new();
    let mut turnaround: BTreeMap<SharedServiceId, Vec<f64>> = BTreeMap::new();
    for (_, pod) in pods {
        for r in pod.state.service_requests.values() {
            let s = stats.entry(r.service).or_default();
            s.requests += 1;
            let breached = r.breached_at(now);
            if r.status == ServiceRequestStatus::Delivered {
                s.delivered += 1;
                if let Some(at) = r.closed_at {
                    turnaround
                        .entry(r.service)
                        .or_default()
                        .push(hours(r.received_at, at));
                }
            }
            if !breached && r.status == ServiceRequestStatus::Delivered {
                s.delivered_on_time += 1;
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
    }
    for (service, s) in &mut stats {
        let delivered_or_breached = s.delivered_on_time + s.breached;
        s.sla_attainment = ratio(s.delivered_on_time, delivered_or_breached);
        let mut times = turnaround.remove(service).unwrap_or_default();
        (s.turnaround_median_hours, s.turnaround_p90_hours) = median_and_p90(&mut times);
    }
    stats
}

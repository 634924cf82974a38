//! Every metric of SPEC §6, as pure functions of the pod view. Undefined values are `None`,
//! never 0 or NaN.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Datelike, Utc};
use podledger_domain::ids::{ItemId, SprintId};
use podledger_domain::pod::{BlockerCategory, SprintStatus};
use serde::{Deserialize, Serialize};

use crate::pod_view::{BlockerView, PodView, SprintView};

/// Velocity split by where the points came from (SPEC §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VelocityByCause {
    /// Σ t0 estimate of D ∩ C.
    pub committed_done: u32,
    /// Σ (estimate at completion − t0 estimate) over D ∩ C (negative when estimates fell).
    pub reestimated_done: i64,
    /// Σ estimate at completion of D \ C.
    pub added_done: u32,
    /// Σ estimate of R at each removal.
    pub removed: u32,
    /// Σ estimate at t1 of I1 \ D.
    pub not_done: u32,
}

/// The metrics of one sprint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SprintMetrics {
    /// The sprint.
    pub sprint_id: SprintId,
    /// Its number.
    pub number: u32,
    /// Status.
    pub status: SprintStatus,
    /// Σ t0 estimates of C (once started).
    pub committed_points: Option<u32>,
    /// Σ estimate of D (closed sprints).
    pub velocity: Option<u32>,
    /// Σ t0 estimate of D ∩ C / committedPoints (closed; null when committedPoints = 0).
    pub commitment_reliability: Option<f64>,
    /// (ΣA + ΣR + Σ|Δ re-estimates|) / committedPoints (so far, once started; null when 0).
    pub scope_churn: Option<f64>,
    /// |D| / |I1| (closed; null when I1 is empty).
    pub task_completion: Option<f64>,
    /// Every goal item DONE at t1 (closed).
    pub goal_met: Option<bool>,
    /// Velocity by cause (closed).
    pub velocity_by_cause: Option<VelocityByCause>,
    /// Backlog churn rate over [t0, t1) (closed).
    pub backlog_churn_rate: Option<f64>,
    /// Scope changes after start: additions.
    pub additions: u32,
    /// Scope changes after start: removals.
    pub removals: u32,
    /// Blockers escalated while active.
    pub escalations: u32,
}

fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator != 0.0).then(|| numerator / denominator)
}

/// The metrics of `sprint` in `pod`.
pub fn sprint_metrics(pod: &PodView, sprint: SprintView<'_>) -> SprintMetrics {
    let started = sprint.started_at.is_some();
    let committed_points: u32 = sprint.history.committed.iter().map(|(_, e)| e).sum();
    let churn_points = sprint.history.added.iter().map(|c| c.estimate).sum::<u32>()
        + sprint
            .history
            .removed
            .iter()
            .map(|c| c.estimate)
            .sum::<u32>()
        + sprint.history.reestimate_churn;
    let mut m = SprintMetrics {
        sprint_id: sprint.id,
        number: sprint.number,
        status: sprint.status,
        committed_points: started.then_some(committed_points),
        velocity: None,
        commitment_reliability: None,
        scope_churn: if started {
            ratio(f64::from(churn_points), f64::from(committed_points))
        } else {
            None
        },
        task_completion: None,
        goal_met: None,
        velocity_by_cause: None,
        backlog_churn_rate: None,
        additions: sprint.history.added.len() as u32,
        removals: sprint.history.removed.len() as u32,
        escalations: sprint.history.escalations,
    };
    let Some(closing) = &sprint.history.closing else {
        return m;
    };
    let t0_estimate: BTreeMap<ItemId, u32> = sprint.history.committed.iter().copied().collect();
    let (mut committed_done, mut reestimated_done, mut added_done) = (0u32, 0i64, 0u32);
    for (item, at_completion) in &closing.done {
        match t0_estimate.get(item) {
            Some(t0) => {
                committed_done += t0;
                reestimated_done += i64::from(*at_completion) - i64::from(*t0);
            }
            None => added_done += at_completion,
        }
    }
    let velocity: u32 = closing.done.iter().map(|(_, e)| e).sum();
    let i1 = closing.done.len() + closing.not_done.len();
    m.velocity = Some(velocity);
    m.commitment_reliability = ratio(f64::from(committed_done), f64::from(committed_points));
    m.task_completion = ratio(closing.done.len() as f64, i1 as f64);
    m.goal_met = Some(closing.goal_met);
    m.velocity_by_cause = Some(VelocityByCause {
        committed_done,
        reestimated_done,
        added_done,
        removed: sprint.history.removed.iter().map(|c| c.estimate).sum(),
        not_done: closing.not_done.iter().map(|(_, e)| e).sum(),
    });
    if let (Some(t0), Some(t1)) = (sprint.started_at, sprint.closed_at) {
        m.backlog_churn_rate = backlog_churn_rate(pod, t0, t1);
    }
    m
}

/// Backlog churn rate over `[from, to)`: distinct items created, dropped or re-ranked in the
/// window / (open items at the window's start + items created in the window).
pub fn backlog_churn_rate(pod: &PodView, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<f64> {
    let within = |t: &DateTime<Utc>| *t >= from && *t < to;
    let mut churned = HashSet::new();
    let (mut open_at_start, mut created) = (0u32, 0u32);
    for item in pod.items() {
        let created_at = item.history.created_at;
        if within(&created_at) {
            created += 1;
            churned.insert(item.id);
        } else if created_at < from && item.open_before(from) {
            open_at_start += 1;
        }
        let dropped = item
            .history
            .status_log
            .iter()
            .any(|(t, s)| within(t) && *s == podledger_domain::pod::ItemStatus::Dropped);
        if dropped || item.history.ranked_at.iter().any(within) {
            churned.insert(item.id);
        }
    }
    ratio(churned.len() as f64, f64::from(open_at_start + created))
}

/// Blocker statistics (SPEC §6).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockerStats {
    /// Resolved blockers.
    pub resolved: u32,
    /// Unresolved blockers.
    pub open: u32,
    /// Median resolution time in hours (mean of the two middle values for an even count).
    pub median_hours: Option<f64>,
    /// p90 resolution time in hours (nearest rank: the ⌈0.9·n⌉-th smallest).
    pub p90_hours: Option<f64>,
    /// Share of resolved blockers resolved within 48 h.
    pub share_within_48h: Option<f64>,
    /// Blockers raised per month (`YYYY-MM`) and category.
    pub by_month_and_category: Vec<MonthCount>,
}

/// Blockers of one category raised in one month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MonthCount {
    /// `YYYY-MM` of the raise.
    pub month: String,
    /// Category.
    pub category: BlockerCategory,
    /// How many.
    pub count: u32,
}

/// The median (mean of the two middle values for an even count) and the p90 (nearest rank:
/// the ⌈0.9·n⌉-th smallest) of `values`, which it sorts; `None` for no value (SPEC §6).
pub fn median_and_p90(values: &mut [f64]) -> (Option<f64>, Option<f64>) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return (None, None);
    }
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        f64::midpoint(values[n / 2 - 1], values[n / 2])
    };
    let rank = (n * 9).div_ceil(10).max(1);
    (Some(median), Some(values[rank - 1]))
}

/// Statistics over `blockers`.
pub fn blocker_stats<'a>(blockers: impl IntoIterator<Item = BlockerView<'a>>) -> BlockerStats {
    let mut hours = Vec::new();
    let mut stats = BlockerStats::default();
    let mut counts: BTreeMap<(String, BlockerCategory), u32> = BTreeMap::new();
    for b in blockers {
        let month = format!("{:04}-{:02}", b.raised_at.year(), b.raised_at.month());
        *counts.entry((month, b.category)).or_default() += 1;
        match b.resolved_at {
            Some(resolved) => {
                stats.resolved += 1;
                hours.push((resolved - b.raised_at).num_milliseconds() as f64 / 3_600_000.0);
            }
            None => stats.open += 1,
        }
    }
    (stats.median_hours, stats.p90_hours) = median_and_p90(&mut hours);
    if !hours.is_empty() {
        stats.share_within_48h =
            Some(hours.iter().filter(|h| **h <= 48.0).count() as f64 / hours.len() as f64);
    }
    stats.by_month_and_category = counts
        .into_iter()
        .map(|((month, category), count)| MonthCount {
            month,
            category,
            count,
        })
        .collect();
    stats
}

/// Metrics of a pod over its closed sprints (SPEC §6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMetrics {
    /// Closed sprints counted.
    pub closed_sprints: u32,
    /// Mean velocity of the last 3 closed sprints (fewer if fewer; null if none).
    pub average_velocity: Option<f64>,
    /// Goal-met sprints / closed sprints.
    pub goal_completion_rate: Option<f64>,
    /// Closed sprints with the goal met and no escalation / closed sprints.
    pub goals_without_escalation: Option<f64>,
    /// Blocker statistics.
    pub blockers: BlockerStats,
}

/// The pod's metrics; `last_n` limits the goal rates to the last N closed sprints. Read from
/// the view's tally: O(1) in the length of the pod's history, but for one entry per month of
/// blocker raises.
pub fn pod_metrics(pod: &PodView, last_n: Option<usize>) -> PodMetrics {
    let closed = &pod.tally.closed;
    let last3 = closed.last(3);
    let window = last_n.map_or(closed.len(), |n| n.min(closed.len()));
    let (goals_met, calm) = closed.goals_in_last(window);
    PodMetrics {
        closed_sprints: closed.len() as u32,
        average_velocity: ratio(
            last3.iter().map(|c| f64::from(c.velocity)).sum(),
            last3.len() as f64,
        ),
        goal_completion_rate: ratio(f64::from(goals_met), window as f64),
        goals_without_escalation: ratio(f64::from(calm), window as f64),
        blockers: tallied_blocker_stats(&pod.tally.blockers),
    }
}

/// [`pod_metrics`] by its definition: every closed sprint's metrics and every blocker walked.
/// The tally must always equal it (the property tests compare the two).
pub fn pod_metrics_by_definition(pod: &PodView, last_n: Option<usize>) -> PodMetrics {
    let sprints: Vec<SprintMetrics> = pod.sprints().map(|s| sprint_metrics(pod, s)).collect();
    let mut closed: Vec<(SprintView<'_>, &SprintMetrics)> = pod
        .sprints()
        .zip(&sprints)
        .filter(|(s, _)| s.status == SprintStatus::Closed)
        .collect();
    closed.sort_by_key(|(s, _)| s.closed_at);
    let last3: Vec<u32> = closed
        .iter()
        .rev()
        .take(3)
        .filter_map(|(_, m)| m.velocity)
        .collect();
    let window = last_n.map_or(closed.len(), |n| n.min(closed.len()));
    let considered = &closed[closed.len() - window..];
    let goal_met = considered
        .iter()
        .filter(|(_, m)| m.goal_met == Some(true))
        .count();
    let calm = considered
        .iter()
        .filter(|(s, m)| m.goal_met == Some(true) && s.history.escalations == 0)
        .count();
    PodMetrics {
        closed_sprints: closed.len() as u32,
        average_velocity: ratio(
            last3.iter().map(|v| f64::from(*v)).sum(),
            last3.len() as f64,
        ),
        goal_completion_rate: ratio(goal_met as f64, considered.len() as f64),
        goals_without_escalation: ratio(calm as f64, considered.len() as f64),
        blockers: blocker_stats(pod.blockers()),
    }
}

/// Blocker statistics from the tally kept as the blockers came and went.
fn tallied_blocker_stats(tally: &crate::tally::BlockerTally) -> BlockerStats {
    let hours = |ms: i64| ms as f64 / 3_600_000.0;
    let (median_hours, p90_hours) = tally.resolution_ms.median_and_p90(hours);
    let resolved = tally.resolution_ms.len();
    BlockerStats {
        resolved: resolved as u32,
        open: tally.unresolved.len() as u32,
        median_hours,
        p90_hours,
        share_within_48h: (resolved > 0).then(|| f64::from(tally.within_48h) / resolved as f64),
        by_month_and_category: tally
            .raised
            .iter()
            .map(|((year, month, category), count)| MonthCount {
                month: format!("{year:04}-{month:02}"),
                category: *category,
                count: *count,
            })
            .collect(),
    }
}

/// The metrics of the sprint at `index` in plan order: kept with the view once it has closed
/// (computed on first use), computed now while it is planned or active.
pub fn sprint_metrics_at(
    pod: &PodView,
    index: usize,
) -> Option<std::borrow::Cow<'_, SprintMetrics>> {
    let sprint = pod.sprint_at(index)?;
    Some(if sprint.status == SprintStatus::Closed {
        std::borrow::Cow::Borrowed(
            sprint
                .history
                .metrics
                .get_or_init(|| sprint_metrics(pod, sprint)),
        )
    } else {
        std::borrow::Cow::Owned(sprint_metrics(pod, sprint))
    })
}

/// One day of a sprint's burndown (SPEC §6).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BurndownDay {
    /// The calendar day (UTC).
    pub date: chrono::NaiveDate,
    /// Σ current estimate, at the end of the day, of the sprint's items that are not DONE.
    pub remaining: u32,
    /// Σ current estimate, at the end of the day, of all the sprint's items.
    pub scope: u32,
    /// The ideal line: committedPoints on the start date down to 0 on the end date (null
    /// before the sprint started).
    pub ideal: Option<f64>,
}

/// The burndown of `sprint` (SPEC §6): one day for each calendar day from its start date to
/// the earlier of its end date and `today`, each with the points at the end of that day (a
/// day without a change carries the day before; days before the first commitment are 0).
/// Read from the samples the view keeps, so its cost is the sprint's length, never the
/// pod's history.
pub fn burndown(sprint: SprintView<'_>, today: chrono::NaiveDate) -> Vec<BurndownDay> {
    let committed: Option<u32> = sprint
        .started_at
        .map(|_| sprint.history.committed.iter().map(|(_, e)| e).sum());
    let length = (sprint.end_date - sprint.start_date).num_days();
    let last = sprint.end_date.min(today);
    let mut samples = sprint.history.burndown.iter().peekable();
    let (mut remaining, mut scope) = (0, 0);
    let mut days = Vec::new();
    let mut date = sprint.start_date;
    while date <= last {
        while let Some(sample) = samples.next_if(|s| s.date <= date) {
            remaining = sample.remaining;
            scope = sample.scope;
        }
        let elapsed = (date - sprint.start_date).num_days();
        let ideal = committed.map(|points| {
            if length <= 0 {
                0.0
            } else {
                f64::from(points) * (length - elapsed) as f64 / length as f64
            }
        });
        days.push(BurndownDay {
            date,
            remaining,
            scope,
            ideal,
        });
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    days
}

//! What a pod's metrics need, kept as the events arrive (issue 22): a read costs O(1) or
//! O(log n) whatever the length of the pod's history, and each event adds O(log n) at most.
//!
//! - [`ClosedSprints`]: the closed sprints in closing order with their velocity and goal, and
//!   running counts, so the average velocity and the goal rates over the last N read in O(1).
//! - [`BlockerTally`]: blockers open and resolved, resolution times as [`OrderStatistics`]
//!   (median and p90 exactly as SPEC §6 defines them), the share within 48 h, raises per month
//!   and category.
//! - [`Memo`]: a figure computed on first use and kept with the view (a closed sprint's metrics
//!   never change: business time never goes back, so no later event falls inside its window).
//!
//! Every figure equals the one computed from the whole history; the property tests compare
//! the two after any command sequence.

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, Utc};
use podledger_domain::persistent::Map;
use podledger_domain::pod::BlockerCategory;
use serde::{Deserialize, Serialize};

/// The k-th smallest of a growing multiset, for a rank that follows its size: the k smallest
/// on the low side and the rest on the high side, each a multiset (value → count) in a
/// persistent map, so a copy of the view costs O(1). An insertion moves at most two values
/// between the sides — O(log n); the k-th and (k+1)-th smallest read in O(log n).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct RankSplit {
    low: Multiset,
    high: Multiset,
}

/// Values with their counts, and how many in all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Multiset {
    counts: Map<i64, u32>,
    len: usize,
}

impl Multiset {
    fn add(&mut self, value: i64) {
        *self.counts.entry(value).or_default() += 1;
        self.len += 1;
    }

    /// Removes one of `value` (which is there).
    fn take(&mut self, value: i64) -> i64 {
        match self.counts.get_mut(&value) {
            Some(n) if *n > 1 => *n -= 1,
            _ => {
                self.counts.remove(&value);
            }
        }
        self.len -= 1;
        value
    }

    fn max(&self) -> Option<i64> {
        self.counts.get_max().map(|(v, _)| *v)
    }

    fn min(&self) -> Option<i64> {
        self.counts.get_min().map(|(v, _)| *v)
    }
}

impl RankSplit {
    /// Adds `value` and rebalances so that `low` holds the `k` smallest.
    fn insert(&mut self, value: i64, k: usize) {
        match self.low.max() {
            Some(top) if value > top => self.high.add(value),
            _ => self.low.add(value),
        }
        while self.low.len > k {
            let top = self.low.max().expect("low is not empty");
            self.high.add(self.low.take(top));
        }
        while self.low.len < k {
            let Some(least) = self.high.min() else {
                break;
            };
            self.low.add(self.high.take(least));
        }
    }

    /// The k-th smallest.
    fn kth(&self) -> Option<i64> {
        self.low.max()
    }

    /// The (k+1)-th smallest.
    fn next(&self) -> Option<i64> {
        self.high.min()
    }
}

/// Order statistics of a growing multiset of integers: its median (the mean of the two
/// middle values for an even count) and its p90 (nearest rank: the ⌈0.9·n⌉-th smallest), as
/// [`crate::metrics::median_and_p90`] computes them from a sorted list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStatistics {
    median: RankSplit,
    p90: RankSplit,
    len: usize,
}

impl OrderStatistics {
    /// Adds one value: O(log n).
    pub fn insert(&mut self, value: i64) {
        self.len += 1;
        self.median.insert(value, self.len.div_ceil(2));
        self.p90.insert(value, (self.len * 9).div_ceil(10).max(1));
    }

    /// How many values.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// No value yet.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The median and the p90, each mapped through `scale` first (the mean of the two middle
    /// values is taken after scaling, as the list form does); `None` without values.
    pub fn median_and_p90(&self, scale: impl Fn(i64) -> f64) -> (Option<f64>, Option<f64>) {
        let Some(middle) = self.median.kth() else {
            return (None, None);
        };
        let median = if self.len % 2 == 1 {
            scale(middle)
        } else {
            let upper = self.median.next().expect("an even count has two middles");
            f64::midpoint(scale(middle), scale(upper))
        };
        (Some(median), self.p90.kth().map(scale))
    }
}

/// One closed sprint as the pod's rates need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosedSprint {
    /// Its index in plan order.
    pub index: u32,
    /// When it closed.
    #[serde(with = "crate::stamp")]
    pub closed_at: DateTime<Utc>,
    /// Its velocity (SPEC §6).
    pub velocity: u32,
    /// Its goal was met.
    pub goal_met: bool,
    /// Its goal was met and no blocker was escalated during it.
    pub calm: bool,
    /// Goal-met sprints among this one and those closed before it.
    pub goals_met_so_far: u32,
    /// Calm sprints among this one and those closed before it.
    pub calm_so_far: u32,
}

/// The pod's closed sprints in closing order with running counts (SPEC §6: average velocity
/// over the last three, goal completion and goals without escalation over the last N).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedSprints {
    list: Vec<ClosedSprint>,
}

impl ClosedSprints {
    /// Records a close (`calm`: no blocker escalated during the sprint). A sprint closing at
    /// the same time as the last one takes its place in (time, plan) order, and the running
    /// counts from there on are recounted — nearly always just its own.
    pub fn close(
        &mut self,
        index: u32,
        closed_at: DateTime<Utc>,
        velocity: u32,
        goal_met: bool,
        calm: bool,
    ) {
        let at = self
            .list
            .partition_point(|c| (c.closed_at, c.index) <= (closed_at, index));
        self.list.insert(
            at,
            ClosedSprint {
                index,
                closed_at,
                velocity,
                goal_met,
                calm: goal_met && calm,
                goals_met_so_far: 0,
                calm_so_far: 0,
            },
        );
        let (mut goals, mut calm) = at.checked_sub(1).map_or((0, 0), |p| {
            (self.list[p].goals_met_so_far, self.list[p].calm_so_far)
        });
        for entry in &mut self.list[at..] {
            goals += u32::from(entry.goal_met);
            calm += u32::from(entry.calm);
            entry.goals_met_so_far = goals;
            entry.calm_so_far = calm;
        }
    }

    /// How many sprints closed.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// None closed yet.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The last `n` closed, oldest first.
    pub fn last(&self, n: usize) -> &[ClosedSprint] {
        &self.list[self.list.len() - n.min(self.list.len())..]
    }

    /// The last sprint closed at or before `now` (the later planned on a tie) and the last one
    /// closed strictly before it.
    pub fn last_by(&self, now: DateTime<Utc>) -> (Option<&ClosedSprint>, Option<&ClosedSprint>) {
        let upto = self.list.partition_point(|c| c.closed_at <= now);
        let Some(last) = upto.checked_sub(1).map(|i| &self.list[i]) else {
            return (None, None);
        };
        let before = self.list[..upto].partition_point(|c| c.closed_at < last.closed_at);
        (Some(last), before.checked_sub(1).map(|i| &self.list[i]))
    }

    /// Goal-met sprints and goal-met sprints without escalation among the last `n` closed.
    pub fn goals_in_last(&self, n: usize) -> (u32, u32) {
        let n = n.min(self.list.len());
        let Some(last) = self.list.last() else {
            return (0, 0);
        };
        let before = (self.list.len() - n).checked_sub(1).map_or((0, 0), |p| {
            (self.list[p].goals_met_so_far, self.list[p].calm_so_far)
        });
        (
            last.goals_met_so_far - before.0,
            last.calm_so_far - before.1,
        )
    }
}

/// How long a blocker may stay open before the health audit calls it stale (SPEC §9.4).
pub const STALE_AFTER: chrono::Duration = chrono::Duration::hours(48);

/// A pod's blockers as SPEC §6's statistics and the health audit need them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockerTally {
    /// The raise-order indices of the blockers not resolved.
    pub unresolved: Map<u32, ()>,
    /// The raise-order indices of the blockers resolved more than 48 h after being raised.
    pub resolved_late: Map<u32, ()>,
    /// Resolution times in milliseconds.
    pub resolution_ms: OrderStatistics,
    /// Of those, resolved within 48 h.
    pub within_48h: u32,
    /// Blockers raised per (year, month, category), in that order: one entry per month and
    /// category, not per blocker.
    pub raised: Vec<((i32, u32, BlockerCategory), u32)>,
}

impl BlockerTally {
    /// The `index`-th blocker raised, raised at `at`.
    pub fn raised(&mut self, index: u32, category: BlockerCategory, at: DateTime<Utc>) {
        self.unresolved.insert(index, ());
        let key = (at.year(), at.month(), category);
        match self.raised.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => self.raised[i].1 += 1,
            Err(i) => self.raised.insert(i, (key, 1)),
        }
    }

    /// The open blocker raised `index`-th, at `raised_at`, resolved at `resolved_at`.
    pub fn resolved(&mut self, index: u32, raised_at: DateTime<Utc>, resolved_at: DateTime<Utc>) {
        self.unresolved.remove(&index);
        if resolved_at > raised_at + STALE_AFTER {
            self.resolved_late.insert(index, ());
        }
        let ms = (resolved_at - raised_at).num_milliseconds();
        self.resolution_ms.insert(ms);
        if ms as f64 / 3_600_000.0 <= 48.0 {
            self.within_48h += 1;
        }
    }
}

/// Everything a pod's metrics read without walking its history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodTally {
    /// Closed sprints, in closing order.
    pub closed: ClosedSprints,
    /// Blockers.
    pub blockers: BlockerTally,
}

/// A figure derived from a view, computed on first use and kept with it: cloned with the view,
/// never serialised, never compared (two views that differ only in what was asked of them are
/// equal).
#[derive(Debug)]
pub struct Memo<T>(OnceLock<T>);

impl<T> Memo<T> {
    /// The figure, computed by `compute` the first time.
    pub fn get_or_init(&self, compute: impl FnOnce() -> T) -> &T {
        self.0.get_or_init(compute)
    }
}

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Self(OnceLock::new())
    }
}

impl<T: Clone> Clone for Memo<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> PartialEq for Memo<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> Eq for Memo<T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::median_and_p90;

    /// Deterministic pseudo-random values, some repeated.
    fn values(seed: u64, n: usize) -> Vec<i64> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 500) as i64 - 100
            })
            .collect()
    }

    #[test]
    fn order_statistics_equal_the_sorted_list_after_every_insertion() {
        for seed in 1..40 {
            let mut stats = OrderStatistics::default();
            let mut list = Vec::new();
            for v in values(seed, 60) {
                stats.insert(v);
                list.push(v as f64);
                let mut sorted = list.clone();
                assert_eq!(
                    stats.median_and_p90(|v| v as f64),
                    median_and_p90(&mut sorted),
                    "after {} values (seed {seed})",
                    list.len()
                );
            }
        }
        assert_eq!(
            OrderStatistics::default().median_and_p90(|v| v as f64),
            (None, None)
        );
    }

    #[test]
    fn closed_sprints_count_goals_over_any_last_n_even_when_closes_come_out_of_order() {
        let t = |h: i64| DateTime::from_timestamp(h * 3600, 0).unwrap();
        let mut closed = ClosedSprints::default();
        // (index, hour, velocity, goal met, calm) — index 2 closes at the same hour as 3.
        let events = [
            (0, 10, 5, true, true),
            (1, 20, 3, false, true),
            (3, 30, 8, true, false),
            (2, 30, 4, true, true),
        ];
        for (index, hour, velocity, goal, calm) in events {
            closed.close(index, t(hour), velocity, goal, calm);
        }
        let order: Vec<u32> = closed.last(10).iter().map(|c| c.index).collect();
        assert_eq!(order, [0, 1, 2, 3]);
        assert_eq!(closed.goals_in_last(10), (3, 2));
        assert_eq!(closed.goals_in_last(2), (2, 1));
        assert_eq!(closed.goals_in_last(1), (1, 0));
        assert_eq!(closed.goals_in_last(0), (0, 0));
        let velocities: Vec<u32> = closed.last(3).iter().map(|c| c.velocity).collect();
        assert_eq!(velocities, [3, 4, 8]);
    }
}

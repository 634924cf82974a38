//! A sprint's burndown (SPEC §6): its points day by day against the ideal line, and the scope
//! changes that moved them.

use async_graphql::{Enum, ID, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use crate::ids::to_id;

/// One calendar day (UTC) of a sprint's burndown, at the end of that day.
#[derive(SimpleObject, Clone, Debug)]
pub struct BurndownDay {
    /// The day.
    pub date: NaiveDate,
    /// Σ current estimate of the sprint's items that are not DONE.
    pub remaining: i32,
    /// Σ current estimate of all the sprint's items: additions, removals and re-estimates
    /// show as steps.
    pub scope: i32,
    /// The ideal line: committedPoints on the start date, falling evenly to 0 on the end
    /// date; null before the sprint started.
    pub ideal: Option<f64>,
}

/// Which way a scope change after the start moved the sprint.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ScopeChangeDirection {
    /// An item was added to the started sprint.
    Added,
    /// An item was taken out of the started sprint.
    Removed,
}

/// An item added to or removed from a started sprint (R8): a step of the burndown's scope.
#[derive(SimpleObject, Clone, Debug)]
pub struct BurndownScopeChange {
    /// When it happened (business time).
    pub at: DateTime<Utc>,
    /// The item.
    pub item_id: ID,
    /// The item's title.
    pub title: Option<String>,
    /// Added or removed.
    pub direction: ScopeChangeDirection,
    /// The item's estimate at that moment.
    pub points: i32,
}

/// A sprint's burndown: from its start date to the earlier of its end date and today (or the
/// `asOf` point's day).
#[derive(SimpleObject, Clone, Debug)]
pub struct Burndown {
    /// Σ t0 estimates of the committed items, where the ideal line starts; null while planned.
    pub committed_points: Option<i32>,
    /// One entry per calendar day.
    pub days: Vec<BurndownDay>,
    /// Scope changes after the start, oldest first.
    pub scope_changes: Vec<BurndownScopeChange>,
}

fn points(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// The burndown of `sprint` of `pod` up to `today`.
pub fn burndown(
    pod: &podledger_projections::pod_view::PodView,
    sprint: podledger_projections::pod_view::SprintView<'_>,
    today: NaiveDate,
) -> Burndown {
    let days = podledger_projections::metrics::burndown(sprint, today)
        .into_iter()
        .map(|d| BurndownDay {
            date: d.date,
            remaining: points(d.remaining),
            scope: points(d.scope),
            ideal: d.ideal,
        })
        .collect();
    let change =
        |c: &podledger_projections::pod_view::ScopeChange, direction| BurndownScopeChange {
            at: c.at,
            item_id: to_id("Item", c.item.as_uuid()),
            title: pod.state.items.get(&c.item).map(|i| i.title.clone()),
            direction,
            points: points(c.estimate),
        };
    let mut scope_changes: Vec<BurndownScopeChange> = sprint
        .history
        .added
        .iter()
        .map(|c| change(c, ScopeChangeDirection::Added))
        .chain(
            sprint
                .history
                .removed
                .iter()
                .map(|c| change(c, ScopeChangeDirection::Removed)),
        )
        .collect();
    scope_changes.sort_by_key(|c| c.at);
    Burndown {
        committed_points: sprint
            .started_at
            .map(|_| points(sprint.history.committed.iter().map(|(_, e)| e).sum())),
        days,
        scope_changes,
    }
}

//! The pod aggregate: intake, backlog items, delivery ownership, sprints and blockers of one pod
//! (stream `pod-<id>`). The pod is the consistency boundary for sprint work.

mod commands;
mod decide;
mod decide_backlog;
mod decide_blocker;
mod decide_intake;
mod decide_sprint;
mod events;
mod state;
#[cfg(test)]
mod tests_backlog;
#[cfg(test)]
mod tests_blocker;
#[cfg(test)]
mod tests_intake;
#[cfg(test)]
mod tests_sprint;

pub use commands::PodCommand;
pub use decide::decide;
pub use events::{CommittedItem, PodEvent};
pub use state::{
    Blocker, IntakeRequest, IntakeStatus, Item, ItemStatus, PodState, Sprint, SprintStatus,
    readiness_gaps,
};

use serde::{Deserialize, Serialize};

/// Why the scope of a started sprint changes (R8).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScopeChangeReason {
    /// The work turned out to be impossible.
    TechnicallyImpossible,
    /// The business situation changed.
    BusinessConditionsChanged,
    /// Anything else, explained.
    Other(String),
}

/// The status an item's delivery owner may move it to inside an ACTIVE sprint (R10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkStatus {
    /// Back to to-do.
    Committed,
    /// Started.
    InProgress,
    /// Awaiting review.
    InReview,
    /// Finished (can be reopened until the sprint closes).
    Done,
}

/// What kind of obstacle a blocker is (SPEC §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BlockerCategory {
    /// Waiting on another team or pod.
    Dependency,
    /// Missing data access.
    DataAccess,
    /// Waiting on an approval.
    Approval,
    /// Tools missing or broken.
    Tooling,
    /// Not enough people or time.
    Capacity,
    /// Outside the organisation.
    External,
    /// Anything else.
    Other,
}

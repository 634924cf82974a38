//! The pod aggregate: intake, backlog items, delivery ownership, sprints and blockers of one pod
//! (stream `pod-<id>`). The pod is the consistency boundary for sprint work.

mod commands;
mod decide;
mod decide_approval;
mod decide_backlog;
mod decide_blocker;
mod decide_intake;
mod decide_retro;
mod decide_service;
mod decide_sprint;
mod events;
mod state;
#[cfg(test)]
mod tests_approval;
#[cfg(test)]
mod tests_backlog;
#[cfg(test)]
mod tests_blocker;
#[cfg(test)]
mod tests_intake;
#[cfg(test)]
mod tests_retro;
#[cfg(test)]
mod tests_service;
#[cfg(test)]
mod tests_sprint;

pub use commands::PodCommand;
pub use decide::decide;
pub use events::{CommittedItem, PodEvent};
pub use state::{
    Approval, ApprovalDecision, Blocker, IntakeRequest, IntakeStatus, Item, ItemStatus, PodState,
    Retro, RetroAction, ServiceRequest, ServiceRequestStatus, Sprint, SprintStatus, readiness_gaps,
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

/// What a retro action changes (SPEC §9.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RetroActionKind {
    /// A tool to add, fix or drop.
    Tooling,
    /// How work passes between people.
    Handoff,
    /// Who decides or does what.
    RoleClarity,
    /// A rule applied before the next sprint starts.
    PreSprintRule,
    /// Anything else.
    Other,
}

/// How a retro action ended (SPEC §9.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RetroOutcome {
    /// The change was made.
    Implemented,
    /// The change was given up, and why.
    Dropped(String),
}

/// An action item as a retro records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetroActionItem {
    /// New id, chosen by the caller.
    pub action_id: crate::ids::RetroActionId,
    /// The one specific change.
    pub description: String,
    /// Who sees it through: a member of the pod.
    pub owner: crate::ids::PersonId,
    /// What it changes.
    pub kind: RetroActionKind,
}

//! The typed errors of the domain and their stable codes (SPEC §4).

use std::fmt;

use serde::Serialize;

use crate::ids::{PodId, SprintId};

/// The stable, client-visible code of a domain error (`extensions.code` at the API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// R1.
    PodHasNoProductOwner,
    /// R2.
    MemberAlreadyInPod,
    /// R3, R5, R10, R11 and every permission row of SPEC §5.
    Forbidden,
    /// R4.
    ItemNotReady,
    /// R6.
    SprintGoalMissing,
    /// R7.
    SprintDatesLocked,
    /// R8.
    ScopeChangeReasonRequired,
    /// R9.
    SprintOverlap,
    /// R12.
    ConcurrencyConflict,
    /// R13: bad input.
    ValidationFailed,
    /// R13: unknown id.
    NotFound,
    /// SPEC §9.2: the sprint's retro was recorded already.
    RetroAlreadyRecorded,
    /// SPEC §9.3: the item's category needs an approval granted since its last move to
    /// `IN_REVIEW`.
    ApprovalRequired,
}

impl ErrorCode {
    /// The code as written in SPEC.md.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PodHasNoProductOwner => "POD_HAS_NO_PRODUCT_OWNER",
            Self::MemberAlreadyInPod => "MEMBER_ALREADY_IN_POD",
            Self::Forbidden => "FORBIDDEN",
            Self::ItemNotReady => "ITEM_NOT_READY",
            Self::SprintGoalMissing => "SPRINT_GOAL_MISSING",
            Self::SprintDatesLocked => "SPRINT_DATES_LOCKED",
            Self::ScopeChangeReasonRequired => "SCOPE_CHANGE_REASON_REQUIRED",
            Self::SprintOverlap => "SPRINT_OVERLAP",
            Self::ConcurrencyConflict => "CONCURRENCY_CONFLICT",
            Self::ValidationFailed => "VALIDATION_FAILED",
            Self::NotFound => "NOT_FOUND",
            Self::RetroAlreadyRecorded => "RETRO_ALREADY_RECORDED",
            Self::ApprovalRequired => "APPROVAL_REQUIRED",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem with one input field, named as the API names it (camelCase).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The input field, e.g. `title` or `estimate`.
    pub field: String,
    /// What is wrong with it, for a person.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why a command was refused. Every variant maps to exactly one [`ErrorCode`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// R1: the pod has no product owner, so it cannot start a sprint.
    #[error("pod {pod} has no product owner")]
    PodHasNoProductOwner {
        /// The pod.
        pod: PodId,
    },
    /// R2: the person already holds a role in another pod, or holds an org-level oversight role.
    #[error("{message}")]
    MemberAlreadyInPod {
        /// What conflicts, for a person.
        message: String,
    },
    /// The actor may not do this (R3, R5, R10, R11, SPEC §5).
    #[error("forbidden: {reason}")]
    Forbidden {
        /// Which rule refused it, for a person.
        reason: String,
    },
    /// R4: the item misses some of the conditions to enter a sprint.
    #[error("item is not ready: missing {}", missing.join(", "))]
    ItemNotReady {
        /// The missing conditions, as field names (`acceptanceCriteria`, `estimate`, `deliveryOwner`).
        missing: Vec<&'static str>,
    },
    /// R6: the sprint has no goal, no goal item, or a goal item not committed to it.
    #[error("sprint {sprint} cannot start: {reason}")]
    SprintGoalMissing {
        /// The sprint.
        sprint: SprintId,
        /// What is missing.
        reason: String,
    },
    /// R7: the sprint is ACTIVE or CLOSED; its dates are fixed.
    #[error("sprint {sprint} dates are fixed once it is active")]
    SprintDatesLocked {
        /// The sprint.
        sprint: SprintId,
    },
    /// R8: adding or removing an item after start needs a reason.
    #[error("sprint {sprint} has started: a scope change needs a reason")]
    ScopeChangeReasonRequired {
        /// The sprint.
        sprint: SprintId,
    },
    /// R9: another sprint is active, or the dates overlap another sprint of the pod.
    #[error("{message}")]
    SprintOverlap {
        /// What overlaps, for a person.
        message: String,
    },
    /// R12: the target moved since the version the caller read.
    #[error("expected version {expected} but the current version is {actual}")]
    ConcurrencyConflict {
        /// The version the caller expected.
        expected: u64,
        /// The current version.
        actual: u64,
    },
    /// R13: bad input, one entry per field.
    #[error("invalid input: {}", join_fields(.0))]
    Validation(Vec<FieldError>),
    /// SPEC §9.2: one retro per sprint.
    #[error("the retro of sprint {sprint} was recorded already")]
    RetroAlreadyRecorded {
        /// The sprint.
        sprint: SprintId,
    },
    /// SPEC §9.3: moving the item to DONE needs an approval granted since its last move to
    /// `IN_REVIEW`.
    #[error("item {item} needs an approval of its {category} output before it is DONE")]
    ApprovalRequired {
        /// The item.
        item: crate::ids::ItemId,
        /// Its output category.
        category: String,
    },
    /// R13: an id that does not exist (in this organisation).
    #[error("{field}: no {entity} with id {id}")]
    NotFound {
        /// The input field that carried the id.
        field: String,
        /// The kind of thing looked for.
        entity: &'static str,
        /// The id.
        id: String,
    },
}

fn join_fields(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl DomainError {
    /// The stable code of this error.
    pub const fn code(&self) -> ErrorCode {
        match self {
            Self::PodHasNoProductOwner { .. } => ErrorCode::PodHasNoProductOwner,
            Self::MemberAlreadyInPod { .. } => ErrorCode::MemberAlreadyInPod,
            Self::Forbidden { .. } => ErrorCode::Forbidden,
            Self::ItemNotReady { .. } => ErrorCode::ItemNotReady,
            Self::SprintGoalMissing { .. } => ErrorCode::SprintGoalMissing,
            Self::SprintDatesLocked { .. } => ErrorCode::SprintDatesLocked,
            Self::ScopeChangeReasonRequired { .. } => ErrorCode::ScopeChangeReasonRequired,
            Self::SprintOverlap { .. } => ErrorCode::SprintOverlap,
            Self::ConcurrencyConflict { .. } => ErrorCode::ConcurrencyConflict,
            Self::Validation(_) => ErrorCode::ValidationFailed,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::RetroAlreadyRecorded { .. } => ErrorCode::RetroAlreadyRecorded,
            Self::ApprovalRequired { .. } => ErrorCode::ApprovalRequired,
        }
    }

    /// A forbidden error.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::Forbidden {
            reason: reason.into(),
        }
    }

    /// A validation error on one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// A not-found error for an id given in `field`.
    pub fn not_found(field: impl Into<String>, entity: &'static str, id: &impl ToString) -> Self {
        Self::NotFound {
            field: field.into(),
            entity,
            id: id.to_string(),
        }
    }

    /// The field-level errors, when this is a validation error.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Validation(errors) => errors,
            _ => &[],
        }
    }
}

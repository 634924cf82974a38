//! The schema's enums, mirroring the domain's (the domain knows nothing of GraphQL).

use async_graphql::Enum;
use podledger_domain::roles::OrgRole as DOrgRole;

/// Status of a backlog item; READY is derived (SPEC §2).
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ItemStatus {
    /// In the backlog, not ready.
    New,
    /// Acceptance criteria, estimate and an accepted owner in the pod.
    Ready,
    /// In a sprint, not started.
    Committed,
    /// Started.
    InProgress,
    /// Awaiting review.
    InReview,
    /// Finished.
    Done,
    /// Dropped.
    Dropped,
}

/// Status of a sprint.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum SprintStatus {
    /// Not started.
    Planned,
    /// Running.
    Active,
    /// Finished.
    Closed,
}

/// An organisation-level role.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum OrgRole {
    /// Set-up.
    OrgAdmin,
    /// Oversight.
    VpMarketing,
    /// Oversight.
    HeadOfStrategy,
    /// Intake and reading.
    Stakeholder,
}

impl From<DOrgRole> for OrgRole {
    fn from(r: DOrgRole) -> Self {
        match r {
            DOrgRole::OrgAdmin => Self::OrgAdmin,
            DOrgRole::VpMarketing => Self::VpMarketing,
            DOrgRole::HeadOfStrategy => Self::HeadOfStrategy,
            DOrgRole::Stakeholder => Self::Stakeholder,
        }
    }
}

impl From<OrgRole> for DOrgRole {
    fn from(r: OrgRole) -> Self {
        match r {
            OrgRole::OrgAdmin => Self::OrgAdmin,
            OrgRole::VpMarketing => Self::VpMarketing,
            OrgRole::HeadOfStrategy => Self::HeadOfStrategy,
            OrgRole::Stakeholder => Self::Stakeholder,
        }
    }
}

/// What kind of obstacle a blocker is.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum BlockerCategory {
    /// Waiting on another team.
    Dependency,
    /// Missing data access.
    DataAccess,
    /// Waiting on an approval.
    Approval,
    /// Tools.
    Tooling,
    /// People or time.
    Capacity,
    /// Outside the organisation.
    External,
    /// Anything else.
    Other,
}

impl From<BlockerCategory> for podledger_domain::pod::BlockerCategory {
    fn from(c: BlockerCategory) -> Self {
        match c {
            BlockerCategory::Dependency => Self::Dependency,
            BlockerCategory::DataAccess => Self::DataAccess,
            BlockerCategory::Approval => Self::Approval,
            BlockerCategory::Tooling => Self::Tooling,
            BlockerCategory::Capacity => Self::Capacity,
            BlockerCategory::External => Self::External,
            BlockerCategory::Other => Self::Other,
        }
    }
}

impl From<podledger_domain::pod::BlockerCategory> for BlockerCategory {
    fn from(c: podledger_domain::pod::BlockerCategory) -> Self {
        use podledger_domain::pod::BlockerCategory as D;
        match c {
            D::Dependency => Self::Dependency,
            D::DataAccess => Self::DataAccess,
            D::Approval => Self::Approval,
            D::Tooling => Self::Tooling,
            D::Capacity => Self::Capacity,
            D::External => Self::External,
            D::Other => Self::Other,
        }
    }
}

/// Which way is good for a KPI.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum Direction {
    /// Higher is better.
    Increase,
    /// Lower is better.
    Decrease,
}

/// How often a KPI is read.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ReportingCadence {
    /// Daily.
    Daily,
    /// Weekly.
    Weekly,
    /// Every sprint.
    PerSprint,
    /// Monthly.
    Monthly,
}

/// A KPI status (SPEC §6).
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum KpiStatus {
    /// Attainment ≥ 1.0.
    OnTrack,
    /// Attainment ≥ 0.9.
    AtRisk,
    /// Below 0.9.
    OffTrack,
}

/// Where an intake request stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum IntakeStatus {
    /// Awaiting the PO.
    Open,
    /// Became a backlog item.
    Accepted,
    /// Declined by the PO.
    Declined,
}

impl From<podledger_domain::pod::IntakeStatus> for IntakeStatus {
    fn from(s: podledger_domain::pod::IntakeStatus) -> Self {
        use podledger_domain::pod::IntakeStatus as D;
        match s {
            D::Open => Self::Open,
            D::Accepted => Self::Accepted,
            D::Declined => Self::Declined,
        }
    }
}

/// What a health finding is about (SPEC §6 health findings).
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum HealthFindingKind {
    /// The pod has fewer or more members than a pod should (`members` says how many).
    PodSize,
    /// No member of the pod holds a capability the pod needs (`capability` names it).
    CapabilityNotCovered,
    /// One person owns items of too many output categories in a sprint (`outputCategories`).
    OwnerSpreadThin,
    /// Too many items were inserted into an active sprint (`insertions`).
    MidSprintInsertions,
    /// A blocker has been open for more than 48 hours (`hoursOpen`).
    BlockerOpenPast48H,
    /// A retro action was still open when the next sprint (`sprintId`) closed
    /// (`retroActionId`, owned by `personId`).
    RetroActionNotFollowedThrough,
    /// A request to a shared service (`serviceRequestId`, to `sharedServiceId`) was not
    /// delivered or rejected by its due time (`hoursLate`).
    ServiceSlaBreached,
}

/// What an ownership-ledger line records (SPEC §3).
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum OwnershipChangeKind {
    /// A person declared themselves (or was declared) the owner; not yet accepted.
    Declared,
    /// The declaration was accepted: the person owns it.
    Accepted,
    /// The declaration was declined.
    Declined,
    /// The owner was assigned directly.
    Assigned,
    /// The owner was removed.
    Removed,
}

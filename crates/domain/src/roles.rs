//! Roles (SPEC §2), their kinds, and the capabilities each pod role covers.

use serde::{Deserialize, Serialize};

/// An organisation-level role. Oversight roles are never pod members (R2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrgRole {
    /// Sets up the organisation, pods, people, roles and cadence.
    OrgAdmin,
    /// Oversight: reads everything, never edits sprint content.
    VpMarketing,
    /// Oversight: reads everything, never edits sprint content.
    HeadOfStrategy,
    /// Submits intake requests and reads status.
    Stakeholder,
}

impl OrgRole {
    /// Oversight roles (`VP_MARKETING`, `HEAD_OF_STRATEGY`).
    pub const fn is_oversight(self) -> bool {
        matches!(self, Self::VpMarketing | Self::HeadOfStrategy)
    }
}

/// The kind of a pod role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RoleKind {
    /// The product owner.
    Strategic,
    /// The scrum master.
    Process,
    /// Everyone who executes work.
    Execution,
}

/// A role of a pod member.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PodRole {
    /// Exactly one per pod; owns the backlog.
    ProductOwner,
    /// At most one per pod; runs cadence and blockers.
    ScrumMaster,
    /// Execution role.
    ContentStrategist,
    /// Execution role.
    PaidMediaManager,
    /// Execution role.
    CrmLifecycle,
    /// Execution role.
    Designer,
    /// Execution role.
    SeoAnalytics,
    /// Execution role.
    Analyst,
    /// Execution role.
    GrowthPm,
    /// Execution role.
    EmailOps,
    /// Execution role.
    CsLiaison,
    /// Execution role.
    VideoLead,
    /// Execution role.
    Revops,
    /// Execution role with a custom label.
    Other(String),
}

impl PodRole {
    /// Strategic, process or execution.
    pub const fn kind(&self) -> RoleKind {
        match self {
            Self::ProductOwner => RoleKind::Strategic,
            Self::ScrumMaster => RoleKind::Process,
            _ => RoleKind::Execution,
        }
    }

    /// The capabilities (SPEC §2) this role covers in a pod.
    pub fn capabilities(&self) -> &'static [Capability] {
        use Capability::{
            AdaptScope, DefineMessaging, InterpretPerformance, ManageChannels, ProduceVisualAssets,
        };
        match self {
            Self::ProductOwner => &[AdaptScope],
            Self::ScrumMaster | Self::Other(_) => &[],
            Self::ContentStrategist | Self::CsLiaison => &[DefineMessaging],
            Self::PaidMediaManager | Self::CrmLifecycle | Self::EmailOps => &[ManageChannels],
            Self::Designer | Self::VideoLead => &[ProduceVisualAssets],
            Self::SeoAnalytics => &[ManageChannels, InterpretPerformance],
            Self::Analyst | Self::Revops => &[InterpretPerformance],
            Self::GrowthPm => &[AdaptScope, InterpretPerformance],
        }
    }
}

/// What a pod must be able to do to ship a campaign alone (SPEC §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Capability {
    /// Define messaging.
    DefineMessaging,
    /// Produce visual assets.
    ProduceVisualAssets,
    /// Select and manage channels.
    ManageChannels,
    /// Monitor and interpret performance.
    InterpretPerformance,
    /// Adapt scope.
    AdaptScope,
}

impl Capability {
    /// Every capability, in a fixed order.
    pub const ALL: [Self; 5] = [
        Self::DefineMessaging,
        Self::ProduceVisualAssets,
        Self::ManageChannels,
        Self::InterpretPerformance,
        Self::AdaptScope,
    ];
}

/// The focus of a pod.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PodFocus {
    /// Acquisition.
    Acquisition,
    /// Activation.
    Activation,
    /// Retention.
    Retention,
    /// Content operations.
    ContentOps,
    /// Revenue enablement.
    RevenueEnablement,
    /// Brand and creative.
    BrandAndCreative,
    /// A custom label.
    Custom(String),
}

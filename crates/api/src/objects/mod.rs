//! GraphQL output objects. Each holds the views it reads (shared `Arc`s, never copies) and
//! resolves its fields on demand, so a query pays only for what it selects.

// Field resolvers are `async fn` by async-graphql's convention, whether or not they await.
#![allow(clippy::unused_async)]

mod actor;
mod blocker;
mod burndown;
mod enums;
mod intake;
mod item;
mod kpi;
mod ledger;
mod metrics;
mod node;
pub(crate) mod operating;
mod organisation;
mod person;
mod pod;
mod scope;
mod sprint;

pub use actor::{Actor, Service, actor_of, stored_actor};
pub use blocker::{Blocker, blocker};
pub use burndown::{Burndown, BurndownDay, BurndownScopeChange, ScopeChangeDirection};
pub use enums::{
    BlockerCategory, Direction, IntakeStatus, ItemStatus, KpiStatus, OrgRole, ReportingCadence,
    SprintStatus,
};
pub use intake::{IntakeRequest, intake_request};
pub use item::Item;
pub(crate) use kpi::judged;
pub use kpi::{Kpi, KpiReading, KpiSprintPerformance};
pub use ledger::OwnershipChange;
pub use metrics::{BlockerCount, OperatingSource, PodMetrics, SprintMetrics, VelocityByCause};
pub use node::Node;
pub use operating::{
    Approval, ApprovalRule, Operating, PatternAudit, PodAudit, Retro, RetroAction, ServiceRequest,
    SharedService,
};
pub use organisation::{HealthFinding, Organisation};
pub use person::Person;
pub use pod::{Pod, focus_name};
pub use scope::PodScope;
pub use sprint::Sprint;

//! The organisation aggregate: cadence, people, org roles, pods and pod roles, shared services
//! and approval rules (stream `org-<id>`).

mod commands;
mod decide;
mod decide_governance;
mod events;
mod governance;
mod state;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_governance;

pub use commands::OrgCommand;
pub use decide::decide;
pub use events::OrgEvent;
pub use governance::{
    ApprovalRule, IntakeMethod, MAX_HOURS, RequestWindow, ServiceFunction, SharedService, Sla,
};
pub use state::{Membership, OrgInfo, OrgState, Person, Pod};

/// Default sprint length in calendar days (SPEC §2).
pub const DEFAULT_SPRINT_LENGTH_DAYS: u16 = 14;
/// Longest sprint an organisation may configure, in days.
pub const MAX_SPRINT_LENGTH_DAYS: i64 = 56;

//! The organisation aggregate: cadence, people, org roles, pods and pod roles (stream `org-<id>`).

mod commands;
mod decide;
mod events;
mod state;
#[cfg(test)]
mod tests;

pub use commands::OrgCommand;
pub use decide::decide;
pub use events::OrgEvent;
pub use state::{Membership, OrgInfo, OrgState, Person, Pod};

/// Default sprint length in calendar days (SPEC §2).
pub const DEFAULT_SPRINT_LENGTH_DAYS: u16 = 14;
/// Longest sprint an organisation may configure, in days.
pub const MAX_SPRINT_LENGTH_DAYS: i64 = 56;

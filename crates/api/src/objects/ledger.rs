//! Ownership ledgers (SPEC §3): every declaration, acceptance, decline, assignment and removal
//! with its actor, time, request and position.

use std::sync::Arc;

use async_graphql::{ID, SimpleObject};
use chrono::{DateTime, Utc};
use podledger_projections::ledger::{LedgerChange, LedgerEntry};
use podledger_projections::org_view::OrgView;

use crate::connection::{Page, PageArgs, page};
use crate::error::ApiResult;
use crate::ids::to_id;

/// One line of an ownership ledger.
#[derive(SimpleObject, Clone, Debug)]
pub struct OwnershipChange {
    /// What changed.
    pub kind: super::enums::OwnershipChangeKind,
    /// The person the change is about.
    pub person_id: ID,
    /// Who did it.
    pub actor: Option<super::actor::Actor>,
    /// When the change was recorded.
    pub at: DateTime<Utc>,
    /// Id of the request that caused it: every event of one mutation shares it.
    pub correlation_id: String,
    /// Global position of the event.
    pub position: String,
}

fn change(org: &Arc<OrgView>, e: &LedgerEntry) -> OwnershipChange {
    use super::enums::OwnershipChangeKind as K;
    let (kind, person) = match &e.change {
        LedgerChange::Declared { person, .. } => (K::Declared, person),
        LedgerChange::Accepted { person, .. } => (K::Accepted, person),
        LedgerChange::Declined { person, .. } => (K::Declined, person),
        LedgerChange::Assigned { person, .. } => (K::Assigned, person),
        LedgerChange::Removed { person } => (K::Removed, person),
    };
    OwnershipChange {
        kind,
        person_id: to_id("Person", person.as_uuid()),
        actor: super::actor::actor_of(org, &e.actor),
        at: e.at,
        correlation_id: e.correlation_id.to_string(),
        position: e.position.to_string(),
    }
}

/// A page of a ledger, oldest first.
pub fn ledger_page(
    org: &Arc<OrgView>,
    entries: &[LedgerEntry],
    args: &PageArgs,
) -> ApiResult<Page<OwnershipChange>> {
    page(entries.len(), args, |i| change(org, &entries[i]))
}

//! The ownership ledger (SPEC §3): every declaration, acceptance, decline and reassignment of
//! backlog, delivery and performance ownership, with actor, time and correlation id — and
//! "who owned X at time T".

use std::sync::Arc;

use chrono::{DateTime, Utc};
use podledger_domain::ids::PersonId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::envelope::Meta;

/// What happened to ownership.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
// Externally tagged (serde's default): views persist in postcard, which has no self-describing
// input to read an internal tag from.
#[serde(rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
pub enum LedgerChange {
    /// The PO named a delivery owner; the current owner stays until acceptance.
    Declared {
        /// Named person.
        person: PersonId,
        /// Owner at that moment.
        current_owner: Option<PersonId>,
    },
    /// The named person accepted: they own it from now.
    Accepted {
        /// New owner.
        person: PersonId,
        /// Owner replaced.
        previous_owner: Option<PersonId>,
    },
    /// The named person declined.
    Declined {
        /// Who declined.
        person: PersonId,
        /// Why.
        reason: Option<String>,
    },
    /// Ownership was assigned directly (a pod's PO by the org admin, a KPI's owner by the PO).
    Assigned {
        /// New owner.
        person: PersonId,
        /// Owner replaced.
        previous_owner: Option<PersonId>,
    },
    /// Ownership was taken away without a successor.
    Removed {
        /// Former owner.
        person: PersonId,
    },
}

impl LedgerChange {
    /// The owner after this change, if it changes the owner: `Some(Some(p))` new owner,
    /// `Some(None)` no owner, `None` unchanged.
    pub const fn owner_after(&self) -> Option<Option<PersonId>> {
        match self {
            Self::Accepted { person, .. } | Self::Assigned { person, .. } => Some(Some(*person)),
            Self::Removed { .. } => Some(None),
            Self::Declared { .. } | Self::Declined { .. } => None,
        }
    }
}

/// One ledger line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    /// The change.
    pub change: LedgerChange,
    /// Who did it (`member:<id>`).
    pub actor: Arc<str>,
    /// When.
    #[serde(with = "crate::stamp")]
    pub at: DateTime<Utc>,
    /// The request.
    pub correlation_id: Uuid,
    /// Global position of the event.
    pub position: u64,
}

impl LedgerEntry {
    /// A ledger line for an event's metadata.
    pub fn new(change: LedgerChange, meta: &Meta) -> Self {
        Self {
            change,
            actor: meta.actor.clone(),
            at: meta.occurred_at,
            correlation_id: meta.correlation_id,
            position: meta.position,
        }
    }
}

/// Who owned the subject of `entries` at `at` (entries in position order).
pub fn owner_at(entries: &[LedgerEntry], at: DateTime<Utc>) -> Option<PersonId> {
    entries
        .iter()
        .take_while(|e| e.at <= at)
        .filter_map(|e| e.change.owner_after())
        .last()
        .flatten()
}

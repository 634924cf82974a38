//! A blocker of a pod (SPEC §2): what blocks, who raised it, escalation and resolution.

use async_graphql::{ID, SimpleObject};
use chrono::{DateTime, Utc};
use podledger_projections::pod_view::BlockerView;

use super::enums::BlockerCategory;
use crate::ids::to_id;

/// A blocker.
#[derive(SimpleObject, Clone, Debug)]
pub struct Blocker {
    /// Opaque global id.
    #[graphql(owned)]
    pub id: ID,
    /// The blocked item.
    pub item_id: Option<ID>,
    /// Category.
    pub category: BlockerCategory,
    /// What blocks.
    pub description: String,
    /// Who raised it.
    pub raised_by_id: ID,
    /// Raised at.
    pub raised_at: DateTime<Utc>,
    /// Escalated at.
    pub escalated_at: Option<DateTime<Utc>>,
    /// Resolved at.
    pub resolved_at: Option<DateTime<Utc>>,
    /// How it was resolved.
    pub resolution: Option<String>,
}

/// Builds a blocker.
pub fn blocker(b: BlockerView<'_>) -> Blocker {
    Blocker {
        id: to_id("Blocker", b.id.as_uuid()),
        item_id: b.item.map(|i| to_id("Item", i.as_uuid())),
        category: b.category.into(),
        description: b.history.description.clone(),
        raised_by_id: to_id("Person", b.history.raised_by.as_uuid()),
        raised_at: b.raised_at,
        escalated_at: b.escalated_at,
        resolved_at: b.resolved_at,
        resolution: b.history.resolution.clone(),
    }
}

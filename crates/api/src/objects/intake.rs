//! A request submitted to a pod's intake (SPEC §5): how stakeholders reach a pod.

use async_graphql::{ID, SimpleObject};
use chrono::{DateTime, Utc};
use podledger_projections::pod_view::IntakeView;

use super::enums::IntakeStatus;
use super::person::Person;
use super::scope::PodScope;
use crate::ids::to_id;

/// A request submitted to a pod's intake.
#[derive(SimpleObject, Clone, Debug)]
pub struct IntakeRequest {
    /// Opaque global id.
    #[graphql(owned)]
    pub id: ID,
    /// What is asked for.
    pub title: String,
    /// Context.
    pub description: Option<String>,
    /// Output category.
    pub output_category: String,
    /// Who asked.
    pub requester_id: ID,
    /// Who asked.
    pub requester: Option<Person>,
    /// Submitted at.
    pub submitted_at: DateTime<Utc>,
    /// Where it stands.
    pub status: IntakeStatus,
    /// The backlog item it became, once accepted.
    pub item_id: Option<ID>,
    /// Accepted or declined at.
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was declined.
    pub decline_reason: Option<String>,
    /// The stream version after the last change: pass it as `options.expectedVersion` so a
    /// mutation is refused with CONCURRENCY_CONFLICT if someone changed it since you read it.
    pub version: String,
}

/// Builds a request of the scope's pod.
pub fn intake_request(scope: &PodScope, r: IntakeView<'_>) -> IntakeRequest {
    IntakeRequest {
        id: to_id("IntakeRequest", r.id.as_uuid()),
        title: r.title.clone(),
        description: r.description.clone(),
        output_category: r.output_category.clone(),
        requester_id: to_id("Person", r.requester.as_uuid()),
        requester: Person::of(&scope.org, r.requester),
        submitted_at: r.history.submitted_at,
        status: r.status.into(),
        item_id: r.history.item.map(|i| to_id("Item", i.as_uuid())),
        decided_at: r.history.decided_at,
        decline_reason: r.history.decline_reason.clone(),
        version: r.version.to_string(),
    }
}

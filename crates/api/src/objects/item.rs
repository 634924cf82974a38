//! A backlog item of a pod, read from the pod's view.

use std::sync::Arc;

use async_graphql::{ID, Object};
use podledger_domain::ids::ItemId;
use podledger_domain::pod::{Item as DItem, ItemStatus as DItemStatus, readiness_gaps};
use podledger_projections::pod_view::ItemHistory;

use super::enums::ItemStatus;
use super::ledger::{OwnershipChange, ledger_page};
use super::person::Person;
use super::scope::PodScope;
use crate::connection::{Page, PageArgs};
use crate::ids::to_id;

/// A backlog item.
#[derive(Clone, Debug)]
pub struct Item {
    scope: Arc<PodScope>,
    id: ItemId,
}

impl Item {
    /// Item `id` of the scope's pod, if it has it.
    pub fn of(scope: &Arc<PodScope>, id: ItemId) -> Option<Self> {
        scope.view.item(id).map(|_| Self {
            scope: scope.clone(),
            id,
        })
    }

    /// An item the pod's state lists (its backlog, a sprint's items): every id there is one of
    /// its items, so no lookup.
    pub fn listed(scope: &Arc<PodScope>, id: ItemId) -> Self {
        Self {
            scope: scope.clone(),
            id,
        }
    }

    /// The domain's record of the item.
    fn view(&self) -> &DItem {
        &self.scope.view.state.items[&self.id]
    }

    /// Its history.
    fn history(&self) -> &ItemHistory {
        &self.scope.view.items[&self.id]
    }
}

#[Object]
impl Item {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        to_id("Item", self.id.as_uuid())
    }

    /// Title.
    async fn title(&self) -> &str {
        &self.view().title
    }

    /// Description.
    async fn description(&self) -> Option<&str> {
        self.view().description.as_deref()
    }

    /// Output category.
    async fn output_category(&self) -> &str {
        &self.view().output_category
    }

    /// Acceptance criteria.
    async fn acceptance_criteria(&self) -> Option<&str> {
        self.view().acceptance_criteria.as_deref()
    }

    /// Estimate in story points (0–1,000); null until estimated.
    async fn estimate(&self) -> Option<i32> {
        self.view().estimate.and_then(|e| i32::try_from(e).ok())
    }

    /// Status (READY derived: acceptance criteria, an estimate and an accepted owner who is a
    /// member of the pod).
    async fn status(&self) -> ItemStatus {
        let view = self.view();
        match view.status {
            DItemStatus::New => {
                let owner_in_pod = view
                    .owner
                    .is_some_and(|o| self.scope.org.state.is_member_of(o, self.scope.id));
                let gaps = readiness_gaps(
                    view.acceptance_criteria.is_some(),
                    view.estimate.is_some(),
                    owner_in_pod,
                );
                if gaps.is_empty() {
                    ItemStatus::Ready
                } else {
                    ItemStatus::New
                }
            }
            DItemStatus::Committed => ItemStatus::Committed,
            DItemStatus::InProgress => ItemStatus::InProgress,
            DItemStatus::InReview => ItemStatus::InReview,
            DItemStatus::Done => ItemStatus::Done,
            DItemStatus::Dropped => ItemStatus::Dropped,
        }
    }

    /// Accepted delivery owner.
    async fn owner_id(&self) -> Option<ID> {
        self.view().owner.map(|o| to_id("Person", o.as_uuid()))
    }

    /// Accepted delivery owner.
    async fn owner(&self) -> Option<Person> {
        Person::of(&self.scope.org, self.view().owner?)
    }

    /// Declared, awaiting an answer.
    async fn pending_owner_id(&self) -> Option<ID> {
        self.view()
            .pending_owner
            .map(|o| to_id("Person", o.as_uuid()))
    }

    /// Declared, awaiting an answer.
    async fn pending_owner(&self) -> Option<Person> {
        Person::of(&self.scope.org, self.view().pending_owner?)
    }

    /// Version for optimistic concurrency (pass as `expectedVersion`).
    async fn version(&self) -> String {
        self.view().version.to_string()
    }

    /// Delivery-ownership history, oldest first.
    async fn ownership(
        &self,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<OwnershipChange>> {
        let args = PageArgs::new(after, before, first, last);
        Ok(ledger_page(&self.scope.org, &self.history().ledger, &args)?)
    }

    /// Approval requests for the item, in the order asked (SPEC §9.3).
    async fn approvals(&self) -> Vec<super::Approval> {
        self.scope
            .view
            .approvals_of_item(self.id)
            .filter_map(|a| super::operating::approval(&self.scope, a.id))
            .collect()
    }

    /// Whether its output category needs an approval before it is DONE (an approval rule
    /// names it).
    async fn needs_approval(&self) -> bool {
        self.scope
            .org
            .state
            .approval_rule(&self.view().output_category)
            .is_some()
    }
}

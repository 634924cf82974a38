//! Decisions on backlog items and delivery ownership: R3, R5, R8 (drop inside a sprint), R10, R13.

use crate::error::DomainError;
use crate::ids::ItemId;
use crate::permissions::{acting_known_person, require_product_owner};
use crate::validate::{Checks, MAX_LABEL, MAX_TEXT, MAX_TITLE, clean, clean_opt, points};

use super::decide::PodCtx;
use super::{Item, ItemStatus, PodCommand, PodEvent, ScopeChangeReason, SprintStatus, WorkStatus};

#[allow(clippy::too_many_lines)] // one arm per command reads best as one match
pub(super) fn decide(p: &PodCtx<'_>, command: &PodCommand) -> Result<Vec<PodEvent>, DomainError> {
    match command {
        PodCommand::CreateItem {
            item_id,
            title,
            description,
            output_category,
            acceptance_criteria,
            estimate,
            parent_epic,
            requester,
        } => {
            require_product_owner(p.org, p.pod_id, p.ctx)?;
            let mut checks = Checks::new();
            checks.check(
                !p.pod.items.contains_key(item_id),
                "itemId",
                "already exists",
            );
            checks.required_text("title", title, MAX_TITLE);
            checks.optional_text("description", description.as_deref(), MAX_TEXT);
            checks.required_text("outputCategory", output_category, MAX_LABEL);
            checks.optional_text(
                "acceptanceCriteria",
                acceptance_criteria.as_deref(),
                MAX_TEXT,
            );
            if let Some(e) = estimate {
                checks.estimate("estimate", *e);
            }
            checks.finish()?;
            if let Some(epic) = parent_epic
                && !p.pod.items.contains_key(epic)
            {
                return Err(DomainError::not_found("parentEpic", "item", &epic));
            }
            if let Some(person) = requester
                && !p.org.people.contains_key(person)
            {
                return Err(DomainError::not_found("requester", "person", &person));
            }
            Ok(vec![PodEvent::ItemCreated {
                item_id: *item_id,
                title: clean(title),
                description: clean_opt(description.as_deref()),
                output_category: clean(output_category),
                acceptance_criteria: clean_opt(acceptance_criteria.as_deref()),
                estimate: estimate.map(points),
                parent_epic: *parent_epic,
                requester: *requester,
            }])
        }
        PodCommand::EditItem {
            item_id,
            title,
            description,
            output_category,
            acceptance_criteria,
        } => {
            require_product_owner(p.org, p.pod_id, p.ctx)?;
            let item = open_item(p, *item_id)?;
            let mut checks = Checks::new();
            if let Some(t) = title {
                checks.required_text("title", t, MAX_TITLE);
            }
            checks.optional_text("description", description.as_deref(), MAX_TEXT);
            if let Some(c) = output_category {
                checks.required_text("outputCategory", c, MAX_LABEL);
            }
            if let Some(a) = acceptance_criteria {
                checks.required_text("acceptanceCriteria", a, MAX_TEXT);
            }
            checks.finish()?;
            let changed = |new: &Option<String>, old: Option<&str>| {
                new.as_deref()
                    .map(str::trim)
                    .filter(|n| Some(*n) != old)
                    .map(str::to_owned)
            };
            let event = PodEvent::ItemEdited {
                item_id: *item_id,
                title: changed(title, Some(&item.title)),
                description: changed(description, item.description.as_deref()),
                output_category: changed(output_category, Some(&item.output_category)),
                acceptance_criteria: changed(
                    acceptance_criteria,
                    item.acceptance_criteria.as_deref(),
                ),
            };
            match &event {
                PodEvent::ItemEdited {
                    title: None,
                    description: None,
                    output_category: None,
                    acceptance_criteria: None,
                    ..
                } => Ok(vec![]),
                _ => Ok(vec![event]),
            }
        }
        PodCommand::EstimateItem { item_id, estimate } => {
            require_product_owner(p.org, p.pod_id, p.ctx)?;
            let item = open_item(p, *item_id)?;
            let mut checks = Checks::new();
            checks.estimate("estimate", *estimate);
            checks.finish()?;
            let estimate = points(*estimate);
            if item.estimate == Some(estimate) {
                return Ok(vec![]);
            }
            Ok(vec![PodEvent::ItemEstimated {
                item_id: *item_id,
                estimate,
                previous: item.estimate,
            }])
        }
        PodCommand::RankItem { item_id, before } => {
            require_product_owner(p.org, p.pod_id, p.ctx)?;
            open_item(p, *item_id)?;
            if let Some(b) = before {
                if b == item_id {
                    return Err(DomainError::invalid(
                        "beforeItemId",
                        "an item cannot be ranked above itself",
                    ));
                }
                if !p.pod.backlog.contains(b) {
                    return Err(DomainError::not_found(
                        "beforeItemId",
                        "open backlog item",
                        &b,
                    ));
                }
            }
            let pos = p.pod.backlog.iter().position(|id| id == item_id);
            let next = pos.and_then(|i| p.pod.backlog.get(i + 1)).copied();
            if next == *before && pos.is_some() {
                return Ok(vec![]);
            }
            Ok(vec![PodEvent::ItemRanked {
                item_id: *item_id,
                before: *before,
            }])
        }
        PodCommand::DropItem { item_id, reason } => drop_item(p, *item_id, reason.as_ref()),
        PodCommand::DeclareDeliveryOwner { item_id, person_id } => {
            require_product_owner(p.org, p.pod_id, p.ctx)?;
            let item = open_item(p, *item_id)?;
            if !p.org.people.contains_key(person_id) {
                return Err(DomainError::not_found("personId", "person", &person_id));
            }
            if !p.org.is_member_of(*person_id, p.pod_id) {
                return Err(DomainError::invalid(
                    "personId",
                    "the delivery owner must be a member of the pod",
                ));
            }
            if item.owner == Some(*person_id) && item.pending_owner.is_none() {
                return Ok(vec![]);
            }
            Ok(vec![PodEvent::DeliveryOwnerDeclared {
                item_id: *item_id,
                person_id: *person_id,
                current_owner: item.owner,
            }])
        }
        PodCommand::AcceptDeliveryOwnership { item_id } => {
            let (person, item) = named_person(p, *item_id)?;
            Ok(vec![PodEvent::DeliveryOwnershipAccepted {
                item_id: *item_id,
                person_id: person,
                previous_owner: item.owner,
            }])
        }
        PodCommand::DeclineDeliveryOwnership { item_id, reason } => {
            let (person, _) = named_person(p, *item_id)?;
            let mut checks = Checks::new();
            checks.optional_text("reason", reason.as_deref(), MAX_TEXT);
            checks.finish()?;
            Ok(vec![PodEvent::DeliveryOwnershipDeclined {
                item_id: *item_id,
                person_id: person,
                reason: clean_opt(reason.as_deref()),
            }])
        }
        PodCommand::MoveItem { item_id, status } => move_item(p, *item_id, *status),
        _ => unreachable!("routed by pod::decide"),
    }
}

/// An existing item of the pod.
pub(super) fn item<'a>(p: &PodCtx<'a>, id: ItemId) -> Result<&'a Item, DomainError> {
    p.pod
        .item(&id)
        .ok_or_else(|| DomainError::not_found("itemId", "item", &id))
}

/// An existing item that can still change (not DROPPED, not DONE in a closed sprint).
pub(super) fn open_item<'a>(p: &PodCtx<'a>, id: ItemId) -> Result<&'a Item, DomainError> {
    let item = item(p, id)?;
    if p.pod.item_is_closed(item) {
        let status = if item.status == ItemStatus::Dropped {
            "DROPPED"
        } else {
            "DONE"
        };
        return Err(DomainError::invalid(
            "itemId",
            format!("the item is {status} and can no longer change"),
        ));
    }
    Ok(item)
}

/// R5: the acting person must be the one named in the pending declaration.
fn named_person<'a>(
    p: &PodCtx<'a>,
    id: ItemId,
) -> Result<(crate::ids::PersonId, &'a Item), DomainError> {
    let person = acting_known_person(p.org, p.ctx)?;
    let item = open_item(p, id)?;
    match item.pending_owner {
        Some(named) if named == person => Ok((person, item)),
        Some(_) => Err(DomainError::forbidden(
            "only the person named in the declaration may accept or decline it",
        )),
        None => Err(DomainError::invalid(
            "itemId",
            "no delivery-ownership declaration is pending",
        )),
    }
}

/// R8 and R10: the PO drops; inside an active sprint the drop is also a scope change.
fn drop_item(
    p: &PodCtx<'_>,
    item_id: ItemId,
    reason: Option<&ScopeChangeReason>,
) -> Result<Vec<PodEvent>, DomainError> {
    require_product_owner(p.org, p.pod_id, p.ctx)?;
    let item = open_item(p, item_id)?;
    if item.status == ItemStatus::Done {
        return Err(DomainError::invalid(
            "itemId",
            "a DONE item cannot be dropped",
        ));
    }
    let mut events = Vec::new();
    if let Some(sprint_id) = item.sprint
        && let Some(sprint) = p.pod.sprints.get(&sprint_id)
    {
        match sprint.status {
            SprintStatus::Active => {
                let reason = super::decide_sprint::scope_reason(sprint_id, reason)?;
                events.push(PodEvent::ItemRemovedFromSprint {
                    sprint_id,
                    item_id,
                    reason,
                    estimate: item.estimate.unwrap_or(0),
                });
            }
            SprintStatus::Planned => events.push(PodEvent::ItemUncommitted { sprint_id, item_id }),
            SprintStatus::Closed => {}
        }
    }
    events.push(PodEvent::ItemDropped { item_id });
    Ok(events)
}

/// R10: only the accepted delivery owner moves the item, and only inside the active sprint.
fn move_item(
    p: &PodCtx<'_>,
    item_id: ItemId,
    to: WorkStatus,
) -> Result<Vec<PodEvent>, DomainError> {
    let person = acting_known_person(p.org, p.ctx)?;
    let item = item(p, item_id)?;
    if item.owner != Some(person) {
        return Err(DomainError::forbidden(
            "only the item's accepted delivery owner moves its status",
        ));
    }
    if item.sprint.is_none() || item.sprint != p.pod.active_sprint || p.pod.item_is_closed(item) {
        return Err(DomainError::invalid(
            "itemId",
            "status moves happen inside an ACTIVE sprint",
        ));
    }
    let to = match to {
        WorkStatus::Committed => ItemStatus::Committed,
        WorkStatus::InProgress => ItemStatus::InProgress,
        WorkStatus::InReview => ItemStatus::InReview,
        WorkStatus::Done => ItemStatus::Done,
    };
    if item.status == to {
        return Ok(vec![]);
    }
    // SPEC §9.3: a category that needs approval is DONE only with an approval granted since
    // the item's last move to IN_REVIEW.
    if to == ItemStatus::Done
        && p.org.approval_rule(&item.output_category).is_some()
        && !item.approved
    {
        return Err(DomainError::ApprovalRequired {
            item: item_id,
            category: item.output_category.clone(),
        });
    }
    Ok(vec![PodEvent::ItemStatusChanged {
        item_id,
        from: item.status,
        to,
    }])
}

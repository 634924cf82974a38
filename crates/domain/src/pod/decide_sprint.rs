//! Decisions on sprints: R1, R4, R6, R7, R8, R9 and the close permission.

use chrono::{Days, NaiveDate};

use crate::error::DomainError;
use crate::ids::{ItemId, SprintId};
use crate::org::DEFAULT_SPRINT_LENGTH_DAYS;
use crate::permissions::{require_product_owner, require_scrum_master};
use crate::validate::{Checks, MAX_GOAL_ITEMS, MAX_TEXT, clean};

use super::decide::PodCtx;
use super::decide_backlog::{item, open_item};
use super::{
    CommittedItem, ItemStatus, PodCommand, PodEvent, ScopeChangeReason, Sprint, SprintStatus,
};

/// Longest sprint goal, in characters.
const MAX_GOAL: usize = 1_000;

#[allow(clippy::too_many_lines)] // one arm per command reads best as one match
pub(super) fn decide(p: &PodCtx<'_>, command: &PodCommand) -> Result<Vec<PodEvent>, DomainError> {
    match command {
        PodCommand::PlanSprint {
            sprint_id,
            start_date,
            end_date,
        } => {
            require_product_owner(p.org, p.pod_id, p.ctx)?;
            if p.pod.sprints.contains_key(sprint_id) {
                return Err(DomainError::invalid("sprintId", "already exists"));
            }
            let mut checks = Checks::new();
            checks.date("startDate", *start_date);
            if let Some(end) = end_date {
                checks.date("endDate", *end);
            }
            checks.finish()?;
            let length = p
                .org
                .info
                .as_ref()
                .map_or(DEFAULT_SPRINT_LENGTH_DAYS, |i| i.sprint_length_days);
            let end_date = match end_date {
                Some(end) => *end,
                None => start_date
                    .checked_add_days(Days::new(u64::from(length) - 1))
                    .ok_or_else(|| DomainError::invalid("startDate", "is out of range"))?,
            };
            dates(p, None, *start_date, end_date)?;
            let number = u32::try_from(p.pod.sprints.len()).unwrap_or(u32::MAX - 1) + 1;
            Ok(vec![PodEvent::SprintPlanned {
                sprint_id: *sprint_id,
                number,
                start_date: *start_date,
                end_date,
            }])
        }
        PodCommand::ChangeSprintDates {
            sprint_id,
            start_date,
            end_date,
        } => {
            require_product_owner(p.org, p.pod_id, p.ctx)?;
            let sprint = sprint(p, *sprint_id)?;
            if sprint.status != SprintStatus::Planned {
                return Err(DomainError::SprintDatesLocked { sprint: *sprint_id });
            }
            dates(p, Some(*sprint_id), *start_date, *end_date)?;
            if sprint.start_date == *start_date && sprint.end_date == *end_date {
                return Ok(vec![]);
            }
            Ok(vec![PodEvent::SprintDatesChanged {
                sprint_id: *sprint_id,
                start_date: *start_date,
                end_date: *end_date,
            }])
        }
        PodCommand::SetSprintGoal {
            sprint_id,
            goal,
            goal_items,
        } => {
            require_product_owner(p.org, p.pod_id, p.ctx)?;
            let sprint = sprint(p, *sprint_id)?;
            let mut checks = Checks::new();
            checks.check(
                sprint.status == SprintStatus::Planned,
                "sprintId",
                "the goal is fixed once the sprint has started",
            );
            checks.required_text("goal", goal, MAX_GOAL);
            checks.max_items("goalItemIds", goal_items.len(), MAX_GOAL_ITEMS);
            checks.check(
                !goal_items.is_empty(),
                "goalItemIds",
                "must name at least one item",
            );
            let mut seen = std::collections::HashSet::new();
            checks.check(
                goal_items.iter().all(|i| seen.insert(*i)),
                "goalItemIds",
                "must not repeat an item",
            );
            checks.finish()?;
            for id in goal_items {
                let goal_item = p
                    .pod
                    .items
                    .get(id)
                    .ok_or_else(|| DomainError::not_found("goalItemIds", "item", &id))?;
                if p.pod.item_is_closed(goal_item) {
                    return Err(DomainError::invalid(
                        "goalItemIds",
                        format!("item {id} is closed"),
                    ));
                }
            }
            Ok(vec![PodEvent::SprintGoalSet {
                sprint_id: *sprint_id,
                goal: clean(goal),
                goal_items: goal_items.clone(),
            }])
        }
        PodCommand::CommitItem {
            sprint_id,
            item_id,
            reason,
        } => commit(p, *sprint_id, *item_id, reason.as_ref()),
        PodCommand::RemoveItemFromSprint {
            sprint_id,
            item_id,
            reason,
        } => {
            require_product_owner(p.org, p.pod_id, p.ctx)?;
            let sprint = sprint(p, *sprint_id)?;
            let item = item(p, *item_id)?;
            if !sprint.items.contains(item_id) {
                return Err(DomainError::invalid(
                    "itemId",
                    "the item is not in this sprint",
                ));
            }
            match sprint.status {
                SprintStatus::Planned => Ok(vec![PodEvent::ItemUncommitted {
                    sprint_id: *sprint_id,
                    item_id: *item_id,
                }]),
                SprintStatus::Active => Ok(vec![PodEvent::ItemRemovedFromSprint {
                    sprint_id: *sprint_id,
                    item_id: *item_id,
                    reason: scope_reason(*sprint_id, reason.as_ref())?,
                    estimate: item.estimate.unwrap_or(0),
                }]),
                SprintStatus::Closed => {
                    Err(DomainError::invalid("sprintId", "the sprint is closed"))
                }
            }
        }
        PodCommand::StartSprint { sprint_id } => start(p, *sprint_id),
        PodCommand::CloseSprint { sprint_id } => {
            let sprint = sprint(p, *sprint_id)?;
            require_scrum_master(p.org, p.pod_id, p.ctx)?;
            if sprint.status != SprintStatus::Active {
                return Err(DomainError::invalid(
                    "sprintId",
                    "only an ACTIVE sprint can be closed",
                ));
            }
            let (done, not_done): (Vec<ItemId>, Vec<ItemId>) =
                sprint.items.iter().partition(|id| {
                    p.pod
                        .items
                        .get(*id)
                        .is_some_and(|i| i.status == ItemStatus::Done)
                });
            let goal_met = sprint.goal_items.iter().all(|g| done.contains(g));
            Ok(vec![PodEvent::SprintClosed {
                sprint_id: *sprint_id,
                at: p.ctx.now,
                done,
                not_done,
                goal_met,
            }])
        }
        _ => unreachable!("routed by pod::decide"),
    }
}

fn sprint<'a>(p: &PodCtx<'a>, id: SprintId) -> Result<&'a Sprint, DomainError> {
    p.pod
        .sprints
        .get(&id)
        .ok_or_else(|| DomainError::not_found("sprintId", "sprint", &id))
}

/// R13 (end before start) and R9 (no overlap with another sprint of the pod).
fn dates(
    p: &PodCtx<'_>,
    this: Option<SprintId>,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<(), DomainError> {
    let mut checks = Checks::new();
    checks.date("startDate", start);
    checks.date("endDate", end);
    checks.finish()?;
    if end < start {
        return Err(DomainError::invalid(
            "endDate",
            "must not be before startDate",
        ));
    }
    let clash = p
        .pod
        .sprints
        .iter()
        .find(|(id, s)| Some(**id) != this && s.overlaps(start, end));
    if let Some((_, other)) = clash {
        return Err(DomainError::SprintOverlap {
            message: format!(
                "{start}..{end} overlaps sprint {} ({}..{})",
                other.number, other.start_date, other.end_date
            ),
        });
    }
    Ok(())
}

/// R8: a scope change needs a reason; `OTHER` needs its text.
pub(super) fn scope_reason(
    sprint: SprintId,
    reason: Option<&ScopeChangeReason>,
) -> Result<ScopeChangeReason, DomainError> {
    match reason {
        None => Err(DomainError::ScopeChangeReasonRequired { sprint }),
        Some(ScopeChangeReason::Other(text)) => {
            let mut checks = Checks::new();
            checks.required_text("reason", text, MAX_TEXT);
            checks.finish()?;
            Ok(ScopeChangeReason::Other(clean(text)))
        }
        Some(r) => Ok(r.clone()),
    }
}

/// R4 always; R8 once the sprint is active.
fn commit(
    p: &PodCtx<'_>,
    sprint_id: SprintId,
    item_id: ItemId,
    reason: Option<&ScopeChangeReason>,
) -> Result<Vec<PodEvent>, DomainError> {
    require_product_owner(p.org, p.pod_id, p.ctx)?;
    let sprint = sprint(p, sprint_id)?;
    let item = open_item(p, item_id)?;
    if sprint.status == SprintStatus::Closed {
        return Err(DomainError::invalid("sprintId", "the sprint is closed"));
    }
    if let Some(other) = item.sprint {
        let message = if other == sprint_id {
            "the item is already in this sprint".to_owned()
        } else {
            format!("the item is already in sprint {other}")
        };
        return Err(DomainError::invalid("itemId", message));
    }
    let missing = item.readiness_gaps(p.org, p.pod_id);
    if !missing.is_empty() {
        return Err(DomainError::ItemNotReady { missing });
    }
    match sprint.status {
        SprintStatus::Planned => Ok(vec![PodEvent::ItemCommitted { sprint_id, item_id }]),
        SprintStatus::Active => Ok(vec![PodEvent::ItemAddedToSprint {
            sprint_id,
            item_id,
            reason: scope_reason(sprint_id, reason)?,
            estimate: item.estimate.unwrap_or(0),
        }]),
        SprintStatus::Closed => unreachable!("checked above"),
    }
}

/// R1, then the PO permission, then R9 and R6.
fn start(p: &PodCtx<'_>, sprint_id: SprintId) -> Result<Vec<PodEvent>, DomainError> {
    if p.org
        .pods
        .get(&p.pod_id)
        .and_then(|pod| pod.product_owner)
        .is_none()
    {
        return Err(DomainError::PodHasNoProductOwner { pod: p.pod_id });
    }
    require_product_owner(p.org, p.pod_id, p.ctx)?;
    let sprint = sprint(p, sprint_id)?;
    if sprint.status != SprintStatus::Planned {
        return Err(DomainError::invalid(
            "sprintId",
            "only a PLANNED sprint can start",
        ));
    }
    if let Some(active) = p.pod.active_sprint {
        let number = p.pod.sprints.get(&active).map_or(0, |s| s.number);
        return Err(DomainError::SprintOverlap {
            message: format!("sprint {number} is still ACTIVE; one active sprint per pod"),
        });
    }
    let goal_missing = |reason: &str| DomainError::SprintGoalMissing {
        sprint: sprint_id,
        reason: reason.to_owned(),
    };
    if sprint.goal.as_deref().is_none_or(|g| g.trim().is_empty()) {
        return Err(goal_missing("it has no goal"));
    }
    if sprint.goal_items.is_empty() {
        return Err(goal_missing("it has no goal item"));
    }
    if let Some(missing) = sprint.goal_items.iter().find(|g| !sprint.items.contains(g)) {
        return Err(goal_missing(&format!(
            "goal item {missing} is not committed to it"
        )));
    }
    let committed = sprint
        .items
        .iter()
        .map(|id| CommittedItem {
            item_id: *id,
            estimate: p.pod.items.get(id).and_then(|i| i.estimate).unwrap_or(0),
        })
        .collect();
    Ok(vec![PodEvent::SprintStarted {
        sprint_id,
        at: p.ctx.now,
        committed,
    }])
}

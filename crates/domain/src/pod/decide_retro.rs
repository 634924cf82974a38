//! Decisions on retros (SPEC §9.2): the SM (PO without SM) records a closed sprint's retro with
//! one or two action items owned by pod members; during the next sprint, an action's owner or
//! the SM marks it implemented or dropped.

use std::collections::BTreeSet;

use crate::error::DomainError;
use crate::permissions::{acting_person, require_scrum_master};
use crate::validate::{Checks, MAX_LABEL, MAX_TEXT, clean};

use super::decide::PodCtx;
use super::{PodCommand, PodEvent, RetroActionItem, RetroOutcome, SprintStatus};

/// Fewest and most action items of one retro.
const ACTIONS: std::ops::RangeInclusive<usize> = 1..=2;

#[allow(clippy::too_many_lines)] // one arm per command reads best as one match
pub(super) fn decide(p: &PodCtx<'_>, command: &PodCommand) -> Result<Vec<PodEvent>, DomainError> {
    match command {
        PodCommand::RecordRetro {
            sprint_id,
            went_well,
            friction,
            actions,
        } => {
            require_scrum_master(p.org, p.pod_id, p.ctx)?;
            let sprint = p
                .pod
                .sprints
                .get(sprint_id)
                .ok_or_else(|| DomainError::not_found("sprintId", "sprint", sprint_id))?;
            if p.pod.retros.contains_key(sprint_id) {
                return Err(DomainError::RetroAlreadyRecorded { sprint: *sprint_id });
            }
            let mut checks = Checks::new();
            checks.check(
                sprint.status == SprintStatus::Closed,
                "sprintId",
                "a retro is recorded at the sprint's close or after it",
            );
            checks.required_text("wentWell", went_well, MAX_TEXT);
            checks.required_text("friction", friction, MAX_TEXT);
            checks.check(
                ACTIONS.contains(&actions.len()),
                "actions",
                "a retro results in one or two specific changes",
            );
            let mut ids = BTreeSet::new();
            for (i, action) in actions.iter().enumerate() {
                checks.check(
                    ids.insert(action.action_id)
                        && !p.pod.retro_actions.contains_key(&action.action_id),
                    &format!("actions[{i}].actionId"),
                    "already exists",
                );
                checks.required_text(
                    &format!("actions[{i}].description"),
                    &action.description,
                    MAX_TEXT,
                );
                checks.check(
                    p.org.is_member_of(action.owner, p.pod_id),
                    &format!("actions[{i}].ownerId"),
                    "the owner must be a member of the pod",
                );
            }
            checks.finish()?;
            Ok(vec![PodEvent::RetroRecorded {
                sprint_id: *sprint_id,
                went_well: clean(went_well),
                friction: clean(friction),
                actions: actions
                    .iter()
                    .map(|a| RetroActionItem {
                        description: clean(&a.description),
                        ..a.clone()
                    })
                    .collect(),
                at: p.ctx.now,
            }])
        }
        PodCommand::ResolveRetroAction { action_id, outcome } => {
            let action = p
                .pod
                .retro_actions
                .get(action_id)
                .ok_or_else(|| DomainError::not_found("actionId", "retro action", action_id))?;
            if acting_person(p.ctx)? != action.owner {
                require_scrum_master(p.org, p.pod_id, p.ctx).map_err(|_| {
                    DomainError::forbidden(
                        "only the action's owner or the pod's scrum master marks it",
                    )
                })?;
            }
            let mut checks = Checks::new();
            checks.check(
                action.outcome.is_none(),
                "actionId",
                "the action was marked already",
            );
            let next = p.pod.next_sprint(action.sprint);
            checks.check(
                next.is_some_and(|(_, s)| s.status == SprintStatus::Active),
                "actionId",
                "an action is marked during the pod's next sprint, which is not running",
            );
            if let RetroOutcome::Dropped(reason) = outcome {
                checks.required_text("reason", reason, MAX_LABEL);
            }
            checks.finish()?;
            Ok(vec![PodEvent::RetroActionResolved {
                action_id: *action_id,
                outcome: match outcome {
                    RetroOutcome::Dropped(reason) => RetroOutcome::Dropped(clean(reason)),
                    RetroOutcome::Implemented => RetroOutcome::Implemented,
                },
                at: p.ctx.now,
            }])
        }
        _ => unreachable!("routed by pod::decide"),
    }
}

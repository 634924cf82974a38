//! Decisions on blockers: raise (any pod member), escalate and resolve (SM, or PO without SM).

use crate::error::DomainError;
use crate::permissions::{require_pod_member, require_scrum_master};
use crate::validate::{Checks, MAX_TEXT, clean, clean_opt};

use super::decide::PodCtx;
use super::{Blocker, PodCommand, PodEvent};

pub(super) fn decide(p: &PodCtx<'_>, command: &PodCommand) -> Result<Vec<PodEvent>, DomainError> {
    match command {
        PodCommand::RaiseBlocker {
            blocker_id,
            item_id,
            category,
            description,
        } => {
            let person = require_pod_member(p.org, p.pod_id, p.ctx)?;
            let mut checks = Checks::new();
            checks.check(
                !p.pod.blockers.contains_key(blocker_id),
                "blockerId",
                "already exists",
            );
            checks.required_text("description", description, MAX_TEXT);
            checks.finish()?;
            if let Some(item) = item_id
                && !p.pod.items.contains_key(item)
            {
                return Err(DomainError::not_found("itemId", "item", &item));
            }
            Ok(vec![PodEvent::BlockerRaised {
                blocker_id: *blocker_id,
                item_id: *item_id,
                category: *category,
                description: clean(description),
                raised_by: person,
                at: p.ctx.now,
            }])
        }
        PodCommand::EscalateBlocker { blocker_id, note } => {
            require_scrum_master(p.org, p.pod_id, p.ctx)?;
            let blocker = open_blocker(p, *blocker_id)?;
            if blocker.escalated_at.is_some() {
                return Ok(vec![]);
            }
            let mut checks = Checks::new();
            checks.optional_text("note", note.as_deref(), MAX_TEXT);
            checks.finish()?;
            Ok(vec![PodEvent::BlockerEscalated {
                blocker_id: *blocker_id,
                note: clean_opt(note.as_deref()),
                at: p.ctx.now,
            }])
        }
        PodCommand::ResolveBlocker {
            blocker_id,
            resolution,
        } => {
            require_scrum_master(p.org, p.pod_id, p.ctx)?;
            open_blocker(p, *blocker_id)?;
            let mut checks = Checks::new();
            checks.optional_text("resolution", resolution.as_deref(), MAX_TEXT);
            checks.finish()?;
            Ok(vec![PodEvent::BlockerResolved {
                blocker_id: *blocker_id,
                resolution: clean_opt(resolution.as_deref()),
                at: p.ctx.now,
            }])
        }
        _ => unreachable!("routed by pod::decide"),
    }
}

fn open_blocker<'a>(p: &PodCtx<'a>, id: crate::ids::BlockerId) -> Result<&'a Blocker, DomainError> {
    let blocker = p
        .pod
        .blockers
        .get(&id)
        .ok_or_else(|| DomainError::not_found("blockerId", "blocker", &id))?;
    if blocker.resolved_at.is_some() {
        return Err(DomainError::invalid(
            "blockerId",
            "the blocker is already resolved",
        ));
    }
    Ok(blocker)
}

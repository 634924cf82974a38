//! Decisions on approvals (SPEC §9.3): the delivery owner of an `IN_REVIEW` item whose output
//! category needs approval asks for it; the approver the rule names approves, or rejects with a
//! reason. (The DONE check is in `decide_backlog::move_item`.)

use crate::error::DomainError;
use crate::permissions::acting_known_person;
use crate::validate::{Checks, MAX_LABEL, clean, clean_opt};

use super::decide::PodCtx;
use super::decide_backlog::item;
use super::{ItemStatus, PodCommand, PodEvent};

pub(super) fn decide(p: &PodCtx<'_>, command: &PodCommand) -> Result<Vec<PodEvent>, DomainError> {
    match command {
        PodCommand::RequestApproval {
            approval_id,
            item_id,
        } => {
            let person = acting_known_person(p.org, p.ctx)?;
            let item = item(p, *item_id)?;
            if item.owner != Some(person) {
                return Err(DomainError::forbidden(
                    "only the item's accepted delivery owner asks for its approval",
                ));
            }
            let rule = p.org.approval_rule(&item.output_category);
            let pending = p
                .pod
                .approvals
                .values()
                .any(|a| a.item == *item_id && a.decision.is_none());
            let mut checks = Checks::new();
            checks.check(
                !p.pod.approvals.contains_key(approval_id),
                "approvalId",
                "already exists",
            );
            checks.check(
                item.status == ItemStatus::InReview,
                "itemId",
                "approval is asked for an item IN_REVIEW",
            );
            checks.check(
                rule.is_some(),
                "itemId",
                format!(
                    "items of the {} category need no approval",
                    item.output_category
                ),
            );
            checks.check(!pending, "itemId", "an approval request is pending already");
            checks.finish()?;
            let rule = rule.expect("checked above");
            Ok(vec![PodEvent::ApprovalRequested {
                approval_id: *approval_id,
                item_id: *item_id,
                approver: rule.approver,
                due_at: p.ctx.now + chrono::Duration::hours(i64::from(rule.deadline_hours)),
                at: p.ctx.now,
            }])
        }
        PodCommand::DecideApproval {
            approval_id,
            approved,
            reason,
        } => {
            let approval = p
                .pod
                .approvals
                .get(approval_id)
                .ok_or_else(|| DomainError::not_found("approvalId", "approval", approval_id))?;
            if acting_known_person(p.org, p.ctx)? != approval.approver {
                return Err(DomainError::forbidden(
                    "only the approver the rule names decides",
                ));
            }
            let mut checks = Checks::new();
            checks.check(
                approval.decision.is_none(),
                "approvalId",
                "the approval was decided already",
            );
            if *approved {
                checks.optional_text("reason", reason.as_deref(), MAX_LABEL);
            } else {
                checks.required_text("reason", reason.as_deref().unwrap_or(""), MAX_LABEL);
            }
            checks.finish()?;
            Ok(vec![PodEvent::ApprovalDecided {
                approval_id: *approval_id,
                approved: *approved,
                reason: if *approved {
                    clean_opt(reason.as_deref())
                } else {
                    Some(clean(reason.as_deref().unwrap_or("")))
                },
                at: p.ctx.now,
            }])
        }
        _ => unreachable!("routed by pod::decide"),
    }
}

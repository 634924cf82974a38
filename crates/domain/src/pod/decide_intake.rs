//! Decisions on intake: any person of the organisation submits a request (stakeholders reach a
//! pod only this way, R3); the pod's PO accepts it — it becomes a backlog item whose requester
//! is the submitter — or declines it with a reason.

use crate::error::DomainError;
use crate::ids::IntakeId;
use crate::permissions::{acting_known_person, require_product_owner};
use crate::validate::{Checks, MAX_LABEL, MAX_TEXT, MAX_TITLE, clean, clean_opt};

use super::decide::PodCtx;
use super::{IntakeRequest, IntakeStatus, PodCommand, PodEvent};

pub(super) fn decide(p: &PodCtx<'_>, command: &PodCommand) -> Result<Vec<PodEvent>, DomainError> {
    match command {
        PodCommand::SubmitIntakeRequest {
            request_id,
            title,
            description,
            output_category,
        } => {
            let requester = acting_known_person(p.org, p.ctx)?;
            let mut checks = Checks::new();
            checks.check(
                !p.pod.intake.contains_key(request_id),
                "requestId",
                "already exists",
            );
            checks.required_text("title", title, MAX_TITLE);
            checks.optional_text("description", description.as_deref(), MAX_TEXT);
            checks.required_text("outputCategory", output_category, MAX_LABEL);
            checks.finish()?;
            Ok(vec![PodEvent::IntakeRequestSubmitted {
                request_id: *request_id,
                requester,
                title: clean(title),
                description: clean_opt(description.as_deref()),
                output_category: clean(output_category),
                at: p.ctx.now,
            }])
        }
        PodCommand::AcceptIntakeRequest {
            request_id,
            item_id,
        } => {
            require_product_owner(p.org, p.pod_id, p.ctx)?;
            let request = open_request(p, *request_id)?;
            if p.pod.items.contains_key(item_id) {
                return Err(DomainError::invalid("itemId", "already exists"));
            }
            Ok(vec![
                PodEvent::ItemCreated {
                    item_id: *item_id,
                    title: request.title.clone(),
                    description: request.description.clone(),
                    output_category: request.output_category.clone(),
                    acceptance_criteria: None,
                    estimate: None,
                    parent_epic: None,
                    requester: Some(request.requester),
                },
                PodEvent::IntakeRequestAccepted {
                    request_id: *request_id,
                    item_id: *item_id,
                    at: p.ctx.now,
                },
            ])
        }
        PodCommand::DeclineIntakeRequest { request_id, reason } => {
            require_product_owner(p.org, p.pod_id, p.ctx)?;
            open_request(p, *request_id)?;
            let mut checks = Checks::new();
            checks.required_text("reason", reason, MAX_TEXT);
            checks.finish()?;
            Ok(vec![PodEvent::IntakeRequestDeclined {
                request_id: *request_id,
                reason: clean(reason),
                at: p.ctx.now,
            }])
        }
        _ => unreachable!("routed by pod::decide"),
    }
}

fn open_request<'a>(p: &PodCtx<'a>, id: IntakeId) -> Result<&'a IntakeRequest, DomainError> {
    let request = p
        .pod
        .intake
        .get(&id)
        .ok_or_else(|| DomainError::not_found("requestId", "intake request", &id))?;
    match request.status {
        IntakeStatus::Open => Ok(request),
        IntakeStatus::Accepted => Err(DomainError::invalid("requestId", "already accepted")),
        IntakeStatus::Declined => Err(DomainError::invalid("requestId", "already declined")),
    }
}

//! Decisions on requests to shared services (SPEC §9.1): the pod's PO or an item's delivery
//! owner opens one; the service's operators accept, deliver or reject it; the requester cancels
//! it; the requester or the pod's SM escalates it to the service's escalation contact.

use crate::error::DomainError;
use crate::ids::ServiceRequestId;
use crate::permissions::{acting_known_person, require_scrum_master};
use crate::validate::{Checks, MAX_LABEL, MAX_TEXT, MAX_TITLE, clean, clean_opt};

use super::decide::PodCtx;
use super::decide_backlog::item;
use super::{PodCommand, PodEvent, ServiceRequest, ServiceRequestStatus};

#[allow(clippy::too_many_lines)] // one arm per command reads best as one match
pub(super) fn decide(p: &PodCtx<'_>, command: &PodCommand) -> Result<Vec<PodEvent>, DomainError> {
    match command {
        PodCommand::OpenServiceRequest {
            request_id,
            service_id,
            item_id,
            title,
            description,
        } => {
            let person = acting_known_person(p.org, p.ctx)?;
            let service =
                p.org.services.get(service_id).ok_or_else(|| {
                    DomainError::not_found("serviceId", "shared service", service_id)
                })?;
            let owns_item = match item_id {
                Some(id) => item(p, *id)?.owner == Some(person),
                None => false,
            };
            if !p.org.is_product_owner(person, p.pod_id) && !owns_item {
                return Err(DomainError::forbidden(
                    "the pod's product owner, or the item's delivery owner, opens service requests",
                ));
            }
            let mut checks = Checks::new();
            checks.check(
                !p.pod.service_requests.contains_key(request_id),
                "requestId",
                "already exists",
            );
            checks.required_text("title", title, MAX_TITLE);
            checks.optional_text("description", description.as_deref(), MAX_TEXT);
            checks.finish()?;
            let received_at = service.sla.window.received_at(p.ctx.now);
            Ok(vec![PodEvent::ServiceRequestOpened {
                request_id: *request_id,
                service_id: *service_id,
                item_id: *item_id,
                title: clean(title),
                description: clean_opt(description.as_deref()),
                requested_by: person,
                at: p.ctx.now,
                received_at,
                due_at: service.sla.due_at(received_at),
            }])
        }
        PodCommand::AcceptServiceRequest { request_id } => {
            let (by, _) = operator(p, *request_id, &[ServiceRequestStatus::Open])?;
            Ok(vec![PodEvent::ServiceRequestAccepted {
                request_id: *request_id,
                by,
                at: p.ctx.now,
            }])
        }
        PodCommand::DeliverServiceRequest { request_id } => {
            let (by, _) = operator(p, *request_id, &[ServiceRequestStatus::Accepted])?;
            Ok(vec![PodEvent::ServiceRequestDelivered {
                request_id: *request_id,
                by,
                at: p.ctx.now,
            }])
        }
        PodCommand::RejectServiceRequest { request_id, reason } => {
            let waiting = [ServiceRequestStatus::Open, ServiceRequestStatus::Accepted];
            let (by, _) = operator(p, *request_id, &waiting)?;
            let mut checks = Checks::new();
            checks.required_text("reason", reason, MAX_LABEL);
            checks.finish()?;
            Ok(vec![PodEvent::ServiceRequestRejected {
                request_id: *request_id,
                by,
                reason: clean(reason),
                at: p.ctx.now,
            }])
        }
        PodCommand::CancelServiceRequest { request_id } => {
            let person = acting_known_person(p.org, p.ctx)?;
            let request = request(p, *request_id)?;
            if request.requested_by != person {
                return Err(DomainError::forbidden(
                    "only the person who opened the request cancels it",
                ));
            }
            waiting(request)?;
            Ok(vec![PodEvent::ServiceRequestCancelled {
                request_id: *request_id,
                at: p.ctx.now,
            }])
        }
        PodCommand::EscalateServiceRequest { request_id, note } => {
            let person = acting_known_person(p.org, p.ctx)?;
            let request = request(p, *request_id)?;
            if request.requested_by != person {
                require_scrum_master(p.org, p.pod_id, p.ctx).map_err(|_| {
                    DomainError::forbidden(
                        "the requester or the pod's scrum master escalates a request",
                    )
                })?;
            }
            waiting(request)?;
            let mut checks = Checks::new();
            checks.optional_text("note", note.as_deref(), MAX_TEXT);
            checks.finish()?;
            if request.escalated {
                return Ok(vec![]);
            }
            let contact = p
                .org
                .services
                .get(&request.service)
                .map_or(person, |s| s.sla.escalation_contact);
            Ok(vec![PodEvent::ServiceRequestEscalated {
                request_id: *request_id,
                escalated_to: contact,
                note: clean_opt(note.as_deref()),
                at: p.ctx.now,
            }])
        }
        _ => unreachable!("routed by pod::decide"),
    }
}

fn request<'a>(p: &PodCtx<'a>, id: ServiceRequestId) -> Result<&'a ServiceRequest, DomainError> {
    p.pod
        .service_requests
        .get(&id)
        .ok_or_else(|| DomainError::not_found("requestId", "service request", &id))
}

fn waiting(request: &ServiceRequest) -> Result<(), DomainError> {
    if request.status.is_waiting() {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "requestId",
            "the request was delivered, rejected or cancelled already",
        ))
    }
}

/// The acting operator of the request's service, when the request is in one of `from`.
fn operator<'a>(
    p: &PodCtx<'a>,
    id: ServiceRequestId,
    from: &[ServiceRequestStatus],
) -> Result<(crate::ids::PersonId, &'a ServiceRequest), DomainError> {
    let person = acting_known_person(p.org, p.ctx)?;
    let request = request(p, id)?;
    let operates = p
        .org
        .services
        .get(&request.service)
        .is_some_and(|s| s.operators.contains(&person));
    if !operates {
        return Err(DomainError::forbidden(
            "only the service's operators accept, deliver or reject its requests",
        ));
    }
    if !from.contains(&request.status) {
        return Err(DomainError::invalid(
            "requestId",
            format!(
                "the request is {:?}; this needs it {}",
                request.status,
                from.iter()
                    .map(|s| format!("{s:?}"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )
            .to_uppercase(),
        ));
    }
    Ok((person, request))
}

//! Decisions on the organisation's governance (SPEC §9.1, §9.3), all `ORG_ADMIN` (checked by the
//! caller): approval rules, shared services and their SLA, service operators.

use crate::error::DomainError;
use crate::ids::{PersonId, SharedServiceId};
use crate::validate::{Checks, MAX_LABEL, MAX_NAME, clean};

use super::{MAX_HOURS, OrgCommand, OrgEvent, OrgState, ServiceFunction, Sla};

#[allow(clippy::too_many_lines)] // one arm per command reads best as one match
pub(super) fn decide(state: &OrgState, command: &OrgCommand) -> Result<Vec<OrgEvent>, DomainError> {
    match command {
        OrgCommand::SetApprovalRule {
            output_category,
            approver,
            deadline_hours,
        } => {
            let mut checks = Checks::new();
            checks.required_text("outputCategory", output_category, MAX_LABEL);
            hours(&mut checks, "deadlineHours", *deadline_hours);
            checks.finish()?;
            person(state, *approver, "approverId")?;
            Ok(vec![OrgEvent::ApprovalRuleSet {
                output_category: category(output_category),
                approver: *approver,
                deadline_hours: *deadline_hours as u32,
            }])
        }
        OrgCommand::RemoveApprovalRule { output_category } => {
            if state.approval_rule(output_category).is_none() {
                return Err(DomainError::invalid(
                    "outputCategory",
                    "the category has no approval rule",
                ));
            }
            Ok(vec![OrgEvent::ApprovalRuleRemoved {
                output_category: category(output_category),
            }])
        }
        OrgCommand::DefineSharedService {
            service_id,
            name,
            function,
            sla,
        } => {
            let mut checks = Checks::new();
            checks.check(
                !state.services.contains_key(service_id),
                "serviceId",
                "already exists",
            );
            checks.required_text("name", name, MAX_NAME);
            if let ServiceFunction::Other(label) = function {
                checks.required_text("function", label, MAX_LABEL);
            }
            check_sla(&mut checks, sla);
            checks.finish()?;
            person(state, sla.escalation_contact, "sla.escalationContactId")?;
            Ok(vec![OrgEvent::SharedServiceDefined {
                service_id: *service_id,
                name: clean(name),
                function: match function {
                    ServiceFunction::Other(label) => ServiceFunction::Other(clean(label)),
                    other => other.clone(),
                },
                sla: sla.clone(),
            }])
        }
        OrgCommand::ChangeServiceSla { service_id, sla } => {
            service(state, *service_id)?;
            let mut checks = Checks::new();
            check_sla(&mut checks, sla);
            checks.finish()?;
            person(state, sla.escalation_contact, "sla.escalationContactId")?;
            Ok(vec![OrgEvent::ServiceSlaChanged {
                service_id: *service_id,
                sla: sla.clone(),
            }])
        }
        OrgCommand::AppointServiceOperator {
            service_id,
            person_id,
        } => {
            let operators = &service(state, *service_id)?.operators;
            let who = person(state, *person_id, "personId")?;
            if let Some(m) = &who.membership {
                return Err(DomainError::MemberAlreadyInPod {
                    message: format!(
                        "person {person_id} holds a role in pod {}; service operators are org-level and never pod members",
                        m.pod
                    ),
                });
            }
            if operators.contains(person_id) {
                return Ok(vec![]);
            }
            Ok(vec![OrgEvent::ServiceOperatorAppointed {
                service_id: *service_id,
                person_id: *person_id,
            }])
        }
        OrgCommand::RemoveServiceOperator {
            service_id,
            person_id,
        } => {
            if !service(state, *service_id)?.operators.contains(person_id) {
                return Err(DomainError::invalid(
                    "personId",
                    "the person does not operate this service",
                ));
            }
            Ok(vec![OrgEvent::ServiceOperatorRemoved {
                service_id: *service_id,
                person_id: *person_id,
            }])
        }
        _ => unreachable!("routed by org::decide"),
    }
}

/// An output category as rules key it: trimmed, lower case.
fn category(text: &str) -> String {
    clean(text).to_lowercase()
}

fn hours(checks: &mut Checks, field: &str, value: i64) {
    checks.check(
        (1..=MAX_HOURS).contains(&value),
        field,
        format!("must be between 1 and {MAX_HOURS} hours"),
    );
}

fn check_sla(checks: &mut Checks, sla: &Sla) {
    hours(
        checks,
        "sla.turnaroundHours",
        i64::from(sla.turnaround_hours),
    );
    let w = &sla.window;
    checks.check(
        !w.days.is_empty() && w.days.iter().all(|d| (1..=7).contains(d)),
        "sla.window.days",
        "one or more weekdays, 1 (Monday) to 7 (Sunday)",
    );
    checks.check(
        w.opens_at_hour < 24 && w.closes_at_hour <= 24 && w.opens_at_hour < w.closes_at_hour,
        "sla.window",
        "the window opens at an hour 0–23 and closes after it, at 24 at the latest",
    );
}

fn person<'a>(
    state: &'a OrgState,
    id: PersonId,
    field: &str,
) -> Result<&'a super::Person, DomainError> {
    state
        .people
        .get(&id)
        .ok_or_else(|| DomainError::not_found(field, "person", &id))
}

fn service(state: &OrgState, id: SharedServiceId) -> Result<&super::SharedService, DomainError> {
    state
        .services
        .get(&id)
        .ok_or_else(|| DomainError::not_found("serviceId", "shared service", &id))
}

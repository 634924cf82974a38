//! Decisions on organisation commands: permission (SPEC §5 set-up row), R2, R12 and R13.

use crate::context::Context;
use crate::error::DomainError;
use crate::permissions::{acting_person, check_expected_version, require_org_admin};
use crate::roles::{OrgRole, PodFocus, PodRole};
use crate::validate::{Checks, MAX_LABEL, MAX_NAME, clean, clean_opt};

use super::{DEFAULT_SPRINT_LENGTH_DAYS, MAX_SPRINT_LENGTH_DAYS, OrgCommand, OrgEvent, OrgState};

/// Decides what an organisation command changes.
#[allow(clippy::too_many_lines)] // one arm per command reads best as one match
pub fn decide(
    state: &OrgState,
    command: &OrgCommand,
    ctx: &Context,
) -> Result<Vec<OrgEvent>, DomainError> {
    if let OrgCommand::CreateOrganisation {
        name,
        sprint_length_days,
        founder_name,
        founder_email,
    } = command
    {
        return create(
            state,
            ctx,
            name,
            *sprint_length_days,
            founder_name,
            founder_email.as_deref(),
        );
    }
    if state.info.is_none() {
        return Err(DomainError::not_found("orgId", "organisation", &ctx.org));
    }
    require_org_admin(state, ctx)?;
    check_expected_version(ctx, state.version)?;
    match command {
        OrgCommand::CreateOrganisation { .. } => unreachable!("handled above"),
        OrgCommand::SetApprovalRule { .. }
        | OrgCommand::RemoveApprovalRule { .. }
        | OrgCommand::DefineSharedService { .. }
        | OrgCommand::ChangeServiceSla { .. }
        | OrgCommand::AppointServiceOperator { .. }
        | OrgCommand::RemoveServiceOperator { .. } => {
            super::decide_governance::decide(state, command)
        }
        OrgCommand::SetSprintCadence { sprint_length_days } => {
            let mut checks = Checks::new();
            cadence(&mut checks, *sprint_length_days);
            checks.finish()?;
            Ok(vec![OrgEvent::SprintCadenceSet {
                sprint_length_days: *sprint_length_days as u16,
            }])
        }
        OrgCommand::AddPerson {
            person_id,
            name,
            email,
        } => {
            let mut checks = Checks::new();
            checks.check(
                !state.people.contains_key(person_id),
                "personId",
                "already exists",
            );
            checks.required_text("name", name, MAX_NAME);
            email_check(&mut checks, email.as_deref());
            checks.finish()?;
            Ok(vec![OrgEvent::PersonAdded {
                person_id: *person_id,
                name: clean(name),
                email: clean_opt(email.as_deref()),
            }])
        }
        OrgCommand::GrantOrgRole { person_id, role } => {
            let person = state
                .people
                .get(person_id)
                .ok_or_else(|| DomainError::not_found("personId", "person", &person_id))?;
            if role.is_oversight()
                && let Some(m) = &person.membership
            {
                return Err(DomainError::MemberAlreadyInPod {
                    message: format!(
                        "person {person_id} holds a role in pod {}; oversight roles are org-level and never pod members",
                        m.pod
                    ),
                });
            }
            if person.org_roles.contains(role) {
                return Ok(vec![]);
            }
            Ok(vec![OrgEvent::OrgRoleGranted {
                person_id: *person_id,
                role: *role,
            }])
        }
        OrgCommand::RevokeOrgRole { person_id, role } => {
            let person = state
                .people
                .get(person_id)
                .ok_or_else(|| DomainError::not_found("personId", "person", &person_id))?;
            if !person.org_roles.contains(role) {
                return Ok(vec![]);
            }
            if *role == OrgRole::OrgAdmin {
                let admins = state
                    .people
                    .values()
                    .filter(|p| p.org_roles.contains(&OrgRole::OrgAdmin))
                    .count();
                if admins <= 1 {
                    return Err(DomainError::invalid(
                        "role",
                        "the organisation must keep at least one ORG_ADMIN",
                    ));
                }
            }
            Ok(vec![OrgEvent::OrgRoleRevoked {
                person_id: *person_id,
                role: *role,
            }])
        }
        OrgCommand::CreatePod {
            pod_id,
            name,
            focus,
        } => {
            let mut checks = Checks::new();
            checks.check(!state.pods.contains_key(pod_id), "podId", "already exists");
            checks.required_text("name", name, MAX_NAME);
            focus_check(&mut checks, focus);
            checks.finish()?;
            Ok(vec![OrgEvent::PodCreated {
                pod_id: *pod_id,
                name: clean(name),
                focus: clean_focus(focus),
            }])
        }
        OrgCommand::AssignPodRole {
            person_id,
            pod_id,
            role,
        } => assign_pod_role(state, *person_id, *pod_id, role),
        OrgCommand::RemovePodRole {
            person_id,
            pod_id,
            role,
        } => {
            if !state.pods.contains_key(pod_id) {
                return Err(DomainError::not_found("podId", "pod", &pod_id));
            }
            let person = state
                .people
                .get(person_id)
                .ok_or_else(|| DomainError::not_found("personId", "person", &person_id))?;
            let holds = person
                .membership
                .as_ref()
                .is_some_and(|m| m.pod == *pod_id && m.roles.contains(role));
            if !holds {
                return Err(DomainError::invalid(
                    "role",
                    "the person does not hold this role in this pod",
                ));
            }
            Ok(vec![OrgEvent::PodRoleRemoved {
                pod_id: *pod_id,
                person_id: *person_id,
                role: role.clone(),
            }])
        }
        OrgCommand::LinkIdentity {
            person_id,
            issuer,
            subject,
        } => {
            if !state.people.contains_key(person_id) {
                return Err(DomainError::not_found("personId", "person", person_id));
            }
            let mut checks = Checks::new();
            checks.required_text("issuer", issuer, MAX_LABEL);
            checks.required_text("subject", subject, MAX_LABEL);
            checks.finish()?;
            let (issuer, subject) = (clean(issuer), clean(subject));
            if let Some(linked) = state.person_by_identity(&issuer, &subject) {
                return Err(DomainError::invalid(
                    "subject",
                    format!("is already linked to person {linked}"),
                ));
            }
            Ok(vec![OrgEvent::IdentityLinked {
                person_id: *person_id,
                issuer,
                subject,
            }])
        }
        OrgCommand::UnlinkIdentity { issuer, subject } => {
            let (issuer, subject) = (clean(issuer), clean(subject));
            let person_id = state
                .person_by_identity(&issuer, &subject)
                .ok_or_else(|| DomainError::not_found("subject", "identity", &subject))?;
            Ok(vec![OrgEvent::IdentityUnlinked {
                person_id,
                issuer,
                subject,
            }])
        }
    }
}

fn create(
    state: &OrgState,
    ctx: &Context,
    name: &str,
    sprint_length_days: Option<i64>,
    founder_name: &str,
    founder_email: Option<&str>,
) -> Result<Vec<OrgEvent>, DomainError> {
    let founder = acting_person(ctx)?;
    let mut checks = Checks::new();
    checks.check(
        state.info.is_none(),
        "orgId",
        "the organisation already exists",
    );
    checks.required_text("name", name, MAX_NAME);
    checks.required_text("founderName", founder_name, MAX_NAME);
    email_check(&mut checks, founder_email);
    if let Some(days) = sprint_length_days {
        cadence(&mut checks, days);
    }
    checks.finish()?;
    Ok(vec![
        OrgEvent::OrganisationCreated {
            name: clean(name),
            sprint_length_days: sprint_length_days.map_or(DEFAULT_SPRINT_LENGTH_DAYS, |d| d as u16),
            at: ctx.now,
        },
        OrgEvent::PersonAdded {
            person_id: founder,
            name: clean(founder_name),
            email: clean_opt(founder_email),
        },
        OrgEvent::OrgRoleGranted {
            person_id: founder,
            role: OrgRole::OrgAdmin,
        },
    ])
}

fn assign_pod_role(
    state: &OrgState,
    person_id: crate::ids::PersonId,
    pod_id: crate::ids::PodId,
    role: &PodRole,
) -> Result<Vec<OrgEvent>, DomainError> {
    let pod = state
        .pods
        .get(&pod_id)
        .ok_or_else(|| DomainError::not_found("podId", "pod", &pod_id))?;
    let person = state
        .people
        .get(&person_id)
        .ok_or_else(|| DomainError::not_found("personId", "person", &person_id))?;
    if let PodRole::Other(label) = role {
        let mut checks = Checks::new();
        checks.required_text("role", label, MAX_LABEL);
        checks.finish()?;
    }
    if let Some(m) = &person.membership
        && m.pod != pod_id
    {
        return Err(DomainError::MemberAlreadyInPod {
            message: format!("person {person_id} already holds a role in pod {}", m.pod),
        });
    }
    if state.is_service_operator(person_id) {
        return Err(DomainError::MemberAlreadyInPod {
            message: format!(
                "person {person_id} operates a shared service; operators are org-level and never pod members"
            ),
        });
    }
    if person.org_roles.iter().any(|r| r.is_oversight()) {
        return Err(DomainError::MemberAlreadyInPod {
            message: format!(
                "person {person_id} holds an oversight role; oversight roles are org-level and never pod members"
            ),
        });
    }
    if person
        .membership
        .as_ref()
        .is_some_and(|m| m.roles.contains(role))
    {
        return Ok(vec![]);
    }
    let replaced = match role {
        PodRole::ProductOwner => pod.product_owner,
        PodRole::ScrumMaster => pod.scrum_master,
        _ => None,
    };
    Ok(vec![OrgEvent::PodRoleAssigned {
        pod_id,
        person_id,
        role: match role {
            PodRole::Other(label) => PodRole::Other(clean(label)),
            other => other.clone(),
        },
        replaced,
    }])
}

fn cadence(checks: &mut Checks, days: i64) {
    checks.check(
        (1..=MAX_SPRINT_LENGTH_DAYS).contains(&days),
        "sprintLengthDays",
        format!("must be between 1 and {MAX_SPRINT_LENGTH_DAYS} days"),
    );
}

fn email_check(checks: &mut Checks, email: Option<&str>) {
    if let Some(email) = email.map(str::trim).filter(|e| !e.is_empty()) {
        checks.optional_text("email", Some(email), 254);
        checks.check(
            email.contains('@') && !email.starts_with('@') && !email.ends_with('@'),
            "email",
            "must be an e-mail address",
        );
    }
}

fn focus_check(checks: &mut Checks, focus: &PodFocus) {
    if let PodFocus::Custom(label) = focus {
        checks.required_text("focus", label, MAX_LABEL);
    }
}

fn clean_focus(focus: &PodFocus) -> PodFocus {
    match focus {
        PodFocus::Custom(label) => PodFocus::Custom(clean(label)),
        other => other.clone(),
    }
}

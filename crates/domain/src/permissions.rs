//! The permission table of SPEC §5: write checks used by every decider, and the read rules
//! the API applies to queries. One place, so each row is written once.

use crate::context::{Actor, Context};
use crate::error::DomainError;
use crate::ids::{PersonId, PodId};
use crate::org::OrgState;
use crate::roles::OrgRole;

/// The acting person; service tokens are refused.
pub fn acting_person(ctx: &Context) -> Result<PersonId, DomainError> {
    match &ctx.actor {
        Actor::Member { person } => Ok(*person),
        Actor::Service { .. } => Err(DomainError::forbidden(
            "service tokens may only record KPI readings",
        )),
    }
}

/// The acting person, who must be a person of the organisation.
pub fn acting_known_person(org: &OrgState, ctx: &Context) -> Result<PersonId, DomainError> {
    let person = acting_person(ctx)?;
    if org.people.contains_key(&person) {
        Ok(person)
    } else {
        Err(DomainError::forbidden(
            "the actor is not a person of this organisation",
        ))
    }
}

/// Row "set up org, pods, people, roles, cadence": `ORG_ADMIN`.
pub fn require_org_admin(org: &OrgState, ctx: &Context) -> Result<PersonId, DomainError> {
    let person = acting_known_person(org, ctx)?;
    if org.has_org_role(person, OrgRole::OrgAdmin) {
        Ok(person)
    } else {
        Err(DomainError::forbidden(
            "only an ORG_ADMIN sets up the organisation",
        ))
    }
}

/// Rows "create, edit, rank, drop items; plan and start a sprint; commit; set goal; scope
/// change; declare delivery owner; define KPI and its owner": the pod's PO (R3).
pub fn require_product_owner(
    org: &OrgState,
    pod: PodId,
    ctx: &Context,
) -> Result<PersonId, DomainError> {
    let person = acting_known_person(org, ctx)?;
    if org.is_product_owner(person, pod) {
        Ok(person)
    } else {
        Err(DomainError::forbidden(
            "only the pod's product owner may do this",
        ))
    }
}

/// Row "raise a blocker": any pod member.
pub fn require_pod_member(
    org: &OrgState,
    pod: PodId,
    ctx: &Context,
) -> Result<PersonId, DomainError> {
    let person = acting_known_person(org, ctx)?;
    if org.is_member_of(person, pod) {
        Ok(person)
    } else {
        Err(DomainError::forbidden(
            "only a member of the pod may do this",
        ))
    }
}

/// Row "escalate, resolve blockers; close sprint": the pod's SM; the PO when the pod has no SM.
pub fn require_scrum_master(
    org: &OrgState,
    pod: PodId,
    ctx: &Context,
) -> Result<PersonId, DomainError> {
    let person = acting_known_person(org, ctx)?;
    let has_sm = org.pods.get(&pod).is_some_and(|p| p.scrum_master.is_some());
    if org.is_scrum_master(person, pod) || (!has_sm && org.is_product_owner(person, pod)) {
        Ok(person)
    } else if has_sm {
        Err(DomainError::forbidden(
            "only the pod's scrum master may do this",
        ))
    } else {
        Err(DomainError::forbidden(
            "only the pod's product owner may do this while the pod has no scrum master",
        ))
    }
}

/// R12: the caller's expected version, if any, must equal the target's current version.
pub fn check_expected_version(ctx: &Context, actual: u64) -> Result<(), DomainError> {
    match ctx.expected_version {
        Some(expected) if expected != actual => {
            Err(DomainError::ConcurrencyConflict { expected, actual })
        }
        _ => Ok(()),
    }
}

/// Row "read pods, boards, metrics": any person of the organisation and any service of it.
pub fn can_read_org(org: &OrgState, actor: &Actor) -> bool {
    match actor {
        Actor::Member { person } => org.people.contains_key(person),
        Actor::Service { .. } => true,
    }
}

/// Row "read the audit log": `ORG_ADMIN`, oversight roles, and — for a pod's part of it —
/// that pod's PO and SM. `pod` is `None` for the organisation-wide log.
pub fn can_read_audit_log(org: &OrgState, actor: &Actor, pod: Option<PodId>) -> bool {
    let Some(person) = actor.person() else {
        return false;
    };
    if org.has_org_role(person, OrgRole::OrgAdmin) || org.is_oversight(person) {
        return true;
    }
    pod.is_some_and(|pod| org.is_product_owner(person, pod) || org.is_scrum_master(person, pod))
}

#[cfg(test)]
mod tests {
    //! Given/when/then for the read rows of SPEC §5 (write rows are tested with each decider).
    use super::*;
    use crate::context::ServiceScope;
    use crate::testkit::*;

    #[test]
    fn read_org_allowed_for_every_person_of_the_org_and_refused_for_a_stranger() {
        let org = acme();
        for person in [ADMIN, VP, STAKEHOLDER, PO_A, DESIGNER_A] {
            assert!(can_read_org(&org, &Actor::member(person)), "{person}");
        }
        assert!(!can_read_org(&org, &Actor::member(STRANGER)));
    }

    #[test]
    fn audit_log_allowed_for_admin_oversight_and_the_pods_po_and_sm() {
        let org = acme();
        assert!(can_read_audit_log(&org, &Actor::member(ADMIN), None));
        assert!(can_read_audit_log(&org, &Actor::member(VP), None));
        assert!(can_read_audit_log(&org, &Actor::member(PO_A), Some(POD_A)));
        assert!(can_read_audit_log(&org, &Actor::member(SM_A), Some(POD_A)));
    }

    #[test]
    fn audit_log_refused_for_stakeholders_contributors_other_pods_and_services() {
        let org = acme();
        assert!(!can_read_audit_log(
            &org,
            &Actor::member(STAKEHOLDER),
            Some(POD_A)
        ));
        assert!(!can_read_audit_log(
            &org,
            &Actor::member(DESIGNER_A),
            Some(POD_A)
        ));
        assert!(!can_read_audit_log(&org, &Actor::member(PO_A), None));
        assert!(!can_read_audit_log(&org, &Actor::member(PO_B), Some(POD_A)));
        let service = Actor::Service {
            service: SERVICE,
            scope: ServiceScope::default(),
        };
        assert!(!can_read_audit_log(&org, &service, Some(POD_A)));
    }
}

//! Given/when/then for the organisation's governance (SPEC §9.1, §9.3): approval rules, shared
//! services, their SLA and operators — `ORG_ADMIN` only; operators are never pod members.

use crate::command::Command;
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{PersonId, SharedServiceId};
use crate::roles::PodRole;
use crate::testkit::*;

use super::{IntakeMethod, OrgCommand, OrgEvent, RequestWindow, ServiceFunction, Sla};

const LEGAL: SharedServiceId = SharedServiceId(id(6001));

fn sla(turnaround_hours: u32) -> Sla {
    Sla {
        window: RequestWindow {
            days: (1..=5).collect(),
            opens_at_hour: 9,
            closes_at_hour: 17,
        },
        turnaround_hours,
        escalation_contact: VP,
        intake: IntakeMethod::Ticket,
    }
}

fn define() -> Command {
    Command::Org(OrgCommand::DefineSharedService {
        service_id: LEGAL,
        name: " Legal review ".into(),
        function: ServiceFunction::Legal,
        sla: sla(48),
    })
}

fn defined() -> Vec<Event> {
    let mut events = acme_events();
    events.push(Event::Org(OrgEvent::SharedServiceDefined {
        service_id: LEGAL,
        name: "Legal review".into(),
        function: ServiceFunction::Legal,
        sla: sla(48),
    }));
    events
}

fn appoint(person_id: PersonId) -> Command {
    Command::Org(OrgCommand::AppointServiceOperator {
        service_id: LEGAL,
        person_id,
    })
}

fn rule(category: &str, deadline_hours: i64) -> Command {
    Command::Org(OrgCommand::SetApprovalRule {
        output_category: category.into(),
        approver: VP,
        deadline_hours,
    })
}

#[test]
fn given_an_admin_when_defining_a_shared_service_then_it_is_defined() {
    given(acme_events())
        .by(ADMIN)
        .when(define())
        .then(vec![Event::Org(OrgEvent::SharedServiceDefined {
            service_id: LEGAL,
            name: "Legal review".into(),
            function: ServiceFunction::Legal,
            sla: sla(48),
        })]);
}

#[test]
fn given_anyone_but_an_admin_when_setting_up_services_or_rules_then_forbidden() {
    for person in [PO_A, SM_A, DESIGNER_A, VP, STAKEHOLDER, NEWCOMER] {
        given(defined())
            .by(person)
            .when(define())
            .then_error(ErrorCode::Forbidden);
        given(defined())
            .by(person)
            .when(appoint(NEWCOMER))
            .then_error(ErrorCode::Forbidden);
        given(defined())
            .by(person)
            .when(rule("legal copy", 24))
            .then_error(ErrorCode::Forbidden);
    }
}

#[test]
fn given_a_bad_sla_when_defining_a_service_then_each_field_is_named() {
    let mut bad = sla(0);
    bad.window.days.clear();
    bad.window.opens_at_hour = 18;
    let e = given(acme_events())
        .by(ADMIN)
        .when(Command::Org(OrgCommand::DefineSharedService {
            service_id: LEGAL,
            name: String::new(),
            function: ServiceFunction::Other(" ".into()),
            sla: bad,
        }))
        .then_invalid("sla.turnaroundHours");
    for field in ["name", "function", "sla.window.days", "sla.window"] {
        assert!(
            e.field_errors().iter().any(|f| f.field == field),
            "{field}: {e}"
        );
    }
}

#[test]
fn given_an_unknown_escalation_contact_when_defining_then_not_found() {
    let mut unknown = sla(48);
    unknown.escalation_contact = STRANGER;
    given(acme_events())
        .by(ADMIN)
        .when(Command::Org(OrgCommand::DefineSharedService {
            service_id: LEGAL,
            name: "Legal".into(),
            function: ServiceFunction::Legal,
            sla: unknown,
        }))
        .then_not_found("sla.escalationContactId");
}

#[test]
fn given_an_org_level_person_when_appointed_operator_then_appointed_and_a_pod_member_is_refused() {
    given(defined())
        .by(ADMIN)
        .when(appoint(NEWCOMER))
        .then(vec![Event::Org(OrgEvent::ServiceOperatorAppointed {
            service_id: LEGAL,
            person_id: NEWCOMER,
        })]);
    given(defined())
        .by(ADMIN)
        .when(appoint(DESIGNER_A))
        .then_error(ErrorCode::MemberAlreadyInPod);
}

#[test]
fn given_an_operator_when_assigned_a_pod_role_then_member_already_in_pod() {
    let mut events = defined();
    events.push(Event::Org(OrgEvent::ServiceOperatorAppointed {
        service_id: LEGAL,
        person_id: NEWCOMER,
    }));
    given(events)
        .by(ADMIN)
        .when(Command::Org(OrgCommand::AssignPodRole {
            person_id: NEWCOMER,
            pod_id: POD_A,
            role: PodRole::Designer,
        }))
        .then_error(ErrorCode::MemberAlreadyInPod);
}

#[test]
fn given_an_sla_change_then_it_is_recorded_and_an_unknown_service_is_not_found() {
    given(defined())
        .by(ADMIN)
        .when(Command::Org(OrgCommand::ChangeServiceSla {
            service_id: LEGAL,
            sla: sla(24),
        }))
        .then(vec![Event::Org(OrgEvent::ServiceSlaChanged {
            service_id: LEGAL,
            sla: sla(24),
        })]);
    given(acme_events())
        .by(ADMIN)
        .when(appoint(NEWCOMER))
        .then_not_found("serviceId");
}

#[test]
fn given_an_admin_when_setting_an_approval_rule_then_its_category_is_kept_in_lower_case() {
    given(acme_events())
        .by(ADMIN)
        .when(rule(" Legal Copy ", 24))
        .then(vec![Event::Org(OrgEvent::ApprovalRuleSet {
            output_category: "legal copy".into(),
            approver: VP,
            deadline_hours: 24,
        })]);
}

#[test]
fn given_a_bad_deadline_or_category_when_setting_an_approval_rule_then_validation_fails() {
    given(acme_events())
        .by(ADMIN)
        .when(rule("legal copy", 0))
        .then_invalid("deadlineHours");
    given(acme_events())
        .by(ADMIN)
        .when(rule(" ", 24))
        .then_invalid("outputCategory");
    given(acme_events())
        .by(ADMIN)
        .when(Command::Org(OrgCommand::RemoveApprovalRule {
            output_category: "email".into(),
        }))
        .then_invalid("outputCategory");
}

//! Given/when/then for organisation commands: the set-up permission row, R2, R12, R13.

use crate::command::Command;
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{PersonId, PodId};
use crate::roles::{OrgRole, PodFocus, PodRole};
use crate::testkit::*;

use super::{OrgCommand, OrgEvent};

fn create_pod(name: &str) -> Command {
    Command::Org(OrgCommand::CreatePod {
        pod_id: PodId(id(12)),
        name: name.into(),
        focus: PodFocus::ContentOps,
    })
}

fn assign(person_id: PersonId, pod_id: PodId, role: PodRole) -> Command {
    Command::Org(OrgCommand::AssignPodRole {
        person_id,
        pod_id,
        role,
    })
}

#[test]
fn given_no_org_when_a_member_creates_it_then_they_become_its_first_admin() {
    given([])
        .by(ADMIN)
        .when(Command::Org(OrgCommand::CreateOrganisation {
            name: " Acme ".into(),
            sprint_length_days: None,
            founder_name: "Ada".into(),
            founder_email: Some("ada@acme.test".into()),
        }))
        .then(vec![
            Event::Org(OrgEvent::OrganisationCreated {
                name: "Acme".into(),
                sprint_length_days: 14,
                at: t(2),
            }),
            Event::Org(OrgEvent::PersonAdded {
                person_id: ADMIN,
                name: "Ada".into(),
                email: Some("ada@acme.test".into()),
            }),
            Event::Org(OrgEvent::OrgRoleGranted {
                person_id: ADMIN,
                role: OrgRole::OrgAdmin,
            }),
        ]);
}

#[test]
fn given_an_org_when_it_is_created_again_then_validation_fails_on_org_id() {
    given(acme_events())
        .when(Command::Org(OrgCommand::CreateOrganisation {
            name: "Acme".into(),
            sprint_length_days: Some(0),
            founder_name: String::new(),
            founder_email: Some("nope".into()),
        }))
        .then_invalid("orgId");
}

#[test]
fn given_bad_org_input_when_created_then_every_bad_field_is_named() {
    let err = given([])
        .by(ADMIN)
        .when(Command::Org(OrgCommand::CreateOrganisation {
            name: "x".repeat(500),
            sprint_length_days: Some(0),
            founder_name: "  ".into(),
            founder_email: Some("nope".into()),
        }))
        .then_invalid("name");
    let fields: Vec<_> = err
        .field_errors()
        .iter()
        .map(|f| f.field.as_str())
        .collect();
    assert_eq!(fields, ["name", "founderName", "email", "sprintLengthDays"]);
}

#[test]
fn given_an_admin_when_setting_up_then_pods_people_roles_and_cadence_are_created() {
    given(acme_events())
        .by(ADMIN)
        .when(create_pod("Content Ops"))
        .then(vec![Event::Org(OrgEvent::PodCreated {
            pod_id: PodId(id(12)),
            name: "Content Ops".into(),
            focus: PodFocus::ContentOps,
        })]);
    given(acme_events())
        .by(ADMIN)
        .when(Command::Org(OrgCommand::SetSprintCadence {
            sprint_length_days: 7,
        }))
        .then(vec![Event::Org(OrgEvent::SprintCadenceSet {
            sprint_length_days: 7,
        })]);
    given(acme_events())
        .by(ADMIN)
        .when(assign(
            NEWCOMER,
            POD_A,
            PodRole::Other("Events lead".into()),
        ))
        .then_ok();
}

#[test]
fn given_anyone_but_an_admin_when_setting_up_then_forbidden() {
    for person in [VP, STAKEHOLDER, PO_A, SM_A, DESIGNER_A, NEWCOMER, STRANGER] {
        given(acme_events())
            .by(person)
            .when(create_pod("Content Ops"))
            .then_error(ErrorCode::Forbidden);
        given(acme_events())
            .by(person)
            .when(Command::Org(OrgCommand::SetSprintCadence {
                sprint_length_days: 7,
            }))
            .then_error(ErrorCode::Forbidden);
    }
    given(acme_events())
        .by_service(&[POD_A])
        .when(create_pod("Content Ops"))
        .then_error(ErrorCode::Forbidden);
}

#[test]
fn r2_given_a_member_of_pod_a_when_assigned_to_pod_b_then_member_already_in_pod() {
    given(acme_events())
        .when(assign(DESIGNER_A, POD_B, PodRole::Designer))
        .then_error(ErrorCode::MemberAlreadyInPod);
}

#[test]
fn r2_given_a_member_of_pod_a_when_given_a_second_role_in_pod_a_then_allowed() {
    given(acme_events())
        .when(assign(DESIGNER_A, POD_A, PodRole::VideoLead))
        .then(vec![Event::Org(OrgEvent::PodRoleAssigned {
            pod_id: POD_A,
            person_id: DESIGNER_A,
            role: PodRole::VideoLead,
            replaced: None,
        })]);
}

#[test]
fn r2_oversight_roles_are_never_pod_members() {
    given(acme_events())
        .when(assign(VP, POD_A, PodRole::Analyst))
        .then_error(ErrorCode::MemberAlreadyInPod);
    given(acme_events())
        .when(Command::Org(OrgCommand::GrantOrgRole {
            person_id: PO_A,
            role: OrgRole::HeadOfStrategy,
        }))
        .then_error(ErrorCode::MemberAlreadyInPod);
    given(acme_events())
        .when(Command::Org(OrgCommand::GrantOrgRole {
            person_id: NEWCOMER,
            role: OrgRole::HeadOfStrategy,
        }))
        .then_ok();
}

#[test]
fn r1_given_a_po_when_another_po_is_assigned_then_the_old_one_is_replaced_and_leaves() {
    let events = given(acme_events())
        .when(assign(NEWCOMER, POD_A, PodRole::ProductOwner))
        .then_ok();
    assert_eq!(
        events,
        vec![Event::Org(OrgEvent::PodRoleAssigned {
            pod_id: POD_A,
            person_id: NEWCOMER,
            role: PodRole::ProductOwner,
            replaced: Some(PO_A),
        })]
    );
    let mut all = acme_events();
    all.extend(events);
    let g = given(all);
    let org = &g.state().org;
    assert_eq!(org.pods[&POD_A].product_owner, Some(NEWCOMER));
    assert_eq!(
        org.pod_of(PO_A),
        None,
        "the old PO held no other role and left the pod"
    );
}

#[test]
fn given_a_role_not_held_when_removed_then_validation_fails() {
    given(acme_events())
        .when(Command::Org(OrgCommand::RemovePodRole {
            person_id: DESIGNER_A,
            pod_id: POD_A,
            role: PodRole::Analyst,
        }))
        .then_invalid("role");
    given(acme_events())
        .when(Command::Org(OrgCommand::RemovePodRole {
            person_id: DESIGNER_A,
            pod_id: POD_A,
            role: PodRole::Designer,
        }))
        .then_ok();
}

#[test]
fn r13_unknown_ids_bad_labels_and_the_last_admin() {
    given(acme_events())
        .when(assign(NEWCOMER, PodId(id(77)), PodRole::Designer))
        .then_not_found("podId");
    given(acme_events())
        .when(assign(STRANGER, POD_A, PodRole::Designer))
        .then_not_found("personId");
    given(acme_events())
        .when(assign(NEWCOMER, POD_A, PodRole::Other(" ".into())))
        .then_invalid("role");
    given(acme_events())
        .when(Command::Org(OrgCommand::RevokeOrgRole {
            person_id: ADMIN,
            role: OrgRole::OrgAdmin,
        }))
        .then_invalid("role");
    given(acme_events())
        .when(Command::Org(OrgCommand::AddPerson {
            person_id: PersonId(id(131)),
            name: String::new(),
            email: Some("x@y".into()),
        }))
        .then_invalid("name");
    given(acme_events())
        .when(Command::Org(OrgCommand::AddPerson {
            person_id: ADMIN,
            name: "Dup".into(),
            email: None,
        }))
        .then_invalid("personId");
    given(acme_events())
        .when(Command::Org(OrgCommand::CreatePod {
            pod_id: PodId(id(12)),
            name: "Labs".into(),
            focus: PodFocus::Custom(String::new()),
        }))
        .then_invalid("focus");
}

#[test]
fn r12_given_a_stale_org_version_when_setting_up_then_concurrency_conflict() {
    let version = given(acme_events()).state().org.version;
    given(acme_events())
        .expecting(version - 1)
        .when(create_pod("Labs"))
        .then_error(ErrorCode::ConcurrencyConflict);
    given(acme_events())
        .expecting(version)
        .when(create_pod("Labs"))
        .then_ok();
}

#[test]
fn given_no_org_when_a_setup_command_arrives_then_not_found() {
    given([]).when(create_pod("Labs")).then_not_found("orgId");
}

fn link(person_id: PersonId, subject: &str) -> Command {
    Command::Org(OrgCommand::LinkIdentity {
        person_id,
        issuer: "https://id.acme.test/".into(),
        subject: subject.into(),
    })
}

fn linked(person_id: PersonId, subject: &str) -> Event {
    Event::Org(OrgEvent::IdentityLinked {
        person_id,
        issuer: "https://id.acme.test/".into(),
        subject: subject.into(),
    })
}

#[test]
fn given_a_person_when_an_admin_links_an_identity_then_it_is_linked_and_anyone_else_is_forbidden() {
    given(acme_events())
        .by(ADMIN)
        .when(link(DESIGNER_A, " auth0|dana "))
        .then(vec![linked(DESIGNER_A, "auth0|dana")]);
    for person in [PO_A, SM_A, DESIGNER_A, VP] {
        given(acme_events())
            .by(person)
            .when(link(DESIGNER_A, "auth0|dana"))
            .then_error(ErrorCode::Forbidden);
    }
}

#[test]
fn given_an_identity_linked_to_someone_when_linked_again_then_validation_names_subject() {
    let mut events = acme_events();
    events.push(linked(DESIGNER_A, "auth0|dana"));
    let refused = given(events.clone())
        .by(ADMIN)
        .when(link(PO_A, "auth0|dana"))
        .then_invalid("subject");
    assert!(refused.to_string().contains("already linked"), "{refused}");
    // Another subject of the same provider, and the same subject of another, are other identities.
    given(events.clone())
        .by(ADMIN)
        .when(link(DESIGNER_A, "auth0|dana-2"))
        .then_ok();
    given(events)
        .by(ADMIN)
        .when(Command::Org(OrgCommand::LinkIdentity {
            person_id: PO_A,
            issuer: "https://other.test/".into(),
            subject: "auth0|dana".into(),
        }))
        .then_ok();
}

#[test]
fn given_an_unknown_person_or_blank_subject_when_linking_then_refused_naming_the_field() {
    given(acme_events())
        .by(ADMIN)
        .when(link(PersonId(id(99)), "x"))
        .then_not_found("personId");
    given(acme_events())
        .by(ADMIN)
        .when(link(DESIGNER_A, "  "))
        .then_invalid("subject");
}

#[test]
fn given_a_linked_identity_when_unlinked_then_it_signs_in_as_nobody_and_unknown_ones_are_not_found()
{
    let mut events = acme_events();
    events.push(linked(DESIGNER_A, "auth0|dana"));
    let unlink = |subject: &str| {
        Command::Org(OrgCommand::UnlinkIdentity {
            issuer: "https://id.acme.test/".into(),
            subject: subject.into(),
        })
    };
    given(events.clone())
        .by(ADMIN)
        .when(unlink("auth0|dana"))
        .then(vec![Event::Org(OrgEvent::IdentityUnlinked {
            person_id: DESIGNER_A,
            issuer: "https://id.acme.test/".into(),
            subject: "auth0|dana".into(),
        })]);
    given(events)
        .by(ADMIN)
        .when(unlink("auth0|nobody"))
        .then_not_found("subject");
    let mut state = crate::org::OrgState::default();
    for event in acme_events()
        .iter()
        .chain([&linked(DESIGNER_A, "auth0|dana")])
    {
        if let Event::Org(e) = event {
            state.evolve(e);
        }
    }
    assert_eq!(
        state.person_by_identity("https://id.acme.test/", "auth0|dana"),
        Some(DESIGNER_A)
    );
    state.evolve(&OrgEvent::IdentityUnlinked {
        person_id: DESIGNER_A,
        issuer: "https://id.acme.test/".into(),
        subject: "auth0|dana".into(),
    });
    assert_eq!(
        state.person_by_identity("https://id.acme.test/", "auth0|dana"),
        None
    );
    assert!(state.identities.is_empty());
}

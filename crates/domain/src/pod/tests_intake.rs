//! Given/when/then for intake: any person of the organisation submits (SPEC §5 "submit an
//! intake request"); only the pod's PO accepts or declines (R3, "accept/decline intake").

use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::IntakeId;
use crate::pod::{PodCommand, PodEvent};
use crate::testkit::*;

const REQUEST: IntakeId = IntakeId(crate::testkit::id(4000));

fn submit() -> PodCommand {
    PodCommand::SubmitIntakeRequest {
        request_id: REQUEST,
        title: "  Partner webinar landing page ".into(),
        description: Some("For the March partner push".into()),
        output_category: "landing page".into(),
    }
}

fn submitted() -> Vec<Event> {
    let mut events = acme_events();
    events.push(Event::Pod(PodEvent::IntakeRequestSubmitted {
        request_id: REQUEST,
        requester: STAKEHOLDER,
        title: "Partner webinar landing page".into(),
        description: Some("For the March partner push".into()),
        output_category: "landing page".into(),
        at: t(1),
    }));
    events
}

fn accept() -> PodCommand {
    PodCommand::AcceptIntakeRequest {
        request_id: REQUEST,
        item_id: ITEM_D,
    }
}

fn decline(reason: &str) -> PodCommand {
    PodCommand::DeclineIntakeRequest {
        request_id: REQUEST,
        reason: reason.into(),
    }
}

#[test]
fn given_any_person_of_the_org_when_submitting_a_request_then_it_is_submitted() {
    for person in [STAKEHOLDER, VP, ADMIN, NEWCOMER, DESIGNER_A, WRITER_B, PO_A] {
        given(acme_events())
            .by(person)
            .at(t(1))
            .when_pod(submit())
            .then(vec![Event::Pod(PodEvent::IntakeRequestSubmitted {
                request_id: REQUEST,
                requester: person,
                title: "Partner webinar landing page".into(),
                description: Some("For the March partner push".into()),
                output_category: "landing page".into(),
                at: t(1),
            })]);
    }
}

#[test]
fn given_someone_outside_the_org_or_a_service_when_submitting_then_forbidden() {
    given(acme_events())
        .by(STRANGER)
        .when_pod(submit())
        .then_error(ErrorCode::Forbidden);
    given(acme_events())
        .by_service(&[POD_A])
        .when_pod(submit())
        .then_error(ErrorCode::Forbidden);
}

#[test]
fn given_a_request_without_title_when_submitting_then_the_fields_are_named() {
    let e = given(acme_events())
        .by(STAKEHOLDER)
        .when_pod(PodCommand::SubmitIntakeRequest {
            request_id: REQUEST,
            title: " ".into(),
            description: None,
            output_category: String::new(),
        })
        .then_invalid("title");
    assert!(e.field_errors().iter().any(|f| f.field == "outputCategory"));
}

#[test]
fn given_an_open_request_when_the_po_accepts_then_it_becomes_an_item_of_its_requester() {
    given(submitted())
        .by(PO_A)
        .at(t(2))
        .when_pod(accept())
        .then(vec![
            Event::Pod(PodEvent::ItemCreated {
                item_id: ITEM_D,
                title: "Partner webinar landing page".into(),
                description: Some("For the March partner push".into()),
                output_category: "landing page".into(),
                acceptance_criteria: None,
                estimate: None,
                parent_epic: None,
                requester: Some(STAKEHOLDER),
            }),
            Event::Pod(PodEvent::IntakeRequestAccepted {
                request_id: REQUEST,
                item_id: ITEM_D,
                at: t(2),
            }),
        ]);
}

#[test]
fn given_an_open_request_when_anyone_but_the_po_accepts_or_declines_then_forbidden() {
    for person in [SM_A, DESIGNER_A, PO_B, STAKEHOLDER, VP, ADMIN] {
        given(submitted())
            .by(person)
            .when_pod(accept())
            .then_error(ErrorCode::Forbidden);
        given(submitted())
            .by(person)
            .when_pod(decline("No capacity"))
            .then_error(ErrorCode::Forbidden);
    }
}

#[test]
fn given_an_open_request_when_the_po_declines_with_a_reason_then_it_is_declined() {
    given(submitted())
        .by(PO_A)
        .at(t(2))
        .when_pod(decline("Out of this quarter's focus"))
        .then(vec![Event::Pod(PodEvent::IntakeRequestDeclined {
            request_id: REQUEST,
            reason: "Out of this quarter's focus".into(),
            at: t(2),
        })]);
    given(submitted())
        .by(PO_A)
        .when_pod(decline("  "))
        .then_invalid("reason");
}

#[test]
fn given_a_decided_request_when_deciding_again_then_refused() {
    let mut accepted = submitted();
    accepted.extend(given(submitted()).by(PO_A).when_pod(accept()).then_ok());
    given(accepted.clone())
        .by(PO_A)
        .when_pod(decline("Changed my mind"))
        .then_invalid("requestId");
    let mut declined = submitted();
    declined.extend(
        given(submitted())
            .by(PO_A)
            .when_pod(decline("No"))
            .then_ok(),
    );
    given(declined)
        .by(PO_A)
        .when_pod(PodCommand::AcceptIntakeRequest {
            request_id: REQUEST,
            item_id: ITEM_C,
        })
        .then_invalid("requestId");
}

#[test]
fn given_an_unknown_request_when_accepting_then_not_found() {
    given(acme_events())
        .by(PO_A)
        .when_pod(accept())
        .then_not_found("requestId");
}

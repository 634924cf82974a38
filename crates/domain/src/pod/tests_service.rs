//! Given/when/then for requests to shared services (SPEC §9.1): opened by the pod's PO or an
//! item's delivery owner, received at the window's next opening, due a turnaround later;
//! accepted, delivered or rejected by the service's operators; cancelled by the requester;
//! escalated by the requester or the pod's SM to the escalation contact.

use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{ServiceRequestId, SharedServiceId};
use crate::org::{IntakeMethod, OrgEvent, RequestWindow, ServiceFunction, Sla};
use crate::pod::{PodCommand, PodEvent};
use crate::testkit::*;

const LEGAL: SharedServiceId = SharedServiceId(id(6001));
const REQUEST: ServiceRequestId = ServiceRequestId(id(6101));

/// Legal review: weekdays 09–17 UTC, 48 h turnaround, escalations to the VP; the newcomer
/// operates it.
fn service() -> Vec<Event> {
    let mut events = active_sprint();
    events.push(Event::Org(OrgEvent::SharedServiceDefined {
        service_id: LEGAL,
        name: "Legal review".into(),
        function: ServiceFunction::Legal,
        sla: Sla {
            window: RequestWindow {
                days: (1..=5).collect(),
                opens_at_hour: 9,
                closes_at_hour: 17,
            },
            turnaround_hours: 48,
            escalation_contact: VP,
            intake: IntakeMethod::Ticket,
        },
    }));
    events.push(Event::Org(OrgEvent::ServiceOperatorAppointed {
        service_id: LEGAL,
        person_id: NEWCOMER,
    }));
    events
}

fn open(item_id: Option<crate::ids::ItemId>) -> PodCommand {
    PodCommand::OpenServiceRequest {
        request_id: REQUEST,
        service_id: LEGAL,
        item_id,
        title: "Review the claims".into(),
        description: None,
    }
}

/// Opened by the PO on Monday Jan 5 at 10:00, received then, due Wednesday 10:00.
fn opened() -> Vec<Event> {
    let mut events = service();
    events.push(Event::Pod(PodEvent::ServiceRequestOpened {
        request_id: REQUEST,
        service_id: LEGAL,
        item_id: None,
        title: "Review the claims".into(),
        description: None,
        requested_by: PO_A,
        at: t(1),
        received_at: t(1),
        due_at: t(49),
    }));
    events
}

fn accepted() -> Vec<Event> {
    let mut events = opened();
    events.push(Event::Pod(PodEvent::ServiceRequestAccepted {
        request_id: REQUEST,
        by: NEWCOMER,
        at: t(3),
    }));
    events
}

#[test]
fn given_the_po_when_opening_a_request_on_saturday_then_it_is_received_on_monday_morning() {
    // t(-48) is Saturday Jan 3, 09:00; the window opens again Monday Jan 5, 09:00 = t(0).
    given(service())
        .by(PO_A)
        .at(t(-48))
        .when_pod(open(None))
        .then(vec![Event::Pod(PodEvent::ServiceRequestOpened {
            request_id: REQUEST,
            service_id: LEGAL,
            item_id: None,
            title: "Review the claims".into(),
            description: None,
            requested_by: PO_A,
            at: t(-48),
            received_at: t(0),
            due_at: t(48),
        })]);
}

#[test]
fn given_an_items_owner_when_opening_a_request_on_it_then_opened_and_other_members_are_forbidden() {
    given(service())
        .by(DESIGNER_A)
        .when_pod(open(Some(ITEM_A)))
        .then_ok();
    for person in [DESIGNER_A, ANALYST_A, SM_A, VP, NEWCOMER] {
        given(service())
            .by(person)
            .when_pod(open(None))
            .then_error(ErrorCode::Forbidden);
    }
    given(service())
        .by(ANALYST_A)
        .when_pod(open(Some(ITEM_A)))
        .then_error(ErrorCode::Forbidden);
}

#[test]
fn given_an_unknown_service_or_an_empty_title_when_opening_then_refused_by_field() {
    given(active_sprint())
        .by(PO_A)
        .when_pod(open(None))
        .then_not_found("serviceId");
    given(service())
        .by(PO_A)
        .when_pod(PodCommand::OpenServiceRequest {
            request_id: REQUEST,
            service_id: LEGAL,
            item_id: None,
            title: " ".into(),
            description: None,
        })
        .then_invalid("title");
}

#[test]
fn given_an_operator_when_accepting_then_delivering_then_each_is_recorded() {
    given(opened())
        .by(NEWCOMER)
        .at(t(3))
        .when_pod(PodCommand::AcceptServiceRequest {
            request_id: REQUEST,
        })
        .then(vec![Event::Pod(PodEvent::ServiceRequestAccepted {
            request_id: REQUEST,
            by: NEWCOMER,
            at: t(3),
        })]);
    given(accepted())
        .by(NEWCOMER)
        .at(t(20))
        .when_pod(PodCommand::DeliverServiceRequest {
            request_id: REQUEST,
        })
        .then(vec![Event::Pod(PodEvent::ServiceRequestDelivered {
            request_id: REQUEST,
            by: NEWCOMER,
            at: t(20),
        })]);
}

#[test]
fn given_someone_but_an_operator_when_accepting_delivering_or_rejecting_then_forbidden() {
    for person in [PO_A, SM_A, DESIGNER_A, VP, ADMIN] {
        given(opened())
            .by(person)
            .when_pod(PodCommand::AcceptServiceRequest {
                request_id: REQUEST,
            })
            .then_error(ErrorCode::Forbidden);
        given(accepted())
            .by(person)
            .when_pod(PodCommand::DeliverServiceRequest {
                request_id: REQUEST,
            })
            .then_error(ErrorCode::Forbidden);
        given(opened())
            .by(person)
            .when_pod(PodCommand::RejectServiceRequest {
                request_id: REQUEST,
                reason: "no".into(),
            })
            .then_error(ErrorCode::Forbidden);
    }
}

#[test]
fn given_the_wrong_status_or_no_reason_then_validation_fails() {
    given(opened())
        .by(NEWCOMER)
        .when_pod(PodCommand::DeliverServiceRequest {
            request_id: REQUEST,
        })
        .then_invalid("requestId");
    given(accepted())
        .by(NEWCOMER)
        .when_pod(PodCommand::RejectServiceRequest {
            request_id: REQUEST,
            reason: " ".into(),
        })
        .then_invalid("reason");
    let mut cancelled = opened();
    cancelled.push(Event::Pod(PodEvent::ServiceRequestCancelled {
        request_id: REQUEST,
        at: t(2),
    }));
    given(cancelled)
        .by(NEWCOMER)
        .when_pod(PodCommand::AcceptServiceRequest {
            request_id: REQUEST,
        })
        .then_invalid("requestId");
}

#[test]
fn given_the_requester_when_cancelling_then_cancelled_and_others_are_forbidden() {
    given(opened())
        .by(PO_A)
        .at(t(2))
        .when_pod(PodCommand::CancelServiceRequest {
            request_id: REQUEST,
        })
        .then(vec![Event::Pod(PodEvent::ServiceRequestCancelled {
            request_id: REQUEST,
            at: t(2),
        })]);
    for person in [SM_A, DESIGNER_A, NEWCOMER] {
        given(opened())
            .by(person)
            .when_pod(PodCommand::CancelServiceRequest {
                request_id: REQUEST,
            })
            .then_error(ErrorCode::Forbidden);
    }
}

#[test]
fn given_the_requester_or_the_sm_when_escalating_then_it_goes_to_the_contact_once() {
    for person in [PO_A, SM_A] {
        given(accepted())
            .by(person)
            .at(t(60))
            .when_pod(PodCommand::EscalateServiceRequest {
                request_id: REQUEST,
                note: Some("Blocking the launch".into()),
            })
            .then(vec![Event::Pod(PodEvent::ServiceRequestEscalated {
                request_id: REQUEST,
                escalated_to: VP,
                note: Some("Blocking the launch".into()),
                at: t(60),
            })]);
    }
    for person in [DESIGNER_A, NEWCOMER, VP] {
        given(accepted())
            .by(person)
            .when_pod(PodCommand::EscalateServiceRequest {
                request_id: REQUEST,
                note: None,
            })
            .then_error(ErrorCode::Forbidden);
    }
    let mut escalated = accepted();
    escalated.push(Event::Pod(PodEvent::ServiceRequestEscalated {
        request_id: REQUEST,
        escalated_to: VP,
        note: None,
        at: t(60),
    }));
    given(escalated)
        .by(PO_A)
        .when_pod(PodCommand::EscalateServiceRequest {
            request_id: REQUEST,
            note: None,
        })
        .then(vec![]);
}

#[test]
fn given_a_request_then_it_is_breached_only_when_not_answered_by_its_due_time() {
    let state = given(accepted()).state().pod.clone();
    let request = &state.service_requests[&REQUEST];
    assert!(!request.breached_at(t(49)), "due exactly now: not yet");
    assert!(request.breached_at(t(50)));
    let mut delivered_late = request.clone();
    delivered_late.status = crate::pod::ServiceRequestStatus::Delivered;
    delivered_late.closed_at = Some(t(60));
    assert!(
        delivered_late.breached_at(t(70)),
        "delivered after its due time"
    );
    let mut on_time = request.clone();
    on_time.status = crate::pod::ServiceRequestStatus::Rejected;
    on_time.closed_at = Some(t(40));
    assert!(!on_time.breached_at(t(70)));
}

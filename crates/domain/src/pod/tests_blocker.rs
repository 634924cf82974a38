//! Given/when/then for blockers: raise (any pod member), escalate and resolve (SM; PO without SM).

use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::BlockerId;
use crate::pod::{BlockerCategory, PodCommand, PodEvent};
use crate::testkit::*;

const BLOCKER: BlockerId = BlockerId(id(3000));

fn raise() -> PodCommand {
    PodCommand::RaiseBlocker {
        blocker_id: BLOCKER,
        item_id: Some(ITEM_A),
        category: BlockerCategory::DataAccess,
        description: "No access to the CRM export".into(),
    }
}

fn raised() -> Vec<Event> {
    let mut events = active_sprint();
    events.push(Event::Pod(PodEvent::BlockerRaised {
        blocker_id: BLOCKER,
        item_id: Some(ITEM_A),
        category: BlockerCategory::DataAccess,
        description: "No access".into(),
        raised_by: DESIGNER_A,
        at: t(3),
    }));
    events
}

#[test]
fn given_a_pod_member_when_raising_a_blocker_then_it_is_raised() {
    for person in [DESIGNER_A, ANALYST_A, SM_A, PO_A] {
        given(active_sprint())
            .by(person)
            .at(t(3))
            .when_pod(raise())
            .then(vec![Event::Pod(PodEvent::BlockerRaised {
                blocker_id: BLOCKER,
                item_id: Some(ITEM_A),
                category: BlockerCategory::DataAccess,
                description: "No access to the CRM export".into(),
                raised_by: person,
                at: t(3),
            })]);
    }
}

#[test]
fn given_someone_outside_the_pod_when_raising_a_blocker_then_forbidden() {
    for person in [PO_B, WRITER_B, VP, STAKEHOLDER, ADMIN, NEWCOMER] {
        given(active_sprint())
            .by(person)
            .when_pod(raise())
            .then_error(ErrorCode::Forbidden);
    }
}

#[test]
fn r13_given_an_empty_description_or_unknown_item_then_the_field_is_named() {
    given(active_sprint())
        .by(DESIGNER_A)
        .when_pod(PodCommand::RaiseBlocker {
            blocker_id: BLOCKER,
            item_id: None,
            category: BlockerCategory::Other,
            description: String::new(),
        })
        .then_invalid("description");
    given(active_sprint())
        .by(DESIGNER_A)
        .when_pod(PodCommand::RaiseBlocker {
            blocker_id: BLOCKER,
            item_id: Some(ITEM_D),
            category: BlockerCategory::Other,
            description: "x".into(),
        })
        .then_not_found("itemId");
}

#[test]
fn given_a_blocker_when_the_sm_escalates_and_resolves_then_both_are_recorded() {
    given(raised())
        .by(SM_A)
        .at(t(10))
        .when_pod(PodCommand::EscalateBlocker {
            blocker_id: BLOCKER,
            note: Some("Asked data eng".into()),
        })
        .then(vec![Event::Pod(PodEvent::BlockerEscalated {
            blocker_id: BLOCKER,
            note: Some("Asked data eng".into()),
            at: t(10),
        })]);
    given(raised())
        .by(SM_A)
        .at(t(20))
        .when_pod(PodCommand::ResolveBlocker {
            blocker_id: BLOCKER,
            resolution: None,
        })
        .then(vec![Event::Pod(PodEvent::BlockerResolved {
            blocker_id: BLOCKER,
            resolution: None,
            at: t(20),
        })]);
}

#[test]
fn given_a_blocker_when_anyone_but_the_sm_escalates_or_resolves_then_forbidden() {
    for person in [PO_A, DESIGNER_A, ANALYST_A, VP, ADMIN] {
        given(raised())
            .by(person)
            .when_pod(PodCommand::EscalateBlocker {
                blocker_id: BLOCKER,
                note: None,
            })
            .then_error(ErrorCode::Forbidden);
        given(raised())
            .by(person)
            .when_pod(PodCommand::ResolveBlocker {
                blocker_id: BLOCKER,
                resolution: None,
            })
            .then_error(ErrorCode::Forbidden);
    }
}

#[test]
fn given_a_resolved_blocker_when_resolved_again_then_validation_fails() {
    let mut events = raised();
    events.push(Event::Pod(PodEvent::BlockerResolved {
        blocker_id: BLOCKER,
        resolution: None,
        at: t(4),
    }));
    given(events)
        .by(SM_A)
        .when_pod(PodCommand::ResolveBlocker {
            blocker_id: BLOCKER,
            resolution: None,
        })
        .then_invalid("blockerId");
}

//! Given/when/then for retros (SPEC §9.2): recorded by the SM (PO without SM) at or after a
//! sprint's close with one or two actions owned by pod members; marked during the next sprint
//! by the action's owner or the SM.

use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{RetroActionId, SprintId};
use crate::org::OrgEvent;
use crate::pod::{PodCommand, PodEvent, RetroActionItem, RetroActionKind, RetroOutcome};
use crate::roles::PodRole;
use crate::testkit::*;

const ACTION_1: RetroActionId = RetroActionId(id(4001));
const ACTION_2: RetroActionId = RetroActionId(id(4002));
const ACTION_3: RetroActionId = RetroActionId(id(4003));

fn action(action_id: RetroActionId, owner: crate::ids::PersonId) -> RetroActionItem {
    RetroActionItem {
        action_id,
        description: "Brief legal before the sprint starts".into(),
        owner,
        kind: RetroActionKind::PreSprintRule,
    }
}

fn record(actions: Vec<RetroActionItem>) -> PodCommand {
    PodCommand::RecordRetro {
        sprint_id: SPRINT_1,
        went_well: "Shipped the landing page".into(),
        friction: "Legal review came late".into(),
        actions,
    }
}

fn closed_sprint() -> Vec<Event> {
    let mut events = active_sprint();
    events.push(Event::Pod(PodEvent::SprintClosed {
        sprint_id: SPRINT_1,
        at: t(300),
        done: vec![ITEM_A, ITEM_B],
        not_done: vec![],
        goal_met: true,
    }));
    events
}

fn recorded() -> Event {
    Event::Pod(PodEvent::RetroRecorded {
        sprint_id: SPRINT_1,
        went_well: "Shipped the landing page".into(),
        friction: "Legal review came late".into(),
        actions: vec![action(ACTION_1, DESIGNER_A)],
        at: t(301),
    })
}

/// Sprint 1 closed with its retro (one action, the designer's); sprint 2 planned.
fn retro_then_next_sprint_planned() -> Vec<Event> {
    let mut events = closed_sprint();
    events.push(recorded());
    events.push(Event::Pod(PodEvent::SprintPlanned {
        sprint_id: SPRINT_2,
        number: 2,
        start_date: jan(19),
        end_date: jan(31),
    }));
    events
}

fn next_sprint_running() -> Vec<Event> {
    let mut events = retro_then_next_sprint_planned();
    events.push(started(SPRINT_2, &[]));
    events
}

fn resolve(outcome: RetroOutcome) -> PodCommand {
    PodCommand::ResolveRetroAction {
        action_id: ACTION_1,
        outcome,
    }
}

#[test]
fn given_a_closed_sprint_when_the_sm_records_its_retro_then_it_is_recorded() {
    given(closed_sprint())
        .by(SM_A)
        .at(t(301))
        .when_pod(record(vec![
            action(ACTION_1, DESIGNER_A),
            action(ACTION_2, ANALYST_A),
        ]))
        .then(vec![Event::Pod(PodEvent::RetroRecorded {
            sprint_id: SPRINT_1,
            went_well: "Shipped the landing page".into(),
            friction: "Legal review came late".into(),
            actions: vec![action(ACTION_1, DESIGNER_A), action(ACTION_2, ANALYST_A)],
            at: t(301),
        })]);
}

#[test]
fn given_a_pod_without_sm_when_the_po_records_the_retro_then_it_is_recorded_and_with_an_sm_the_po_may_not()
 {
    given(closed_sprint())
        .by(PO_A)
        .when_pod(record(vec![action(ACTION_1, DESIGNER_A)]))
        .then_error(ErrorCode::Forbidden);
    let mut without_sm = closed_sprint();
    without_sm.push(Event::Org(OrgEvent::PodRoleRemoved {
        pod_id: POD_A,
        person_id: SM_A,
        role: PodRole::ScrumMaster,
    }));
    given(without_sm)
        .by(PO_A)
        .when_pod(record(vec![action(ACTION_1, DESIGNER_A)]))
        .then_ok();
}

#[test]
fn given_anyone_else_when_recording_a_retro_then_forbidden() {
    for person in [
        DESIGNER_A,
        ANALYST_A,
        PO_B,
        VP,
        ADMIN,
        STAKEHOLDER,
        NEWCOMER,
    ] {
        given(closed_sprint())
            .by(person)
            .when_pod(record(vec![action(ACTION_1, DESIGNER_A)]))
            .then_error(ErrorCode::Forbidden);
    }
}

#[test]
fn given_a_sprint_still_running_when_recording_its_retro_then_validation_fails() {
    given(active_sprint())
        .by(SM_A)
        .when_pod(record(vec![action(ACTION_1, DESIGNER_A)]))
        .then_invalid("sprintId");
}

#[test]
fn given_no_action_or_three_when_recording_a_retro_then_validation_fails() {
    given(closed_sprint())
        .by(SM_A)
        .when_pod(record(vec![]))
        .then_invalid("actions");
    given(closed_sprint())
        .by(SM_A)
        .when_pod(record(vec![
            action(ACTION_1, DESIGNER_A),
            action(ACTION_2, DESIGNER_A),
            action(ACTION_3, ANALYST_A),
        ]))
        .then_invalid("actions");
}

#[test]
fn given_an_owner_outside_the_pod_or_empty_texts_when_recording_then_each_field_is_named() {
    let e = given(closed_sprint())
        .by(SM_A)
        .when_pod(PodCommand::RecordRetro {
            sprint_id: SPRINT_1,
            went_well: " ".into(),
            friction: "Late review".into(),
            actions: vec![action(ACTION_1, WRITER_B)],
        })
        .then_invalid("actions[0].ownerId");
    assert!(
        e.field_errors().iter().any(|f| f.field == "wentWell"),
        "{e}"
    );
}

#[test]
fn given_a_recorded_retro_when_recording_it_again_then_retro_already_recorded() {
    let mut events = closed_sprint();
    events.push(recorded());
    given(events)
        .by(SM_A)
        .when_pod(record(vec![action(ACTION_2, DESIGNER_A)]))
        .then_error(ErrorCode::RetroAlreadyRecorded);
}

#[test]
fn given_an_unknown_sprint_when_recording_a_retro_then_not_found() {
    given(closed_sprint())
        .by(SM_A)
        .when_pod(PodCommand::RecordRetro {
            sprint_id: SprintId(id(7777)),
            went_well: "x".into(),
            friction: "y".into(),
            actions: vec![action(ACTION_1, DESIGNER_A)],
        })
        .then_not_found("sprintId");
}

#[test]
fn given_the_next_sprint_running_when_the_owner_or_the_sm_marks_the_action_then_it_is_resolved() {
    for person in [DESIGNER_A, SM_A] {
        given(next_sprint_running())
            .by(person)
            .at(t(400))
            .when_pod(resolve(RetroOutcome::Implemented))
            .then(vec![Event::Pod(PodEvent::RetroActionResolved {
                action_id: ACTION_1,
                outcome: RetroOutcome::Implemented,
                at: t(400),
            })]);
    }
    given(next_sprint_running())
        .by(DESIGNER_A)
        .when_pod(resolve(RetroOutcome::Dropped(
            "Legal moved to async review".into(),
        )))
        .then_ok();
}

#[test]
fn given_another_member_when_marking_someone_elses_action_then_forbidden() {
    for person in [ANALYST_A, PO_A, PO_B, VP, ADMIN] {
        given(next_sprint_running())
            .by(person)
            .when_pod(resolve(RetroOutcome::Implemented))
            .then_error(ErrorCode::Forbidden);
    }
}

#[test]
fn given_the_next_sprint_not_running_when_marking_an_action_then_validation_fails() {
    // Not started yet.
    given(retro_then_next_sprint_planned())
        .by(DESIGNER_A)
        .when_pod(resolve(RetroOutcome::Implemented))
        .then_invalid("actionId");
    // Over: the action was not followed through.
    let mut over = next_sprint_running();
    over.push(Event::Pod(PodEvent::SprintClosed {
        sprint_id: SPRINT_2,
        at: t(600),
        done: vec![],
        not_done: vec![],
        goal_met: false,
    }));
    given(over)
        .by(DESIGNER_A)
        .when_pod(resolve(RetroOutcome::Implemented))
        .then_invalid("actionId");
}

#[test]
fn given_a_marked_action_or_a_drop_without_reason_when_marking_then_validation_fails() {
    let mut marked = next_sprint_running();
    marked.push(Event::Pod(PodEvent::RetroActionResolved {
        action_id: ACTION_1,
        outcome: RetroOutcome::Implemented,
        at: t(400),
    }));
    given(marked)
        .by(DESIGNER_A)
        .when_pod(resolve(RetroOutcome::Implemented))
        .then_invalid("actionId");
    given(next_sprint_running())
        .by(DESIGNER_A)
        .when_pod(resolve(RetroOutcome::Dropped("  ".into())))
        .then_invalid("reason");
    given(next_sprint_running())
        .by(DESIGNER_A)
        .when_pod(PodCommand::ResolveRetroAction {
            action_id: ACTION_3,
            outcome: RetroOutcome::Implemented,
        })
        .then_not_found("actionId");
}

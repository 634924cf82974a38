//! Given/when/then for sprints: R1, R4, R6, R7, R8, R9, R13 and the close permission.

use crate::error::ErrorCode;
use crate::event::Event;
use crate::org::OrgEvent;
use crate::pod::{CommittedItem, ItemStatus, PodCommand, PodEvent, ScopeChangeReason};
use crate::roles::PodRole;
use crate::testkit::*;

/// Pod A with ready items A(3), B(5); item C(8) not owned; sprint 1 planned, A and B committed.
fn planned_sprint() -> Vec<Event> {
    let mut events = acme_events();
    events.extend(ready_item(ITEM_A, 3, DESIGNER_A));
    events.extend(ready_item(ITEM_B, 5, ANALYST_A));
    events.push(item(ITEM_C, 8));
    events.push(planned(SPRINT_1));
    events.push(committed(SPRINT_1, ITEM_A));
    events.push(committed(SPRINT_1, ITEM_B));
    events
}

fn start() -> PodCommand {
    PodCommand::StartSprint {
        sprint_id: SPRINT_1,
    }
}

fn done(item_id: crate::ids::ItemId) -> Event {
    Event::Pod(PodEvent::ItemStatusChanged {
        item_id,
        from: ItemStatus::InProgress,
        to: ItemStatus::Done,
    })
}

#[test]
fn given_a_po_when_planning_then_the_end_defaults_to_the_org_cadence() {
    given(acme_events())
        .by(PO_A)
        .when_pod(PodCommand::PlanSprint {
            sprint_id: SPRINT_1,
            start_date: jan(5),
            end_date: None,
        })
        .then(vec![Event::Pod(PodEvent::SprintPlanned {
            sprint_id: SPRINT_1,
            number: 1,
            start_date: jan(5),
            end_date: jan(18),
        })]);
}

#[test]
fn r3_given_anyone_but_the_po_when_planning_committing_or_starting_then_forbidden() {
    let mut with_goal = planned_sprint();
    with_goal.push(goal(SPRINT_1, &[ITEM_A]));
    for person in [SM_A, DESIGNER_A, ADMIN, VP, PO_B] {
        given(acme_events())
            .by(person)
            .when_pod(PodCommand::PlanSprint {
                sprint_id: SPRINT_1,
                start_date: jan(5),
                end_date: None,
            })
            .then_error(ErrorCode::Forbidden);
        given(with_goal.clone())
            .by(person)
            .when_pod(start())
            .then_error(ErrorCode::Forbidden);
        given(with_goal.clone())
            .by(person)
            .when_pod(PodCommand::SetSprintGoal {
                sprint_id: SPRINT_1,
                goal: "g".into(),
                goal_items: vec![ITEM_A],
            })
            .then_error(ErrorCode::Forbidden);
        given(with_goal.clone())
            .by(person)
            .when_pod(PodCommand::RemoveItemFromSprint {
                sprint_id: SPRINT_1,
                item_id: ITEM_B,
                reason: None,
            })
            .then_error(ErrorCode::Forbidden);
    }
}

#[test]
fn r13_given_dates_between_1970_and_2100_when_planning_then_allowed_and_outside_refused_naming_the_field()
 {
    let plan = |start: chrono::NaiveDate, end: Option<chrono::NaiveDate>| PodCommand::PlanSprint {
        sprint_id: SPRINT_1,
        start_date: start,
        end_date: end,
    };
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    given(acme_events())
        .by(PO_A)
        .when_pod(plan(day(1970, 1, 1), Some(day(1970, 1, 14))))
        .then_ok();
    given(acme_events())
        .by(PO_A)
        .when_pod(plan(day(2100, 12, 18), Some(day(2100, 12, 31))))
        .then_ok();
    given(acme_events())
        .by(PO_A)
        .when_pod(plan(chrono::NaiveDate::MAX, None))
        .then_invalid("startDate");
    given(acme_events())
        .by(PO_A)
        .when_pod(plan(day(9999, 12, 31), None))
        .then_invalid("startDate");
    given(acme_events())
        .by(PO_A)
        .when_pod(plan(chrono::NaiveDate::MIN, Some(day(2026, 1, 1))))
        .then_invalid("startDate");
    given(acme_events())
        .by(PO_A)
        .when_pod(plan(day(2100, 12, 30), None))
        .then_invalid("endDate");
    given(planned_sprint())
        .by(PO_A)
        .when_pod(PodCommand::ChangeSprintDates {
            sprint_id: SPRINT_1,
            start_date: day(1969, 12, 31),
            end_date: day(2026, 1, 1),
        })
        .then_invalid("startDate");
}

#[test]
fn r13_given_more_goal_items_than_allowed_when_setting_the_goal_then_validation_names_goal_items() {
    let goal_items = |n: usize| PodCommand::SetSprintGoal {
        sprint_id: SPRINT_1,
        goal: "Launch".into(),
        goal_items: (0..n)
            .map(|_| crate::ids::ItemId(uuid::Uuid::now_v7()))
            .collect(),
    };
    let refused = given(planned_sprint())
        .by(PO_A)
        .when_pod(goal_items(crate::validate::MAX_GOAL_ITEMS + 1))
        .then_invalid("goalItemIds");
    assert!(refused.to_string().contains("at most"), "{refused}");
    given(planned_sprint())
        .by(PO_A)
        .when_pod(PodCommand::SetSprintGoal {
            sprint_id: SPRINT_1,
            goal: "Launch".into(),
            goal_items: vec![ITEM_A],
        })
        .then_ok();
}

#[test]
fn r13_given_an_end_before_the_start_when_planning_then_validation_names_end_date() {
    given(acme_events())
        .by(PO_A)
        .when_pod(PodCommand::PlanSprint {
            sprint_id: SPRINT_1,
            start_date: jan(10),
            end_date: Some(jan(9)),
        })
        .then_invalid("endDate");
}

#[test]
fn r9_given_a_sprint_when_an_overlapping_one_is_planned_then_sprint_overlap() {
    given(planned_sprint())
        .by(PO_A)
        .when_pod(PodCommand::PlanSprint {
            sprint_id: SPRINT_2,
            start_date: jan(18),
            end_date: None,
        })
        .then_error(ErrorCode::SprintOverlap);
    given(planned_sprint())
        .by(PO_A)
        .when_pod(PodCommand::PlanSprint {
            sprint_id: SPRINT_2,
            start_date: jan(19),
            end_date: None,
        })
        .then_ok();
}

#[test]
fn r9_given_an_active_sprint_when_another_starts_then_sprint_overlap() {
    let mut events = active_sprint();
    events.push(ready_item(ITEM_C, 1, DESIGNER_A).remove(0));
    events.extend(ready_item(ITEM_D, 2, DESIGNER_A));
    events.push(Event::Pod(PodEvent::SprintPlanned {
        sprint_id: SPRINT_2,
        number: 2,
        start_date: jan(19),
        end_date: jan(31),
    }));
    events.push(committed(SPRINT_2, ITEM_D));
    events.push(goal(SPRINT_2, &[ITEM_D]));
    given(events)
        .by(PO_A)
        .when_pod(PodCommand::StartSprint {
            sprint_id: SPRINT_2,
        })
        .then_error(ErrorCode::SprintOverlap);
}

#[test]
fn r7_given_an_active_sprint_when_its_dates_change_then_sprint_dates_locked() {
    given(active_sprint())
        .by(PO_A)
        .when_pod(PodCommand::ChangeSprintDates {
            sprint_id: SPRINT_1,
            start_date: jan(6),
            end_date: jan(19),
        })
        .then_error(ErrorCode::SprintDatesLocked);
    given(planned_sprint())
        .by(PO_A)
        .when_pod(PodCommand::ChangeSprintDates {
            sprint_id: SPRINT_1,
            start_date: jan(6),
            end_date: jan(19),
        })
        .then(vec![Event::Pod(PodEvent::SprintDatesChanged {
            sprint_id: SPRINT_1,
            start_date: jan(6),
            end_date: jan(19),
        })]);
}

#[test]
fn r4_given_an_item_missing_readiness_when_committed_then_item_not_ready_lists_what_is_missing() {
    let err = given(planned_sprint())
        .by(PO_A)
        .when_pod(PodCommand::CommitItem {
            sprint_id: SPRINT_1,
            item_id: ITEM_C,
            reason: None,
        })
        .then_error(ErrorCode::ItemNotReady);
    assert_eq!(
        err,
        crate::error::DomainError::ItemNotReady {
            missing: vec!["deliveryOwner"]
        }
    );
    let mut events = acme_events();
    events.push(Event::Pod(PodEvent::ItemCreated {
        item_id: ITEM_D,
        title: "bare".into(),
        description: None,
        output_category: "ad".into(),
        acceptance_criteria: None,
        estimate: None,
        parent_epic: None,
        requester: None,
    }));
    events.push(planned(SPRINT_1));
    let err = given(events)
        .by(PO_A)
        .when_pod(PodCommand::CommitItem {
            sprint_id: SPRINT_1,
            item_id: ITEM_D,
            reason: None,
        })
        .then_error(ErrorCode::ItemNotReady);
    assert_eq!(
        err,
        crate::error::DomainError::ItemNotReady {
            missing: vec!["acceptanceCriteria", "estimate", "deliveryOwner"]
        }
    );
}

#[test]
fn r4_given_an_owner_who_left_the_pod_when_committed_then_item_not_ready() {
    let mut events = acme_events();
    events.extend(ready_item(ITEM_A, 3, DESIGNER_A));
    events.push(planned(SPRINT_1));
    events.push(Event::Org(OrgEvent::PodRoleRemoved {
        pod_id: POD_A,
        person_id: DESIGNER_A,
        role: PodRole::Designer,
    }));
    given(events)
        .by(PO_A)
        .when_pod(PodCommand::CommitItem {
            sprint_id: SPRINT_1,
            item_id: ITEM_A,
            reason: None,
        })
        .then_error(ErrorCode::ItemNotReady);
}

#[test]
fn r4_given_a_ready_item_when_committed_then_item_committed() {
    let mut events = acme_events();
    events.extend(ready_item(ITEM_A, 3, DESIGNER_A));
    events.push(planned(SPRINT_1));
    given(events.clone())
        .by(PO_A)
        .when_pod(PodCommand::CommitItem {
            sprint_id: SPRINT_1,
            item_id: ITEM_A,
            reason: None,
        })
        .then(vec![committed(SPRINT_1, ITEM_A)]);
    events.push(committed(SPRINT_1, ITEM_A));
    given(events)
        .by(PO_A)
        .when_pod(PodCommand::CommitItem {
            sprint_id: SPRINT_1,
            item_id: ITEM_A,
            reason: None,
        })
        .then_invalid("itemId");
}

#[test]
fn r6_given_no_goal_when_started_then_sprint_goal_missing() {
    given(planned_sprint())
        .by(PO_A)
        .when_pod(start())
        .then_error(ErrorCode::SprintGoalMissing);
}

#[test]
fn r6_given_a_goal_item_not_committed_when_started_then_sprint_goal_missing() {
    let mut events = planned_sprint();
    events.push(goal(SPRINT_1, &[ITEM_A, ITEM_C]));
    given(events)
        .by(PO_A)
        .when_pod(start())
        .then_error(ErrorCode::SprintGoalMissing);
}

#[test]
fn r6_given_a_goal_with_committed_goal_items_when_started_then_committed_estimates_are_recorded() {
    let mut events = planned_sprint();
    events.push(goal(SPRINT_1, &[ITEM_A]));
    given(events)
        .by(PO_A)
        .at(t(5))
        .when_pod(start())
        .then(vec![Event::Pod(PodEvent::SprintStarted {
            sprint_id: SPRINT_1,
            at: t(5),
            committed: vec![
                CommittedItem {
                    item_id: ITEM_A,
                    estimate: 3,
                },
                CommittedItem {
                    item_id: ITEM_B,
                    estimate: 5,
                },
            ],
        })]);
}

#[test]
fn r13_given_an_empty_goal_then_validation_names_goal_and_goal_items() {
    let err = given(planned_sprint())
        .by(PO_A)
        .when_pod(PodCommand::SetSprintGoal {
            sprint_id: SPRINT_1,
            goal: " ".into(),
            goal_items: vec![],
        })
        .then_invalid("goal");
    assert!(err.field_errors().iter().any(|f| f.field == "goalItemIds"));
}

#[test]
fn r1_given_a_pod_without_po_when_a_sprint_starts_then_pod_has_no_product_owner() {
    let mut events = planned_sprint();
    events.push(goal(SPRINT_1, &[ITEM_A]));
    events.push(Event::Org(OrgEvent::PodRoleRemoved {
        pod_id: POD_A,
        person_id: PO_A,
        role: PodRole::ProductOwner,
    }));
    for person in [PO_A, SM_A, ADMIN] {
        given(events.clone())
            .by(person)
            .when_pod(start())
            .then_error(ErrorCode::PodHasNoProductOwner);
    }
}

#[test]
fn r8_given_an_active_sprint_when_an_item_is_added_without_reason_then_reason_required() {
    let mut events = active_sprint();
    events.extend(ready_item(ITEM_D, 2, ANALYST_A));
    given(events.clone())
        .by(PO_A)
        .when_pod(PodCommand::CommitItem {
            sprint_id: SPRINT_1,
            item_id: ITEM_D,
            reason: None,
        })
        .then_error(ErrorCode::ScopeChangeReasonRequired);
    given(events.clone())
        .by(PO_A)
        .when_pod(PodCommand::CommitItem {
            sprint_id: SPRINT_1,
            item_id: ITEM_D,
            reason: Some(ScopeChangeReason::BusinessConditionsChanged),
        })
        .then(vec![Event::Pod(PodEvent::ItemAddedToSprint {
            sprint_id: SPRINT_1,
            item_id: ITEM_D,
            reason: ScopeChangeReason::BusinessConditionsChanged,
            estimate: 2,
        })]);
    given(events.clone())
        .by(PO_A)
        .when_pod(PodCommand::CommitItem {
            sprint_id: SPRINT_1,
            item_id: ITEM_D,
            reason: Some(ScopeChangeReason::Other("  ".into())),
        })
        .then_invalid("reason");
    given(events)
        .by(DESIGNER_A)
        .when_pod(PodCommand::CommitItem {
            sprint_id: SPRINT_1,
            item_id: ITEM_D,
            reason: Some(ScopeChangeReason::TechnicallyImpossible),
        })
        .then_error(ErrorCode::Forbidden);
}

#[test]
fn r8_given_an_active_sprint_when_an_item_is_removed_then_a_reason_is_required_and_recorded() {
    given(active_sprint())
        .by(PO_A)
        .when_pod(PodCommand::RemoveItemFromSprint {
            sprint_id: SPRINT_1,
            item_id: ITEM_B,
            reason: None,
        })
        .then_error(ErrorCode::ScopeChangeReasonRequired);
    given(active_sprint())
        .by(PO_A)
        .when_pod(PodCommand::RemoveItemFromSprint {
            sprint_id: SPRINT_1,
            item_id: ITEM_B,
            reason: Some(ScopeChangeReason::Other("Legal hold".into())),
        })
        .then(vec![Event::Pod(PodEvent::ItemRemovedFromSprint {
            sprint_id: SPRINT_1,
            item_id: ITEM_B,
            reason: ScopeChangeReason::Other("Legal hold".into()),
            estimate: 5,
        })]);
}

#[test]
fn given_an_active_sprint_when_the_sm_closes_it_then_done_and_not_done_are_recorded() {
    let mut events = active_sprint();
    events.push(done(ITEM_A));
    let closed = given(events.clone())
        .by(SM_A)
        .at(t(300))
        .when_pod(PodCommand::CloseSprint {
            sprint_id: SPRINT_1,
        })
        .then_ok();
    assert_eq!(
        closed,
        vec![Event::Pod(PodEvent::SprintClosed {
            sprint_id: SPRINT_1,
            at: t(300),
            done: vec![ITEM_A],
            not_done: vec![ITEM_B],
            goal_met: true,
        })]
    );
    events.extend(closed);
    let g = given(events);
    let pod = &g.state().pod;
    assert_eq!(
        pod.items[&ITEM_B].status,
        ItemStatus::New,
        "unfinished work returns to the backlog"
    );
    assert_eq!(pod.backlog, [ITEM_B], "done work leaves the backlog");
    assert_eq!(pod.active_sprint, None);
}

#[test]
fn given_a_pod_with_an_sm_when_anyone_else_closes_the_sprint_then_forbidden() {
    for person in [PO_A, DESIGNER_A, ADMIN, VP] {
        given(active_sprint())
            .by(person)
            .when_pod(PodCommand::CloseSprint {
                sprint_id: SPRINT_1,
            })
            .then_error(ErrorCode::Forbidden);
    }
}

#[test]
fn given_a_pod_without_sm_when_the_po_closes_the_sprint_then_allowed() {
    let mut events = active_sprint();
    events.push(Event::Org(OrgEvent::PodRoleRemoved {
        pod_id: POD_A,
        person_id: SM_A,
        role: PodRole::ScrumMaster,
    }));
    given(events.clone())
        .by(PO_A)
        .when_pod(PodCommand::CloseSprint {
            sprint_id: SPRINT_1,
        })
        .then_ok();
    given(events)
        .by(DESIGNER_A)
        .when_pod(PodCommand::CloseSprint {
            sprint_id: SPRINT_1,
        })
        .then_error(ErrorCode::Forbidden);
}

#[test]
fn given_a_planned_sprint_when_closed_then_validation_fails() {
    given(planned_sprint())
        .by(SM_A)
        .when_pod(PodCommand::CloseSprint {
            sprint_id: SPRINT_1,
        })
        .then_invalid("sprintId");
}

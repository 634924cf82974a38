//! Given/when/then for backlog and delivery ownership: R3, R4 (readiness), R5, R8 (drop), R10,
//! R12, R13.

use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{ItemId, PodId};
use crate::org::OrgEvent;
use crate::pod::{ItemStatus, PodCommand, PodEvent, ScopeChangeReason, WorkStatus};
use crate::roles::PodRole;
use crate::testkit::*;

fn create(item_id: ItemId, title: &str, estimate: Option<i64>) -> PodCommand {
    PodCommand::CreateItem {
        item_id,
        title: title.into(),
        description: Some("For the spring launch".into()),
        output_category: "landing page".into(),
        acceptance_criteria: Some("Live, tracked".into()),
        estimate,
        parent_epic: None,
        requester: Some(STAKEHOLDER),
    }
}

fn with_items() -> Vec<Event> {
    let mut events = acme_events();
    events.extend(ready_item(ITEM_A, 3, DESIGNER_A));
    events.push(item(ITEM_B, 5));
    events.push(item(ITEM_C, 8));
    events
}

#[test]
fn r3_given_the_po_when_creating_an_item_then_it_is_created_trimmed() {
    given(acme_events())
        .by(PO_A)
        .when_pod(create(ITEM_A, "  Spring landing page ", Some(5)))
        .then(vec![Event::Pod(PodEvent::ItemCreated {
            item_id: ITEM_A,
            title: "Spring landing page".into(),
            description: Some("For the spring launch".into()),
            output_category: "landing page".into(),
            acceptance_criteria: Some("Live, tracked".into()),
            estimate: Some(5),
            parent_epic: None,
            requester: Some(STAKEHOLDER),
        })]);
}

#[test]
fn r3_given_anyone_but_the_pods_po_when_changing_the_backlog_then_forbidden() {
    let commands = [
        create(ITEM_D, "New", Some(1)),
        PodCommand::EditItem {
            item_id: ITEM_B,
            title: Some("Renamed".into()),
            description: None,
            output_category: None,
            acceptance_criteria: None,
        },
        PodCommand::EstimateItem {
            item_id: ITEM_B,
            estimate: 2,
        },
        PodCommand::RankItem {
            item_id: ITEM_C,
            before: Some(ITEM_A),
        },
        PodCommand::DropItem {
            item_id: ITEM_B,
            reason: None,
        },
        PodCommand::DeclareDeliveryOwner {
            item_id: ITEM_B,
            person_id: ANALYST_A,
        },
    ];
    for command in &commands {
        for person in [SM_A, DESIGNER_A, ADMIN, VP, STAKEHOLDER, PO_B, STRANGER] {
            given(with_items())
                .by(person)
                .when_pod(command.clone())
                .then_error(ErrorCode::Forbidden);
        }
        given(with_items())
            .by_service(&[POD_A])
            .when_pod(command.clone())
            .then_error(ErrorCode::Forbidden);
        given(with_items())
            .by(PO_A)
            .when_pod(command.clone())
            .then_ok();
    }
}

#[test]
fn r13_given_bad_item_input_when_created_then_each_field_is_named_and_nothing_is_written() {
    given(acme_events())
        .by(PO_A)
        .when_pod(create(ITEM_A, "   ", None))
        .then_invalid("title");
    given(acme_events())
        .by(PO_A)
        .when_pod(create(ITEM_A, "ok", Some(-1)))
        .then_invalid("estimate");
    given(acme_events())
        .by(PO_A)
        .when_pod(create(ITEM_A, &"t".repeat(201), Some(1)))
        .then_invalid("title");
    let err = given(acme_events())
        .by(PO_A)
        .when_pod(PodCommand::CreateItem {
            item_id: ITEM_A,
            title: String::new(),
            description: Some("d".repeat(10_001)),
            output_category: String::new(),
            acceptance_criteria: None,
            estimate: Some(5_000),
            parent_epic: None,
            requester: None,
        })
        .then_invalid("title");
    let fields: Vec<_> = err
        .field_errors()
        .iter()
        .map(|f| f.field.as_str())
        .collect();
    assert_eq!(
        fields,
        ["title", "description", "outputCategory", "estimate"]
    );
}

#[test]
fn r13_given_unknown_ids_then_not_found_names_the_field() {
    given(with_items())
        .by(PO_A)
        .when_pod(PodCommand::EstimateItem {
            item_id: ITEM_D,
            estimate: 1,
        })
        .then_not_found("itemId");
    given(with_items())
        .by(PO_A)
        .when(crate::command::Command::Pod {
            pod_id: PodId(id(77)),
            command: create(ITEM_D, "x", None),
        })
        .then_not_found("podId");
    let mut bad_epic = create(ITEM_D, "x", None);
    if let PodCommand::CreateItem { parent_epic, .. } = &mut bad_epic {
        *parent_epic = Some(ItemId(id(4242)));
    }
    given(with_items())
        .by(PO_A)
        .when_pod(bad_epic)
        .then_not_found("parentEpic");
    given(with_items())
        .by(PO_A)
        .when_pod(PodCommand::DeclareDeliveryOwner {
            item_id: ITEM_B,
            person_id: STRANGER,
        })
        .then_not_found("personId");
}

#[test]
fn given_a_declaration_to_someone_outside_the_pod_then_validation_fails() {
    given(with_items())
        .by(PO_A)
        .when_pod(PodCommand::DeclareDeliveryOwner {
            item_id: ITEM_B,
            person_id: WRITER_B,
        })
        .then_invalid("personId");
}

#[test]
fn r5_given_a_declaration_when_the_named_person_accepts_then_they_own_the_item() {
    let mut events = with_items();
    events.push(Event::Pod(PodEvent::DeliveryOwnerDeclared {
        item_id: ITEM_B,
        person_id: ANALYST_A,
        current_owner: None,
    }));
    given(events.clone())
        .by(ANALYST_A)
        .when_pod(PodCommand::AcceptDeliveryOwnership { item_id: ITEM_B })
        .then(vec![Event::Pod(PodEvent::DeliveryOwnershipAccepted {
            item_id: ITEM_B,
            person_id: ANALYST_A,
            previous_owner: None,
        })]);
    given(events.clone())
        .by(ANALYST_A)
        .when_pod(PodCommand::DeclineDeliveryOwnership {
            item_id: ITEM_B,
            reason: Some("No capacity".into()),
        })
        .then_ok();
    for person in [PO_A, DESIGNER_A, SM_A, ADMIN] {
        given(events.clone())
            .by(person)
            .when_pod(PodCommand::AcceptDeliveryOwnership { item_id: ITEM_B })
            .then_error(ErrorCode::Forbidden);
        given(events.clone())
            .by(person)
            .when_pod(PodCommand::DeclineDeliveryOwnership {
                item_id: ITEM_B,
                reason: None,
            })
            .then_error(ErrorCode::Forbidden);
    }
}

#[test]
fn given_no_pending_declaration_when_accepting_then_validation_fails() {
    given(with_items())
        .by(DESIGNER_A)
        .when_pod(PodCommand::AcceptDeliveryOwnership { item_id: ITEM_B })
        .then_invalid("itemId");
}

#[test]
fn given_an_owner_when_reassigned_then_the_previous_owner_stays_until_the_new_one_accepts() {
    let mut events = with_items();
    let declared = given(events.clone())
        .by(PO_A)
        .when_pod(PodCommand::DeclareDeliveryOwner {
            item_id: ITEM_A,
            person_id: ANALYST_A,
        })
        .then_ok();
    assert_eq!(
        declared,
        vec![Event::Pod(PodEvent::DeliveryOwnerDeclared {
            item_id: ITEM_A,
            person_id: ANALYST_A,
            current_owner: Some(DESIGNER_A),
        })]
    );
    events.extend(declared);
    let g = given(events.clone());
    assert_eq!(g.state().pod.items[&ITEM_A].owner, Some(DESIGNER_A));
    let accepted = given(events.clone())
        .by(ANALYST_A)
        .when_pod(PodCommand::AcceptDeliveryOwnership { item_id: ITEM_A })
        .then_ok();
    events.extend(accepted);
    assert_eq!(
        given(events).state().pod.items[&ITEM_A].owner,
        Some(ANALYST_A)
    );
}

#[test]
fn given_the_backlog_when_ranked_then_the_order_follows() {
    let mut events = with_items();
    let ranked = given(events.clone())
        .by(PO_A)
        .when_pod(PodCommand::RankItem {
            item_id: ITEM_C,
            before: Some(ITEM_A),
        })
        .then_ok();
    events.extend(ranked);
    assert_eq!(
        given(events.clone()).state().pod.backlog,
        [ITEM_C, ITEM_A, ITEM_B]
    );
    given(events.clone())
        .by(PO_A)
        .when_pod(PodCommand::RankItem {
            item_id: ITEM_C,
            before: Some(ITEM_C),
        })
        .then_invalid("beforeItemId");
    given(events)
        .by(PO_A)
        .when_pod(PodCommand::RankItem {
            item_id: ITEM_C,
            before: Some(ITEM_A),
        })
        .then(vec![]);
}

#[test]
fn r10_given_an_active_sprint_when_the_owner_moves_the_item_then_its_status_changes() {
    given(active_sprint())
        .by(DESIGNER_A)
        .when_pod(PodCommand::MoveItem {
            item_id: ITEM_A,
            status: WorkStatus::InProgress,
        })
        .then(vec![Event::Pod(PodEvent::ItemStatusChanged {
            item_id: ITEM_A,
            from: ItemStatus::Committed,
            to: ItemStatus::InProgress,
        })]);
}

#[test]
fn r10_given_an_active_sprint_when_anyone_else_moves_the_item_then_forbidden() {
    for person in [PO_A, SM_A, ANALYST_A, ADMIN, VP] {
        given(active_sprint())
            .by(person)
            .when_pod(PodCommand::MoveItem {
                item_id: ITEM_A,
                status: WorkStatus::Done,
            })
            .then_error(ErrorCode::Forbidden);
    }
}

#[test]
fn r10_given_done_when_the_owner_reopens_before_close_then_allowed() {
    let mut events = active_sprint();
    events.push(Event::Pod(PodEvent::ItemStatusChanged {
        item_id: ITEM_A,
        from: ItemStatus::Committed,
        to: ItemStatus::Done,
    }));
    given(events)
        .by(DESIGNER_A)
        .when_pod(PodCommand::MoveItem {
            item_id: ITEM_A,
            status: WorkStatus::InProgress,
        })
        .then_ok();
}

#[test]
fn given_no_active_sprint_when_the_owner_moves_the_item_then_validation_fails() {
    given(with_items())
        .by(DESIGNER_A)
        .when_pod(PodCommand::MoveItem {
            item_id: ITEM_A,
            status: WorkStatus::InProgress,
        })
        .then_invalid("itemId");
}

#[test]
fn r8_given_an_item_in_an_active_sprint_when_dropped_without_reason_then_reason_required() {
    given(active_sprint())
        .by(PO_A)
        .when_pod(PodCommand::DropItem {
            item_id: ITEM_B,
            reason: None,
        })
        .then_error(ErrorCode::ScopeChangeReasonRequired);
    given(active_sprint())
        .by(PO_A)
        .when_pod(PodCommand::DropItem {
            item_id: ITEM_B,
            reason: Some(ScopeChangeReason::BusinessConditionsChanged),
        })
        .then(vec![
            Event::Pod(PodEvent::ItemRemovedFromSprint {
                sprint_id: SPRINT_1,
                item_id: ITEM_B,
                reason: ScopeChangeReason::BusinessConditionsChanged,
                estimate: 5,
            }),
            Event::Pod(PodEvent::ItemDropped { item_id: ITEM_B }),
        ]);
}

#[test]
fn given_a_dropped_item_when_edited_then_validation_fails() {
    let mut events = with_items();
    events.push(Event::Pod(PodEvent::ItemDropped { item_id: ITEM_B }));
    given(events)
        .by(PO_A)
        .when_pod(PodCommand::EstimateItem {
            item_id: ITEM_B,
            estimate: 1,
        })
        .then_invalid("itemId");
}

#[test]
fn r12_given_a_stale_item_version_then_conflict_but_other_items_moving_do_not_conflict() {
    let events = with_items();
    let version_b = given(events.clone()).state().pod.items[&ITEM_B].version;
    let mut later = events.clone();
    later.push(Event::Pod(PodEvent::ItemEstimated {
        item_id: ITEM_C,
        estimate: 13,
        previous: Some(8),
    }));
    given(later.clone())
        .by(PO_A)
        .expecting(version_b)
        .when_pod(PodCommand::EstimateItem {
            item_id: ITEM_B,
            estimate: 2,
        })
        .then_ok();
    later.push(Event::Pod(PodEvent::ItemEstimated {
        item_id: ITEM_B,
        estimate: 3,
        previous: Some(5),
    }));
    given(later)
        .by(PO_A)
        .expecting(version_b)
        .when_pod(PodCommand::EstimateItem {
            item_id: ITEM_B,
            estimate: 2,
        })
        .then_error(ErrorCode::ConcurrencyConflict);
}

#[test]
fn r4_readiness_is_derived_and_falls_back_when_the_owner_leaves_the_pod() {
    let mut events = with_items();
    let g = given(events.clone());
    let (org, pod) = (&g.state().org, &g.state().pod);
    assert!(pod.items[&ITEM_A].is_ready(org, POD_A));
    assert!(!pod.items[&ITEM_B].is_ready(org, POD_A));
    events.push(Event::Org(OrgEvent::PodRoleRemoved {
        pod_id: POD_A,
        person_id: DESIGNER_A,
        role: PodRole::Designer,
    }));
    let g = given(events);
    assert!(!g.state().pod.items[&ITEM_A].is_ready(&g.state().org, POD_A));
}

//! Given/when/then for approvals (SPEC §9.3): asked for by the item's delivery owner on an
//! `IN_REVIEW` item of a category that needs approval; decided by the rule's approver; no DONE
//! without an approval granted since the last move to `IN_REVIEW` (`APPROVAL_REQUIRED`).

use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::ApprovalId;
use crate::org::OrgEvent;
use crate::pod::{ItemStatus, PodCommand, PodEvent, WorkStatus};
use crate::testkit::*;

const APPROVAL: ApprovalId = ApprovalId(id(5001));

fn rule() -> Event {
    Event::Org(OrgEvent::ApprovalRuleSet {
        output_category: "email".into(),
        approver: VP,
        deadline_hours: 24,
    })
}

fn moved(to: ItemStatus, from: ItemStatus) -> Event {
    Event::Pod(PodEvent::ItemStatusChanged {
        item_id: ITEM_A,
        from,
        to,
    })
}

/// Item A (category `email`, which needs the VP's approval within 24 h) in review.
fn in_review() -> Vec<Event> {
    let mut events = active_sprint();
    events.push(rule());
    events.push(moved(ItemStatus::InReview, ItemStatus::Committed));
    events
}

fn requested() -> Vec<Event> {
    let mut events = in_review();
    events.push(Event::Pod(PodEvent::ApprovalRequested {
        approval_id: APPROVAL,
        item_id: ITEM_A,
        approver: VP,
        due_at: t(30),
        at: t(6),
    }));
    events
}

fn decided(approved: bool) -> Event {
    Event::Pod(PodEvent::ApprovalDecided {
        approval_id: APPROVAL,
        approved,
        reason: (!approved).then(|| "Claims unsupported".into()),
        at: t(10),
    })
}

fn request() -> PodCommand {
    PodCommand::RequestApproval {
        approval_id: APPROVAL,
        item_id: ITEM_A,
    }
}

fn done() -> PodCommand {
    PodCommand::MoveItem {
        item_id: ITEM_A,
        status: WorkStatus::Done,
    }
}

#[test]
fn given_an_item_in_review_when_its_owner_asks_for_approval_then_the_rules_approver_and_deadline_apply()
 {
    given(in_review())
        .by(DESIGNER_A)
        .at(t(6))
        .when_pod(request())
        .then(vec![Event::Pod(PodEvent::ApprovalRequested {
            approval_id: APPROVAL,
            item_id: ITEM_A,
            approver: VP,
            due_at: t(30),
            at: t(6),
        })]);
}

#[test]
fn given_someone_but_the_owner_when_asking_for_approval_then_forbidden() {
    for person in [PO_A, SM_A, ANALYST_A, VP, ADMIN] {
        given(in_review())
            .by(person)
            .when_pod(request())
            .then_error(ErrorCode::Forbidden);
    }
}

#[test]
fn given_an_item_not_in_review_or_a_category_without_rule_or_a_pending_request_then_validation_fails()
 {
    let mut committed = active_sprint();
    committed.push(rule());
    given(committed)
        .by(DESIGNER_A)
        .when_pod(request())
        .then_invalid("itemId");
    let mut no_rule = active_sprint();
    no_rule.push(moved(ItemStatus::InReview, ItemStatus::Committed));
    given(no_rule)
        .by(DESIGNER_A)
        .when_pod(request())
        .then_invalid("itemId");
    given(requested())
        .by(DESIGNER_A)
        .when_pod(PodCommand::RequestApproval {
            approval_id: ApprovalId(id(5002)),
            item_id: ITEM_A,
        })
        .then_invalid("itemId");
}

#[test]
fn given_a_request_when_the_approver_decides_then_it_is_decided_and_anyone_else_is_forbidden() {
    given(requested())
        .by(VP)
        .at(t(10))
        .when_pod(PodCommand::DecideApproval {
            approval_id: APPROVAL,
            approved: true,
            reason: None,
        })
        .then(vec![Event::Pod(PodEvent::ApprovalDecided {
            approval_id: APPROVAL,
            approved: true,
            reason: None,
            at: t(10),
        })]);
    for person in [DESIGNER_A, PO_A, SM_A, ADMIN] {
        given(requested())
            .by(person)
            .when_pod(PodCommand::DecideApproval {
                approval_id: APPROVAL,
                approved: true,
                reason: None,
            })
            .then_error(ErrorCode::Forbidden);
    }
}

#[test]
fn given_a_rejection_without_reason_or_a_decided_request_then_validation_fails() {
    given(requested())
        .by(VP)
        .when_pod(PodCommand::DecideApproval {
            approval_id: APPROVAL,
            approved: false,
            reason: None,
        })
        .then_invalid("reason");
    let mut events = requested();
    events.push(decided(true));
    given(events)
        .by(VP)
        .when_pod(PodCommand::DecideApproval {
            approval_id: APPROVAL,
            approved: false,
            reason: Some("changed my mind".into()),
        })
        .then_invalid("approvalId");
    given(in_review())
        .by(VP)
        .when_pod(PodCommand::DecideApproval {
            approval_id: APPROVAL,
            approved: true,
            reason: None,
        })
        .then_not_found("approvalId");
}

#[test]
fn given_no_approval_when_moving_to_done_then_approval_required() {
    given(in_review())
        .by(DESIGNER_A)
        .when_pod(done())
        .then_error(ErrorCode::ApprovalRequired);
    let mut rejected = requested();
    rejected.push(decided(false));
    given(rejected)
        .by(DESIGNER_A)
        .when_pod(done())
        .then_error(ErrorCode::ApprovalRequired);
}

#[test]
fn given_an_approval_granted_since_the_last_review_when_moving_to_done_then_done() {
    let mut approved = requested();
    approved.push(decided(true));
    given(approved.clone())
        .by(DESIGNER_A)
        .when_pod(done())
        .then(vec![Event::Pod(PodEvent::ItemStatusChanged {
            item_id: ITEM_A,
            from: ItemStatus::InReview,
            to: ItemStatus::Done,
        })]);
    // Back to work and into review again: the earlier approval no longer counts.
    approved.push(moved(ItemStatus::InProgress, ItemStatus::InReview));
    approved.push(moved(ItemStatus::InReview, ItemStatus::InProgress));
    given(approved)
        .by(DESIGNER_A)
        .when_pod(done())
        .then_error(ErrorCode::ApprovalRequired);
}

#[test]
fn given_a_category_without_rule_when_moving_to_done_then_no_approval_is_needed() {
    let mut events = active_sprint();
    events.push(moved(ItemStatus::InReview, ItemStatus::Committed));
    given(events).by(DESIGNER_A).when_pod(done()).then_ok();
}

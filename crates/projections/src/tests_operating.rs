//! Hand-computed tests of SPEC §9: retro follow-through, approval waits, shared-service SLA
//! figures and pod-days waiting (an even and an odd count for each median), the health
//! findings they add, and the pattern table of §9.4 row by row — FAIL, WARN and OK.
#![allow(clippy::float_cmp)] // hand-computed values are exact binary fractions or computed the same way

use std::collections::BTreeMap;

use podledger_domain::ids::{
    ApprovalId, BlockerId, PersonId, PodId, RetroActionId, ServiceRequestId, SharedServiceId,
    SprintId,
};
use podledger_domain::org::OrgEvent;
use podledger_domain::pod::{
    BlockerCategory, PodEvent, RetroActionItem, RetroActionKind, RetroOutcome,
};
use podledger_domain::roles::{PodFocus, PodRole};

use crate::health_audit::{Pattern, PatternStatus, audit};
use crate::operating::{approval_stats, pod_service_stats, retro_stats, service_stats};
use crate::org_view::{Finding, health};
use crate::testkit::*;

const POD: PodId = PodId(id(9));
const S3: SprintId = SprintId(id(102));
const OTHER: PersonId = PersonId(id(20));
const WRITER: PersonId = PersonId(id(21));
const DESIGNER: PersonId = PersonId(id(22));
const SEO: PersonId = PersonId(id(23));
const VP: PersonId = PersonId(id(24));
const LEGAL: SharedServiceId = SharedServiceId(id(60));

fn action(n: u128, owner: PersonId) -> RetroActionItem {
    RetroActionItem {
        action_id: RetroActionId(id(4000 + n)),
        description: format!("action {n}"),
        owner,
        kind: RetroActionKind::Handoff,
    }
}

fn retro(s: &mut Script, sprint_id: SprintId, actions: Vec<RetroActionItem>) {
    let at = h(0);
    s.pod(PodEvent::RetroRecorded {
        sprint_id,
        went_well: "w".into(),
        friction: "f".into(),
        actions,
        at,
    });
}

fn resolve(s: &mut Script, n: u128, outcome: RetroOutcome) {
    s.pod(PodEvent::RetroActionResolved {
        action_id: RetroActionId(id(4000 + n)),
        outcome,
        at: h(0),
    });
}

/// Sprint `sprint` numbered `n` with item `name` committed, started at hour `start` and
/// closed at hour `end` with the item DONE.
fn sprint_with(s: &mut Script, sprint: SprintId, n: u32, name: char, start: i64, end: i64) {
    s.item(name, 1);
    s.plan(sprint, n)
        .commit(sprint, &name.to_string())
        .goal(sprint, &name.to_string());
    s.at(start)
        .start(sprint)
        .done(&name.to_string())
        .at(end)
        .close(sprint);
}

#[test]
fn retro_follow_through_counts_actions_whose_next_sprint_closed() {
    let mut s = Script::new();
    sprint_with(&mut s, S1, 1, 'a', 1, 300);
    retro(&mut s, S1, vec![action(1, OWNER), action(2, OWNER)]);
    s.item('b', 1);
    s.plan(S2, 2)
        .commit(S2, "b")
        .goal(S2, "b")
        .at(340)
        .start(S2);
    resolve(&mut s, 1, RetroOutcome::Implemented);
    // Sprint 2 running: nothing judged yet.
    let running = retro_stats(&s.pod);
    assert_eq!(
        (running.actions, running.judged, running.follow_through),
        (2, 0, None)
    );
    s.done("b").at(600).close(S2);
    retro(&mut s, S2, vec![action(3, OWNER)]);
    let two = retro_stats(&s.pod);
    assert_eq!(
        (two.judged, two.implemented, two.not_followed_through),
        (2, 1, 1)
    );
    assert_eq!(two.follow_through, Some(0.5));
    s.item('c', 1);
    s.plan(S3, 3)
        .commit(S3, "c")
        .goal(S3, "c")
        .at(700)
        .start(S3);
    resolve(&mut s, 3, RetroOutcome::Dropped("moved to tooling".into()));
    s.done("c").at(900).close(S3);
    let three = retro_stats(&s.pod);
    assert_eq!(
        (three.judged, three.implemented, three.not_followed_through),
        (3, 1, 1)
    );
    assert_eq!(
        three.follow_through,
        Some(1.0 / 3.0),
        "a dropped action counts, unimplemented"
    );
    // The open action of sprint 1's retro is a health finding, on sprint 2.
    let pods = BTreeMap::from([(POD, &s.pod)]);
    let mut org = s.org.clone();
    org.state.pods.insert(POD, pod_summary());
    let findings = health(&org, &pods, h(1000));
    assert!(findings.contains(&Finding::RetroActionNotFollowedThrough {
        pod: POD,
        sprint: S2,
        action: RetroActionId(id(4002)),
        person: OWNER,
    }));
}

fn pod_summary() -> podledger_domain::org::Pod {
    podledger_domain::org::Pod {
        name: "Growth".into(),
        focus: PodFocus::Acquisition,
        product_owner: None,
        scrum_master: None,
        members: std::collections::BTreeSet::new(),
    }
}

fn ask(s: &mut Script, n: u128, item: char, at: i64, deadline: i64) {
    s.pod(PodEvent::ApprovalRequested {
        approval_id: ApprovalId(id(5000 + n)),
        item_id: item_id(item),
        approver: VP,
        due_at: h(at + deadline),
        at: h(at),
    });
}

fn decide(s: &mut Script, n: u128, at: i64) {
    s.pod(PodEvent::ApprovalDecided {
        approval_id: ApprovalId(id(5000 + n)),
        approved: true,
        reason: None,
        at: h(at),
    });
}

#[test]
fn approval_waits_are_a_median_and_a_p90_with_late_decisions_and_pending_past_the_deadline() {
    let mut s = Script::new();
    s.item('a', 1).item('b', 1).item('c', 1).item('d', 1);
    s.plan(S1, 1)
        .commit(S1, "abcd")
        .goal(S1, "a")
        .at(1)
        .start(S1);
    // Waits of 2, 10 and 30 hours against a 24-hour deadline: the last is late.
    ask(&mut s, 1, 'a', 2, 24);
    decide(&mut s, 1, 4);
    ask(&mut s, 2, 'b', 4, 24);
    decide(&mut s, 2, 14);
    ask(&mut s, 3, 'c', 10, 24);
    decide(&mut s, 3, 40);
    let odd = approval_stats(&s.pod, None, h(50));
    assert_eq!((odd.requested, odd.decided), (3, 3));
    assert_eq!(odd.wait_median_hours, Some(10.0));
    assert_eq!(odd.wait_p90_hours, Some(30.0), "nearest rank: the 3rd of 3");
    assert_eq!(odd.late, 1);
    // A fourth wait of 6 hours: median of 2, 6, 10, 30 is 8; p90 the 4th of 4.
    ask(&mut s, 4, 'd', 41, 24);
    decide(&mut s, 4, 47);
    let even = approval_stats(&s.pod, Some(S1), h(50));
    assert_eq!(even.wait_median_hours, Some(8.0));
    assert_eq!(even.wait_p90_hours, Some(30.0));
    // A pending request is late from its deadline on.
    ask(&mut s, 5, 'a', 48, 24);
    assert_eq!(approval_stats(&s.pod, None, h(60)).late, 1);
    assert_eq!(approval_stats(&s.pod, None, h(73)).late, 2);
    // DONE items that needed approval: a, b of a, b done and c, d not → 2/2 before c, d.
    s.done("ab").at(100).close(S1);
    let closed = approval_stats(&s.pod, Some(S1), h(100));
    assert_eq!((closed.done_items, closed.done_needing_approval), (2, 2));
    assert_eq!(closed.share_done_needing_approval, Some(1.0));
}

#[allow(clippy::too_many_arguments)]
fn request(s: &mut Script, n: u128, received: i64, due: i64, close: Option<(i64, &str)>) {
    let request_id = ServiceRequestId(id(6100 + n));
    s.pod(PodEvent::ServiceRequestOpened {
        request_id,
        service_id: LEGAL,
        item_id: None,
        title: format!("request {n}"),
        description: None,
        requested_by: PO,
        at: h(received),
        received_at: h(received),
        due_at: h(due),
    });
    match close {
        Some((at, "delivered")) => {
            s.pod(PodEvent::ServiceRequestAccepted {
                request_id,
                by: OTHER,
                at: h(received),
            });
            s.pod(PodEvent::ServiceRequestDelivered {
                request_id,
                by: OTHER,
                at: h(at),
            });
        }
        Some((at, _)) => {
            s.pod(PodEvent::ServiceRequestRejected {
                request_id,
                by: OTHER,
                reason: "out of scope".into(),
                at: h(at),
            });
        }
        None => {}
    }
}

#[test]
fn service_attainment_turnaround_breaches_and_pod_days_waiting() {
    let mut s = Script::new();
    request(&mut s, 1, 0, 48, Some((20, "delivered"))); // on time, 20 h
    request(&mut s, 2, 0, 48, Some((60, "delivered"))); // late, 60 h: breached
    request(&mut s, 3, 10, 58, None); // open past its due time: an open breach
    request(&mut s, 4, 0, 48, Some((30, "rejected"))); // answered in time
    let now = h(100);
    let stats = &service_stats([(POD, &s.pod)], now)[&LEGAL];
    assert_eq!(
        (stats.requests, stats.delivered, stats.delivered_on_time),
        (4, 2, 1)
    );
    assert_eq!(
        (stats.breached, stats.open_breaches, stats.waiting),
        (2, 1, 1)
    );
    assert_eq!(
        stats.sla_attainment,
        Some(1.0 / 3.0),
        "on time / (on time + breached)"
    );
    assert_eq!(
        stats.turnaround_median_hours,
        Some(40.0),
        "even count: mean of 20 and 60"
    );
    assert_eq!(stats.turnaround_p90_hours, Some(60.0));
    let pod = pod_service_stats(&s.pod, now);
    assert_eq!(pod.waiting, 1);
    // 20 h + 60 h + 90 h (open, to now) + 30 h = 200 h.
    assert_eq!(pod.pod_days_waiting, 200.0 / 24.0);
    // A fifth, delivered in 30 h: the median of 20, 30, 60 is 30.
    request(&mut s, 5, 50, 98, Some((80, "delivered")));
    let odd = &service_stats([(POD, &s.pod)], now)[&LEGAL];
    assert_eq!(odd.turnaround_median_hours, Some(30.0));
    assert_eq!(odd.sla_attainment, Some(2.0 / 4.0));
    // Breaches are health findings, with the hours past due.
    let mut org = s.org.clone();
    org.state.pods.insert(POD, pod_summary());
    let findings = health(&org, &BTreeMap::from([(POD, &s.pod)]), now);
    assert!(findings.contains(&Finding::ServiceSlaBreached {
        pod: POD,
        request: ServiceRequestId(id(6103)),
        service: LEGAL,
        hours: 42,
    }));
    assert!(findings.contains(&Finding::ServiceSlaBreached {
        pod: POD,
        request: ServiceRequestId(id(6102)),
        service: LEGAL,
        hours: 12,
    }));
}

// ---- the pattern table of §9.4

/// A pod whose members cover `roles` (the PO is always there).
fn team(s: &mut Script, roles: &[(PersonId, PodRole)]) {
    s.org(OrgEvent::OrganisationCreated {
        name: "Acme".into(),
        sprint_length_days: 14,
        at: h(0),
    });
    s.org(OrgEvent::PodCreated {
        pod_id: POD,
        name: "Growth".into(),
        focus: PodFocus::Acquisition,
    });
    for (person, role) in [(PO, PodRole::ProductOwner)].iter().chain(roles) {
        s.org(OrgEvent::PersonAdded {
            person_id: *person,
            name: "p".into(),
            email: None,
        });
        s.org(OrgEvent::PodRoleAssigned {
            pod_id: POD,
            person_id: *person,
            role: role.clone(),
            replaced: None,
        });
    }
}

fn full_team(s: &mut Script) {
    team(
        s,
        &[
            (WRITER, PodRole::ContentStrategist),
            (DESIGNER, PodRole::Designer),
            (SEO, PodRole::SeoAnalytics),
            (OWNER, PodRole::Analyst),
        ],
    );
}

fn status(
    s: &Script,
    pattern: Pattern,
    now: i64,
) -> (PatternStatus, crate::health_audit::Evidence) {
    let row = audit(&s.org, POD, &s.pod, h(now))
        .into_iter()
        .find(|a| a.pattern == pattern)
        .unwrap();
    assert!(!row.remedy.is_empty());
    (row.status, row.evidence)
}

/// Owner of item `name` becomes `person`.
fn owned_by(s: &mut Script, name: char, person: PersonId) {
    s.pod(PodEvent::DeliveryOwnerDeclared {
        item_id: item_id(name),
        person_id: person,
        current_owner: Some(OWNER),
    });
    s.pod(PodEvent::DeliveryOwnershipAccepted {
        item_id: item_id(name),
        person_id: person,
        previous_owner: Some(OWNER),
    });
}

/// Items `a`..`e` (1 point each) committed to sprint 1, started at hour 1; blocker raised and
/// resolved within a day on `a` unless `quiet`.
fn running_sprint(s: &mut Script, categories: &[&str], quiet: bool) {
    for (i, name) in "abcde".chars().enumerate() {
        s.item_in(name, 1, categories[i % categories.len()]);
    }
    s.plan(S1, 1)
        .commit(S1, "abcde")
        .goal(S1, "a")
        .at(1)
        .start(S1);
    if !quiet {
        blocker(s, 1, 'a', BlockerCategory::Tooling, 5, Some(10));
    }
}

fn blocker(
    s: &mut Script,
    n: u128,
    item: char,
    category: BlockerCategory,
    raised: i64,
    resolved: Option<i64>,
) {
    let blocker_id = BlockerId(id(3000 + n));
    s.at(raised).pod(PodEvent::BlockerRaised {
        blocker_id,
        item_id: Some(item_id(item)),
        category,
        description: "blocked".into(),
        raised_by: OWNER,
        at: h(raised),
    });
    if let Some(at) = resolved {
        s.at(at).pod(PodEvent::BlockerResolved {
            blocker_id,
            resolution: None,
            at: h(at),
        });
    }
}

#[test]
fn incomplete_team_fails_on_a_missing_capability_warns_at_a_fifth_waiting_on_others() {
    let mut s = Script::new();
    team(&mut s, &[(DESIGNER, PodRole::Designer)]);
    let (fail, evidence) = status(&s, Pattern::IncompleteTeam, 0);
    assert_eq!(fail, PatternStatus::Fail);
    assert_eq!(
        evidence.capabilities.len(),
        3,
        "messaging, channels, performance"
    );

    let mut s = Script::new();
    full_team(&mut s);
    running_sprint(&mut s, &["email"], false);
    // One of five committed items (20 %) waited on a dependency during the sprint.
    blocker(&mut s, 2, 'b', BlockerCategory::Dependency, 20, Some(90));
    s.at(100).done("abcde").close(S1);
    let (warn, evidence) = status(&s, Pattern::IncompleteTeam, 100);
    assert_eq!(warn, PatternStatus::Warn);
    assert_eq!(evidence.items, vec![item_id('b')]);

    let mut s = Script::new();
    full_team(&mut s);
    running_sprint(&mut s, &["email"], false);
    s.at(100).done("abcde").close(S1);
    assert_eq!(
        status(&s, Pattern::IncompleteTeam, 100).0,
        PatternStatus::Ok
    );
}

#[test]
fn overloaded_role_fails_past_three_categories_warns_at_three() {
    for (categories, expected) in [
        (&["email", "page", "ad", "video"][..], PatternStatus::Fail),
        (&["email", "page", "ad"][..], PatternStatus::Warn),
        (&["email", "page"][..], PatternStatus::Ok),
    ] {
        let mut s = Script::new();
        full_team(&mut s);
        running_sprint(&mut s, categories, false);
        s.at(100).done("abcde").close(S1);
        let (got, evidence) = status(&s, Pattern::OverloadedRole, 100);
        assert_eq!(got, expected, "{categories:?}");
        assert_eq!(evidence.people, vec![OWNER]);
        assert_eq!(evidence.numbers[0].1, categories.len() as f64);
    }
}

#[test]
fn centralized_control_fails_on_a_late_approval_warns_past_half_of_done_needing_one() {
    let mut s = Script::new();
    full_team(&mut s);
    running_sprint(&mut s, &["email"], false);
    ask(&mut s, 1, 'a', 20, 24);
    decide(&mut s, 1, 50); // late
    s.at(100).done("abcde").close(S1);
    assert_eq!(
        status(&s, Pattern::CentralizedControl, 100).0,
        PatternStatus::Fail
    );

    let mut s = Script::new();
    full_team(&mut s);
    running_sprint(&mut s, &["email"], false);
    for (n, item) in "abc".chars().enumerate() {
        ask(&mut s, n as u128, item, 20, 24);
        decide(&mut s, n as u128, 22);
    }
    s.at(100).done("abcde").close(S1);
    let (warn, evidence) = status(&s, Pattern::CentralizedControl, 100);
    assert_eq!(
        warn,
        PatternStatus::Warn,
        "3 of 5 DONE items needed approval"
    );
    assert_eq!(evidence.numbers[1].1, 0.6);

    let mut s = Script::new();
    full_team(&mut s);
    running_sprint(&mut s, &["email"], false);
    ask(&mut s, 1, 'a', 20, 24);
    decide(&mut s, 1, 22);
    s.at(100).done("abcde").close(S1);
    assert_eq!(
        status(&s, Pattern::CentralizedControl, 100).0,
        PatternStatus::Ok
    );
}

#[test]
fn cosmetic_rituals_count_their_signals() {
    // No signal: a blocker raised and resolved within 48 h, nothing inserted.
    let mut s = Script::new();
    full_team(&mut s);
    running_sprint(&mut s, &["email"], false);
    s.at(100).done("abcde").close(S1);
    assert_eq!(
        status(&s, Pattern::CosmeticRituals, 100).0,
        PatternStatus::Ok
    );

    // One: an insertion after the start.
    let mut s = Script::new();
    full_team(&mut s);
    running_sprint(&mut s, &["email"], false);
    s.item('f', 1).at(30).add(S1, 'f');
    s.at(100).done("abcdef").close(S1);
    let (warn, evidence) = status(&s, Pattern::CosmeticRituals, 100);
    assert_eq!(warn, PatternStatus::Warn, "{:?}", evidence.signals);

    // Two: no blocker raised during the sprint, and an insertion.
    let mut s = Script::new();
    full_team(&mut s);
    running_sprint(&mut s, &["email"], true);
    s.item('f', 1).at(30).add(S1, 'f');
    s.at(100).done("abcdef").close(S1);
    assert_eq!(
        status(&s, Pattern::CosmeticRituals, 100).0,
        PatternStatus::Fail
    );

    // The previous sprint's retro: missing when this one started, and its action open.
    let mut s = Script::new();
    full_team(&mut s);
    running_sprint(&mut s, &["email"], false);
    s.at(100).done("abcde").close(S1);
    s.item('g', 1);
    s.plan(S2, 2)
        .commit(S2, "g")
        .goal(S2, "g")
        .at(340)
        .start(S2);
    blocker(&mut s, 3, 'g', BlockerCategory::Tooling, 350, Some(360));
    s.at(400).pod(PodEvent::RetroRecorded {
        sprint_id: S1,
        went_well: "w".into(),
        friction: "f".into(),
        actions: vec![action(1, OWNER)],
        at: h(400),
    });
    s.done("g").at(600).close(S2);
    let (fail, evidence) = status(&s, Pattern::CosmeticRituals, 600);
    assert_eq!(fail, PatternStatus::Fail, "{:?}", evidence.signals);
    assert_eq!(
        evidence.signals.len(),
        2,
        "late retro, action not followed through"
    );
}

#[test]
fn cosmetic_rituals_name_the_blockers_open_past_48_hours_resolved_or_not() {
    // Given blockers raised in a sprint closed at hour 90: at hours 5 (resolved at 10), 6 (resolved at
    // 60, 54 h later), 50 and 80 (both still open)
    let mut s = Script::new();
    full_team(&mut s);
    running_sprint(&mut s, &["email"], false);
    blocker(&mut s, 2, 'b', BlockerCategory::Tooling, 6, None);
    blocker(&mut s, 3, 'c', BlockerCategory::Dependency, 50, None);
    s.at(60).pod(PodEvent::BlockerResolved {
        blocker_id: BlockerId(id(3002)),
        resolution: None,
        at: h(60),
    });
    blocker(&mut s, 4, 'd', BlockerCategory::Capacity, 80, None);
    s.at(90).done("abcde").close(S1);
    // When the audit looks at hours 97, 100 and 129
    // Then the stale ones are the late resolution, then each open one once 48 h have passed.
    for (now, stale) in [
        (97, vec![2]),
        (100, vec![2, 3]),
        (128, vec![2, 3]),
        (129, vec![2, 3, 4]),
    ] {
        let (_, evidence) = status(&s, Pattern::CosmeticRituals, now);
        let expected: Vec<_> = stale.iter().map(|n| BlockerId(id(3000 + n))).collect();
        assert_eq!(evidence.blockers, expected, "at hour {now}");
        assert!(
            evidence.signals.contains(&format!(
                "{} blocker(s) unresolved 48 h after being raised",
                stale.len()
            )),
            "at hour {now}: {:?}",
            evidence.signals
        );
    }
}

#[test]
fn specialist_silos_fail_at_two_capabilities_warn_when_one_person_owns_every_goal_item() {
    let mut s = Script::new();
    team(&mut s, &[(DESIGNER, PodRole::Designer)]);
    let (fail, evidence) = status(&s, Pattern::SpecialistSilos, 0);
    assert_eq!(
        fail,
        PatternStatus::Fail,
        "adapt scope and visual assets only"
    );
    assert_eq!(evidence.numbers[0].1, 2.0);

    let mut s = Script::new();
    full_team(&mut s);
    running_sprint(&mut s, &["email"], false);
    s.pod(PodEvent::SprintGoalSet {
        sprint_id: S1,
        goal: "g".into(),
        goal_items: vec![item_id('a'), item_id('b')],
    });
    s.at(100).done("abcde").close(S1);
    assert_eq!(
        status(&s, Pattern::SpecialistSilos, 100).0,
        PatternStatus::Warn
    );

    let mut s = Script::new();
    full_team(&mut s);
    for name in "ab".chars() {
        s.item(name, 1);
    }
    owned_by(&mut s, 'b', DESIGNER);
    s.plan(S1, 1)
        .commit(S1, "ab")
        .goal(S1, "ab")
        .at(1)
        .start(S1);
    s.at(100).done("ab").close(S1);
    assert_eq!(
        status(&s, Pattern::SpecialistSilos, 100).0,
        PatternStatus::Ok
    );
}

#[test]
fn a_pod_with_no_closed_sprint_is_judged_on_membership_and_ok_with_no_evidence_elsewhere() {
    let mut s = Script::new();
    full_team(&mut s);
    let rows = audit(&s.org, POD, &s.pod, h(0));
    assert_eq!(rows.len(), 5);
    for row in rows {
        assert_eq!(row.status, PatternStatus::Ok, "{:?}", row.pattern);
        if matches!(
            row.pattern,
            Pattern::OverloadedRole | Pattern::CentralizedControl | Pattern::CosmeticRituals
        ) {
            assert_eq!(row.evidence, crate::health_audit::Evidence::default());
        }
    }
}

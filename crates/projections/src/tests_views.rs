//! Views: KPI performance (including DECREASE and a reading of 0), the ownership ledger and
#![allow(clippy::float_cmp)] // hand-computed values are exact binary fractions or computed the same way
//! "who owned X at T", and the health findings.

use std::collections::BTreeMap;

use podledger_domain::ids::{BlockerId, PersonId, PodId};
use podledger_domain::kpi::{Direction, KpiEvent, KpiStatus, ReportingCadence};
use podledger_domain::org::OrgEvent;
use podledger_domain::pod::{BlockerCategory, PodEvent};
use podledger_domain::roles::{Capability, PodFocus, PodRole};

use crate::ledger::{LedgerChange, owner_at};
use crate::org_view::{Finding, health};
use crate::testkit::*;

fn kpi(direction: Direction, target: f64) -> KpiEvent {
    KpiEvent::KpiDefined {
        pod_id: PodId(id(3)),
        name: "CAC".into(),
        unit: "EUR".into(),
        direction,
        target,
        baseline: None,
        cadence: ReportingCadence::Weekly,
        owner: OWNER,
    }
}

fn reading(value: f64, hours: i64) -> KpiEvent {
    KpiEvent::KpiReadingRecorded {
        value,
        observed_at: h(hours),
        source: None,
    }
}

#[test]
fn a_decrease_kpi_attains_target_over_value_and_a_reading_of_zero_is_undefined() {
    let mut s = Script::new();
    s.kpi(kpi(Direction::Decrease, 40.0)).kpi(reading(50.0, 1));
    let k = s.kpi.clone().unwrap();
    let latest = k.latest().unwrap();
    assert_eq!(latest.attainment, Some(0.8));
    assert_eq!(latest.status, Some(KpiStatus::OffTrack));
    s.kpi(reading(0.0, 2));
    let latest = s.kpi.clone().unwrap().latest().unwrap();
    assert_eq!(latest.reading.value, 0.0);
    assert_eq!((latest.attainment, latest.status), (None, None));
}

#[test]
fn the_latest_reading_is_by_business_time_not_by_arrival() {
    let mut s = Script::new();
    s.kpi(kpi(Direction::Increase, 100.0))
        .kpi(reading(95.0, 10))
        .kpi(reading(120.0, 5));
    let latest = s.kpi.clone().unwrap().latest().unwrap();
    assert_eq!(latest.reading.value, 95.0);
    assert_eq!(latest.status, Some(KpiStatus::AtRisk));
    // A tie on business time goes to the later recorded; the kept index equals a walk.
    s.kpi(reading(97.0, 10)).kpi(reading(80.0, 9));
    let k = s.kpi.clone().unwrap();
    assert_eq!(k.latest().unwrap().reading.value, 97.0);
    assert_eq!(k.latest(), k.latest_by_definition());
}

#[test]
fn kpi_performance_per_sprint_takes_the_last_reading_in_the_window_and_its_delta() {
    let mut s = Script::new();
    s.item('a', 1).item('b', 1);
    s.plan(S1, 1)
        .commit(S1, "a")
        .goal(S1, "a")
        .at(0)
        .start(S1)
        .at(100)
        .close(S1);
    s.plan(S2, 2)
        .commit(S2, "b")
        .goal(S2, "b")
        .at(100)
        .start(S2);
    s.kpi(kpi(Direction::Increase, 100.0))
        .kpi(reading(80.0, 10))
        .kpi(reading(90.0, 50))
        .kpi(reading(70.0, 100))
        .kpi(reading(110.0, 150));
    let perf = s.kpi.clone().unwrap().per_sprint(&s.pod, h(200));
    assert_eq!(perf.len(), 2);
    assert_eq!(perf[0].last.as_ref().unwrap().reading.value, 90.0);
    assert_eq!(perf[0].delta, None);
    let second = perf[1].last.as_ref().unwrap();
    assert_eq!(second.reading.value, 110.0);
    assert_eq!(second.attainment, Some(1.1));
    assert_eq!(perf[1].delta, Some(20.0));
}

#[test]
fn the_item_ledger_records_every_step_and_answers_who_owned_it_when() {
    let other = PersonId(id(77));
    let mut s = Script::new();
    s.at(0).item('a', 3);
    s.at(10).pod(PodEvent::DeliveryOwnerDeclared {
        item_id: item_id('a'),
        person_id: other,
        current_owner: Some(OWNER),
    });
    s.at(20).pod(PodEvent::DeliveryOwnershipAccepted {
        item_id: item_id('a'),
        person_id: other,
        previous_owner: Some(OWNER),
    });
    let ledger = &s.pod.items[&item_id('a')].ledger;
    let kinds: Vec<_> = ledger
        .iter()
        .map(|e| match e.change {
            LedgerChange::Declared { .. } => "declared",
            LedgerChange::Accepted { .. } => "accepted",
            LedgerChange::Declined { .. } => "declined",
            LedgerChange::Assigned { .. } => "assigned",
            LedgerChange::Removed { .. } => "removed",
        })
        .collect();
    assert_eq!(kinds, ["declared", "accepted", "declared", "accepted"]);
    assert!(ledger.iter().all(|e| e.actor.starts_with("member:")));
    assert_ne!(ledger[0].correlation_id, ledger[1].correlation_id);
    assert_eq!(owner_at(ledger, h(-1)), None);
    assert_eq!(owner_at(ledger, h(5)), Some(OWNER));
    assert_eq!(
        owner_at(ledger, h(15)),
        Some(OWNER),
        "declared is not yet owner"
    );
    assert_eq!(owner_at(ledger, h(20)), Some(other));
}

#[test]
fn the_pod_ledger_tracks_backlog_ownership_and_the_kpi_ledger_performance_ownership() {
    let pod = PodId(id(3));
    let (first, second) = (PersonId(id(60)), PersonId(id(61)));
    let mut s = Script::new();
    s.org(OrgEvent::PodCreated {
        pod_id: pod,
        name: "Acquisition".into(),
        focus: PodFocus::Acquisition,
    });
    for p in [first, second] {
        s.org(OrgEvent::PersonAdded {
            person_id: p,
            name: "p".into(),
            email: None,
        });
    }
    s.at(1).org(OrgEvent::PodRoleAssigned {
        pod_id: pod,
        person_id: first,
        role: PodRole::ProductOwner,
        replaced: None,
    });
    s.at(5).org(OrgEvent::PodRoleAssigned {
        pod_id: pod,
        person_id: second,
        role: PodRole::ProductOwner,
        replaced: Some(first),
    });
    s.at(9).org(OrgEvent::PodRoleRemoved {
        pod_id: pod,
        person_id: second,
        role: PodRole::ProductOwner,
    });
    let ledger = s.org.ledger(pod);
    assert_eq!(owner_at(ledger, h(2)), Some(first));
    assert_eq!(owner_at(ledger, h(6)), Some(second));
    assert_eq!(owner_at(ledger, h(10)), None);
    assert_eq!(
        s.org.state.pod_of(first),
        None,
        "the replaced PO left the pod"
    );

    s.at(0)
        .kpi(kpi(Direction::Increase, 1.0))
        .at(30)
        .kpi(KpiEvent::KpiOwnerAssigned {
            owner: second,
            previous: OWNER,
        });
    let k = s.kpi.clone().unwrap();
    assert_eq!(owner_at(&k.ledger, h(10)), Some(OWNER));
    assert_eq!(owner_at(&k.ledger, h(30)), Some(second));
}

#[test]
fn health_reports_size_capabilities_spread_insertions_and_old_blockers() {
    let pod = PodId(id(3));
    let mut s = Script::new();
    s.org(OrgEvent::PodCreated {
        pod_id: pod,
        name: "Acquisition".into(),
        focus: PodFocus::Acquisition,
    });
    for (n, role) in [PodRole::ProductOwner, PodRole::Designer, PodRole::Analyst]
        .into_iter()
        .enumerate()
    {
        let person = PersonId(id(60 + n as u128));
        s.org(OrgEvent::PersonAdded {
            person_id: person,
            name: "p".into(),
            email: None,
        });
        s.org(OrgEvent::PodRoleAssigned {
            pod_id: pod,
            person_id: person,
            role,
            replaced: None,
        });
    }
    s.item_in('a', 1, "email")
        .item_in('b', 1, "Landing page")
        .item_in('c', 1, "ad")
        .item_in('d', 1, "video");
    s.item_in('e', 1, "landing page");
    s.plan(S1, 1)
        .commit(S1, "abce")
        .goal(S1, "a")
        .at(1)
        .start(S1)
        .at(2)
        .add(S1, 'd');
    s.at(3).pod(PodEvent::BlockerRaised {
        blocker_id: BlockerId(id(5)),
        item_id: None,
        category: BlockerCategory::Tooling,
        description: "x".into(),
        raised_by: OWNER,
        at: h(3),
    });
    let pods = BTreeMap::from([(pod, s.pod.clone())]);
    let findings = health(&s.org, &pods, h(60));
    assert!(findings.contains(&Finding::PodSize { pod, members: 3 }));
    assert!(findings.contains(&Finding::CapabilityNotCovered {
        pod,
        capability: Capability::DefineMessaging
    }));
    assert!(findings.contains(&Finding::CapabilityNotCovered {
        pod,
        capability: Capability::ManageChannels
    }));
    assert!(!findings.iter().any(|f| matches!(
        f,
        Finding::CapabilityNotCovered {
            capability: Capability::ProduceVisualAssets,
            ..
        }
    )));
    // "Landing page" and "landing page" are one category: email, landing page, ad, video = 4.
    assert!(findings.contains(&Finding::OwnerSpreadThin {
        pod,
        sprint: S1,
        person: OWNER,
        categories: 4
    }));
    assert!(findings.contains(&Finding::MidSprintInsertions {
        pod,
        sprint: S1,
        insertions: 1
    }));
    assert!(findings.contains(&Finding::BlockerOpenPast48h {
        pod,
        blocker: BlockerId(id(5)),
        hours: 57
    }));
    assert!(
        !health(&s.org, &pods, h(50))
            .iter()
            .any(|f| matches!(f, Finding::BlockerOpenPast48h { .. }))
    );
}

#[test]
fn intake_requests_keep_their_requester_decision_and_the_item_they_became() {
    use podledger_domain::ids::IntakeId;
    use podledger_domain::pod::IntakeStatus;
    let (accepted, declined) = (IntakeId(id(60)), IntakeId(id(61)));
    let submit = |request_id| PodEvent::IntakeRequestSubmitted {
        request_id,
        requester: OWNER,
        title: "Webinar page".into(),
        description: None,
        output_category: "landing page".into(),
        at: h(1),
    };
    let mut s = Script::new();
    s.at(1).pod(submit(accepted)).pod(submit(declined));
    s.at(5)
        .pod(PodEvent::ItemCreated {
            item_id: item_id('w'),
            title: "Webinar page".into(),
            description: None,
            output_category: "landing page".into(),
            acceptance_criteria: None,
            estimate: None,
            parent_epic: None,
            requester: Some(OWNER),
        })
        .pod(PodEvent::IntakeRequestAccepted {
            request_id: accepted,
            item_id: item_id('w'),
            at: h(5),
        })
        .pod(PodEvent::IntakeRequestDeclined {
            request_id: declined,
            reason: "Duplicate".into(),
            at: h(6),
        });
    let requests: Vec<_> = s.pod.intake().collect();
    let [a, d] = &requests[..] else {
        panic!("two requests expected: {:?}", s.pod.intake)
    };
    assert_eq!(
        (a.status, a.history.item, a.history.decided_at),
        (IntakeStatus::Accepted, Some(item_id('w')), Some(h(5)))
    );
    assert_eq!(a.requester, OWNER);
    assert_eq!(
        (
            d.status,
            d.history.decline_reason.as_deref(),
            d.history.item
        ),
        (IntakeStatus::Declined, Some("Duplicate"), None)
    );
    assert_eq!(
        s.pod.state.backlog,
        vec![item_id('w')],
        "accepted: in the backlog"
    );
    assert_eq!(s.pod.state.items[&item_id('w')].requester, Some(OWNER));
}

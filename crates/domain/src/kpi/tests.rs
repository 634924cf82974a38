//! Given/when/then for KPIs: the PO defines them, R11 for owners and readings, R12, R13.

use crate::command::Command;
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{KpiId, PersonId, PodId};
use crate::testkit::*;

use super::{Direction, KpiCommand, KpiEvent, KpiStatus, ReportingCadence, attainment};

const KPI: KpiId = KpiId(id(4000));

fn define(owner: PersonId, target: f64) -> Command {
    define_in(POD_A, owner, target)
}

fn define_in(pod_id: PodId, owner: PersonId, target: f64) -> Command {
    Command::Kpi {
        kpi_id: KPI,
        command: KpiCommand::DefineKpi {
            pod_id,
            name: "Trial signups".into(),
            unit: "signups".into(),
            direction: Direction::Increase,
            target,
            baseline: Some(800.0),
            cadence: ReportingCadence::Weekly,
            owner,
        },
    }
}

fn reading(value: f64) -> Command {
    Command::Kpi {
        kpi_id: KPI,
        command: KpiCommand::RecordKpiReading {
            value,
            observed_at: t(30),
            source: Some("hubspot".into()),
        },
    }
}

fn defined() -> Vec<Event> {
    let mut events = acme_events();
    events.push(Event::Kpi(KpiEvent::KpiDefined {
        pod_id: POD_A,
        name: "Trial signups".into(),
        unit: "signups".into(),
        direction: Direction::Increase,
        target: 1000.0,
        baseline: None,
        cadence: ReportingCadence::Weekly,
        owner: ANALYST_A,
    }));
    events
}

#[test]
fn given_the_po_when_defining_a_kpi_with_a_pod_member_as_owner_then_it_is_defined() {
    let events = given(acme_events())
        .by(PO_A)
        .when(define(ANALYST_A, 1000.0))
        .then_ok();
    assert!(
        matches!(&events[..], [Event::Kpi(KpiEvent::KpiDefined { owner, .. })] if *owner == ANALYST_A)
    );
}

#[test]
fn given_anyone_but_the_po_when_defining_a_kpi_or_naming_its_owner_then_forbidden() {
    for person in [SM_A, ANALYST_A, ADMIN, VP, PO_B] {
        given(acme_events())
            .by(person)
            .when(define(ANALYST_A, 1000.0))
            .then_error(ErrorCode::Forbidden);
        given(defined())
            .by(person)
            .when(Command::Kpi {
                kpi_id: KPI,
                command: KpiCommand::AssignKpiOwner { owner: DESIGNER_A },
            })
            .then_error(ErrorCode::Forbidden);
    }
    given(defined())
        .by(PO_A)
        .when(Command::Kpi {
            kpi_id: KPI,
            command: KpiCommand::AssignKpiOwner { owner: DESIGNER_A },
        })
        .then(vec![Event::Kpi(KpiEvent::KpiOwnerAssigned {
            owner: DESIGNER_A,
            previous: ANALYST_A,
        })]);
}

#[test]
fn r11_given_an_owner_outside_the_pod_then_validation_names_owner() {
    given(acme_events())
        .by(PO_A)
        .when(define(WRITER_B, 1000.0))
        .then_invalid("ownerId");
    given(acme_events())
        .by(PO_A)
        .when(define(STRANGER, 1000.0))
        .then_not_found("ownerId");
}

#[test]
fn r13_given_a_bad_target_then_validation_names_target() {
    given(acme_events())
        .by(PO_A)
        .when(define(ANALYST_A, f64::NAN))
        .then_invalid("target");
    given(acme_events())
        .by(PO_A)
        .when(define(ANALYST_A, 0.0))
        .then_invalid("target");
}

#[test]
fn r11_given_a_kpi_when_its_owner_records_a_reading_then_it_is_recorded() {
    given(defined())
        .by(ANALYST_A)
        .when(reading(950.0))
        .then(vec![Event::Kpi(KpiEvent::KpiReadingRecorded {
            value: 950.0,
            observed_at: t(30),
            source: Some("hubspot".into()),
        })]);
}

#[test]
fn r13_given_an_observation_time_outside_1970_to_2100_when_recording_then_validation_names_observed_at()
 {
    let at = |t: chrono::DateTime<chrono::Utc>| Command::Kpi {
        kpi_id: KPI,
        command: KpiCommand::RecordKpiReading {
            value: 1.0,
            observed_at: t,
            source: None,
        },
    };
    let utc = |y, m, d| {
        chrono::NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
    };
    given(defined())
        .by(ANALYST_A)
        .when(at(utc(1970, 1, 1)))
        .then_ok();
    given(defined())
        .by(ANALYST_A)
        .when(at(utc(2100, 12, 31)))
        .then_ok();
    given(defined())
        .by(ANALYST_A)
        .when(at(chrono::DateTime::<chrono::Utc>::MIN_UTC))
        .then_invalid("observedAt");
    given(defined())
        .by(ANALYST_A)
        .when(at(utc(2101, 1, 1)))
        .then_invalid("observedAt");
}

#[test]
fn r11_given_a_kpi_when_a_service_token_for_its_pod_records_a_reading_then_allowed() {
    given(defined())
        .by_service(&[POD_A])
        .when(reading(950.0))
        .then_ok();
}

#[test]
fn r11_given_a_kpi_when_anyone_else_records_a_reading_then_forbidden() {
    for person in [PO_A, SM_A, DESIGNER_A, ADMIN, VP, PO_B] {
        given(defined())
            .by(person)
            .when(reading(1.0))
            .then_error(ErrorCode::Forbidden);
    }
    given(defined())
        .by_service(&[POD_B])
        .when(reading(1.0))
        .then_error(ErrorCode::Forbidden);
}

#[test]
fn r13_given_a_nan_or_infinite_reading_then_validation_names_value() {
    given(defined())
        .by(ANALYST_A)
        .when(reading(f64::NAN))
        .then_invalid("value");
    given(defined())
        .by(ANALYST_A)
        .when(reading(f64::INFINITY))
        .then_invalid("value");
}

#[test]
fn r12_given_a_stale_kpi_version_then_concurrency_conflict() {
    given(defined())
        .by(ANALYST_A)
        .expecting(0)
        .when(reading(1.0))
        .then_error(ErrorCode::ConcurrencyConflict);
    given(defined())
        .by(ANALYST_A)
        .expecting(1)
        .when(reading(1.0))
        .then_ok();
}

#[test]
fn given_an_unknown_kpi_then_not_found() {
    given(acme_events())
        .by(ANALYST_A)
        .when(reading(1.0))
        .then_not_found("kpiId");
}

#[test]
fn attainment_and_status_follow_spec_6() {
    assert_eq!(attainment(Direction::Increase, 1000.0, 950.0), Some(0.95));
    assert_eq!(attainment(Direction::Decrease, 40.0, 50.0), Some(0.8));
    assert_eq!(attainment(Direction::Decrease, 40.0, 0.0), None);
    assert_eq!(attainment(Direction::Increase, 1000.0, 0.0), Some(0.0));
    assert_eq!(KpiStatus::of(1.0), KpiStatus::OnTrack);
    assert_eq!(KpiStatus::of(0.9), KpiStatus::AtRisk);
    assert_eq!(KpiStatus::of(0.899), KpiStatus::OffTrack);
}

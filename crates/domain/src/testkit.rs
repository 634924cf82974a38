//! Given/when/then harness and a fixture organisation for the domain's tests.
#![allow(clippy::needless_pass_by_value)] // test helpers take owned values for readable call sites

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use uuid::Uuid;

use crate::command::{Command, State, decide, evolve};
use crate::context::{Actor, Context, ServiceScope};
use crate::error::{DomainError, ErrorCode};
use crate::event::Event;
use crate::ids::{ItemId, OrgId, PersonId, PodId, ServiceId, SprintId};
use crate::org::OrgEvent;
use crate::pod::{CommittedItem, PodCommand, PodEvent};
use crate::roles::{OrgRole, PodFocus, PodRole};

/// A readable fixed UUID.
pub const fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub const ORG: OrgId = OrgId(id(1));
pub const POD_A: PodId = PodId(id(10));
pub const POD_B: PodId = PodId(id(11));
pub const ADMIN: PersonId = PersonId(id(100));
pub const VP: PersonId = PersonId(id(101));
pub const STAKEHOLDER: PersonId = PersonId(id(102));
pub const PO_A: PersonId = PersonId(id(110));
pub const SM_A: PersonId = PersonId(id(111));
pub const DESIGNER_A: PersonId = PersonId(id(112));
pub const ANALYST_A: PersonId = PersonId(id(113));
pub const PO_B: PersonId = PersonId(id(120));
pub const WRITER_B: PersonId = PersonId(id(121));
pub const NEWCOMER: PersonId = PersonId(id(130));
pub const STRANGER: PersonId = PersonId(id(999));
pub const SERVICE: ServiceId = ServiceId(id(500));

pub const ITEM_A: ItemId = ItemId(id(1000));
pub const ITEM_B: ItemId = ItemId(id(1001));
pub const ITEM_C: ItemId = ItemId(id(1002));
pub const ITEM_D: ItemId = ItemId(id(1003));
pub const SPRINT_1: SprintId = SprintId(id(2001));
pub const SPRINT_2: SprintId = SprintId(id(2002));

/// 2026-01-05 09:00 UTC plus `hours`.
pub fn t(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap() + chrono::Duration::hours(hours)
}

/// A calendar day of January 2026.
pub fn jan(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, day).unwrap()
}

fn person(person_id: PersonId, name: &str) -> Event {
    Event::Org(OrgEvent::PersonAdded {
        person_id,
        name: name.into(),
        email: None,
    })
}

fn role(pod_id: PodId, person_id: PersonId, role: PodRole) -> Event {
    Event::Org(OrgEvent::PodRoleAssigned {
        pod_id,
        person_id,
        role,
        replaced: None,
    })
}

fn org_role(person_id: PersonId, role: OrgRole) -> Event {
    Event::Org(OrgEvent::OrgRoleGranted { person_id, role })
}

/// Acme: an admin, a VP, a stakeholder; pod A (PO, SM, designer, analyst) and pod B (PO, writer);
/// a newcomer with no role.
pub fn acme_events() -> Vec<Event> {
    vec![
        Event::Org(OrgEvent::OrganisationCreated {
            name: "Acme".into(),
            sprint_length_days: 14,
            at: t(0),
        }),
        person(ADMIN, "Ada Admin"),
        org_role(ADMIN, OrgRole::OrgAdmin),
        person(VP, "Vera VP"),
        org_role(VP, OrgRole::VpMarketing),
        person(STAKEHOLDER, "Sam Sales"),
        org_role(STAKEHOLDER, OrgRole::Stakeholder),
        Event::Org(OrgEvent::PodCreated {
            pod_id: POD_A,
            name: "Acquisition".into(),
            focus: PodFocus::Acquisition,
        }),
        Event::Org(OrgEvent::PodCreated {
            pod_id: POD_B,
            name: "Retention".into(),
            focus: PodFocus::Retention,
        }),
        person(PO_A, "Paula PO"),
        role(POD_A, PO_A, PodRole::ProductOwner),
        person(SM_A, "Sid SM"),
        role(POD_A, SM_A, PodRole::ScrumMaster),
        person(DESIGNER_A, "Dana Designer"),
        role(POD_A, DESIGNER_A, PodRole::Designer),
        person(ANALYST_A, "Ari Analyst"),
        role(POD_A, ANALYST_A, PodRole::Analyst),
        person(PO_B, "Pete PO"),
        role(POD_B, PO_B, PodRole::ProductOwner),
        person(WRITER_B, "Wren Writer"),
        role(POD_B, WRITER_B, PodRole::ContentStrategist),
        person(NEWCOMER, "Nico New"),
    ]
}

/// The fixture organisation's state.
pub fn acme() -> crate::org::OrgState {
    let mut state = State::default();
    for e in acme_events() {
        evolve(&mut state, &e);
    }
    state.org
}

/// An item created in the pod with an estimate and acceptance criteria (not yet owned).
pub fn item(item_id: ItemId, estimate: u32) -> Event {
    Event::Pod(PodEvent::ItemCreated {
        item_id,
        title: format!("item {estimate}"),
        description: None,
        output_category: "email".into(),
        acceptance_criteria: Some("shipped".into()),
        estimate: Some(estimate),
        parent_epic: None,
        requester: None,
    })
}

/// A READY item owned by `owner`.
pub fn ready_item(item_id: ItemId, estimate: u32, owner: PersonId) -> Vec<Event> {
    vec![
        item(item_id, estimate),
        Event::Pod(PodEvent::DeliveryOwnerDeclared {
            item_id,
            person_id: owner,
            current_owner: None,
        }),
        Event::Pod(PodEvent::DeliveryOwnershipAccepted {
            item_id,
            person_id: owner,
            previous_owner: None,
        }),
    ]
}

/// Sprint 1 planned for Jan 5–18.
pub fn planned(sprint_id: SprintId) -> Event {
    Event::Pod(PodEvent::SprintPlanned {
        sprint_id,
        number: 1,
        start_date: jan(5),
        end_date: jan(18),
    })
}

/// An item committed to a planned sprint.
pub fn committed(sprint_id: SprintId, item_id: ItemId) -> Event {
    Event::Pod(PodEvent::ItemCommitted { sprint_id, item_id })
}

/// A goal on a sprint.
pub fn goal(sprint_id: SprintId, goal_items: &[ItemId]) -> Event {
    Event::Pod(PodEvent::SprintGoalSet {
        sprint_id,
        goal: "Launch spring campaign".into(),
        goal_items: goal_items.to_vec(),
    })
}

/// The sprint started with these items and estimates.
pub fn started(sprint_id: SprintId, items: &[(ItemId, u32)]) -> Event {
    Event::Pod(PodEvent::SprintStarted {
        sprint_id,
        at: t(1),
        committed: items
            .iter()
            .map(|(item_id, estimate)| CommittedItem {
                item_id: *item_id,
                estimate: *estimate,
            })
            .collect(),
    })
}

/// Pod A with items A(3) and B(5) owned by the designer, sprint 1 planned with both
/// committed and A as goal item, then started.
pub fn active_sprint() -> Vec<Event> {
    let mut events = acme_events();
    events.extend(ready_item(ITEM_A, 3, DESIGNER_A));
    events.extend(ready_item(ITEM_B, 5, DESIGNER_A));
    events.push(planned(SPRINT_1));
    events.push(committed(SPRINT_1, ITEM_A));
    events.push(committed(SPRINT_1, ITEM_B));
    events.push(goal(SPRINT_1, &[ITEM_A]));
    events.push(started(SPRINT_1, &[(ITEM_A, 3), (ITEM_B, 5)]));
    events
}

/// A scenario: a state built from past events, an actor, a time.
pub struct Given {
    state: State,
    ctx: Context,
}

/// Starts a scenario from past events (org events and the events of one target stream).
pub fn given(events: impl IntoIterator<Item = Event>) -> Given {
    let mut state = State::default();
    for e in events {
        evolve(&mut state, &e);
    }
    Given {
        state,
        ctx: Context::new(ORG, Actor::member(ADMIN), t(2)),
    }
}

impl Given {
    /// Acts as this person.
    pub fn by(mut self, person: PersonId) -> Self {
        self.ctx.actor = Actor::member(person);
        self
    }

    /// Acts as a service token granted readings for these pods.
    pub fn by_service(mut self, pods: &[PodId]) -> Self {
        self.ctx.actor = Actor::Service {
            service: SERVICE,
            scope: ServiceScope {
                kpi_readings_for_pods: pods.iter().copied().collect(),
            },
        };
        self
    }

    /// Decides at this time.
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.ctx.now = now;
        self
    }

    /// Claims this version of the target (R12).
    pub fn expecting(mut self, version: u64) -> Self {
        self.ctx.expected_version = Some(version);
        self
    }

    /// The state so far.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Runs a command.
    pub fn when(self, command: Command) -> Then {
        let result = decide(&self.state, &command, &self.ctx);
        Then { result }
    }

    /// Runs a command on pod A.
    pub fn when_pod(self, command: PodCommand) -> Then {
        self.when(Command::Pod {
            pod_id: POD_A,
            command,
        })
    }
}

/// The outcome of a scenario.
pub struct Then {
    result: Result<Vec<Event>, DomainError>,
}

impl Then {
    /// Expects exactly these events.
    #[track_caller]
    pub fn then(self, expected: Vec<Event>) {
        match self.result {
            Ok(events) => assert_eq!(events, expected),
            Err(e) => panic!("expected events, got error {}: {e}", e.code()),
        }
    }

    /// Expects success and returns the events.
    #[track_caller]
    pub fn then_ok(self) -> Vec<Event> {
        match self.result {
            Ok(events) => events,
            Err(e) => panic!("expected success, got error {}: {e}", e.code()),
        }
    }

    /// Expects a refusal with this code and returns the error.
    #[track_caller]
    pub fn then_error(self, code: ErrorCode) -> DomainError {
        match self.result {
            Ok(events) => panic!("expected {code}, got events {events:?}"),
            Err(e) => {
                assert_eq!(e.code(), code, "wrong code; error was: {e}");
                e
            }
        }
    }

    /// Expects `VALIDATION_FAILED` naming `field`.
    #[track_caller]
    pub fn then_invalid(self, field: &str) -> DomainError {
        let e = self.then_error(ErrorCode::ValidationFailed);
        assert!(
            e.field_errors().iter().any(|f| f.field == field),
            "expected a field error on {field}, got {e}"
        );
        e
    }

    /// Expects `NOT_FOUND` naming `field`.
    #[track_caller]
    pub fn then_not_found(self, field: &str) {
        match self.then_error(ErrorCode::NotFound) {
            DomainError::NotFound { field: f, .. } => assert_eq!(f, field),
            other => panic!("unexpected {other}"),
        }
    }
}

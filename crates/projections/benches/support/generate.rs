//! The bench organisation: about `total` events of 40 pods running two-week sprints (items,
//! ownership, commitments, scope changes, status moves, blockers, an approval, a request to the
//! legal service, closes, retros whose action the next sprint implements) and weekly KPI
//! readings, appended straight to a store. Shared by the rebuild bench and the server's
//! cold-start bench (`#[path]`-included: benches cannot share a crate).

use chrono::{Days, NaiveDate, Utc};
use podledger_domain::Event;
use podledger_domain::ids::{
    ApprovalId, BlockerId, ItemId, KpiId, OrgId, PersonId, PodId, RetroActionId, ServiceRequestId,
    SharedServiceId, SprintId,
};
use podledger_domain::kpi::{Direction, KpiEvent, ReportingCadence};
use podledger_domain::org::OrgEvent;
use podledger_domain::pod::{
    BlockerCategory, CommittedItem, ItemStatus, PodEvent, RetroActionItem, RetroActionKind,
    RetroOutcome, ScopeChangeReason,
};
use podledger_domain::roles::{OrgRole, PodFocus, PodRole};
use podledger_eventstore::{EventMetadata, EventStore, ExpectedVersion, NewEvent, StreamWrite};
use uuid::Uuid;

pub const PODS: usize = 40;

fn id() -> Uuid {
    Uuid::now_v7()
}

/// The events of one sprint cycle of a pod (~125 events) and its KPI readings.
#[allow(clippy::too_many_lines)] // one realistic sprint, event by event
fn sprint_cycle(
    n: u64,
    owner: PersonId,
    items: &mut Vec<ItemId>,
    last_action: &mut Option<RetroActionId>,
) -> (Vec<PodEvent>, Vec<KpiEvent>) {
    let mut e = Vec::new();
    let fresh: Vec<ItemId> = (0..20).map(|_| ItemId(id())).collect();
    for (k, item_id) in fresh.iter().enumerate() {
        e.push(PodEvent::ItemCreated {
            item_id: *item_id,
            title: format!("Campaign asset {n}-{k}"),
            description: Some("Landing page and nurture emails for the spring launch".into()),
            output_category: ["email", "landing page", "paid social", "video"][k % 4].into(),
            acceptance_criteria: Some("Live, tracked, approved by brand".into()),
            estimate: Some((k % 8) as u32 + 1),
            parent_epic: None,
            requester: None,
        });
        e.push(PodEvent::DeliveryOwnerDeclared {
            item_id: *item_id,
            person_id: owner,
            current_owner: None,
        });
        e.push(PodEvent::DeliveryOwnershipAccepted {
            item_id: *item_id,
            person_id: owner,
            previous_owner: None,
        });
    }
    for item_id in fresh.iter().take(5) {
        e.push(PodEvent::ItemEstimated {
            item_id: *item_id,
            estimate: 5,
            previous: Some(1),
        });
        e.push(PodEvent::ItemRanked {
            item_id: *item_id,
            before: items.first().copied(),
        });
    }
    items.extend(&fresh);
    let sprint_id = SprintId(id());
    let start = NaiveDate::from_ymd_opt(2020, 1, 6).unwrap() + Days::new(14 * n);
    e.push(PodEvent::SprintPlanned {
        sprint_id,
        number: n as u32 + 1,
        start_date: start,
        end_date: start + Days::new(13),
    });
    let committed: Vec<ItemId> = fresh[..10].to_vec();
    for item_id in &committed {
        e.push(PodEvent::ItemCommitted {
            sprint_id,
            item_id: *item_id,
        });
    }
    e.push(PodEvent::SprintGoalSet {
        sprint_id,
        goal: "Spring launch".into(),
        goal_items: committed[..3].to_vec(),
    });
    e.push(PodEvent::SprintStarted {
        sprint_id,
        at: Utc::now(),
        committed: committed
            .iter()
            .map(|i| CommittedItem {
                item_id: *i,
                estimate: 5,
            })
            .collect(),
    });
    e.push(PodEvent::ItemAddedToSprint {
        sprint_id,
        item_id: fresh[10],
        reason: ScopeChangeReason::BusinessConditionsChanged,
        estimate: 3,
    });
    e.push(PodEvent::ItemRemovedFromSprint {
        sprint_id,
        item_id: committed[9],
        reason: ScopeChangeReason::TechnicallyImpossible,
        estimate: 5,
    });
    let in_sprint: Vec<ItemId> = committed[..9].iter().copied().chain([fresh[10]]).collect();
    for (k, item_id) in in_sprint.iter().enumerate() {
        e.push(PodEvent::ItemStatusChanged {
            item_id: *item_id,
            from: ItemStatus::Committed,
            to: ItemStatus::InProgress,
        });
        if k < 8 {
            e.push(PodEvent::ItemStatusChanged {
                item_id: *item_id,
                from: ItemStatus::InProgress,
                to: ItemStatus::InReview,
            });
            e.push(PodEvent::ItemStatusChanged {
                item_id: *item_id,
                from: ItemStatus::InReview,
                to: ItemStatus::Done,
            });
        }
    }
    let blocker_id = BlockerId(id());
    e.push(PodEvent::BlockerRaised {
        blocker_id,
        item_id: Some(fresh[0]),
        category: BlockerCategory::Approval,
        description: "Legal review".into(),
        raised_by: owner,
        at: Utc::now(),
    });
    e.push(PodEvent::BlockerEscalated {
        blocker_id,
        note: None,
        at: Utc::now(),
    });
    e.push(PodEvent::BlockerResolved {
        blocker_id,
        resolution: None,
        at: Utc::now(),
    });
    operating_model(&mut e, fresh[0], owner, last_action);
    e.push(PodEvent::SprintClosed {
        sprint_id,
        at: Utc::now(),
        done: in_sprint[..8].to_vec(),
        not_done: in_sprint[8..].to_vec(),
        goal_met: true,
    });
    let action_id = RetroActionId(id());
    e.push(PodEvent::RetroRecorded {
        sprint_id,
        went_well: "Shipped the goal".into(),
        friction: "Legal came late".into(),
        actions: vec![RetroActionItem {
            action_id,
            description: "Brief legal before planning".into(),
            owner,
            kind: RetroActionKind::PreSprintRule,
        }],
        at: Utc::now(),
    });
    *last_action = Some(action_id);
    items.retain(|i| !in_sprint[..8].contains(i));
    let readings = (0..4)
        .map(|k| KpiEvent::KpiReadingRecorded {
            value: 900.0 + (n * 4 + k) as f64,
            observed_at: Utc::now(),
            source: Some("hubspot".into()),
        })
        .collect();
    (e, readings)
}

/// The legal service of the bench organisation.
const LEGAL: SharedServiceId = SharedServiceId(Uuid::from_u128(1));

/// An approval rule for email and the legal service.
fn governance(admin: PersonId) -> [OrgEvent; 2] {
    [
        OrgEvent::ApprovalRuleSet {
            output_category: "email".into(),
            approver: admin,
            deadline_hours: 24,
        },
        OrgEvent::SharedServiceDefined {
            service_id: LEGAL,
            name: "Legal".into(),
            function: podledger_domain::org::ServiceFunction::Legal,
            sla: podledger_domain::org::Sla {
                window: podledger_domain::org::RequestWindow {
                    days: (1..=5).collect(),
                    opens_at_hour: 9,
                    closes_at_hour: 17,
                },
                turnaround_hours: 48,
                escalation_contact: admin,
                intake: podledger_domain::org::IntakeMethod::Ticket,
            },
        },
    ]
}

/// An approval for `item`, a request to legal delivered in time, and the previous retro's
/// action implemented.
fn operating_model(
    e: &mut Vec<PodEvent>,
    item: ItemId,
    owner: PersonId,
    last_action: &mut Option<RetroActionId>,
) {
    let approval_id = ApprovalId(id());
    let now = Utc::now();
    e.push(PodEvent::ApprovalRequested {
        approval_id,
        item_id: item,
        approver: owner,
        due_at: now + chrono::Duration::hours(24),
        at: now,
    });
    e.push(PodEvent::ApprovalDecided {
        approval_id,
        approved: true,
        reason: None,
        at: now,
    });
    let request_id = ServiceRequestId(id());
    e.push(PodEvent::ServiceRequestOpened {
        request_id,
        service_id: LEGAL,
        item_id: Some(item),
        title: "Review the claims".into(),
        description: None,
        requested_by: owner,
        at: now,
        received_at: now,
        due_at: now + chrono::Duration::hours(48),
    });
    e.push(PodEvent::ServiceRequestAccepted {
        request_id,
        by: owner,
        at: now,
    });
    e.push(PodEvent::ServiceRequestDelivered {
        request_id,
        by: owner,
        at: now,
    });
    if let Some(action_id) = last_action.take() {
        e.push(PodEvent::RetroActionResolved {
            action_id,
            outcome: RetroOutcome::Implemented,
            at: now,
        });
    }
}

fn encode(events: Vec<Event>, org: OrgId) -> Vec<NewEvent> {
    events
        .into_iter()
        .map(|event| {
            let enc = event.encode();
            NewEvent {
                event_id: id(),
                event_type: enc.event_type,
                schema_version: enc.schema_version,
                payload: enc.payload.to_string(),
                metadata: EventMetadata {
                    org_id: org.as_uuid(),
                    actor: "member:bench".into(),
                    correlation_id: id(),
                    causation_id: None,
                    occurred_at: None,
                },
            }
        })
        .collect()
}

async fn append(store: &dyn EventStore, stream: String, events: Vec<NewEvent>) {
    for chunk in events.chunks(2_000) {
        store
            .append(vec![StreamWrite {
                stream: stream.clone(),
                expected: ExpectedVersion::Any,
                events: chunk.to_vec(),
            }])
            .await
            .unwrap();
    }
}

/// Generates an organisation of about `total` events; returns it and its pods.
pub async fn generate(store: &dyn EventStore, total: u64) -> (OrgId, Vec<PodId>) {
    let org = OrgId(id());
    let admin = PersonId(id());
    let pods: Vec<PodId> = (0..PODS).map(|_| PodId(id())).collect();
    let owners: Vec<PersonId> = (0..PODS).map(|_| PersonId(id())).collect();
    let mut org_events = vec![
        OrgEvent::OrganisationCreated {
            name: "Bench".into(),
            sprint_length_days: 14,
            at: Utc::now(),
        },
        OrgEvent::PersonAdded {
            person_id: admin,
            name: "Admin".into(),
            email: None,
        },
        OrgEvent::OrgRoleGranted {
            person_id: admin,
            role: OrgRole::OrgAdmin,
        },
    ];
    org_events.extend(governance(admin));
    for (pod_id, owner) in pods.iter().zip(&owners) {
        org_events.push(OrgEvent::PodCreated {
            pod_id: *pod_id,
            name: "Pod".into(),
            focus: PodFocus::Acquisition,
        });
        org_events.push(OrgEvent::PersonAdded {
            person_id: *owner,
            name: "Owner".into(),
            email: None,
        });
        org_events.push(OrgEvent::PodRoleAssigned {
            pod_id: *pod_id,
            person_id: *owner,
            role: PodRole::ProductOwner,
            replaced: None,
        });
    }
    append(
        store,
        format!("org-{org}"),
        encode(org_events.into_iter().map(Event::Org).collect(), org),
    )
    .await;
    let kpis: Vec<KpiId> = pods.iter().map(|_| KpiId(id())).collect();
    for ((pod_id, kpi), owner) in pods.iter().zip(&kpis).zip(&owners) {
        let defined = KpiEvent::KpiDefined {
            pod_id: *pod_id,
            name: "Trial signups".into(),
            unit: "signups".into(),
            direction: Direction::Increase,
            target: 1000.0,
            baseline: None,
            cadence: ReportingCadence::Weekly,
            owner: *owner,
        };
        append(
            store,
            format!("kpi-{kpi}"),
            encode(vec![Event::Kpi(defined)], org),
        )
        .await;
    }
    let mut backlogs: Vec<Vec<ItemId>> = vec![Vec::new(); PODS];
    let mut actions: Vec<Option<RetroActionId>> = vec![None; PODS];
    let mut written = 0u64;
    let mut cycle = 0;
    while written < total {
        for p in 0..PODS {
            let (pod_events, readings) =
                sprint_cycle(cycle, owners[p], &mut backlogs[p], &mut actions[p]);
            written += (pod_events.len() + readings.len()) as u64;
            append(
                store,
                format!("pod-{}", pods[p]),
                encode(pod_events.into_iter().map(Event::Pod).collect(), org),
            )
            .await;
            append(
                store,
                format!("kpi-{}", kpis[p]),
                encode(readings.into_iter().map(Event::Kpi).collect(), org),
            )
            .await;
        }
        cycle += 1;
    }
    (org, pods)
}

/// Grows one pod of an existing organisation: sprint cycles appended to pod `pod`'s stream
/// until about `events` more are there (owned by `owner`, with the approval rule and the
/// legal service of [`governance`] added to the organisation's stream once, by `admin`), and
/// `readings` weekly-cadence readings appended to KPI `kpi`. Returns the events appended to the
/// pod stream.
#[allow(clippy::too_many_arguments)] // the bench says exactly what it grows
#[allow(dead_code)] // the server's history bench grows one pod
pub async fn grow_pod(
    store: &dyn EventStore,
    org: OrgId,
    admin: PersonId,
    pod: PodId,
    owner: PersonId,
    events: u64,
    kpi: KpiId,
    readings: u64,
) -> u64 {
    append(
        store,
        format!("org-{org}"),
        encode(governance(admin).into_iter().map(Event::Org).collect(), org),
    )
    .await;
    let (mut backlog, mut action, mut written, mut cycle) = (Vec::new(), None, 0u64, 0u64);
    let mut batch = Vec::new();
    while written < events {
        let (pod_events, _) = sprint_cycle(cycle, owner, &mut backlog, &mut action);
        written += pod_events.len() as u64;
        batch.extend(pod_events.into_iter().map(Event::Pod));
        cycle += 1;
        if batch.len() >= 20_000 || written >= events {
            append(
                store,
                format!("pod-{pod}"),
                encode(std::mem::take(&mut batch), org),
            )
            .await;
        }
    }
    let mut batch = Vec::new();
    for k in 0..readings {
        batch.push(Event::Kpi(KpiEvent::KpiReadingRecorded {
            value: 900.0 + (k % 400) as f64,
            observed_at: Utc::now(),
            source: Some("hubspot".into()),
        }));
        if batch.len() >= 20_000 || k + 1 == readings {
            append(
                store,
                format!("kpi-{kpi}"),
                encode(std::mem::take(&mut batch), org),
            )
            .await;
        }
    }
    written
}

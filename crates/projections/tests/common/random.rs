//! Random commands for property tests: a small xorshift generator and one random command of
//! any kind, tried by a plausible (or deliberately wrong) person.

use chrono::{Days, NaiveDate, Utc};
use podledger_domain::Command;
use podledger_domain::ids::{
    ApprovalId, BlockerId, IntakeId, ItemId, KpiId, PersonId, RetroActionId, ServiceRequestId,
    SprintId,
};
use podledger_domain::kpi::{Direction, KpiCommand, ReportingCadence};
use podledger_domain::pod::{
    BlockerCategory, ItemStatus, PodCommand, RetroActionItem, RetroActionKind, RetroOutcome,
    ScopeChangeReason, SprintStatus, WorkStatus,
};
use podledger_projections::pod_view::PodView;

use super::{World, new_id};

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        (!items.is_empty()).then(|| items[self.below(items.len())])
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

pub struct Known {
    pub items: Vec<ItemId>,
    pub sprints: Vec<SprintId>,
    pub blockers: Vec<BlockerId>,
    pub intake: Vec<IntakeId>,
    pub kpi: KpiId,
    pub retro_actions: Vec<RetroActionId>,
    pub approvals: Vec<ApprovalId>,
    pub service_requests: Vec<ServiceRequestId>,
}

impl Known {
    /// Nothing known yet, and the id the first KPI will get.
    pub fn new() -> Self {
        Self {
            items: Vec::new(),
            sprints: Vec::new(),
            blockers: Vec::new(),
            intake: Vec::new(),
            kpi: KpiId(new_id()),
            retro_actions: Vec::new(),
            approvals: Vec::new(),
            service_requests: Vec::new(),
        }
    }
}

pub fn reason(rng: &mut Rng) -> Option<ScopeChangeReason> {
    match rng.below(4) {
        0 => None,
        1 => Some(ScopeChangeReason::TechnicallyImpossible),
        2 => Some(ScopeChangeReason::BusinessConditionsChanged),
        _ => Some(ScopeChangeReason::Other("legal".into())),
    }
}

/// One random command and who tries it.
#[allow(clippy::too_many_lines)] // one arm per command kind
pub fn random_command(
    rng: &mut Rng,
    w: &World,
    k: &mut Known,
    view: &PodView,
) -> (PersonId, Command) {
    let item = rng.pick(&k.items).unwrap_or(ItemId(new_id()));
    let sprint = rng.pick(&k.sprints).unwrap_or(SprintId(new_id()));
    // Mostly sensible targets, read from the live view, so that sprints do run and close.
    let sensible = rng.chance(85);
    let active = view.sprints().find(|s| s.status == SprintStatus::Active);
    let planned = view.sprints().find(|s| s.status == SprintStatus::Planned);
    let pending: Vec<(ItemId, PersonId)> = view
        .items()
        .filter_map(|i| i.pending_owner.map(|p| (i.id, p)))
        .collect();
    let ready: Vec<ItemId> = view
        .items()
        .filter(|i| i.status == ItemStatus::New && i.owner.is_some())
        .map(|i| i.id)
        .collect();
    let person = [w.po, w.sm, w.owner][rng.below(3)];
    let pod = |command| Command::Pod {
        pod_id: w.pod,
        command,
    };
    match rng.below(23) {
        0 if rng.chance(40) => match (rng.below(3), rng.pick(&k.intake)) {
            (0, Some(request_id)) => {
                let item_id = ItemId(new_id());
                k.items.push(item_id);
                (
                    w.po,
                    pod(PodCommand::AcceptIntakeRequest {
                        request_id,
                        item_id,
                    }),
                )
            }
            (1, Some(request_id)) => (
                w.po,
                pod(PodCommand::DeclineIntakeRequest {
                    request_id,
                    reason: "not now".into(),
                }),
            ),
            _ => {
                let request_id = IntakeId(new_id());
                k.intake.push(request_id);
                (
                    person,
                    pod(PodCommand::SubmitIntakeRequest {
                        request_id,
                        title: "asked".into(),
                        description: None,
                        output_category: "page".into(),
                    }),
                )
            }
        },
        0..=2 => {
            let item_id = ItemId(new_id());
            k.items.push(item_id);
            (
                w.po,
                pod(PodCommand::CreateItem {
                    item_id,
                    title: "t".into(),
                    description: None,
                    output_category: ["email", "ad", "video", "page"][rng.below(4)].into(),
                    acceptance_criteria: rng.chance(85).then(|| "ok".into()),
                    estimate: rng.chance(90).then(|| rng.below(14) as i64),
                    parent_epic: None,
                    requester: None,
                }),
            )
        }
        4 => (
            w.po,
            pod(PodCommand::RankItem {
                item_id: item,
                before: rng.pick(&k.items).filter(|_| rng.chance(70)),
            }),
        ),
        5 if rng.chance(25) => (
            w.po,
            pod(PodCommand::DropItem {
                item_id: item,
                reason: reason(rng),
            }),
        ),
        5 => (
            w.po,
            pod(PodCommand::EstimateItem {
                item_id: item,
                estimate: rng.below(14) as i64,
            }),
        ),
        6 | 7 => (
            w.po,
            pod(PodCommand::DeclareDeliveryOwner {
                item_id: item,
                person_id: if rng.chance(80) { w.owner } else { w.sm },
            }),
        ),
        8 | 9 => match rng.pick(&pending).filter(|_| sensible) {
            Some((item_id, named)) => (named, pod(PodCommand::AcceptDeliveryOwnership { item_id })),
            None => (
                person,
                pod(PodCommand::AcceptDeliveryOwnership { item_id: item }),
            ),
        },
        10 => (
            person,
            pod(PodCommand::DeclineDeliveryOwnership {
                item_id: item,
                reason: None,
            }),
        ),
        11 | 12 => (
            w.owner,
            pod(PodCommand::MoveItem {
                item_id: active
                    .and_then(|s| rng.pick(&s.items))
                    .filter(|_| sensible)
                    .unwrap_or(item),
                status: [
                    WorkStatus::Committed,
                    WorkStatus::InProgress,
                    WorkStatus::InReview,
                    WorkStatus::Done,
                ][rng.below(4)],
            }),
        ),
        13 => {
            let sprint_id = SprintId(new_id());
            let start = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()
                + Days::new(14 * k.sprints.len() as u64);
            k.sprints.push(sprint_id);
            (
                w.po,
                pod(PodCommand::PlanSprint {
                    sprint_id,
                    start_date: start,
                    end_date: None,
                }),
            )
        }
        14 => (
            w.po,
            pod(if rng.chance(70) {
                let target = planned
                    .or(active)
                    .map(|s| s.id)
                    .filter(|_| sensible)
                    .unwrap_or(sprint);
                let item_id = rng.pick(&ready).filter(|_| sensible).unwrap_or(item);
                PodCommand::CommitItem {
                    sprint_id: target,
                    item_id,
                    reason: reason(rng),
                }
            } else {
                PodCommand::RemoveItemFromSprint {
                    sprint_id: sprint,
                    item_id: item,
                    reason: reason(rng),
                }
            }),
        ),
        15 => {
            let target = planned.filter(|_| sensible);
            let pool = target.map_or(k.items.as_slice(), |s| s.record.items.as_slice());
            let mut goal_items: Vec<ItemId> =
                (0..=rng.below(2)).filter_map(|_| rng.pick(pool)).collect();
            goal_items.dedup();
            let sprint_id = target.map_or(sprint, |s| s.id);
            (
                w.po,
                pod(PodCommand::SetSprintGoal {
                    sprint_id,
                    goal: "g".into(),
                    goal_items,
                }),
            )
        }
        16 => {
            if rng.chance(50) {
                let sprint_id = planned.map(|s| s.id).filter(|_| sensible).unwrap_or(sprint);
                (w.po, pod(PodCommand::StartSprint { sprint_id }))
            } else {
                let sprint_id = active.map(|s| s.id).filter(|_| sensible).unwrap_or(sprint);
                (
                    if sensible { w.sm } else { w.po },
                    pod(PodCommand::CloseSprint { sprint_id }),
                )
            }
        }
        17 => {
            let blocker = rng.pick(&k.blockers);
            match (rng.below(3), blocker) {
                (0, Some(blocker_id)) => (
                    w.sm,
                    pod(PodCommand::EscalateBlocker {
                        blocker_id,
                        note: None,
                    }),
                ),
                (1, Some(blocker_id)) => (
                    w.sm,
                    pod(PodCommand::ResolveBlocker {
                        blocker_id,
                        resolution: None,
                    }),
                ),
                _ => {
                    let blocker_id = BlockerId(new_id());
                    k.blockers.push(blocker_id);
                    (
                        w.owner,
                        pod(PodCommand::RaiseBlocker {
                            blocker_id,
                            item_id: rng.pick(&k.items).filter(|_| rng.chance(50)),
                            category: BlockerCategory::Tooling,
                            description: "stuck".into(),
                        }),
                    )
                }
            }
        }
        // The operating model (SPEC §9): retros, approvals, requests to the shared service.
        19 => {
            let closed = view
                .sprints()
                .find(|s| {
                    s.status == SprintStatus::Closed && !view.state.retros.contains_key(&s.id)
                })
                .map(|s| s.id);
            let action_id = RetroActionId(new_id());
            k.retro_actions.push(action_id);
            (
                if sensible { w.sm } else { w.owner },
                pod(PodCommand::RecordRetro {
                    sprint_id: closed.filter(|_| sensible).unwrap_or(sprint),
                    went_well: "w".into(),
                    friction: "f".into(),
                    actions: vec![RetroActionItem {
                        action_id,
                        description: "change".into(),
                        owner: w.owner,
                        kind: RetroActionKind::Handoff,
                    }],
                }),
            )
        }
        20 => (
            if sensible { w.owner } else { w.po },
            pod(PodCommand::ResolveRetroAction {
                action_id: rng
                    .pick(&k.retro_actions)
                    .unwrap_or(RetroActionId(new_id())),
                outcome: if rng.chance(70) {
                    RetroOutcome::Implemented
                } else {
                    RetroOutcome::Dropped("no time".into())
                },
            }),
        ),
        21 => {
            let pending = view
                .state
                .approvals
                .iter()
                .find(|(_, a)| a.decision.is_none())
                .map(|(id, _)| *id);
            if let Some(approval_id) = pending.filter(|_| rng.chance(60)) {
                (
                    w.admin,
                    pod(PodCommand::DecideApproval {
                        approval_id,
                        approved: rng.chance(80),
                        reason: Some("checked".into()),
                    }),
                )
            } else {
                let in_review = view
                    .items()
                    .find(|i| {
                        i.status == ItemStatus::InReview
                            && matches!(i.output_category.as_str(), "video" | "ad")
                    })
                    .and_then(|i| Some((i.id, i.owner?)))
                    .filter(|_| sensible);
                let approval_id = ApprovalId(new_id());
                k.approvals.push(approval_id);
                (
                    in_review.map_or(w.owner, |(_, owner)| owner),
                    pod(PodCommand::RequestApproval {
                        approval_id,
                        item_id: in_review.map_or(item, |(id, _)| id),
                    }),
                )
            }
        }
        22 => {
            let request = rng.pick(&k.service_requests);
            match (rng.below(6), request) {
                (0, Some(request_id)) => (
                    w.admin,
                    pod(PodCommand::AcceptServiceRequest { request_id }),
                ),
                (1, Some(request_id)) => (
                    w.admin,
                    pod(PodCommand::DeliverServiceRequest { request_id }),
                ),
                (2, Some(request_id)) => (
                    w.admin,
                    pod(PodCommand::RejectServiceRequest {
                        request_id,
                        reason: "out of scope".into(),
                    }),
                ),
                (3, Some(request_id)) => {
                    (w.po, pod(PodCommand::CancelServiceRequest { request_id }))
                }
                (4, Some(request_id)) => (
                    w.sm,
                    pod(PodCommand::EscalateServiceRequest {
                        request_id,
                        note: None,
                    }),
                ),
                _ => {
                    let request_id = ServiceRequestId(new_id());
                    k.service_requests.push(request_id);
                    (
                        if sensible { w.po } else { w.sm },
                        pod(PodCommand::OpenServiceRequest {
                            request_id,
                            service_id: w.legal(),
                            item_id: rng.pick(&k.items).filter(|_| rng.chance(30)),
                            title: "review".into(),
                            description: None,
                        }),
                    )
                }
            }
        }
        _ => {
            let command = if rng.chance(20) {
                KpiCommand::DefineKpi {
                    pod_id: w.pod,
                    name: "Signups".into(),
                    unit: "n".into(),
                    direction: if rng.chance(50) {
                        Direction::Increase
                    } else {
                        Direction::Decrease
                    },
                    target: 100.0,
                    baseline: None,
                    cadence: ReportingCadence::Weekly,
                    owner: w.owner,
                }
            } else {
                KpiCommand::RecordKpiReading {
                    value: rng.below(200) as f64,
                    observed_at: Utc::now(),
                    source: None,
                }
            };
            (
                if rng.chance(80) { w.owner } else { w.po },
                Command::Kpi {
                    kpi_id: k.kpi,
                    command,
                },
            )
        }
    }
}

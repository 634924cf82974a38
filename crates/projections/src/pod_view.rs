//! The pod read model: items with their history, the backlog in rank order, every sprint with
//! what its metrics need (t0 estimates, scope changes, re-estimates, the state at t1), blockers,
//! and the delivery-ownership ledger. A pure fold over the pod stream.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, NaiveDate, Utc};
use podledger_domain::ids::{BlockerId, IntakeId, ItemId, PersonId, SprintId};
use podledger_domain::pod::{
    BlockerCategory, IntakeStatus, ItemStatus, PodEvent, ScopeChangeReason, SprintStatus,
};
use serde::{Deserialize, Serialize};

use crate::envelope::Meta;
use crate::ledger::{LedgerChange, LedgerEntry};

/// A backlog item as people see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemView {
    /// Id.
    pub id: ItemId,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Output category.
    pub output_category: String,
    /// Acceptance criteria.
    pub acceptance_criteria: Option<String>,
    /// Story points.
    pub estimate: Option<u32>,
    /// Stored status (READY is derived with the organisation, see `OrgView`).
    pub status: ItemStatus,
    /// Accepted delivery owner.
    pub owner: Option<PersonId>,
    /// Declared, not yet answered.
    pub pending_owner: Option<PersonId>,
    /// Current (or, when DONE, last) sprint.
    pub sprint: Option<SprintId>,
    /// Parent epic.
    pub parent_epic: Option<ItemId>,
    /// Requester.
    pub requester: Option<PersonId>,
    /// When created.
    #[serde(with = "crate::stamp")]
    pub created_at: DateTime<Utc>,
    /// Status changes over time (for "open at time T").
    #[serde(with = "crate::stamp::log")]
    pub status_log: Vec<(DateTime<Utc>, ItemStatus)>,
    /// When it was re-ranked.
    #[serde(with = "crate::stamp::list")]
    pub ranked_at: Vec<DateTime<Utc>>,
    /// Delivery-ownership ledger of this item.
    pub ledger: Vec<LedgerEntry>,
    /// Pod stream version of its last change (for R12).
    pub version: u64,
}

impl ItemView {
    /// The status at time `at` (`None` before creation).
    pub fn status_at(&self, at: DateTime<Utc>) -> Option<ItemStatus> {
        self.status_log
            .iter()
            .take_while(|(t, _)| *t <= at)
            .last()
            .map(|(_, s)| *s)
    }

    /// Open (neither DONE nor DROPPED) just before `at`: changes at exactly `at` belong to
    /// whatever starts at `at`.
    pub fn open_before(&self, at: DateTime<Utc>) -> bool {
        let status = self
            .status_log
            .iter()
            .take_while(|(t, _)| *t < at)
            .last()
            .map(|(_, s)| *s);
        matches!(status, Some(s) if s != ItemStatus::Done && s != ItemStatus::Dropped)
    }
}

/// A scope change after start (R8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeChange {
    /// The item.
    pub item: ItemId,
    /// Its estimate at that moment.
    pub estimate: u32,
    /// Why.
    pub reason: ScopeChangeReason,
    /// When.
    #[serde(with = "crate::stamp")]
    pub at: DateTime<Utc>,
}

/// The state of a sprint when it closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Closing {
    /// D with their estimates at completion.
    pub done: Vec<(ItemId, u32)>,
    /// I1 \ D with their estimates at t1.
    pub not_done: Vec<(ItemId, u32)>,
    /// Every goal item DONE.
    pub goal_met: bool,
}

/// The sprint's points at the end of one day (SPEC §6 `burndown`): the last change of that day
/// wins; a day without a change carries the previous day's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BurndownSample {
    /// The day (UTC) of the change.
    pub date: NaiveDate,
    /// Σ current estimate of the sprint's items that are not DONE.
    pub remaining: u32,
    /// Σ current estimate of all the sprint's items.
    pub scope: u32,
}

/// A sprint with what its metrics need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SprintView {
    /// Id.
    pub id: SprintId,
    /// Number within the pod.
    pub number: u32,
    /// First day.
    pub start_date: NaiveDate,
    /// Last day (inclusive).
    pub end_date: NaiveDate,
    /// Goal.
    pub goal: Option<String>,
    /// Goal items.
    pub goal_items: Vec<ItemId>,
    /// Status.
    pub status: SprintStatus,
    /// Items in the sprint now.
    pub items: Vec<ItemId>,
    /// t0.
    #[serde(with = "crate::stamp::option")]
    pub started_at: Option<DateTime<Utc>>,
    /// t1.
    #[serde(with = "crate::stamp::option")]
    pub closed_at: Option<DateTime<Utc>>,
    /// C with estimates at t0.
    pub committed: Vec<(ItemId, u32)>,
    /// A.
    pub added: Vec<ScopeChange>,
    /// R.
    pub removed: Vec<ScopeChange>,
    /// Σ |Δestimate| of re-estimates of items in the sprint after t0.
    pub reestimate_churn: u32,
    /// The state at t1.
    pub closing: Option<Closing>,
    /// Blockers escalated while the sprint was active.
    pub escalations: u32,
    /// Its points day by day, one sample per day that changed them (in date order), from
    /// the first commitment until it closed: the burndown, kept as the events arrive so a
    /// read never replays the log.
    pub burndown: Vec<BurndownSample>,
    /// Pod stream version of its last change.
    pub version: u64,
}

/// A blocker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockerView {
    /// Id.
    pub id: BlockerId,
    /// Blocked item.
    pub item: Option<ItemId>,
    /// Category.
    pub category: BlockerCategory,
    /// What blocks.
    pub description: String,
    /// Who raised it.
    pub raised_by: PersonId,
    /// Raised at.
    #[serde(with = "crate::stamp")]
    pub raised_at: DateTime<Utc>,
    /// Escalated at.
    #[serde(with = "crate::stamp::option")]
    pub escalated_at: Option<DateTime<Utc>>,
    /// Resolved at.
    #[serde(with = "crate::stamp::option")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Resolution.
    pub resolution: Option<String>,
}

/// A request submitted to the pod's intake.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntakeView {
    /// Id.
    pub id: IntakeId,
    /// Who asked.
    pub requester: PersonId,
    /// What is asked for.
    pub title: String,
    /// Context.
    pub description: Option<String>,
    /// Output category.
    pub output_category: String,
    /// Submitted at.
    #[serde(with = "crate::stamp")]
    pub submitted_at: DateTime<Utc>,
    /// Where it stands.
    pub status: IntakeStatus,
    /// The backlog item it became, once accepted.
    pub item: Option<ItemId>,
    /// Accepted or declined at.
    #[serde(with = "crate::stamp::option")]
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was declined.
    pub decline_reason: Option<String>,
    /// Pod stream version of its last change.
    pub version: u64,
}

/// Everything about one pod's work.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodView {
    /// Global position of the last event applied.
    pub position: u64,
    /// Pod stream version.
    pub version: u64,
    /// Items by id.
    pub items: BTreeMap<ItemId, ItemView>,
    /// Open items in rank order.
    /// (A deque: re-ranking usually moves an item to the top, which a `Vec` pays for by
    /// shifting the whole backlog.)
    pub backlog: VecDeque<ItemId>,
    /// Sprints in plan order.
    pub sprints: Vec<SprintView>,
    /// Blockers in raise order.
    pub blockers: Vec<BlockerView>,
    /// Intake requests in submission order.
    #[serde(default)]
    pub intake: Vec<IntakeView>,
}

impl PodView {
    /// The sprint with this id.
    pub fn sprint(&self, id: SprintId) -> Option<&SprintView> {
        // Searched from the end: the sprint asked for is nearly always one of the last.
        self.sprints.iter().rev().find(|s| s.id == id)
    }

    /// The ACTIVE sprint, or else the next PLANNED one.
    pub fn current_sprint(&self) -> Option<&SprintView> {
        // At most one sprint is ACTIVE, nearly always one of the last.
        self.sprints
            .iter()
            .rev()
            .find(|s| s.status == SprintStatus::Active)
            .or_else(|| {
                self.sprints
                    .iter()
                    .find(|s| s.status == SprintStatus::Planned)
            })
    }

    fn active_mut(&mut self) -> Option<&mut SprintView> {
        self.sprints
            .iter_mut()
            .rev()
            .find(|s| s.status == SprintStatus::Active)
    }

    fn sprint_mut(&mut self, id: SprintId, version: u64) -> Option<&mut SprintView> {
        let sprint = self.sprints.iter_mut().rev().find(|s| s.id == id)?;
        sprint.version = version;
        Some(sprint)
    }

    /// Takes an item out of the backlog (it is there at most once).
    fn unrank(&mut self, id: ItemId) {
        if let Some(index) = self.backlog.iter().position(|b| *b == id) {
            self.backlog.remove(index);
        }
    }

    fn item_mut(&mut self, id: ItemId, version: u64) -> Option<&mut ItemView> {
        let item = self.items.get_mut(&id)?;
        item.version = version;
        Some(item)
    }

    fn set_status(&mut self, id: ItemId, status: ItemStatus, at: DateTime<Utc>, version: u64) {
        if let Some(item) = self.item_mut(id, version) {
            item.status = status;
            item.status_log.push((at, status));
        }
    }

    /// Folds one pod event.
    pub fn apply(&mut self, meta: &Meta, event: PodEvent) {
        let sprint = self.burndown_sprint(&event);
        let closes = matches!(event, PodEvent::SprintClosed { .. });
        self.fold(meta, event);
        if let Some(sprint) = sprint {
            self.sample_burndown(sprint, meta.occurred_at.date_naive(), closes);
        }
    }

    /// The sprint whose points `event` may change: the sprint it names, or the sprint of the
    /// item whose estimate or status it changes.
    fn burndown_sprint(&self, event: &PodEvent) -> Option<SprintId> {
        match event {
            PodEvent::ItemCommitted { sprint_id, .. }
            | PodEvent::ItemUncommitted { sprint_id, .. }
            | PodEvent::SprintStarted { sprint_id, .. }
            | PodEvent::ItemAddedToSprint { sprint_id, .. }
            | PodEvent::ItemRemovedFromSprint { sprint_id, .. }
            | PodEvent::SprintClosed { sprint_id, .. } => Some(*sprint_id),
            PodEvent::ItemEstimated { item_id, .. }
            | PodEvent::ItemStatusChanged { item_id, .. }
            | PodEvent::ItemDropped { item_id } => self.items.get(item_id)?.sprint,
            _ => None,
        }
    }

    /// Records `sprint`'s points at the end of `date` so far (nothing once it has closed, but
    /// for its closing itself: `closes`).
    fn sample_burndown(&mut self, sprint: SprintId, date: NaiveDate, closes: bool) {
        let Some(index) = self.sprints.iter().rposition(|s| s.id == sprint) else {
            return;
        };
        let view = &self.sprints[index];
        if view.status == SprintStatus::Closed && !closes {
            return;
        }
        let ids = match &view.closing {
            Some(c) => c
                .done
                .iter()
                .chain(&c.not_done)
                .map(|(id, _)| *id)
                .collect(),
            None => view.items.clone(),
        };
        let (mut remaining, mut scope) = (0, 0);
        for id in ids {
            if let Some(item) = self.items.get(&id) {
                let points = item.estimate.unwrap_or(0);
                scope += points;
                if item.status != ItemStatus::Done {
                    remaining += points;
                }
            }
        }
        let samples = &mut self.sprints[index].burndown;
        match samples.last_mut() {
            // Business times only move forward in a stream; a late one joins the last day.
            Some(last) if last.date >= date => {
                last.remaining = remaining;
                last.scope = scope;
            }
            _ => samples.push(BurndownSample {
                date,
                remaining,
                scope,
            }),
        }
    }

    #[allow(clippy::too_many_lines)] // one arm per event type reads best as one match
    fn fold(&mut self, meta: &Meta, event: PodEvent) {
        self.position = meta.position;
        self.version = meta.stream_version;
        let (at, version) = (meta.occurred_at, meta.stream_version);
        match event {
            PodEvent::ItemCreated {
                item_id,
                title,
                description,
                output_category,
                acceptance_criteria,
                estimate,
                parent_epic,
                requester,
            } => {
                self.items.insert(
                    item_id,
                    ItemView {
                        id: item_id,
                        title,
                        description,
                        output_category,
                        acceptance_criteria,
                        estimate,
                        status: ItemStatus::New,
                        owner: None,
                        pending_owner: None,
                        sprint: None,
                        parent_epic,
                        requester,
                        created_at: at,
                        // Room for the usual life of an item (new, committed, in progress,
                        // in review, done; declared and accepted), allocated once: growing
                        // these a push at a time reallocates and leaves spare capacity in
                        // every item.
                        status_log: {
                            let mut log = Vec::with_capacity(6);
                            log.push((at, ItemStatus::New));
                            log
                        },
                        ranked_at: Vec::new(),
                        ledger: Vec::with_capacity(2),
                        version,
                    },
                );
                self.backlog.push_back(item_id);
            }
            PodEvent::ItemEdited {
                item_id,
                title,
                description,
                output_category,
                acceptance_criteria,
            } => {
                if let Some(item) = self.item_mut(item_id, version) {
                    if let Some(v) = title {
                        item.title = v;
                    }
                    if let Some(v) = description {
                        item.description = Some(v);
                    }
                    if let Some(v) = output_category {
                        item.output_category = v;
                    }
                    if let Some(v) = acceptance_criteria {
                        item.acceptance_criteria = Some(v);
                    }
                }
            }
            PodEvent::ItemEstimated {
                item_id,
                estimate,
                previous,
            } => {
                let sprint = self.item_mut(item_id, version).and_then(|item| {
                    item.estimate = Some(estimate);
                    item.sprint
                });
                let delta = estimate.abs_diff(previous.unwrap_or(0));
                if let Some(active) = self.active_mut()
                    && sprint == Some(active.id)
                {
                    active.reestimate_churn += delta;
                }
            }
            PodEvent::ItemRanked { item_id, before } => {
                if let Some(item) = self.item_mut(item_id, version) {
                    item.ranked_at.push(at);
                }
                self.unrank(item_id);
                let index = before
                    .and_then(|b| self.backlog.iter().position(|id| *id == b))
                    .unwrap_or(self.backlog.len());
                self.backlog.insert(index, item_id);
            }
            PodEvent::ItemDropped { item_id } => {
                self.set_status(item_id, ItemStatus::Dropped, at, version);
                if let Some(item) = self.item_mut(item_id, version) {
                    item.sprint = None;
                }
                self.unrank(item_id);
            }
            PodEvent::DeliveryOwnerDeclared {
                item_id,
                person_id,
                current_owner,
            } => {
                if let Some(item) = self.item_mut(item_id, version) {
                    item.pending_owner = Some(person_id);
                    item.ledger.push(LedgerEntry::new(
                        LedgerChange::Declared {
                            person: person_id,
                            current_owner,
                        },
                        meta,
                    ));
                }
            }
            PodEvent::DeliveryOwnershipAccepted {
                item_id,
                person_id,
                previous_owner,
            } => {
                if let Some(item) = self.item_mut(item_id, version) {
                    item.owner = Some(person_id);
                    item.pending_owner = None;
                    item.ledger.push(LedgerEntry::new(
                        LedgerChange::Accepted {
                            person: person_id,
                            previous_owner,
                        },
                        meta,
                    ));
                }
            }
            PodEvent::DeliveryOwnershipDeclined {
                item_id,
                person_id,
                reason,
            } => {
                if let Some(item) = self.item_mut(item_id, version) {
                    item.pending_owner = None;
                    item.ledger.push(LedgerEntry::new(
                        LedgerChange::Declined {
                            person: person_id,
                            reason,
                        },
                        meta,
                    ));
                }
            }
            PodEvent::ItemStatusChanged { item_id, to, .. } => {
                self.set_status(item_id, to, at, version);
            }
            PodEvent::SprintPlanned {
                sprint_id,
                number,
                start_date,
                end_date,
            } => self.sprints.push(SprintView {
                id: sprint_id,
                number,
                start_date,
                end_date,
                goal: None,
                goal_items: Vec::new(),
                status: SprintStatus::Planned,
                items: Vec::new(),
                started_at: None,
                closed_at: None,
                committed: Vec::new(),
                added: Vec::new(),
                removed: Vec::new(),
                reestimate_churn: 0,
                closing: None,
                escalations: 0,
                burndown: Vec::new(),
                version,
            }),
            PodEvent::SprintDatesChanged {
                sprint_id,
                start_date,
                end_date,
            } => {
                if let Some(s) = self.sprint_mut(sprint_id, version) {
                    s.start_date = start_date;
                    s.end_date = end_date;
                }
            }
            PodEvent::SprintGoalSet {
                sprint_id,
                goal,
                goal_items,
            } => {
                if let Some(s) = self.sprint_mut(sprint_id, version) {
                    s.goal = Some(goal);
                    s.goal_items = goal_items;
                }
            }
            PodEvent::ItemCommitted { sprint_id, item_id } => {
                if let Some(s) = self.sprint_mut(sprint_id, version) {
                    s.items.push(item_id);
                }
                self.set_status(item_id, ItemStatus::Committed, at, version);
                if let Some(item) = self.item_mut(item_id, version) {
                    item.sprint = Some(sprint_id);
                }
            }
            PodEvent::ItemUncommitted { sprint_id, item_id } => {
                if let Some(s) = self.sprint_mut(sprint_id, version) {
                    s.items.retain(|id| *id != item_id);
                }
                self.set_status(item_id, ItemStatus::New, at, version);
                if let Some(item) = self.item_mut(item_id, version) {
                    item.sprint = None;
                }
            }
            PodEvent::SprintStarted {
                sprint_id,
                at: started,
                committed,
            } => {
                if let Some(s) = self.sprint_mut(sprint_id, version) {
                    s.status = SprintStatus::Active;
                    s.started_at = Some(started);
                    s.committed = committed.iter().map(|c| (c.item_id, c.estimate)).collect();
                }
            }
            PodEvent::ItemAddedToSprint {
                sprint_id,
                item_id,
                reason,
                estimate,
            } => {
                if let Some(s) = self.sprint_mut(sprint_id, version) {
                    s.items.push(item_id);
                    s.added.push(ScopeChange {
                        item: item_id,
                        estimate,
                        reason,
                        at,
                    });
                }
                self.set_status(item_id, ItemStatus::Committed, at, version);
                if let Some(item) = self.item_mut(item_id, version) {
                    item.sprint = Some(sprint_id);
                }
            }
            PodEvent::ItemRemovedFromSprint {
                sprint_id,
                item_id,
                reason,
                estimate,
            } => {
                if let Some(s) = self.sprint_mut(sprint_id, version) {
                    s.items.retain(|id| *id != item_id);
                    s.removed.push(ScopeChange {
                        item: item_id,
                        estimate,
                        reason,
                        at,
                    });
                }
                self.set_status(item_id, ItemStatus::New, at, version);
                if let Some(item) = self.item_mut(item_id, version) {
                    item.sprint = None;
                }
            }
            PodEvent::SprintClosed {
                sprint_id,
                at: closed,
                done,
                not_done,
                goal_met,
            } => {
                let estimate =
                    |id: &ItemId| self.items.get(id).and_then(|i| i.estimate).unwrap_or(0);
                let closing = Closing {
                    done: done.iter().map(|id| (*id, estimate(id))).collect(),
                    not_done: not_done.iter().map(|id| (*id, estimate(id))).collect(),
                    goal_met,
                };
                if let Some(s) = self.sprint_mut(sprint_id, version) {
                    s.status = SprintStatus::Closed;
                    s.closed_at = Some(closed);
                    s.closing = Some(closing);
                }
                for id in not_done {
                    self.set_status(id, ItemStatus::New, at, version);
                    if let Some(item) = self.item_mut(id, version) {
                        item.sprint = None;
                    }
                }
                for id in &done {
                    self.item_mut(*id, version);
                }
                // Stop comparing once every done item is out of the backlog.
                let mut left = done.len();
                self.backlog.retain(|id| {
                    if left > 0 && done.contains(id) {
                        left -= 1;
                        false
                    } else {
                        true
                    }
                });
            }
            PodEvent::BlockerRaised {
                blocker_id,
                item_id,
                category,
                description,
                raised_by,
                at: raised,
            } => self.blockers.push(BlockerView {
                id: blocker_id,
                item: item_id,
                category,
                description,
                raised_by,
                raised_at: raised,
                escalated_at: None,
                resolved_at: None,
                resolution: None,
            }),
            PodEvent::BlockerEscalated {
                blocker_id,
                at: escalated,
                ..
            } => {
                if let Some(b) = self.blockers.iter_mut().rev().find(|b| b.id == blocker_id) {
                    b.escalated_at = Some(escalated);
                }
                if let Some(active) = self.active_mut() {
                    active.escalations += 1;
                }
            }
            PodEvent::BlockerResolved {
                blocker_id,
                resolution,
                at: resolved,
            } => {
                if let Some(b) = self.blockers.iter_mut().rev().find(|b| b.id == blocker_id) {
                    b.resolved_at = Some(resolved);
                    b.resolution = resolution;
                }
            }
            PodEvent::IntakeRequestSubmitted {
                request_id,
                requester,
                title,
                description,
                output_category,
                at: submitted,
            } => self.intake.push(IntakeView {
                id: request_id,
                requester,
                title,
                description,
                output_category,
                submitted_at: submitted,
                status: IntakeStatus::Open,
                item: None,
                decided_at: None,
                decline_reason: None,
                version,
            }),
            PodEvent::IntakeRequestAccepted {
                request_id,
                item_id,
                at: decided,
            } => {
                if let Some(r) = self.intake.iter_mut().rev().find(|r| r.id == request_id) {
                    r.status = IntakeStatus::Accepted;
                    r.item = Some(item_id);
                    r.decided_at = Some(decided);
                    r.version = version;
                }
            }
            PodEvent::IntakeRequestDeclined {
                request_id,
                reason,
                at: decided,
            } => {
                if let Some(r) = self.intake.iter_mut().rev().find(|r| r.id == request_id) {
                    r.status = IntakeStatus::Declined;
                    r.decline_reason = Some(reason);
                    r.decided_at = Some(decided);
                    r.version = version;
                }
            }
        }
    }
}

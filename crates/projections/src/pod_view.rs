//! The pod read model: the domain's own fold of the pod stream ([`PodState`], the state every
//! decision is made on) plus what only reading needs — each item's history (created, status
//! changes, re-ranks, the delivery-ownership ledger), every sprint in plan order with what its
//! metrics need (t0 estimates, scope changes, re-estimates, the state at t1, burndown samples),
//! and blockers and intake requests in the order they came, with what they said. One fold of the
//! pod stream, as [`crate::org_view::OrgView`] wraps the organisation's: a board can never drift
//! from the state its rules decided on.
//!
//! Reads go through views that pair the state with the history ([`ItemView`], [`SprintView`],
//! [`BlockerView`], [`IntakeView`]); each dereferences to the domain's record.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use podledger_domain::ids::{
    ApprovalId, BlockerId, IntakeId, ItemId, PersonId, RetroActionId, ServiceRequestId, SprintId,
};
use podledger_domain::persistent::{Map, Seq};
use podledger_domain::pod::{
    Blocker, IntakeRequest, Item, ItemStatus, PodEvent, PodState, ScopeChangeReason, Sprint,
    SprintStatus,
};
use serde::{Deserialize, Serialize};

use crate::envelope::Meta;
use crate::ledger::{LedgerChange, LedgerEntry};
use crate::tally::{Memo, PodTally};

/// What only reading needs about an item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemHistory {
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

/// What only reading needs about a sprint: what its metrics are computed from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SprintHistory {
    /// The sprint.
    pub id: SprintId,
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
    /// Its points now (what the last sample says), moved by each event's one item.
    pub points: Points,
    /// At its close, each accepted owner of its items (I1) and how many distinct output
    /// categories (lowercased) those items had: the owner-spread finding of a closed sprint
    /// is judged on who owned what when it closed.
    pub owners_at_close: Vec<(PersonId, u32)>,
    /// Its metrics once it has closed, computed on first use: nothing after the close changes
    /// them (business time never goes back, so no later event falls inside its window).
    #[serde(skip)]
    pub metrics: Memo<crate::metrics::SprintMetrics>,
}

/// A sprint's points: Σ estimates of its items not DONE, and of all its items.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Points {
    /// Σ estimate of the items not DONE.
    pub remaining: i64,
    /// Σ estimate of all the items.
    pub scope: i64,
}

impl Points {
    fn minus(self, other: Self) -> Self {
        Self {
            remaining: self.remaining - other.remaining,
            scope: self.scope - other.scope,
        }
    }
}

/// What only reading needs about a blocker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockerHistory {
    /// The blocker.
    pub id: BlockerId,
    /// What blocks.
    pub description: String,
    /// Who raised it.
    pub raised_by: PersonId,
    /// How it was resolved.
    pub resolution: Option<String>,
}

/// What only reading needs about an intake request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntakeHistory {
    /// The request.
    pub id: IntakeId,
    /// Submitted at.
    #[serde(with = "crate::stamp")]
    pub submitted_at: DateTime<Utc>,
    /// The backlog item it became, once accepted.
    pub item: Option<ItemId>,
    /// Accepted or declined at.
    #[serde(with = "crate::stamp::option")]
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was declined.
    pub decline_reason: Option<String>,
}

/// What a retro said (SPEC §9.2); its actions' owners, kinds and outcomes are in the state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetroHistory {
    /// The sprint.
    pub sprint: SprintId,
    /// What went well.
    pub went_well: String,
    /// The friction found.
    pub friction: String,
}

/// What only reading needs about a retro action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetroActionHistory {
    /// The action.
    pub id: RetroActionId,
    /// The change it names.
    pub description: String,
    /// When it was marked implemented or dropped.
    #[serde(with = "crate::stamp::option")]
    pub resolved_at: Option<DateTime<Utc>>,
}

/// What only reading needs about an approval request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalHistory {
    /// The request.
    pub id: ApprovalId,
    /// The approver's reason.
    pub reason: Option<String>,
}

/// What only reading needs about a request to a shared service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRequestHistory {
    /// The request.
    pub id: ServiceRequestId,
    /// What is asked for.
    pub title: String,
    /// Context.
    pub description: Option<String>,
    /// When it was opened (it may be received later).
    #[serde(with = "crate::stamp")]
    pub opened_at: DateTime<Utc>,
    /// When an operator took it on.
    #[serde(with = "crate::stamp::option")]
    pub accepted_at: Option<DateTime<Utc>>,
    /// Why it was rejected.
    pub rejection: Option<String>,
    /// Who it was escalated to, and when.
    pub escalation: Option<(PersonId, String)>,
}

/// Everything about one pod's work: the domain's state and its history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodView {
    /// Global position of the last event applied.
    pub position: u64,
    /// Items, backlog, sprints, blockers and intake now, folded by the domain (its `version`
    /// is the stream version).
    pub state: PodState,
    /// Each item's history.
    pub items: Map<ItemId, Arc<ItemHistory>>,
    /// Sprints in plan order, with their history.
    pub sprints: Seq<SprintHistory>,
    /// Blockers in raise order, with what they said.
    pub blockers: Seq<BlockerHistory>,
    /// Intake requests in submission order, with their history.
    pub intake: Seq<IntakeHistory>,
    /// Retros in the order recorded.
    pub retros: Seq<RetroHistory>,
    /// Retro actions, by id.
    pub retro_actions: Map<RetroActionId, RetroActionHistory>,
    /// Approval requests in the order asked.
    pub approvals: Seq<ApprovalHistory>,
    /// Requests to shared services in the order opened.
    pub service_requests: Seq<ServiceRequestHistory>,
    /// What the pod's metrics read, kept as the events arrive.
    pub tally: PodTally,
    /// Each blocker's index in `blockers` (raise order).
    pub blocker_index: Map<BlockerId, u32>,
    /// The raise-order indices of the blockers raised on each item.
    pub blockers_by_item: Map<ItemId, Vec<u32>>,
    /// The indices in `approvals` of the approvals asked for each item.
    pub approvals_by_item: Map<ItemId, Vec<u32>>,
    /// The indices in `service_requests` of the requests opened on each item.
    pub requests_by_item: Map<ItemId, Vec<u32>>,
    /// The plan-order indices of the sprints still PLANNED.
    pub planned: Map<u32, SprintId>,
    /// Retro actions neither implemented nor dropped (those not followed through among them).
    pub open_retro_actions: Map<RetroActionId, ()>,
    /// Requests to shared services that are, or may yet be, past their due time: all but those
    /// answered or cancelled by it.
    pub unsettled_requests: Map<ServiceRequestId, ()>,
    /// The §9 figures that do not move with the clock (retro follow-through, approval waits,
    /// closed requests to shared services), computed on first use and dropped by the events
    /// that change them ([`crate::operating::Settled::changed_by`]).
    #[serde(skip)]
    pub settled: Memo<crate::operating::Settled>,
}

/// The indices of `len` entries in time order whose time (`at`) is in `[from, to)`, found by
/// bisection.
fn window(
    len: usize,
    at: impl Fn(usize) -> Option<DateTime<Utc>>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> std::ops::Range<usize> {
    let first_at_or_after = |t: DateTime<Utc>| {
        let (mut lo, mut hi) = (0, len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if at(mid).is_some_and(|a| a < t) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    };
    let start = first_at_or_after(from);
    start..first_at_or_after(to).max(start)
}

/// Each accepted owner of `items` and how many distinct output categories (lowercased) their
/// items have — the owner-spread finding's count, by person.
pub fn owner_spread<'a>(items: impl Iterator<Item = &'a Item>) -> Vec<(PersonId, u32)> {
    let mut by_owner: BTreeMap<PersonId, BTreeSet<String>> = BTreeMap::new();
    for item in items {
        if let Some(owner) = item.owner {
            by_owner
                .entry(owner)
                .or_default()
                .insert(item.output_category.to_lowercase());
        }
    }
    by_owner
        .into_iter()
        .map(|(person, categories)| (person, categories.len() as u32))
        .collect()
}

/// The entries of `seq` an index by item lists for `item`, in order.
fn of_item<'a, T: Clone>(
    index: &'a Map<ItemId, Vec<u32>>,
    seq: &'a Seq<T>,
    item: ItemId,
) -> impl Iterator<Item = (usize, &'a T)> {
    index
        .get(&item)
        .into_iter()
        .flatten()
        .filter_map(|i| Some((*i as usize, seq.get(*i as usize)?)))
}

/// A record of the pod's state paired with its history: an item, a sprint, a blocker or an
/// intake request. It dereferences to the domain's record.
#[derive(Debug)]
pub struct Paired<'a, I, R, H> {
    /// The record's id.
    pub id: I,
    /// The domain's record.
    pub record: &'a R,
    /// Its history.
    pub history: &'a H,
}

impl<I: Copy, R, H> Clone for Paired<'_, I, R, H> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I: Copy, R, H> Copy for Paired<'_, I, R, H> {}

impl<I, R, H> Deref for Paired<'_, I, R, H> {
    type Target = R;
    fn deref(&self) -> &R {
        self.record
    }
}

/// An item and its history.
pub type ItemView<'a> = Paired<'a, ItemId, Item, ItemHistory>;
/// A sprint and its history.
pub type SprintView<'a> = Paired<'a, SprintId, Sprint, SprintHistory>;
/// A blocker and what it said.
pub type BlockerView<'a> = Paired<'a, BlockerId, Blocker, BlockerHistory>;
/// An intake request and its history.
pub type IntakeView<'a> = Paired<'a, IntakeId, IntakeRequest, IntakeHistory>;

impl ItemView<'_> {
    /// The status at time `at` (`None` before creation).
    pub fn status_at(&self, at: DateTime<Utc>) -> Option<ItemStatus> {
        self.history
            .status_log
            .iter()
            .take_while(|(t, _)| *t <= at)
            .last()
            .map(|(_, s)| *s)
    }

    /// Open (neither DONE nor DROPPED) just before `at`: changes at exactly `at` belong to
    /// whatever starts at `at`.
    pub fn open_before(&self, at: DateTime<Utc>) -> bool {
        let status = self
            .history
            .status_log
            .iter()
            .take_while(|(t, _)| *t < at)
            .last()
            .map(|(_, s)| *s);
        matches!(status, Some(s) if s != ItemStatus::Done && s != ItemStatus::Dropped)
    }
}

impl PodView {
    /// The pod stream version.
    pub const fn version(&self) -> u64 {
        self.state.version
    }

    /// The item with this id.
    pub fn item(&self, id: ItemId) -> Option<ItemView<'_>> {
        Some(ItemView {
            id,
            record: self.state.items.get(&id)?,
            history: self.items.get(&id)?,
        })
    }

    /// Every item, by id.
    pub fn items(&self) -> impl Iterator<Item = ItemView<'_>> {
        self.items.iter().filter_map(|(id, history)| {
            Some(ItemView {
                id: *id,
                record: self.state.items.get(id)?,
                history,
            })
        })
    }

    /// Open items in rank order.
    pub fn backlog(&self) -> impl Iterator<Item = ItemView<'_>> {
        self.state.backlog.iter().filter_map(|id| self.item(*id))
    }

    /// The sprint at `index` in plan order.
    pub fn sprint_at(&self, index: usize) -> Option<SprintView<'_>> {
        let history = self.sprints.get(index)?;
        Some(SprintView {
            id: history.id,
            record: self.state.sprints.get(&history.id)?,
            history,
        })
    }

    /// The index in plan order of the sprint with this id.
    pub fn sprint_index(&self, id: SprintId) -> Option<usize> {
        // Searched from the end: the sprint asked for is nearly always one of the last.
        self.sprints.iter().rposition(|s| s.id == id)
    }

    /// The sprint with this id.
    pub fn sprint(&self, id: SprintId) -> Option<SprintView<'_>> {
        self.sprint_at(self.sprint_index(id)?)
    }

    /// Every sprint, in plan order.
    pub fn sprints(&self) -> impl Iterator<Item = SprintView<'_>> {
        (0..self.sprints.len()).filter_map(|i| self.sprint_at(i))
    }

    /// The ACTIVE sprint, or else the next PLANNED one.
    pub fn current_sprint(&self) -> Option<SprintView<'_>> {
        match self.state.active_sprint {
            Some(active) => self.sprint(active),
            None => self
                .planned
                .iter()
                .filter_map(|(i, _)| self.sprint_at(*i as usize))
                .find(|s| s.status == SprintStatus::Planned),
        }
    }

    /// Every blocker, in raise order.
    pub fn blockers(&self) -> impl Iterator<Item = BlockerView<'_>> {
        self.blockers.iter().filter_map(|history| {
            Some(BlockerView {
                id: history.id,
                record: self.state.blockers.get(&history.id)?,
                history,
            })
        })
    }

    /// The blocker at `index` in raise order.
    pub fn blocker_at(&self, index: usize) -> Option<BlockerView<'_>> {
        let history = self.blockers.get(index)?;
        Some(BlockerView {
            id: history.id,
            record: self.state.blockers.get(&history.id)?,
            history,
        })
    }

    /// The blocker with this id.
    pub fn blocker(&self, id: BlockerId) -> Option<BlockerView<'_>> {
        self.blocker_at(*self.blocker_index.get(&id)? as usize)
    }

    /// The blockers raised in `[from, to)` that stayed open more than 48 h — resolved later
    /// than that, or still open at `now` past it — in raise order, and how many were raised in
    /// the window at all; from the tally's sets, without walking the window.
    pub fn stale_blockers_raised_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> (usize, Vec<BlockerId>) {
        let raised = |i| self.blocker_at(i).map(|b| b.raised_at);
        let range = window(self.blockers.len(), raised, from, to);
        let indices = u32::try_from(range.start).unwrap_or(u32::MAX)
            ..u32::try_from(range.end).unwrap_or(u32::MAX);
        let tally = &self.tally.blockers;
        // Open blockers in raise (time) order: those past 48 h at `now` come first.
        let open = tally.unresolved.range(indices.clone()).map(|(i, ())| *i);
        let open = open.take_while(|i| {
            self.blocker_at(*i as usize)
                .is_some_and(|b| now > b.raised_at + crate::tally::STALE_AFTER)
        });
        let late = tally.resolved_late.range(indices).map(|(i, ())| *i);
        let mut stale: Vec<u32> = open.chain(late).collect();
        stale.sort_unstable();
        let stale = stale
            .into_iter()
            .filter_map(|i| Some(self.blocker_at(i as usize)?.id))
            .collect();
        (range.len(), stale)
    }

    /// Approvals asked for in `[from, to)`, in the order asked (bisected like blockers).
    pub fn approvals_asked_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Iterator<Item = (ApprovalId, &podledger_domain::pod::Approval)> {
        let asked = |i| {
            let id = self.approvals.get(i)?.id;
            Some(self.state.approvals.get(&id)?.requested_at)
        };
        window(self.approvals.len(), asked, from, to).filter_map(|i| {
            let id = self.approvals.get(i)?.id;
            Some((id, self.state.approvals.get(&id)?))
        })
    }

    /// The requests to shared services opened on `item`, in the order opened.
    pub fn service_requests_of_item(
        &self,
        item: ItemId,
    ) -> impl Iterator<Item = &ServiceRequestHistory> {
        of_item(&self.requests_by_item, &self.service_requests, item).map(|(_, r)| r)
    }

    /// The approvals asked for `item`, in the order asked.
    pub fn approvals_of_item(&self, item: ItemId) -> impl Iterator<Item = &ApprovalHistory> {
        of_item(&self.approvals_by_item, &self.approvals, item).map(|(_, a)| a)
    }

    /// The blockers raised on `item`, in raise order.
    pub fn blockers_of_item(&self, item: ItemId) -> impl Iterator<Item = BlockerView<'_>> {
        of_item(&self.blockers_by_item, &self.blockers, item)
            .filter_map(|(i, _)| self.blocker_at(i))
    }

    /// The blockers raised on any of `items`, each once, in raise order.
    pub fn blockers_of_items(&self, items: &[ItemId]) -> impl Iterator<Item = BlockerView<'_>> {
        let mut indices: Vec<u32> = items
            .iter()
            .filter_map(|item| self.blockers_by_item.get(item))
            .flatten()
            .copied()
            .collect();
        indices.sort_unstable();
        indices.dedup();
        indices
            .into_iter()
            .filter_map(|i| self.blocker_at(i as usize))
    }

    /// The blockers not resolved, in raise order.
    pub fn unresolved_blockers(&self) -> impl Iterator<Item = BlockerView<'_>> {
        self.tally
            .blockers
            .unresolved
            .keys()
            .filter_map(|i| self.blocker_at(*i as usize))
    }

    /// Every intake request, in submission order.
    pub fn intake(&self) -> impl Iterator<Item = IntakeView<'_>> {
        self.intake.iter().filter_map(|history| {
            Some(IntakeView {
                id: history.id,
                record: self.state.intake.get(&history.id)?,
                history,
            })
        })
    }

    /// The intake request with this id.
    pub fn intake_request(&self, id: IntakeId) -> Option<IntakeView<'_>> {
        let history = self.intake.iter().rev().find(|r| r.id == id)?;
        Some(IntakeView {
            id,
            record: self.state.intake.get(&id)?,
            history,
        })
    }

    fn service_request_history(
        &mut self,
        id: ServiceRequestId,
    ) -> Option<&mut ServiceRequestHistory> {
        self.service_requests.iter_mut().rev().find(|r| r.id == id)
    }

    fn sprint_history(&mut self, id: SprintId) -> Option<&mut SprintHistory> {
        // Nearly always the last sprint planned: looked at first, without a walk.
        if self.sprints.back().is_some_and(|s| s.id == id) {
            return self.sprints.back_mut();
        }
        self.sprints.iter_mut().rev().find(|s| s.id == id)
    }

    fn active_history(&mut self) -> Option<&mut SprintHistory> {
        let active = self.state.active_sprint?;
        self.sprint_history(active)
    }

    fn log_status(&mut self, id: ItemId, status: ItemStatus, at: DateTime<Utc>) {
        if let Some(item) = self.items.get_mut(&id).map(Arc::make_mut) {
            item.status_log.push((at, status));
        }
    }

    fn ledger(&mut self, id: ItemId, change: LedgerChange, meta: &Meta) {
        if let Some(item) = self.items.get_mut(&id).map(Arc::make_mut) {
            item.ledger.push(LedgerEntry::new(change, meta));
        }
    }

    /// Folds one pod event: the history first (some of it reads the state before the event),
    /// then the domain's state, then the burndown of the sprint it changed.
    pub fn apply(&mut self, meta: &Meta, event: &PodEvent) {
        self.position = meta.position;
        let burndown = self.burndown_change(event);
        let closes = matches!(event, PodEvent::SprintClosed { .. });
        let resolves = self.resolves(event);
        self.record(meta, event);
        self.state.evolve(event);
        self.count(event, resolves);
        if crate::operating::Settled::changed_by(event) {
            self.settled = Memo::default();
        }
        if let Some((sprint, change)) = burndown {
            self.sample_burndown(sprint, meta.occurred_at.date_naive(), closes, change);
        }
    }

    /// Whether `event` resolves an open blocker (read before the event).
    fn resolves(&self, event: &PodEvent) -> bool {
        matches!(event, PodEvent::BlockerResolved { blocker_id, .. }
            if self.state.blockers.get(blocker_id).is_some_and(|b| b.resolved_at.is_none()))
    }

    /// Keeps the tally, read against the state after `event`.
    fn count(&mut self, event: &PodEvent, resolves: bool) {
        match event {
            PodEvent::RetroRecorded { actions, .. } => {
                for a in actions {
                    self.open_retro_actions.insert(a.action_id, ());
                }
            }
            PodEvent::RetroActionResolved { action_id, .. } => {
                self.open_retro_actions.remove(action_id);
            }
            PodEvent::ServiceRequestOpened { request_id, .. }
            | PodEvent::ServiceRequestAccepted { request_id, .. }
            | PodEvent::ServiceRequestDelivered { request_id, .. }
            | PodEvent::ServiceRequestRejected { request_id, .. }
            | PodEvent::ServiceRequestCancelled { request_id, .. }
            | PodEvent::ServiceRequestEscalated { request_id, .. } => {
                let settled = self
                    .state
                    .service_requests
                    .get(request_id)
                    .is_some_and(|r| {
                        r.closed_at.is_some() && !r.breached_at(DateTime::<Utc>::MAX_UTC)
                    });
                if settled {
                    self.unsettled_requests.remove(request_id);
                } else {
                    self.unsettled_requests.insert(*request_id, ());
                }
            }
            PodEvent::BlockerRaised { blocker_id, .. } => {
                if let (Some(b), Some(index)) = (
                    self.state.blockers.get(blocker_id),
                    self.blocker_index.get(blocker_id),
                ) {
                    self.tally.blockers.raised(*index, b.category, b.raised_at);
                }
            }
            PodEvent::BlockerResolved { blocker_id, .. } if resolves => {
                if let (Some(b), Some(index)) = (
                    self.state.blockers.get(blocker_id),
                    self.blocker_index.get(blocker_id),
                ) && let Some(resolved_at) = b.resolved_at
                {
                    self.tally
                        .blockers
                        .resolved(*index, b.raised_at, resolved_at);
                }
            }
            PodEvent::SprintClosed { sprint_id, .. } => {
                let Some(index) = self.sprint_index(*sprint_id) else {
                    return;
                };
                let history = &self.sprints[index];
                let (Some(sprint), Some(closing)) =
                    (self.state.sprints.get(sprint_id), &history.closing)
                else {
                    return;
                };
                let Some(closed_at) = sprint.closed_at else {
                    return;
                };
                let velocity = closing.done.iter().map(|(_, e)| e).sum();
                self.tally.closed.close(
                    index as u32,
                    closed_at,
                    velocity,
                    closing.goal_met,
                    history.escalations == 0,
                );
            }
            _ => {}
        }
    }

    /// The sprint whose burndown `event` moves, and by how much: the one item it concerns
    /// enters or leaves the sprint, or changes its estimate or its DONE-ness — read from the
    /// state before the event, with one lookup of the item and one of the sprint.
    fn burndown_change(&self, event: &PodEvent) -> Option<(SprintId, Points)> {
        let points = |estimate: Option<u32>, done: bool| {
            let points = i64::from(estimate.unwrap_or(0));
            Points {
                remaining: if done { 0 } else { points },
                scope: points,
            }
        };
        let none = Points::default();
        match event {
            PodEvent::SprintStarted { sprint_id, .. }
            | PodEvent::SprintClosed { sprint_id, .. } => Some((*sprint_id, none)),
            PodEvent::ItemCommitted { sprint_id, item_id }
            | PodEvent::ItemAddedToSprint {
                sprint_id, item_id, ..
            } => {
                let in_sprint = self.in_sprint(*sprint_id, *item_id);
                let item = self.state.items.get(item_id);
                // It enters as COMMITTED (not DONE), unless it was in already.
                let change = match item {
                    Some(i) if !in_sprint => points(i.estimate, false),
                    _ => none,
                };
                Some((*sprint_id, change))
            }
            PodEvent::ItemUncommitted { sprint_id, item_id }
            | PodEvent::ItemRemovedFromSprint {
                sprint_id, item_id, ..
            } => {
                let item = self.state.items.get(item_id);
                let change = match item {
                    Some(i) if self.in_sprint(*sprint_id, *item_id) => {
                        let before = points(i.estimate, i.status == ItemStatus::Done);
                        Points {
                            remaining: -before.remaining,
                            scope: -before.scope,
                        }
                    }
                    _ => none,
                };
                Some((*sprint_id, change))
            }
            PodEvent::ItemEstimated {
                item_id, estimate, ..
            } => {
                let item = self.state.items.get(item_id)?;
                let sprint = item.sprint?;
                if !self.in_sprint(sprint, *item_id) {
                    return Some((sprint, none));
                }
                let done = item.status == ItemStatus::Done;
                let (before, after) = (points(item.estimate, done), points(Some(*estimate), done));
                Some((sprint, after.minus(before)))
            }
            PodEvent::ItemStatusChanged { item_id, to, .. } => {
                let item = self.state.items.get(item_id)?;
                let sprint = item.sprint?;
                if !self.in_sprint(sprint, *item_id) {
                    return Some((sprint, none));
                }
                let before = points(item.estimate, item.status == ItemStatus::Done);
                let after = points(item.estimate, *to == ItemStatus::Done);
                Some((sprint, after.minus(before)))
            }
            // A dropped item stays among the sprint's items, not DONE: its points stay.
            PodEvent::ItemDropped { item_id } => {
                Some((self.state.items.get(item_id)?.sprint?, none))
            }
            _ => None,
        }
    }

    fn in_sprint(&self, sprint: SprintId, item: ItemId) -> bool {
        self.state
            .sprints
            .get(&sprint)
            .is_some_and(|s| s.items.contains(&item))
    }

    /// Moves `sprint`'s running points by what the event changed and records them as the end
    /// of `date` so far — nothing once the sprint has closed, but for its closing itself
    /// (`closes`). One item's points per event, never a recount of the sprint.
    fn sample_burndown(&mut self, sprint: SprintId, date: NaiveDate, closes: bool, change: Points) {
        let finished = self
            .state
            .sprints
            .get(&sprint)
            .is_none_or(|s| s.status == SprintStatus::Closed);
        if finished && !closes {
            return;
        }
        let Some(history) = self.sprint_history(sprint) else {
            return;
        };
        history.points.remaining += change.remaining;
        history.points.scope += change.scope;
        let (remaining, scope) = (
            u32::try_from(history.points.remaining).unwrap_or(0),
            u32::try_from(history.points.scope).unwrap_or(0),
        );
        match history.burndown.last_mut() {
            // Business times only move forward in a stream; a late one joins the last day.
            Some(last) if last.date >= date => {
                last.remaining = remaining;
                last.scope = scope;
            }
            _ => history.burndown.push(BurndownSample {
                date,
                remaining,
                scope,
            }),
        }
    }

    /// The history an event adds, read against the state before it.
    #[allow(clippy::too_many_lines)] // one arm per event type reads best as one match
    fn record(&mut self, meta: &Meta, event: &PodEvent) {
        let at = meta.occurred_at;
        match event {
            PodEvent::ItemCreated { item_id, .. } => {
                self.items.insert(
                    *item_id,
                    Arc::new(ItemHistory {
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
                    }),
                );
            }
            PodEvent::ItemEstimated {
                item_id,
                estimate,
                previous,
            } => {
                let sprint = self.state.items.get(item_id).and_then(|i| i.sprint);
                let delta = estimate.abs_diff(previous.unwrap_or(0));
                if let Some(active) = self.active_history()
                    && sprint == Some(active.id)
                {
                    active.reestimate_churn += delta;
                }
            }
            PodEvent::ItemRanked { item_id, .. } => {
                if let Some(item) = self.items.get_mut(item_id).map(Arc::make_mut) {
                    item.ranked_at.push(at);
                }
            }
            PodEvent::ItemDropped { item_id } => self.log_status(*item_id, ItemStatus::Dropped, at),
            PodEvent::DeliveryOwnerDeclared {
                item_id,
                person_id,
                current_owner,
            } => self.ledger(
                *item_id,
                LedgerChange::Declared {
                    person: *person_id,
                    current_owner: *current_owner,
                },
                meta,
            ),
            PodEvent::DeliveryOwnershipAccepted {
                item_id,
                person_id,
                previous_owner,
            } => self.ledger(
                *item_id,
                LedgerChange::Accepted {
                    person: *person_id,
                    previous_owner: *previous_owner,
                },
                meta,
            ),
            PodEvent::DeliveryOwnershipDeclined {
                item_id,
                person_id,
                reason,
            } => self.ledger(
                *item_id,
                LedgerChange::Declined {
                    person: *person_id,
                    reason: reason.clone(),
                },
                meta,
            ),
            PodEvent::ItemStatusChanged { item_id, to, .. } => self.log_status(*item_id, *to, at),
            PodEvent::SprintPlanned { sprint_id, .. } => {
                self.planned.insert(self.sprints.len() as u32, *sprint_id);
                self.sprints.push_back(SprintHistory {
                    id: *sprint_id,
                    committed: Vec::new(),
                    added: Vec::new(),
                    removed: Vec::new(),
                    reestimate_churn: 0,
                    closing: None,
                    escalations: 0,
                    burndown: Vec::new(),
                    points: Points::default(),
                    owners_at_close: Vec::new(),
                    metrics: Memo::default(),
                });
            }
            PodEvent::ItemCommitted { item_id, .. } => {
                self.log_status(*item_id, ItemStatus::Committed, at);
            }
            PodEvent::ItemUncommitted { item_id, .. } => {
                self.log_status(*item_id, ItemStatus::New, at);
            }
            PodEvent::SprintStarted {
                sprint_id,
                committed,
                ..
            } => {
                if let Some(index) = self.sprint_index(*sprint_id) {
                    self.planned.remove(&(index as u32));
                }
                if let Some(s) = self.sprint_history(*sprint_id) {
                    s.committed = committed.iter().map(|c| (c.item_id, c.estimate)).collect();
                }
            }
            PodEvent::ItemAddedToSprint {
                sprint_id,
                item_id,
                reason,
                estimate,
            } => {
                if let Some(s) = self.sprint_history(*sprint_id) {
                    s.added.push(ScopeChange {
                        item: *item_id,
                        estimate: *estimate,
                        reason: reason.clone(),
                        at,
                    });
                }
                self.log_status(*item_id, ItemStatus::Committed, at);
            }
            PodEvent::ItemRemovedFromSprint {
                sprint_id,
                item_id,
                reason,
                estimate,
            } => {
                if let Some(s) = self.sprint_history(*sprint_id) {
                    s.removed.push(ScopeChange {
                        item: *item_id,
                        estimate: *estimate,
                        reason: reason.clone(),
                        at,
                    });
                }
                self.log_status(*item_id, ItemStatus::New, at);
            }
            PodEvent::SprintClosed {
                sprint_id,
                done,
                not_done,
                goal_met,
                ..
            } => {
                let estimate = |id: &ItemId| {
                    self.state
                        .items
                        .get(id)
                        .and_then(|i| i.estimate)
                        .unwrap_or(0)
                };
                let closing = Closing {
                    done: done.iter().map(|id| (*id, estimate(id))).collect(),
                    not_done: not_done.iter().map(|id| (*id, estimate(id))).collect(),
                    goal_met: *goal_met,
                };
                let owners = owner_spread(
                    done.iter()
                        .chain(not_done)
                        .filter_map(|i| self.state.item(i)),
                );
                if let Some(s) = self.sprint_history(*sprint_id) {
                    s.closing = Some(closing);
                    s.owners_at_close = owners;
                }
                for id in not_done {
                    self.log_status(*id, ItemStatus::New, at);
                }
            }
            PodEvent::BlockerRaised {
                blocker_id,
                item_id,
                description,
                raised_by,
                ..
            } => {
                let index = self.blockers.len() as u32;
                self.blocker_index.insert(*blocker_id, index);
                if let Some(item) = item_id {
                    self.blockers_by_item.entry(*item).or_default().push(index);
                }
                self.blockers.push_back(BlockerHistory {
                    id: *blocker_id,
                    description: description.clone(),
                    raised_by: *raised_by,
                    resolution: None,
                });
            }
            PodEvent::BlockerEscalated { .. } => {
                if let Some(active) = self.active_history() {
                    active.escalations += 1;
                }
            }
            PodEvent::BlockerResolved {
                blocker_id,
                resolution,
                ..
            } => {
                if let Some(index) = self.blocker_index.get(blocker_id)
                    && let Some(b) = self.blockers.get_mut(*index as usize)
                {
                    b.resolution.clone_from(resolution);
                }
            }
            PodEvent::IntakeRequestSubmitted {
                request_id,
                at: submitted,
                ..
            } => self.intake.push_back(IntakeHistory {
                id: *request_id,
                submitted_at: *submitted,
                item: None,
                decided_at: None,
                decline_reason: None,
            }),
            PodEvent::IntakeRequestAccepted {
                request_id,
                item_id,
                at: decided,
            } => {
                if let Some(r) = self.intake.iter_mut().rev().find(|r| r.id == *request_id) {
                    r.item = Some(*item_id);
                    r.decided_at = Some(*decided);
                }
            }
            PodEvent::IntakeRequestDeclined {
                request_id,
                reason,
                at: decided,
            } => {
                if let Some(r) = self.intake.iter_mut().rev().find(|r| r.id == *request_id) {
                    r.decline_reason = Some(reason.clone());
                    r.decided_at = Some(*decided);
                }
            }
            PodEvent::RetroRecorded {
                sprint_id,
                went_well,
                friction,
                actions,
                ..
            } => {
                self.retros.push_back(RetroHistory {
                    sprint: *sprint_id,
                    went_well: went_well.clone(),
                    friction: friction.clone(),
                });
                for a in actions {
                    self.retro_actions.insert(
                        a.action_id,
                        RetroActionHistory {
                            id: a.action_id,
                            description: a.description.clone(),
                            resolved_at: None,
                        },
                    );
                }
            }
            PodEvent::RetroActionResolved { action_id, at, .. } => {
                if let Some(a) = self.retro_actions.get_mut(action_id) {
                    a.resolved_at = Some(*at);
                }
            }
            PodEvent::ApprovalRequested {
                approval_id,
                item_id,
                ..
            } => {
                let index = self.approvals.len() as u32;
                self.approvals_by_item
                    .entry(*item_id)
                    .or_default()
                    .push(index);
                self.approvals.push_back(ApprovalHistory {
                    id: *approval_id,
                    reason: None,
                });
            }
            PodEvent::ApprovalDecided {
                approval_id,
                reason,
                ..
            } => {
                if let Some(a) = self
                    .approvals
                    .iter_mut()
                    .rev()
                    .find(|a| a.id == *approval_id)
                {
                    a.reason.clone_from(reason);
                }
            }
            PodEvent::ServiceRequestOpened {
                request_id,
                item_id,
                title,
                description,
                at: opened,
                ..
            } => {
                if let Some(item) = item_id {
                    let index = self.service_requests.len() as u32;
                    self.requests_by_item.entry(*item).or_default().push(index);
                }
                self.service_requests.push_back(ServiceRequestHistory {
                    id: *request_id,
                    title: title.clone(),
                    description: description.clone(),
                    opened_at: *opened,
                    accepted_at: None,
                    rejection: None,
                    escalation: None,
                });
            }
            PodEvent::ServiceRequestAccepted { request_id, at, .. } => {
                if let Some(r) = self.service_request_history(*request_id) {
                    r.accepted_at = Some(*at);
                }
            }
            PodEvent::ServiceRequestRejected {
                request_id, reason, ..
            } => {
                if let Some(r) = self.service_request_history(*request_id) {
                    r.rejection = Some(reason.clone());
                }
            }
            PodEvent::ServiceRequestEscalated {
                request_id,
                escalated_to,
                note,
                ..
            } => {
                if let Some(r) = self.service_request_history(*request_id) {
                    r.escalation = Some((*escalated_to, note.clone().unwrap_or_default()));
                }
            }
            PodEvent::ItemEdited { .. }
            | PodEvent::SprintDatesChanged { .. }
            | PodEvent::SprintGoalSet { .. }
            | PodEvent::ServiceRequestDelivered { .. }
            | PodEvent::ServiceRequestCancelled { .. } => {}
        }
    }
}

//! A script of pod, org and KPI events with chosen times, for hand-computed projection tests.
#![allow(clippy::needless_pass_by_value)] // test helpers take owned values for readable call sites

use chrono::{DateTime, TimeZone, Utc};
use podledger_domain::ids::{ItemId, PersonId, SprintId};
use podledger_domain::kpi::KpiEvent;
use podledger_domain::org::OrgEvent;
use podledger_domain::pod::{CommittedItem, ItemStatus, PodEvent, ScopeChangeReason};
use uuid::Uuid;

use crate::envelope::Meta;
use crate::kpi_view::KpiView;
use crate::org_view::OrgView;
use crate::pod_view::PodView;

pub const fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub const OWNER: PersonId = PersonId(id(7));
pub const PO: PersonId = PersonId(id(8));
pub const S1: SprintId = SprintId(id(100));
pub const S2: SprintId = SprintId(id(101));

pub fn item_id(name: char) -> ItemId {
    ItemId(id(1000 + name as u128))
}

/// 2026-01-05 00:00 UTC plus `hours`.
pub fn h(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap() + chrono::Duration::hours(hours)
}

/// Applies events one by one with increasing positions, at the time set by `at`.
#[derive(Default)]
pub struct Script {
    pub pod: PodView,
    pub org: OrgView,
    pub kpi: Option<KpiView>,
    position: u64,
    pod_version: u64,
    now: DateTime<Utc>,
}

impl Script {
    pub fn new() -> Self {
        Self {
            now: h(0),
            ..Self::default()
        }
    }

    pub fn at(&mut self, hours: i64) -> &mut Self {
        self.now = h(hours);
        self
    }

    fn meta(&mut self, stream_version: u64) -> Meta {
        self.position += 1;
        Meta {
            position: self.position,
            stream: "x".into(),
            stream_version,
            occurred_at: self.now,
            actor: format!("member:{PO}").into(),
            correlation_id: Uuid::from_u128(9_000 + u128::from(self.position)),
            org_id: id(1),
        }
    }

    pub fn pod(&mut self, event: PodEvent) -> &mut Self {
        self.pod_version += 1;
        let meta = self.meta(self.pod_version);
        self.pod.apply(&meta, &event);
        self
    }

    pub fn org(&mut self, event: OrgEvent) -> &mut Self {
        let meta = self.meta(self.org.version + 1);
        self.org.apply(&meta, &event);
        self
    }

    pub fn kpi(&mut self, event: KpiEvent) -> &mut Self {
        let version = self.kpi.as_ref().map_or(1, |k| k.version + 1);
        let meta = self.meta(version);
        match &mut self.kpi {
            Some(k) => k.apply(&meta, &event),
            None => {
                self.kpi = KpiView::defined(podledger_domain::ids::KpiId(id(50)), &meta, &event);
            }
        }
        self
    }

    /// A READY item owned by OWNER.
    pub fn item(&mut self, name: char, estimate: u32) -> &mut Self {
        self.item_in(name, estimate, "email")
    }

    pub fn item_in(&mut self, name: char, estimate: u32, category: &str) -> &mut Self {
        let item_id = item_id(name);
        self.pod(PodEvent::ItemCreated {
            item_id,
            title: format!("item {name}"),
            description: None,
            output_category: category.into(),
            acceptance_criteria: Some("done".into()),
            estimate: Some(estimate),
            parent_epic: None,
            requester: None,
        })
        .pod(PodEvent::DeliveryOwnerDeclared {
            item_id,
            person_id: OWNER,
            current_owner: None,
        })
        .pod(PodEvent::DeliveryOwnershipAccepted {
            item_id,
            person_id: OWNER,
            previous_owner: None,
        })
    }

    pub fn plan(&mut self, sprint_id: SprintId, number: u32) -> &mut Self {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()
            + chrono::Days::new(u64::from(number - 1) * 14);
        self.pod(PodEvent::SprintPlanned {
            sprint_id,
            number,
            start_date: day,
            end_date: day + chrono::Days::new(13),
        })
    }

    pub fn commit(&mut self, sprint_id: SprintId, names: &str) -> &mut Self {
        for n in names.chars() {
            self.pod(PodEvent::ItemCommitted {
                sprint_id,
                item_id: item_id(n),
            });
        }
        self
    }

    pub fn goal(&mut self, sprint_id: SprintId, names: &str) -> &mut Self {
        self.pod(PodEvent::SprintGoalSet {
            sprint_id,
            goal: "goal".into(),
            goal_items: names.chars().map(item_id).collect(),
        })
    }

    /// Starts with the committed items' current estimates.
    pub fn start(&mut self, sprint_id: SprintId) -> &mut Self {
        let committed = self
            .pod
            .sprint(sprint_id)
            .unwrap()
            .items
            .iter()
            .map(|i| CommittedItem {
                item_id: *i,
                estimate: self.pod.state.items[i].estimate.unwrap_or(0),
            })
            .collect();
        let at = self.now;
        self.pod(PodEvent::SprintStarted {
            sprint_id,
            at,
            committed,
        })
    }

    pub fn add(&mut self, sprint_id: SprintId, name: char) -> &mut Self {
        let estimate = self.pod.state.items[&item_id(name)].estimate.unwrap_or(0);
        self.pod(PodEvent::ItemAddedToSprint {
            sprint_id,
            item_id: item_id(name),
            reason: ScopeChangeReason::BusinessConditionsChanged,
            estimate,
        })
    }

    pub fn remove(&mut self, sprint_id: SprintId, name: char) -> &mut Self {
        let estimate = self.pod.state.items[&item_id(name)].estimate.unwrap_or(0);
        self.pod(PodEvent::ItemRemovedFromSprint {
            sprint_id,
            item_id: item_id(name),
            reason: ScopeChangeReason::TechnicallyImpossible,
            estimate,
        })
    }

    pub fn estimate(&mut self, name: char, estimate: u32) -> &mut Self {
        let previous = self.pod.state.items[&item_id(name)].estimate;
        self.pod(PodEvent::ItemEstimated {
            item_id: item_id(name),
            estimate,
            previous,
        })
    }

    pub fn done(&mut self, names: &str) -> &mut Self {
        for n in names.chars() {
            let from = self.pod.state.items[&item_id(n)].status;
            self.pod(PodEvent::ItemStatusChanged {
                item_id: item_id(n),
                from,
                to: ItemStatus::Done,
            });
        }
        self
    }

    /// Closes as the domain would: D = items DONE now, goal met when every goal item is.
    pub fn close(&mut self, sprint_id: SprintId) -> &mut Self {
        let sprint = self.pod.sprint(sprint_id).unwrap();
        let (done, not_done): (Vec<ItemId>, Vec<ItemId>) = sprint
            .items
            .iter()
            .partition(|i| self.pod.state.items[*i].status == ItemStatus::Done);
        let goal_met = sprint.goal_items.iter().all(|g| done.contains(g));
        let at = self.now;
        self.pod(PodEvent::SprintClosed {
            sprint_id,
            at,
            done,
            not_done,
            goal_met,
        })
    }
}

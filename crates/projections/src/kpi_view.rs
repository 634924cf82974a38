//! The KPI read model: definition, performance-owner ledger, readings, and performance per
//! sprint (SPEC §6).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use podledger_domain::ids::{KpiId, PersonId, PodId, SprintId};
use podledger_domain::kpi::{Direction, KpiEvent, KpiStatus, ReportingCadence, attainment};
use serde::{Deserialize, Serialize};

use crate::envelope::Meta;
use crate::ledger::{LedgerChange, LedgerEntry};
use crate::pod_view::PodView;

/// One reading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reading {
    /// Value.
    pub value: f64,
    /// Business time.
    #[serde(with = "crate::stamp")]
    pub observed_at: DateTime<Utc>,
    /// Source.
    pub source: Option<String>,
    /// Recorded by.
    pub actor: Arc<str>,
    /// Global position.
    pub position: u64,
}

/// A KPI as people see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KpiView {
    /// Id.
    pub id: KpiId,
    /// Pod.
    pub pod_id: PodId,
    /// Name.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Direction.
    pub direction: Direction,
    /// Target.
    pub target: f64,
    /// Baseline.
    pub baseline: Option<f64>,
    /// Cadence.
    pub cadence: ReportingCadence,
    /// Performance owner.
    pub owner: PersonId,
    /// Readings in recording order.
    pub readings: podledger_domain::persistent::Seq<Reading>,
    /// The index in `readings` of the one with the latest business time (the later recorded
    /// one on a tie), kept as readings arrive: observation times come in any order.
    pub latest: Option<usize>,
    /// Performance-ownership ledger.
    pub ledger: Vec<LedgerEntry>,
    /// Global position of the last event applied.
    pub position: u64,
    /// Stream version.
    pub version: u64,
}

/// A value judged against the target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Judged {
    /// The reading.
    pub reading: Reading,
    /// value/target (INCREASE) or target/value (DECREASE); null when undefined.
    pub attainment: Option<f64>,
    /// Status of the attainment; null when the attainment is.
    pub status: Option<KpiStatus>,
}

/// KPI performance in one sprint (SPEC §6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SprintPerformance {
    /// The sprint.
    pub sprint_id: SprintId,
    /// Its number.
    pub number: u32,
    /// The last reading observed in [t0, t1), judged; null if none.
    pub last: Option<Judged>,
    /// Its value minus the previous sprint's value; null if either is missing.
    pub delta: Option<f64>,
}

impl KpiView {
    /// Starts from the definition.
    pub fn defined(id: KpiId, meta: &Meta, event: &KpiEvent) -> Option<Self> {
        let KpiEvent::KpiDefined {
            pod_id,
            name,
            unit,
            direction,
            target,
            baseline,
            cadence,
            owner,
        } = event
        else {
            return None;
        };
        Some(Self {
            id,
            pod_id: *pod_id,
            name: name.clone(),
            unit: unit.clone(),
            direction: *direction,
            target: *target,
            baseline: *baseline,
            cadence: *cadence,
            owner: *owner,
            readings: podledger_domain::persistent::Seq::new(),
            latest: None,
            ledger: vec![LedgerEntry::new(
                LedgerChange::Assigned {
                    person: *owner,
                    previous_owner: None,
                },
                meta,
            )],
            position: meta.position,
            version: meta.stream_version,
        })
    }

    /// Folds one later event.
    pub fn apply(&mut self, meta: &Meta, event: &KpiEvent) {
        self.position = meta.position;
        self.version = meta.stream_version;
        match event {
            KpiEvent::KpiDefined { .. } => {}
            KpiEvent::KpiOwnerAssigned { owner, previous } => {
                self.owner = *owner;
                self.ledger.push(LedgerEntry::new(
                    LedgerChange::Assigned {
                        person: *owner,
                        previous_owner: Some(*previous),
                    },
                    meta,
                ));
            }
            KpiEvent::KpiReadingRecorded {
                value,
                observed_at,
                source,
            } => {
                let later = self
                    .latest
                    .and_then(|i| self.readings.get(i))
                    .is_none_or(|l| *observed_at >= l.observed_at);
                if later {
                    self.latest = Some(self.readings.len());
                }
                self.readings.push_back(Reading {
                    value: *value,
                    observed_at: *observed_at,
                    source: source.clone(),
                    actor: meta.actor.clone(),
                    position: meta.position,
                });
            }
        }
    }

    /// Judges a reading.
    pub fn judge(&self, reading: &Reading) -> Judged {
        let attainment = attainment(self.direction, self.target, reading.value);
        Judged {
            reading: reading.clone(),
            attainment,
            status: attainment.map(KpiStatus::of),
        }
    }

    /// The reading with the latest business time (the later recorded one on a tie): O(1).
    pub fn latest(&self) -> Option<Judged> {
        self.latest
            .and_then(|i| self.readings.get(i))
            .map(|r| self.judge(r))
    }

    /// [`Self::latest`] by its definition, over every reading (tests compare the two).
    pub fn latest_by_definition(&self) -> Option<Judged> {
        self.readings
            .iter()
            .max_by(|a, b| {
                a.observed_at
                    .cmp(&b.observed_at)
                    .then(a.position.cmp(&b.position))
            })
            .map(|r| self.judge(r))
    }

    /// Performance in each started sprint of the pod, in plan order; an active sprint's window
    /// runs to `now`.
    pub fn per_sprint(&self, pod: &PodView, now: DateTime<Utc>) -> Vec<SprintPerformance> {
        let mut previous: Option<f64> = None;
        let mut out = Vec::new();
        for sprint in pod.sprints() {
            let Some(t0) = sprint.started_at else {
                continue;
            };
            let t1 = sprint.closed_at.unwrap_or(now);
            let last = self
                .readings
                .iter()
                .filter(|r| r.observed_at >= t0 && r.observed_at < t1)
                .max_by(|a, b| {
                    a.observed_at
                        .cmp(&b.observed_at)
                        .then(a.position.cmp(&b.position))
                })
                .map(|r| self.judge(r));
            let value = last.as_ref().map(|j| j.reading.value);
            out.push(SprintPerformance {
                sprint_id: sprint.id,
                number: sprint.number,
                delta: value.zip(previous).map(|(v, p)| v - p),
                last,
            });
            previous = value;
        }
        out
    }
}

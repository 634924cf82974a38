//! The KPI aggregate: definition, performance owner (level 3 of SPEC §3) and readings
//! (stream `kpi-<id>`; its own stream so that integrations pushing readings never contend
//! with sprint work).

mod decide;
#[cfg(test)]
mod tests;

pub use decide::decide;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{PersonId, PodId};

/// Which way is good.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Direction {
    /// Higher is better: attainment = value / target.
    Increase,
    /// Lower is better: attainment = target / value.
    Decrease,
}

/// How often readings are expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReportingCadence {
    /// Every day.
    Daily,
    /// Every week.
    Weekly,
    /// Every sprint.
    PerSprint,
    /// Every month.
    Monthly,
}

/// A request to change a KPI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum KpiCommand {
    /// The pod's PO defines the KPI and names its owner.
    DefineKpi {
        /// The pod.
        pod_id: PodId,
        /// Name.
        name: String,
        /// Unit (e.g. "signups", "%", "EUR").
        unit: String,
        /// Direction.
        direction: Direction,
        /// Target (finite, > 0).
        target: f64,
        /// Baseline.
        baseline: Option<f64>,
        /// Cadence.
        cadence: ReportingCadence,
        /// Performance owner: a member of the pod (R11).
        owner: PersonId,
    },
    /// The pod's PO names a new performance owner.
    AssignKpiOwner {
        /// The new owner.
        owner: PersonId,
    },
    /// The owner, or a service token for the pod, records a reading (R11).
    RecordKpiReading {
        /// Value (finite).
        value: f64,
        /// Business time of the observation.
        observed_at: DateTime<Utc>,
        /// Where it comes from (e.g. "google-ads").
        source: Option<String>,
    },
}

/// What happened to a KPI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all_fields = "camelCase")]
pub enum KpiEvent {
    /// The KPI was defined.
    KpiDefined {
        /// The pod.
        pod_id: PodId,
        /// Name.
        name: String,
        /// Unit.
        unit: String,
        /// Direction.
        direction: Direction,
        /// Target.
        target: f64,
        /// Baseline.
        baseline: Option<f64>,
        /// Cadence.
        cadence: ReportingCadence,
        /// Performance owner.
        owner: PersonId,
    },
    /// A new performance owner was named.
    KpiOwnerAssigned {
        /// New owner.
        owner: PersonId,
        /// Previous owner.
        previous: PersonId,
    },
    /// A reading was recorded.
    KpiReadingRecorded {
        /// Value.
        value: f64,
        /// Business time.
        observed_at: DateTime<Utc>,
        /// Source.
        source: Option<String>,
    },
}

/// A defined KPI.
#[derive(Clone, Debug, PartialEq)]
pub struct Kpi {
    /// The pod.
    pub pod_id: PodId,
    /// Name.
    pub name: String,
    /// Direction.
    pub direction: Direction,
    /// Target.
    pub target: f64,
    /// Performance owner.
    pub owner: PersonId,
}

/// Everything decisions need to know about a KPI.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KpiState {
    /// Number of events applied (the stream version).
    pub version: u64,
    /// Set once defined.
    pub kpi: Option<Kpi>,
}

impl KpiState {
    /// Folds one event into the state.
    pub fn evolve(&mut self, event: &KpiEvent) {
        self.version += 1;
        match event {
            KpiEvent::KpiDefined {
                pod_id,
                name,
                direction,
                target,
                owner,
                ..
            } => {
                self.kpi = Some(Kpi {
                    pod_id: *pod_id,
                    name: name.clone(),
                    direction: *direction,
                    target: *target,
                    owner: *owner,
                });
            }
            KpiEvent::KpiOwnerAssigned { owner, .. } => {
                if let Some(kpi) = &mut self.kpi {
                    kpi.owner = *owner;
                }
            }
            KpiEvent::KpiReadingRecorded { .. } => {}
        }
    }
}

/// KPI attainment of a value (SPEC §6): value/target for INCREASE, target/value for
/// DECREASE; `None` when undefined (DECREASE with a value of 0, or a target of 0).
pub fn attainment(direction: Direction, target: f64, value: f64) -> Option<f64> {
    let ratio = match direction {
        Direction::Increase => value / target,
        Direction::Decrease => target / value,
    };
    ratio.is_finite().then_some(ratio)
}

/// KPI status of an attainment (SPEC §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KpiStatus {
    /// ≥ 1.0.
    OnTrack,
    /// ≥ 0.9.
    AtRisk,
    /// Below 0.9.
    OffTrack,
}

impl KpiStatus {
    /// The status of an attainment.
    pub fn of(attainment: f64) -> Self {
        if attainment >= 1.0 {
            Self::OnTrack
        } else if attainment >= 0.9 {
            Self::AtRisk
        } else {
            Self::OffTrack
        }
    }
}

//! Decisions on KPIs: the PO defines and names owners; R11 for readings; R12; R13.

use crate::context::{Actor, Context};
use crate::error::DomainError;
use crate::ids::{KpiId, PersonId, PodId};
use crate::org::OrgState;
use crate::permissions::{acting_known_person, check_expected_version, require_product_owner};
use crate::validate::{Checks, MAX_LABEL, MAX_NAME, clean, clean_opt};

use super::{KpiCommand, KpiEvent, KpiState};

/// Decides what a KPI command changes.
pub fn decide(
    org: &OrgState,
    kpi_id: KpiId,
    state: &KpiState,
    command: &KpiCommand,
    ctx: &Context,
) -> Result<Vec<KpiEvent>, DomainError> {
    if let KpiCommand::DefineKpi {
        pod_id,
        name,
        unit,
        direction,
        target,
        baseline,
        cadence,
        owner,
    } = command
    {
        if !org.pods.contains_key(pod_id) {
            return Err(DomainError::not_found("podId", "pod", &pod_id));
        }
        require_product_owner(org, *pod_id, ctx)?;
        check_expected_version(ctx, state.version)?;
        let mut checks = Checks::new();
        checks.check(state.kpi.is_none(), "kpiId", "already exists");
        checks.required_text("name", name, MAX_NAME);
        checks.required_text("unit", unit, MAX_LABEL);
        checks.finite("target", *target);
        checks.check(
            !target.is_finite() || *target > 0.0,
            "target",
            "must be greater than 0",
        );
        if let Some(b) = baseline {
            checks.finite("baseline", *b);
        }
        checks.finish()?;
        owner_in_pod(org, *pod_id, *owner)?;
        return Ok(vec![KpiEvent::KpiDefined {
            pod_id: *pod_id,
            name: clean(name),
            unit: clean(unit),
            direction: *direction,
            target: *target,
            baseline: *baseline,
            cadence: *cadence,
            owner: *owner,
        }]);
    }
    let kpi = state
        .kpi
        .as_ref()
        .filter(|k| org.pods.contains_key(&k.pod_id))
        .ok_or_else(|| DomainError::not_found("kpiId", "KPI", &kpi_id))?;
    match command {
        KpiCommand::DefineKpi { .. } => unreachable!("handled above"),
        KpiCommand::AssignKpiOwner { owner } => {
            require_product_owner(org, kpi.pod_id, ctx)?;
            check_expected_version(ctx, state.version)?;
            owner_in_pod(org, kpi.pod_id, *owner)?;
            if kpi.owner == *owner {
                return Ok(vec![]);
            }
            Ok(vec![KpiEvent::KpiOwnerAssigned {
                owner: *owner,
                previous: kpi.owner,
            }])
        }
        KpiCommand::RecordKpiReading {
            value,
            observed_at,
            source,
        } => {
            let allowed = match &ctx.actor {
                Actor::Service { scope, .. } => scope.kpi_readings_for_pods.contains(&kpi.pod_id),
                Actor::Member { .. } => acting_known_person(org, ctx)? == kpi.owner,
            };
            if !allowed {
                return Err(DomainError::forbidden(
                    "readings are recorded by the KPI's owner or a service token granted its pod",
                ));
            }
            check_expected_version(ctx, state.version)?;
            let mut checks = Checks::new();
            checks.finite("value", *value);
            checks.time("observedAt", *observed_at);
            checks.optional_text("source", source.as_deref(), MAX_LABEL);
            checks.finish()?;
            Ok(vec![KpiEvent::KpiReadingRecorded {
                value: *value,
                observed_at: *observed_at,
                source: clean_opt(source.as_deref()),
            }])
        }
    }
}

/// R11: the performance owner is a member of the KPI's pod.
fn owner_in_pod(org: &OrgState, pod: PodId, owner: PersonId) -> Result<(), DomainError> {
    if !org.people.contains_key(&owner) {
        return Err(DomainError::not_found("ownerId", "person", &owner));
    }
    if !org.is_member_of(owner, pod) {
        return Err(DomainError::invalid(
            "ownerId",
            "the performance owner must be a member of the KPI's pod",
        ));
    }
    Ok(())
}

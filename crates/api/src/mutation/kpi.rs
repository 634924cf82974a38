//! Mutations of KPIs: definition, performance owner, readings.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use podledger_domain::Command;
use podledger_domain::ids::{KpiId, PersonId, PodId};
use podledger_domain::kpi::KpiCommand;

use super::{CommandOptions, new_id, org_uuid, run};
use crate::context::state;
use crate::error::ApiResult;
use crate::ids::from_id;
use crate::objects;

/// The result of a KPI mutation.
#[derive(SimpleObject, Debug)]
pub struct KpiPayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica (a retry with the same idempotency key answers with the first
    /// attempt's); null when the command changed nothing.
    pub position: Option<String>,
    /// The KPI as it is now.
    pub kpi: Option<objects::Kpi>,
}

fn read_kpi(ctx: &Context<'_>, kpi: KpiId) -> Option<objects::Kpi> {
    let org = org_uuid(ctx)?;
    let projections = &state(ctx).projections;
    Some(objects::Kpi::new(
        projections.kpi(org, kpi)?,
        projections.org(org)?,
    ))
}

async fn kpi_mutation(
    ctx: &Context<'_>,
    kpi: KpiId,
    command: KpiCommand,
    options: Option<CommandOptions>,
) -> ApiResult<KpiPayload> {
    let position = run(
        ctx,
        Command::Kpi {
            kpi_id: kpi,
            command,
        },
        options,
    )
    .await?;
    Ok(KpiPayload {
        position,
        kpi: read_kpi(ctx, kpi),
    })
}

/// KPI mutations: define, assign the owner, record readings.
#[derive(Debug, Default)]
pub struct KpiMutations;

#[Object]
impl KpiMutations {
    /// PO: defines a KPI of the pod and names its performance owner (a pod member).
    async fn define_kpi(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        name: String,
        unit: String,
        direction: objects::Direction,
        target: f64,
        baseline: Option<f64>,
        cadence: objects::ReportingCadence,
        owner_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<KpiPayload, async_graphql::Error> {
        use podledger_domain::kpi::{Direction as D, ReportingCadence as C};
        let kpi = KpiId(new_id(options.as_ref(), "kpi"));
        let command = KpiCommand::DefineKpi {
            pod_id: pod_id!(pod_id),
            name,
            unit,
            direction: match direction {
                objects::Direction::Increase => D::Increase,
                objects::Direction::Decrease => D::Decrease,
            },
            target,
            baseline,
            cadence: match cadence {
                objects::ReportingCadence::Daily => C::Daily,
                objects::ReportingCadence::Weekly => C::Weekly,
                objects::ReportingCadence::PerSprint => C::PerSprint,
                objects::ReportingCadence::Monthly => C::Monthly,
            },
            owner: person_id!(owner_id, "ownerId"),
        };
        Ok(kpi_mutation(ctx, kpi, command, options).await?)
    }

    /// PO: names a new performance owner.
    async fn assign_kpi_owner(
        &self,
        ctx: &Context<'_>,
        kpi_id: ID,
        owner_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<KpiPayload, async_graphql::Error> {
        let kpi = KpiId(from_id("Kpi", &kpi_id, "kpiId")?);
        let command = KpiCommand::AssignKpiOwner {
            owner: person_id!(owner_id, "ownerId"),
        };
        Ok(kpi_mutation(ctx, kpi, command, options).await?)
    }

    /// The KPI's owner, or a service token for its pod, records a reading.
    async fn record_kpi_reading(
        &self,
        ctx: &Context<'_>,
        kpi_id: ID,
        value: f64,
        observed_at: DateTime<Utc>,
        source: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<KpiPayload, async_graphql::Error> {
        let kpi = KpiId(from_id("Kpi", &kpi_id, "kpiId")?);
        let command = KpiCommand::RecordKpiReading {
            value,
            observed_at,
            source,
        };
        Ok(kpi_mutation(ctx, kpi, command, options).await?)
    }
}

//! Mutations of the organisation's governance (SPEC §9.1, §9.3), all `ORG_ADMIN`: approval rules,
//! shared services with their SLA, service operators.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use podledger_domain::Command;
use podledger_domain::ids::{PersonId, SharedServiceId};
use podledger_domain::org::{OrgCommand, RequestWindow, ServiceFunction, Sla};

use super::organisation::{OrganisationPayload, organisation_mutation};
use super::{CommandOptions, new_id, org_uuid, run};
use crate::error::{ApiError, ApiResult};
use crate::ids::from_id;
use crate::objects::{self, operating::IntakeMethod};

/// When a service takes requests in (UTC).
#[derive(InputObject, Debug)]
pub struct RequestWindowInput {
    /// Weekdays it is open: 1 (Monday) to 7 (Sunday).
    pub days: Vec<i32>,
    /// Opening hour, 0–23.
    pub opens_at_hour: i32,
    /// Closing hour, 1–24, after the opening hour.
    pub closes_at_hour: i32,
}

/// A shared service's SLA.
#[derive(InputObject, Debug)]
pub struct SlaInput {
    /// When requests are taken in.
    pub window: RequestWindowInput,
    /// Hours from receipt to the due time (1 to a year).
    pub turnaround_hours: i32,
    /// Who escalated requests go to (a `Person` id).
    pub escalation_contact_id: ID,
    /// How requests are taken in.
    pub intake_method: IntakeMethod,
}

fn sla(input: &SlaInput) -> ApiResult<Sla> {
    let byte = |v: i32, field: &str| {
        u8::try_from(v).map_err(|_| ApiError::bad_input(field, "out of range"))
    };
    Ok(Sla {
        window: RequestWindow {
            days: input
                .window
                .days
                .iter()
                .map(|d| byte(*d, "sla.window.days"))
                .collect::<ApiResult<_>>()?,
            opens_at_hour: byte(input.window.opens_at_hour, "sla.window.opensAtHour")?,
            closes_at_hour: byte(input.window.closes_at_hour, "sla.window.closesAtHour")?,
        },
        turnaround_hours: u32::try_from(input.turnaround_hours)
            .map_err(|_| ApiError::bad_input("sla.turnaroundHours", "must be positive"))?,
        escalation_contact: PersonId(from_id(
            "Person",
            &input.escalation_contact_id,
            "sla.escalationContactId",
        )?),
        intake: input.intake_method.into(),
    })
}

/// `LEGAL`, `BRAND_COMPLIANCE`, `DEV`, `ANALYTICS` or `OTHER(label)`.
fn function(text: &str) -> ApiResult<ServiceFunction> {
    if let Some(label) = text
        .strip_prefix("OTHER(")
        .and_then(|t| t.strip_suffix(')'))
    {
        return Ok(ServiceFunction::Other(label.to_owned()));
    }
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
        ApiError::bad_input(
            "function",
            format!(
                "unknown function {text}: LEGAL, BRAND_COMPLIANCE, DEV, ANALYTICS or OTHER(label)"
            ),
        )
    })
}

/// The result of a shared-service mutation.
#[derive(SimpleObject, Debug)]
pub struct SharedServicePayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica (a retry with the same idempotency key answers with the first
    /// attempt's); null when the command changed nothing.
    pub position: Option<String>,
    /// The service as it is now.
    pub shared_service: Option<objects::SharedService>,
}

async fn service_mutation(
    ctx: &Context<'_>,
    service: SharedServiceId,
    command: OrgCommand,
    options: Option<CommandOptions>,
) -> ApiResult<SharedServicePayload> {
    let position = run(ctx, Command::Org(command), options).await?;
    let shared_service =
        org_uuid(ctx).and_then(|org| objects::operating::live_shared_service(ctx, org, service));
    Ok(SharedServicePayload {
        position,
        shared_service,
    })
}

macro_rules! service_id {
    ($id:expr) => {
        SharedServiceId(from_id("SharedService", &$id, "sharedServiceId")?)
    };
}

/// Governance mutations: approval rules, shared services, their SLA and operators.
#[derive(Debug, Default)]
pub struct GovernanceMutations;

#[Object]
impl GovernanceMutations {
    /// `ORG_ADMIN`: items of `outputCategory` need an approval by `approverId` within
    /// `deadlineHours` before they are DONE (replaces the category's rule; applies to approval
    /// requests made after it).
    async fn set_approval_rule(
        &self,
        ctx: &Context<'_>,
        output_category: String,
        approver_id: ID,
        deadline_hours: i32,
        options: Option<CommandOptions>,
    ) -> Result<OrganisationPayload, async_graphql::Error> {
        let command = OrgCommand::SetApprovalRule {
            output_category,
            approver: person_id!(approver_id, "approverId"),
            deadline_hours: i64::from(deadline_hours),
        };
        Ok(organisation_mutation(ctx, command, options).await?)
    }

    /// `ORG_ADMIN`: the category no longer needs approval.
    async fn remove_approval_rule(
        &self,
        ctx: &Context<'_>,
        output_category: String,
        options: Option<CommandOptions>,
    ) -> Result<OrganisationPayload, async_graphql::Error> {
        let command = OrgCommand::RemoveApprovalRule { output_category };
        Ok(organisation_mutation(ctx, command, options).await?)
    }

    /// `ORG_ADMIN`: defines a shared service with its SLA.
    async fn define_shared_service(
        &self,
        ctx: &Context<'_>,
        name: String,
        function: String,
        sla: SlaInput,
        options: Option<CommandOptions>,
    ) -> Result<SharedServicePayload, async_graphql::Error> {
        let service = SharedServiceId(new_id(options.as_ref(), "shared service"));
        let command = OrgCommand::DefineSharedService {
            service_id: service,
            name,
            function: self::function(&function)?,
            sla: self::sla(&sla)?,
        };
        Ok(service_mutation(ctx, service, command, options).await?)
    }

    /// `ORG_ADMIN`: changes a service's SLA; requests received after it are held to it.
    async fn change_service_sla(
        &self,
        ctx: &Context<'_>,
        shared_service_id: ID,
        sla: SlaInput,
        options: Option<CommandOptions>,
    ) -> Result<SharedServicePayload, async_graphql::Error> {
        let service = service_id!(shared_service_id);
        let command = OrgCommand::ChangeServiceSla {
            service_id: service,
            sla: self::sla(&sla)?,
        };
        Ok(service_mutation(ctx, service, command, options).await?)
    }

    /// `ORG_ADMIN`: appoints an operator (an org-level person, never a pod member).
    async fn appoint_service_operator(
        &self,
        ctx: &Context<'_>,
        shared_service_id: ID,
        person_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<SharedServicePayload, async_graphql::Error> {
        let service = service_id!(shared_service_id);
        let command = OrgCommand::AppointServiceOperator {
            service_id: service,
            person_id: person_id!(person_id, "personId"),
        };
        Ok(service_mutation(ctx, service, command, options).await?)
    }

    /// `ORG_ADMIN`: the person no longer operates the service.
    async fn remove_service_operator(
        &self,
        ctx: &Context<'_>,
        shared_service_id: ID,
        person_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<SharedServicePayload, async_graphql::Error> {
        let service = service_id!(shared_service_id);
        let command = OrgCommand::RemoveServiceOperator {
            service_id: service,
            person_id: person_id!(person_id, "personId"),
        };
        Ok(service_mutation(ctx, service, command, options).await?)
    }
}

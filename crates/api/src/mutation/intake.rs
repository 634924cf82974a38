//! Mutations of a pod's intake: submit, accept (the request becomes a backlog item), decline.

use async_graphql::{Context, ID, Object, SimpleObject};
use podledger_domain::ids::{IntakeId, ItemId, PodId};
use podledger_domain::pod::PodCommand;

use super::{CommandOptions, new_id, on_pod};
use crate::error::ApiResult;
use crate::ids::from_id;
use crate::objects::{self, Item};

/// The result of an intake mutation.
#[derive(SimpleObject, Debug)]
pub struct IntakePayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica (a retry with the same idempotency key answers with the first
    /// attempt's); null when the command changed nothing.
    pub position: Option<String>,
    /// The request as it is now.
    pub request: Option<objects::IntakeRequest>,
    /// The backlog item it became, once accepted.
    pub item: Option<Item>,
}

async fn intake_mutation(
    ctx: &Context<'_>,
    pod: PodId,
    request: IntakeId,
    command: PodCommand,
    options: Option<CommandOptions>,
) -> ApiResult<IntakePayload> {
    let (position, found) = on_pod(ctx, pod, command, options, |s| {
        let r = s.view.intake_request(request)?;
        Some((
            objects::intake_request(s, r),
            r.history.item.and_then(|i| Item::of(s, i)),
        ))
    })
    .await?;
    let (request, item) = found.unzip();
    Ok(IntakePayload {
        position,
        request,
        item: item.flatten(),
    })
}

/// Intake mutations: submit, accept, decline.
#[derive(Debug, Default)]
pub struct IntakeMutations;

#[Object]
impl IntakeMutations {
    /// Any person of the organisation (a stakeholder, a member of any pod) asks a pod for work;
    /// it reaches the backlog only when the pod's PO accepts it.
    async fn submit_intake_request(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        title: String,
        description: Option<String>,
        output_category: String,
        options: Option<CommandOptions>,
    ) -> Result<IntakePayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let request_id = IntakeId(new_id(options.as_ref(), "intake request"));
        let command = PodCommand::SubmitIntakeRequest {
            request_id,
            title,
            description,
            output_category,
        };
        Ok(intake_mutation(ctx, pod, request_id, command, options).await?)
    }

    /// PO: accepts an open intake request; it becomes a backlog item (at the bottom of the
    /// backlog) whose requester is the submitter.
    async fn accept_intake_request(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        request_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<IntakePayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let request_id = IntakeId(from_id("IntakeRequest", &request_id, "requestId")?);
        let command = PodCommand::AcceptIntakeRequest {
            request_id,
            item_id: ItemId(new_id(options.as_ref(), "item")),
        };
        Ok(intake_mutation(ctx, pod, request_id, command, options).await?)
    }

    /// PO: declines an open intake request, saying why.
    async fn decline_intake_request(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        request_id: ID,
        reason: String,
        options: Option<CommandOptions>,
    ) -> Result<IntakePayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let request_id = IntakeId(from_id("IntakeRequest", &request_id, "requestId")?);
        let command = PodCommand::DeclineIntakeRequest { request_id, reason };
        Ok(intake_mutation(ctx, pod, request_id, command, options).await?)
    }
}

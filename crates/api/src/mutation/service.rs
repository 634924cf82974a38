//! Mutations of requests to shared services (SPEC §9.1): open (the pod's PO or an item's
//! delivery owner), accept, deliver, reject (operators), cancel (the requester), escalate (the
//! requester or the pod's SM).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use podledger_domain::ids::{ItemId, PodId, ServiceRequestId, SharedServiceId};
use podledger_domain::pod::PodCommand;

use super::{CommandOptions, new_id, on_pod};
use crate::error::{ApiError, ApiResult};
use crate::ids::from_id;
use crate::objects;

/// A new request to a shared service.
#[derive(InputObject, Debug)]
pub struct OpenServiceRequestInput {
    /// The pod that asks.
    pub pod_id: ID,
    /// The service.
    pub shared_service_id: ID,
    /// The item it is about, if any (its delivery owner may open it).
    pub item_id: Option<ID>,
    /// What is asked for.
    pub title: String,
    /// Context.
    pub description: Option<String>,
}

/// The result of a service-request mutation.
#[derive(SimpleObject, Debug)]
pub struct ServiceRequestPayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica (a retry with the same idempotency key answers with the first
    /// attempt's); null when the command changed nothing.
    pub position: Option<String>,
    /// The request as it is now.
    pub request: Option<objects::ServiceRequest>,
}

async fn request_mutation(
    ctx: &Context<'_>,
    pod: PodId,
    request: ServiceRequestId,
    command: PodCommand,
    options: Option<CommandOptions>,
) -> ApiResult<ServiceRequestPayload> {
    let (position, request) = on_pod(ctx, pod, command, options, |s| {
        objects::operating::service_request(s, request)
    })
    .await?;
    Ok(ServiceRequestPayload { position, request })
}

fn request_id(id: &ID) -> ApiResult<ServiceRequestId> {
    Ok(ServiceRequestId(from_id(
        "ServiceRequest",
        id,
        "requestId",
    )?))
}

/// Service-request mutations.
#[derive(Debug, Default)]
pub struct ServiceRequestMutations;

#[Object]
impl ServiceRequestMutations {
    /// The pod's PO, or an item's delivery owner (with `itemId`), opens a request to a shared
    /// service: received now when its window is open, else at its next opening, and due a
    /// turnaround later.
    async fn open_service_request(
        &self,
        ctx: &Context<'_>,
        input: OpenServiceRequestInput,
        options: Option<CommandOptions>,
    ) -> Result<ServiceRequestPayload, async_graphql::Error> {
        let within = |e| ApiError::within(e, "input");
        let pod = PodId(from_id("Pod", &input.pod_id, "podId").map_err(within)?);
        let request = ServiceRequestId(new_id(options.as_ref(), "service request"));
        let command = PodCommand::OpenServiceRequest {
            request_id: request,
            service_id: SharedServiceId(
                from_id("SharedService", &input.shared_service_id, "sharedServiceId")
                    .map_err(within)?,
            ),
            item_id: input
                .item_id
                .map(|id| from_id("Item", &id, "itemId").map(ItemId))
                .transpose()
                .map_err(within)?,
            title: input.title,
            description: input.description,
        };
        Ok(request_mutation(ctx, pod, request, command, options).await?)
    }

    /// An operator of the service takes an open request on.
    async fn accept_service_request(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        request_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<ServiceRequestPayload, async_graphql::Error> {
        let request = self::request_id(&request_id)?;
        let command = PodCommand::AcceptServiceRequest {
            request_id: request,
        };
        Ok(request_mutation(ctx, pod_id!(pod_id), request, command, options).await?)
    }

    /// An operator of the service delivers an accepted request.
    async fn deliver_service_request(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        request_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<ServiceRequestPayload, async_graphql::Error> {
        let request = self::request_id(&request_id)?;
        let command = PodCommand::DeliverServiceRequest {
            request_id: request,
        };
        Ok(request_mutation(ctx, pod_id!(pod_id), request, command, options).await?)
    }

    /// An operator of the service rejects a request, saying why.
    async fn reject_service_request(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        request_id: ID,
        reason: String,
        options: Option<CommandOptions>,
    ) -> Result<ServiceRequestPayload, async_graphql::Error> {
        let request = self::request_id(&request_id)?;
        let command = PodCommand::RejectServiceRequest {
            request_id: request,
            reason,
        };
        Ok(request_mutation(ctx, pod_id!(pod_id), request, command, options).await?)
    }

    /// The person who opened a request withdraws it.
    async fn cancel_service_request(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        request_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<ServiceRequestPayload, async_graphql::Error> {
        let request = self::request_id(&request_id)?;
        let command = PodCommand::CancelServiceRequest {
            request_id: request,
        };
        Ok(request_mutation(ctx, pod_id!(pod_id), request, command, options).await?)
    }

    /// The requester or the pod's SM escalates a request to the service's escalation contact.
    async fn escalate_service_request(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        request_id: ID,
        note: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<ServiceRequestPayload, async_graphql::Error> {
        let request = self::request_id(&request_id)?;
        let command = PodCommand::EscalateServiceRequest {
            request_id: request,
            note,
        };
        Ok(request_mutation(ctx, pod_id!(pod_id), request, command, options).await?)
    }
}

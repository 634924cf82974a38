//! Mutations of sprints: planning, goals, commitment and scope changes, start and close.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::NaiveDate;
use podledger_domain::ids::{ItemId, PodId, SprintId};
use podledger_domain::pod::PodCommand;

use super::{CommandOptions, ScopeChangeInput, new_id, on_pod, reason};
use crate::error::ApiResult;
use crate::ids::from_id;
use crate::objects::Sprint;

/// The result of a sprint mutation.
#[derive(SimpleObject, Debug)]
pub struct SprintPayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica (a retry with the same idempotency key answers with the first
    /// attempt's); null when the command changed nothing.
    pub position: Option<String>,
    /// The sprint as it is now.
    pub sprint: Option<Sprint>,
}

/// Runs a pod command and answers with the sprint as it is now.
async fn sprint_mutation(
    ctx: &Context<'_>,
    pod: PodId,
    sprint: SprintId,
    command: PodCommand,
    options: Option<CommandOptions>,
) -> ApiResult<SprintPayload> {
    let (position, sprint) = on_pod(ctx, pod, command, options, |s| Sprint::of(s, sprint)).await?;
    Ok(SprintPayload { position, sprint })
}

/// Sprint mutations: plan, goal, commitment and scope, start, close.
#[derive(Debug, Default)]
pub struct SprintMutations;

#[Object]
impl SprintMutations {
    /// PO: plans a sprint (end defaults to start + the org's sprint length − 1).
    async fn plan_sprint(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        start_date: NaiveDate,
        end_date: Option<NaiveDate>,
        options: Option<CommandOptions>,
    ) -> Result<SprintPayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let sprint_id = SprintId(new_id(options.as_ref(), "sprint"));
        let command = PodCommand::PlanSprint {
            sprint_id,
            start_date,
            end_date,
        };
        Ok(sprint_mutation(ctx, pod, sprint_id, command, options).await?)
    }

    /// PO: sets the goal and goal items of a planned sprint.
    async fn set_sprint_goal(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        sprint_id: ID,
        goal: String,
        goal_item_ids: Vec<ID>,
        options: Option<CommandOptions>,
    ) -> Result<SprintPayload, async_graphql::Error> {
        let (pod, sprint_id) = (pod_id!(pod_id), sprint_id!(sprint_id));
        let goal_items = goal_item_ids
            .iter()
            .map(|id| from_id("Item", id, "goalItemIds").map(ItemId))
            .collect::<ApiResult<Vec<_>>>()?;
        let command = PodCommand::SetSprintGoal {
            sprint_id,
            goal,
            goal_items,
        };
        Ok(sprint_mutation(ctx, pod, sprint_id, command, options).await?)
    }

    /// PO: commits a READY item; once the sprint is active this is a scope change and needs a reason.
    async fn commit_item(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        sprint_id: ID,
        item_id: ID,
        reason: Option<ScopeChangeInput>,
        options: Option<CommandOptions>,
    ) -> Result<SprintPayload, async_graphql::Error> {
        let (pod, sprint_id) = (pod_id!(pod_id), sprint_id!(sprint_id));
        let command = PodCommand::CommitItem {
            sprint_id,
            item_id: item_id!(item_id),
            reason: self::reason(reason),
        };
        Ok(sprint_mutation(ctx, pod, sprint_id, command, options).await?)
    }

    /// PO: takes an item out of a sprint; once active this is a scope change and needs a reason.
    async fn remove_item_from_sprint(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        sprint_id: ID,
        item_id: ID,
        reason: Option<ScopeChangeInput>,
        options: Option<CommandOptions>,
    ) -> Result<SprintPayload, async_graphql::Error> {
        let (pod, sprint_id) = (pod_id!(pod_id), sprint_id!(sprint_id));
        let command = PodCommand::RemoveItemFromSprint {
            sprint_id,
            item_id: item_id!(item_id),
            reason: self::reason(reason),
        };
        Ok(sprint_mutation(ctx, pod, sprint_id, command, options).await?)
    }

    /// PO: starts a planned sprint.
    async fn start_sprint(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        sprint_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<SprintPayload, async_graphql::Error> {
        let (pod, sprint_id) = (pod_id!(pod_id), sprint_id!(sprint_id));
        Ok(sprint_mutation(
            ctx,
            pod,
            sprint_id,
            PodCommand::StartSprint { sprint_id },
            options,
        )
        .await?)
    }

    /// SM (PO without SM): closes the active sprint.
    async fn close_sprint(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        sprint_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<SprintPayload, async_graphql::Error> {
        let (pod, sprint_id) = (pod_id!(pod_id), sprint_id!(sprint_id));
        Ok(sprint_mutation(
            ctx,
            pod,
            sprint_id,
            PodCommand::CloseSprint { sprint_id },
            options,
        )
        .await?)
    }

    /// PO: moves a planned sprint (not once active).
    async fn change_sprint_dates(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        sprint_id: ID,
        start_date: NaiveDate,
        end_date: NaiveDate,
        options: Option<CommandOptions>,
    ) -> Result<SprintPayload, async_graphql::Error> {
        let (pod, sprint_id) = (pod_id!(pod_id), sprint_id!(sprint_id));
        let command = PodCommand::ChangeSprintDates {
            sprint_id,
            start_date,
            end_date,
        };
        Ok(sprint_mutation(ctx, pod, sprint_id, command, options).await?)
    }
}

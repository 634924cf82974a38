//! Mutations: one per domain command, each run through the one command handler; each answers
//! with the changed object as the projections now see it (read-your-writes) and the global
//! position of its last event.

// A resolver's arguments are its GraphQL field's arguments: their number is the API's shape.
#![allow(clippy::too_many_arguments)]

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use podledger_domain::Command;
use podledger_domain::ids::{BlockerId, IntakeId, ItemId, KpiId, PersonId, PodId, SprintId};
use podledger_domain::kpi::KpiCommand;
use podledger_domain::org::OrgCommand;
use podledger_domain::pod::{PodCommand, ScopeChangeReason, WorkStatus};
use podledger_domain::roles::{PodFocus, PodRole};
use podledger_eventstore::RequestMeta;
use tracing::Instrument as _;
use uuid::Uuid;

use crate::context::{live_scope, position, principal, state};
use crate::error::{ApiError, ApiResult};
use crate::ids::from_id;
use crate::objects::{self, Item, Pod, Sprint};

/// Request options every mutation accepts.
#[derive(InputObject, Debug, Default)]
pub struct CommandOptions {
    /// The version of the target you last read (R12); the command fails if it moved.
    pub expected_version: Option<String>,
    /// A UUID of your choosing: re-sending the same mutation with it returns the first result.
    pub idempotency_key: Option<String>,
}

/// The id of an object a mutation creates: derived from the idempotency key when there is one
/// (a retry answers with the object the first attempt created), else a new one.
fn new_id(options: Option<&CommandOptions>, kind: &str) -> Uuid {
    options
        .and_then(|o| o.idempotency_key.as_deref())
        .and_then(|k| Uuid::parse_str(k).ok())
        .map_or_else(Uuid::now_v7, |key| Uuid::new_v5(&key, kind.as_bytes()))
}

/// What a command did: the global position of its last event (none when it changed nothing).
#[derive(Debug)]
struct Outcome {
    position: Option<String>,
}

async fn run(
    ctx: &Context<'_>,
    command: Command,
    options: Option<CommandOptions>,
) -> ApiResult<Outcome> {
    let p = principal(ctx)?;
    let s = state(ctx);
    let options = options.unwrap_or_default();
    let mut context = podledger_domain::Context::new(p.org, p.actor.clone(), Utc::now());
    if let Some(v) = &options.expected_version {
        context = context.expecting(position(v, "options.expectedVersion")?);
    }
    let idempotency_key = options
        .idempotency_key
        .as_deref()
        .map(|k| {
            Uuid::parse_str(k)
                .map_err(|_| ApiError::bad_input("options.idempotencyKey", "must be a UUID"))
        })
        .transpose()?;
    let meta = RequestMeta {
        correlation_id: ctx
            .data_opt::<crate::CorrelationId>()
            .map_or_else(Uuid::now_v7, |c| c.0),
        causation_id: None,
        idempotency_key,
    };
    let name = ctx.field().name();
    let span = tracing::info_span!(
        "command",
        otel.name = format!("command {name}"),
        command.name = name,
        command.outcome = tracing::field::Empty,
        retries = tracing::field::Empty,
    );
    let done = s
        .handler
        .execute(&command, &context, meta)
        .instrument(span.clone())
        .await;
    let outcome = match &done {
        Ok(_) => "ok".to_owned(),
        Err(podledger_eventstore::HandleError::Domain(e)) => e.code().as_str().to_owned(),
        Err(_) => "INTERNAL_SERVER_ERROR".to_owned(),
    };
    span.record("command.outcome", outcome.as_str());
    tracing::debug!(parent: &span, outcome, "command handled");
    s.metrics
        .commands
        .get_or_create(&crate::telemetry::CommandLabels {
            mutation: ctx.field().name().to_owned(),
            outcome,
        })
        .inc();
    let done = done?;
    if let Some(last) = done.last_position {
        s.projections.wait_for(last, s.consistency_timeout).await?;
    }
    Ok(Outcome {
        position: done.last_position.map(|p| p.to_string()),
    })
}

/// The result of a pod mutation.
#[derive(SimpleObject, Debug)]
pub struct PodPayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica (a retry with the same idempotency key answers with the first
    /// attempt's); null when the command changed nothing.
    pub position: Option<String>,
    /// The pod as it is now.
    pub pod: Option<Pod>,
}

/// The result of an item mutation.
#[derive(SimpleObject, Debug)]
#[graphql(complex)]
pub struct ItemPayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica (a retry with the same idempotency key answers with the first
    /// attempt's); null when the command changed nothing.
    pub position: Option<String>,
    /// The item as it is now.
    pub item: Option<Item>,
    #[graphql(skip)]
    pod_id: PodId,
}

#[async_graphql::ComplexObject]
impl ItemPayload {
    /// The item's pod as it is now (its backlog in rank order, after `rankItem`).
    async fn pod(&self, ctx: &Context<'_>) -> Option<Pod> {
        read_pod(ctx, self.pod_id)
    }
}

/// The result of an organisation mutation.
#[derive(SimpleObject, Debug)]
pub struct OrganisationPayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica (a retry with the same idempotency key answers with the first
    /// attempt's); null when the command changed nothing.
    pub position: Option<String>,
    /// The organisation as it is now.
    pub organisation: Option<objects::Organisation>,
}

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

/// Runs a pod command and answers with the item as it is now.
async fn item_mutation(
    ctx: &Context<'_>,
    pod: PodId,
    item: ItemId,
    command: PodCommand,
    options: Option<CommandOptions>,
) -> ApiResult<ItemPayload> {
    let outcome = run(
        ctx,
        Command::Pod {
            pod_id: pod,
            command,
        },
        options,
    )
    .await?;
    Ok(ItemPayload {
        position: outcome.position,
        item: read_item(ctx, pod, item),
        pod_id: pod,
    })
}

/// Runs a pod command and answers with the sprint as it is now.
async fn sprint_mutation(
    ctx: &Context<'_>,
    pod: PodId,
    sprint: SprintId,
    command: PodCommand,
    options: Option<CommandOptions>,
) -> ApiResult<SprintPayload> {
    let outcome = run(
        ctx,
        Command::Pod {
            pod_id: pod,
            command,
        },
        options,
    )
    .await?;
    Ok(SprintPayload {
        position: outcome.position,
        sprint: read_sprint(ctx, pod, sprint),
    })
}

/// Runs an organisation command and answers with the pod as it is now.
async fn pod_mutation(
    ctx: &Context<'_>,
    pod: PodId,
    command: OrgCommand,
    options: Option<CommandOptions>,
) -> ApiResult<PodPayload> {
    let outcome = run(ctx, Command::Org(command), options).await?;
    Ok(PodPayload {
        position: outcome.position,
        pod: read_pod(ctx, pod),
    })
}

fn org_uuid(ctx: &Context<'_>) -> Option<Uuid> {
    principal(ctx).ok().map(|p| p.org.as_uuid())
}

fn read_pod(ctx: &Context<'_>, pod: PodId) -> Option<Pod> {
    live_scope(ctx, org_uuid(ctx)?, pod).map(Pod::new)
}

fn read_kpi(ctx: &Context<'_>, kpi: KpiId) -> Option<objects::Kpi> {
    let org = org_uuid(ctx)?;
    let projections = &state(ctx).projections;
    Some(objects::Kpi::new(
        projections.kpi(org, kpi)?,
        projections.org(org)?,
    ))
}

fn read_organisation(ctx: &Context<'_>) -> Option<objects::Organisation> {
    let org = org_uuid(ctx)?;
    let view = state(ctx).projections.org(org)?;
    Some(crate::query::live_organisation(ctx, org, view))
}

/// Runs an organisation command and answers with the organisation as it is now.
async fn organisation_mutation(
    ctx: &Context<'_>,
    command: OrgCommand,
    options: Option<CommandOptions>,
) -> ApiResult<OrganisationPayload> {
    let outcome = run(ctx, Command::Org(command), options).await?;
    Ok(OrganisationPayload {
        position: outcome.position,
        organisation: read_organisation(ctx),
    })
}

fn read_person(ctx: &Context<'_>, person: PersonId) -> Option<objects::Person> {
    objects::Person::of(&state(ctx).projections.org(org_uuid(ctx)?)?, person)
}

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
    let outcome = run(
        ctx,
        Command::Pod {
            pod_id: pod,
            command,
        },
        options,
    )
    .await?;
    let scope = org_uuid(ctx).and_then(|org| live_scope(ctx, org, pod));
    let view = scope
        .as_ref()
        .and_then(|s| Some((s, s.view.intake_request(request)?)));
    Ok(IntakePayload {
        position: outcome.position,
        request: view.map(|(s, r)| objects::intake_request(s, r)),
        item: view.and_then(|(s, r)| Item::of(s, r.history.item?)),
    })
}

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

/// The result of a person mutation.
#[derive(SimpleObject, Debug)]
pub struct PersonPayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica (a retry with the same idempotency key answers with the first
    /// attempt's); null when the command changed nothing.
    pub position: Option<String>,
    /// The person as they are now.
    pub person: Option<objects::Person>,
}

/// The result of a blocker mutation.
#[derive(SimpleObject, Debug)]
pub struct BlockerPayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica (a retry with the same idempotency key answers with the first
    /// attempt's); null when the command changed nothing.
    pub position: Option<String>,
    /// The blocker as it is now.
    pub blocker: Option<objects::Blocker>,
}

async fn kpi_mutation(
    ctx: &Context<'_>,
    kpi: KpiId,
    command: KpiCommand,
    options: Option<CommandOptions>,
) -> ApiResult<KpiPayload> {
    let outcome = run(
        ctx,
        Command::Kpi {
            kpi_id: kpi,
            command,
        },
        options,
    )
    .await?;
    Ok(KpiPayload {
        position: outcome.position,
        kpi: read_kpi(ctx, kpi),
    })
}

async fn person_mutation(
    ctx: &Context<'_>,
    person: PersonId,
    command: OrgCommand,
    options: Option<CommandOptions>,
) -> ApiResult<PersonPayload> {
    let outcome = run(ctx, Command::Org(command), options).await?;
    Ok(PersonPayload {
        position: outcome.position,
        person: read_person(ctx, person),
    })
}

async fn blocker_mutation(
    ctx: &Context<'_>,
    pod: PodId,
    blocker: BlockerId,
    command: PodCommand,
    options: Option<CommandOptions>,
) -> ApiResult<BlockerPayload> {
    let outcome = run(
        ctx,
        Command::Pod {
            pod_id: pod,
            command,
        },
        options,
    )
    .await?;
    let view = org_uuid(ctx).and_then(|org| state(ctx).projections.pod(org, pod));
    Ok(BlockerPayload {
        position: outcome.position,
        blocker: view.and_then(|v| v.blocker(blocker).map(objects::blocker)),
    })
}

fn read_item(ctx: &Context<'_>, pod: PodId, item: ItemId) -> Option<Item> {
    Item::of(&live_scope(ctx, org_uuid(ctx)?, pod)?, item)
}

fn read_sprint(ctx: &Context<'_>, pod: PodId, sprint: SprintId) -> Option<Sprint> {
    Sprint::of(&live_scope(ctx, org_uuid(ctx)?, pod)?, sprint)
}

/// How a started sprint's scope changes (R8).
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ScopeChangeKind {
    /// Technically impossible.
    TechnicallyImpossible,
    /// Business conditions changed.
    BusinessConditionsChanged,
    /// Something else, explained in `text`.
    Other,
}

/// A scope-change reason.
#[derive(InputObject, Debug)]
pub struct ScopeChangeInput {
    /// Kind.
    pub kind: ScopeChangeKind,
    /// Explanation (required for OTHER).
    pub text: Option<String>,
}

fn reason(input: Option<ScopeChangeInput>) -> Option<ScopeChangeReason> {
    input.map(|r| match r.kind {
        ScopeChangeKind::TechnicallyImpossible => ScopeChangeReason::TechnicallyImpossible,
        ScopeChangeKind::BusinessConditionsChanged => ScopeChangeReason::BusinessConditionsChanged,
        ScopeChangeKind::Other => ScopeChangeReason::Other(r.text.unwrap_or_default()),
    })
}

/// A status the delivery owner moves an item to.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum WorkStatusInput {
    /// Back to to-do.
    Committed,
    /// Started.
    InProgress,
    /// Awaiting review.
    InReview,
    /// Finished.
    Done,
}

fn pod_role(text: &str) -> ApiResult<PodRole> {
    if let Some(label) = text
        .strip_prefix("OTHER(")
        .and_then(|t| t.strip_suffix(')'))
    {
        return Ok(PodRole::Other(label.to_owned()));
    }
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| ApiError::bad_input("role", format!("unknown pod role {text}")))
}

fn focus(text: &str) -> PodFocus {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .unwrap_or_else(|_| PodFocus::Custom(text.to_owned()))
}

/// A new backlog item.
#[derive(InputObject, Debug)]
pub struct CreateItemInput {
    /// Pod.
    pub pod_id: ID,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Output category.
    pub output_category: String,
    /// Acceptance criteria.
    pub acceptance_criteria: Option<String>,
    /// Estimate in story points (0–1,000); null until estimated.
    pub estimate: Option<i32>,
}

/// Mutations: one per domain command.
#[derive(Debug)]
pub struct MutationRoot;

macro_rules! pod_id {
    ($id:expr) => {
        PodId(from_id("Pod", &$id, "podId")?)
    };
}
macro_rules! item_id {
    ($id:expr) => {
        ItemId(from_id("Item", &$id, "itemId")?)
    };
}
macro_rules! sprint_id {
    ($id:expr) => {
        SprintId(from_id("Sprint", &$id, "sprintId")?)
    };
}
macro_rules! person_id {
    ($id:expr, $field:literal) => {
        PersonId(from_id("Person", &$id, $field)?)
    };
}

#[Object]
impl MutationRoot {
    /// Creates the token's organisation; the caller becomes its first ORG_ADMIN.
    async fn create_organisation(
        &self,
        ctx: &Context<'_>,
        name: String,
        founder_name: String,
        founder_email: Option<String>,
        sprint_length_days: Option<i32>,
        options: Option<CommandOptions>,
    ) -> Result<OrganisationPayload, async_graphql::Error> {
        let command = OrgCommand::CreateOrganisation {
            name,
            sprint_length_days: sprint_length_days.map(i64::from),
            founder_name,
            founder_email,
        };
        Ok(organisation_mutation(ctx, command, options).await?)
    }

    /// ORG_ADMIN: adds a person.
    async fn add_person(
        &self,
        ctx: &Context<'_>,
        name: String,
        email: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<PersonPayload, async_graphql::Error> {
        let person_id = PersonId(new_id(options.as_ref(), "person"));
        let command = OrgCommand::AddPerson {
            person_id,
            name,
            email,
        };
        Ok(person_mutation(ctx, person_id, command, options).await?)
    }

    /// ORG_ADMIN: creates a pod with a focus (ACQUISITION, ACTIVATION, RETENTION, CONTENT_OPS,
    /// REVENUE_ENABLEMENT, BRAND_AND_CREATIVE, or a custom label).
    async fn create_pod(
        &self,
        ctx: &Context<'_>,
        name: String,
        focus: String,
        options: Option<CommandOptions>,
    ) -> Result<PodPayload, async_graphql::Error> {
        let pod_id = PodId(new_id(options.as_ref(), "pod"));
        let command = OrgCommand::CreatePod {
            pod_id,
            name,
            focus: self::focus(&focus),
        };
        Ok(pod_mutation(ctx, pod_id, command, options).await?)
    }

    /// ORG_ADMIN: gives a person a role in a pod (`PRODUCT_OWNER`, `SCRUM_MASTER`, `DESIGNER`,
    /// …, `OTHER(label)`).
    async fn assign_pod_role(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        pod_id: ID,
        role: String,
        options: Option<CommandOptions>,
    ) -> Result<PodPayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let command = OrgCommand::AssignPodRole {
            person_id: person_id!(person_id, "personId"),
            pod_id: pod,
            role: pod_role(&role)?,
        };
        Ok(pod_mutation(ctx, pod, command, options).await?)
    }

    /// PO: creates a backlog item at the bottom of the backlog.
    async fn create_item(
        &self,
        ctx: &Context<'_>,
        input: CreateItemInput,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let pod = PodId(
            from_id("Pod", &input.pod_id, "podId").map_err(|e| ApiError::within(e, "input"))?,
        );
        let item_id = ItemId(new_id(options.as_ref(), "item"));
        let command = PodCommand::CreateItem {
            item_id,
            title: input.title,
            description: input.description,
            output_category: input.output_category,
            acceptance_criteria: input.acceptance_criteria,
            estimate: input.estimate.map(i64::from),
            parent_epic: None,
            requester: None,
        };
        Ok(item_mutation(ctx, pod, item_id, command, options)
            .await
            .map_err(|e| e.within("input"))?)
    }

    /// PO: (re-)estimates an item.
    async fn estimate_item(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: ID,
        estimate: i32,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let (pod, item_id) = (pod_id!(pod_id), item_id!(item_id));
        let command = PodCommand::EstimateItem {
            item_id,
            estimate: i64::from(estimate),
        };
        Ok(item_mutation(ctx, pod, item_id, command, options).await?)
    }

    /// PO: names the delivery owner, who must accept.
    async fn declare_delivery_owner(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: ID,
        person_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let (pod, item_id) = (pod_id!(pod_id), item_id!(item_id));
        let command = PodCommand::DeclareDeliveryOwner {
            item_id,
            person_id: person_id!(person_id, "personId"),
        };
        Ok(item_mutation(ctx, pod, item_id, command, options).await?)
    }

    /// The named person accepts delivery ownership.
    async fn accept_delivery_ownership(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let (pod, item_id) = (pod_id!(pod_id), item_id!(item_id));
        Ok(item_mutation(
            ctx,
            pod,
            item_id,
            PodCommand::AcceptDeliveryOwnership { item_id },
            options,
        )
        .await?)
    }

    /// The accepted delivery owner moves the item inside the active sprint.
    async fn move_item(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: ID,
        status: WorkStatusInput,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let (pod, item_id) = (pod_id!(pod_id), item_id!(item_id));
        let status = match status {
            WorkStatusInput::Committed => WorkStatus::Committed,
            WorkStatusInput::InProgress => WorkStatus::InProgress,
            WorkStatusInput::InReview => WorkStatus::InReview,
            WorkStatusInput::Done => WorkStatus::Done,
        };
        Ok(item_mutation(
            ctx,
            pod,
            item_id,
            PodCommand::MoveItem { item_id, status },
            options,
        )
        .await?)
    }

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

    /// ORG_ADMIN: sets the organisation's sprint length (1–56 days).
    async fn set_sprint_cadence(
        &self,
        ctx: &Context<'_>,
        sprint_length_days: i32,
        options: Option<CommandOptions>,
    ) -> Result<OrganisationPayload, async_graphql::Error> {
        let command = OrgCommand::SetSprintCadence {
            sprint_length_days: i64::from(sprint_length_days),
        };
        Ok(organisation_mutation(ctx, command, options).await?)
    }

    /// ORG_ADMIN: grants an organisation-level role.
    async fn grant_org_role(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        role: objects::OrgRole,
        options: Option<CommandOptions>,
    ) -> Result<PersonPayload, async_graphql::Error> {
        let person = person_id!(person_id, "personId");
        let command = OrgCommand::GrantOrgRole {
            person_id: person,
            role: role.into(),
        };
        Ok(person_mutation(ctx, person, command, options).await?)
    }

    /// ORG_ADMIN: lets the person sign in with an identity provider's token whose `iss` is
    /// `issuer` and whose `sub` is `subject` (see `--oidc-issuer`). An identity names one person;
    /// a person may have several.
    async fn link_identity(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        issuer: String,
        subject: String,
        options: Option<CommandOptions>,
    ) -> Result<PersonPayload, async_graphql::Error> {
        let person = person_id!(person_id, "personId");
        let command = OrgCommand::LinkIdentity {
            person_id: person,
            issuer,
            subject,
        };
        Ok(person_mutation(ctx, person, command, options).await?)
    }

    /// ORG_ADMIN: stops an identity signing in as the person it was linked to; the payload is
    /// that person.
    async fn unlink_identity(
        &self,
        ctx: &Context<'_>,
        issuer: String,
        subject: String,
        options: Option<CommandOptions>,
    ) -> Result<PersonPayload, async_graphql::Error> {
        let org = principal(ctx)?.org.as_uuid();
        let person = state(ctx)
            .projections
            .org(org)
            .and_then(|view| view.state.person_by_identity(issuer.trim(), subject.trim()));
        let command = OrgCommand::UnlinkIdentity {
            issuer,
            subject: subject.clone(),
        };
        if let Some(person) = person {
            return Ok(person_mutation(ctx, person, command, options).await?);
        }
        // The domain answers (FORBIDDEN before NOT_FOUND: whether an identity is linked is for
        // admins to know).
        run(ctx, Command::Org(command), options).await?;
        Err(ApiError::Domain(podledger_domain::DomainError::not_found(
            "subject", "identity", &subject,
        ))
        .into())
    }

    /// ORG_ADMIN: revokes an organisation-level role.
    async fn revoke_org_role(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        role: objects::OrgRole,
        options: Option<CommandOptions>,
    ) -> Result<PersonPayload, async_graphql::Error> {
        let person = person_id!(person_id, "personId");
        let command = OrgCommand::RevokeOrgRole {
            person_id: person,
            role: role.into(),
        };
        Ok(person_mutation(ctx, person, command, options).await?)
    }

    /// ORG_ADMIN: takes a pod role away; a person with no role left leaves the pod.
    async fn remove_pod_role(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        pod_id: ID,
        role: String,
        options: Option<CommandOptions>,
    ) -> Result<PodPayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let command = OrgCommand::RemovePodRole {
            person_id: person_id!(person_id, "personId"),
            pod_id: pod,
            role: pod_role(&role)?,
        };
        Ok(pod_mutation(ctx, pod, command, options).await?)
    }

    /// PO: edits an item's text fields; omitted fields stay as they are.
    async fn edit_item(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: ID,
        title: Option<String>,
        description: Option<String>,
        output_category: Option<String>,
        acceptance_criteria: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let (pod, item_id) = (pod_id!(pod_id), item_id!(item_id));
        let command = PodCommand::EditItem {
            item_id,
            title,
            description,
            output_category,
            acceptance_criteria,
        };
        Ok(item_mutation(ctx, pod, item_id, command, options).await?)
    }

    /// PO: moves an item just above `beforeItemId`, or to the bottom of the backlog.
    async fn rank_item(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: ID,
        before_item_id: Option<ID>,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let (pod, item_id) = (pod_id!(pod_id), item_id!(item_id));
        let before = before_item_id
            .map(|id| from_id("Item", &id, "beforeItemId").map(ItemId))
            .transpose()?;
        let command = PodCommand::RankItem { item_id, before };
        Ok(item_mutation(ctx, pod, item_id, command, options).await?)
    }

    /// PO: drops an item; inside an active sprint this is also a scope change and needs a reason.
    async fn drop_item(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: ID,
        reason: Option<ScopeChangeInput>,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let (pod, item_id) = (pod_id!(pod_id), item_id!(item_id));
        let command = PodCommand::DropItem {
            item_id,
            reason: self::reason(reason),
        };
        Ok(item_mutation(ctx, pod, item_id, command, options).await?)
    }

    /// The named person declines delivery ownership.
    async fn decline_delivery_ownership(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: ID,
        reason: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let (pod, item_id) = (pod_id!(pod_id), item_id!(item_id));
        Ok(item_mutation(
            ctx,
            pod,
            item_id,
            PodCommand::DeclineDeliveryOwnership { item_id, reason },
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

    /// Any pod member raises a blocker on the pod or one of its items.
    async fn raise_blocker(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: Option<ID>,
        category: objects::BlockerCategory,
        description: String,
        options: Option<CommandOptions>,
    ) -> Result<BlockerPayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let blocker_id = BlockerId(new_id(options.as_ref(), "blocker"));
        let item_id = item_id
            .map(|id| from_id("Item", &id, "itemId").map(ItemId))
            .transpose()?;
        let command = PodCommand::RaiseBlocker {
            blocker_id,
            item_id,
            category: category.into(),
            description,
        };
        Ok(blocker_mutation(ctx, pod, blocker_id, command, options).await?)
    }

    /// SM (PO without SM): escalates a blocker beyond the pod.
    async fn escalate_blocker(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        blocker_id: ID,
        note: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<BlockerPayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let blocker_id = BlockerId(from_id("Blocker", &blocker_id, "blockerId")?);
        Ok(blocker_mutation(
            ctx,
            pod,
            blocker_id,
            PodCommand::EscalateBlocker { blocker_id, note },
            options,
        )
        .await?)
    }

    /// SM (PO without SM): resolves a blocker.
    async fn resolve_blocker(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        blocker_id: ID,
        resolution: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<BlockerPayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let blocker_id = BlockerId(from_id("Blocker", &blocker_id, "blockerId")?);
        Ok(blocker_mutation(
            ctx,
            pod,
            blocker_id,
            PodCommand::ResolveBlocker {
                blocker_id,
                resolution,
            },
            options,
        )
        .await?)
    }

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

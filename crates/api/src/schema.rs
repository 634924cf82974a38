//! The schema: queries read the projections (optionally as of a past point, optionally after a
//! minimum position), mutations run domain commands through the one command handler and answer
//! with the changed object as the projections now see it, plus the position of the last event.

// A resolver's arguments are its GraphQL field's arguments: their number is the API's shape.
#![allow(clippy::too_many_arguments)]

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{
    Context, EmptySubscription, Enum, ID, InputObject, Object, Schema, SimpleObject,
};
use chrono::{DateTime, NaiveDate, Utc};
use podledger_domain::ids::{BlockerId, ItemId, KpiId, PersonId, PodId, SprintId};
use podledger_domain::kpi::KpiCommand;
use podledger_domain::org::OrgCommand;
use podledger_domain::pod::{PodCommand, ScopeChangeReason, WorkStatus};
use podledger_domain::roles::{PodFocus, PodRole};
use podledger_domain::{Actor, Command};
use podledger_eventstore::{CommandHandler, RequestMeta};
use podledger_projections::{AsOf, Projections};
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::ids::{from_id, to_id};
use crate::types::{self, Item, Organisation, Pod, Sprint};

/// What resolvers share.
#[derive(Clone, Debug)]
pub struct ApiState {
    /// The command loop.
    pub handler: Arc<CommandHandler>,
    /// The read models.
    pub projections: Projections,
    /// How long a request waits for the read models to reach a position.
    pub consistency_timeout: Duration,
}

/// The schema type.
pub type PodledgerSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Builds the schema over `state`.
pub fn build_schema(state: ApiState) -> PodledgerSchema {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .data(state)
        .limit_depth(16)
        .limit_complexity(5_000)
        .finish()
}

/// The SDL of the schema (what `schema/schema.graphql` holds).
pub fn sdl() -> String {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .finish()
        .sdl()
}

fn principal<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Principal> {
    ctx.data_opt::<Principal>().ok_or(ApiError::Unauthenticated)
}

fn state<'a>(ctx: &'a Context<'_>) -> &'a ApiState {
    ctx.data_unchecked::<ApiState>()
}

fn position(text: &str, field: &str) -> ApiResult<u64> {
    text.parse()
        .map_err(|_| ApiError::bad_input(field, "must be a non-negative integer"))
}

/// Reading needs a person of the organisation (or a service token of it).
fn require_reader(ctx: &Context<'_>) -> ApiResult<Principal> {
    let p = principal(ctx)?.clone();
    if let Actor::Member { person } = &p.actor {
        let known = state(ctx)
            .projections
            .org(p.org.as_uuid())
            .is_some_and(|o| o.state.people.contains_key(person));
        if !known {
            return Err(ApiError::Forbidden(
                "the caller is not a person of this organisation".into(),
            ));
        }
    }
    Ok(p)
}

async fn wait_min(ctx: &Context<'_>, min_position: Option<&str>) -> ApiResult<()> {
    if let Some(min) = min_position {
        let min = position(min, "minPosition")?;
        let s = state(ctx);
        s.projections.wait_for(min, s.consistency_timeout).await?;
    }
    Ok(())
}

/// A pod as of some point: the organisation's view, the pod's, and the pod's KPIs.
struct PodAt {
    org: Arc<podledger_projections::org_view::OrgView>,
    pod: Arc<podledger_projections::pod_view::PodView>,
    kpis: Vec<Arc<podledger_projections::kpi_view::KpiView>>,
}

/// A pod's views, live or as of a past point — the one path for pod, sprint and item queries;
/// `None` when the pod is not the caller's organisation's (or did not exist then).
async fn pod_view_at(
    ctx: &Context<'_>,
    pod: PodId,
    as_of: Option<AsOfInput>,
    min_position: Option<String>,
) -> ApiResult<Option<PodAt>> {
    wait_min(ctx, min_position.as_deref()).await?;
    let p = require_reader(ctx)?;
    let org = p.org.as_uuid();
    let s = state(ctx);
    match as_of {
        None => Ok(s.projections.org(org).zip(s.projections.pod(org, pod)).map(
            |(org_view, pod_view)| PodAt {
                org: org_view,
                pod: pod_view,
                kpis: s.projections.kpis_of_pod(org, pod),
            },
        )),
        Some(as_of) => {
            let views = s.projections.pod_as_of(org, pod, as_of.parse()?).await?;
            Ok(views.and_then(|v| {
                Some(PodAt {
                    org: v.orgs.get(&org)?.clone(),
                    pod: v.pods.get(&pod).cloned().unwrap_or_default(),
                    kpis: v
                        .kpis
                        .values()
                        .filter(|k| k.pod_id == pod)
                        .cloned()
                        .collect(),
                })
            }))
        }
    }
}

/// A point in the past: a global position or a time (exactly one).
#[derive(InputObject, Debug)]
pub struct AsOfInput {
    /// Global position (decimal string).
    pub position: Option<String>,
    /// Time (RFC 3339).
    pub time: Option<DateTime<Utc>>,
}

impl AsOfInput {
    fn parse(&self) -> ApiResult<AsOf> {
        match (&self.position, self.time) {
            (Some(p), None) => Ok(AsOf::Position(position(p, "asOf.position")?)),
            (None, Some(t)) => Ok(AsOf::Time(t)),
            _ => Err(ApiError::bad_input(
                "asOf",
                "give exactly one of position and time",
            )),
        }
    }
}

/// Queries.
#[derive(Debug)]
pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// The caller's organisation: pods, people, roles.
    async fn organisation(
        &self,
        ctx: &Context<'_>,
        min_position: Option<String>,
    ) -> Result<Organisation, async_graphql::Error> {
        wait_min(ctx, min_position.as_deref()).await?;
        let p = require_reader(ctx)?;
        let s = state(ctx);
        let org = s.projections.org(p.org.as_uuid()).ok_or_else(|| {
            ApiError::Domain(podledger_domain::DomainError::not_found(
                "orgId",
                "organisation",
                &p.org,
            ))
        })?;
        let views: std::collections::BTreeMap<
            PodId,
            Arc<podledger_projections::pod_view::PodView>,
        > = org
            .state
            .pods
            .keys()
            .filter_map(|id| Some((*id, s.projections.pod(p.org.as_uuid(), *id)?)))
            .collect();
        let pods = views
            .iter()
            .filter_map(|(id, view)| {
                types::pod_with_kpis(
                    *id,
                    &org,
                    view,
                    &s.projections.kpis_of_pod(p.org.as_uuid(), *id),
                )
            })
            .collect();
        let health_findings = podledger_projections::org_view::health(&org, &views, Utc::now())
            .iter()
            .map(types::finding)
            .collect();
        Ok(Organisation {
            id: to_id("Organisation", p.org.as_uuid()),
            name: org.name().to_owned(),
            sprint_length_days: org
                .state
                .info
                .as_ref()
                .map_or(0, |i| i32::from(i.sprint_length_days)),
            pods,
            people: org
                .state
                .people
                .iter()
                .map(|(id, person)| types::person(*id, person))
                .collect(),
            health_findings,
        })
    }

    /// A pod: backlog in rank order, current sprint board, sprint history, metrics — now, or as
    /// of a past position or time.
    async fn pod(
        &self,
        ctx: &Context<'_>,
        id: ID,
        as_of: Option<AsOfInput>,
        min_position: Option<String>,
    ) -> Result<Option<Pod>, async_graphql::Error> {
        let pod = PodId(from_id("Pod", &id, "id")?);
        Ok(pod_view_at(ctx, pod, as_of, min_position)
            .await?
            .and_then(|at| types::pod_with_kpis(pod, &at.org, &at.pod, &at.kpis)))
    }

    /// A KPI with its readings, attainment and ownership history.
    async fn kpi(
        &self,
        ctx: &Context<'_>,
        id: ID,
        min_position: Option<String>,
    ) -> Result<Option<types::Kpi>, async_graphql::Error> {
        wait_min(ctx, min_position.as_deref()).await?;
        let p = require_reader(ctx)?;
        let kpi_id = KpiId(from_id("Kpi", &id, "id")?);
        Ok(state(ctx)
            .projections
            .kpi(p.org.as_uuid(), kpi_id)
            .map(|k| types::kpi(&k)))
    }

    /// The audit log: the organisation's events (or one pod's), filtered, oldest first, a page
    /// at a time (`after` is the previous page's `endCursor`). ORG_ADMIN and oversight roles read
    /// it all; a pod's PO and SM read their pod's.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        pod_id: Option<ID>,
        actor: Option<String>,
        event_type: Option<String>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        after: Option<String>,
        #[graphql(default = 50)] first: i32,
        min_position: Option<String>,
    ) -> Result<AuditPage, async_graphql::Error> {
        wait_min(ctx, min_position.as_deref()).await?;
        let p = require_reader(ctx)?;
        let pod = pod_id
            .map(|id| from_id("Pod", &id, "podId").map(PodId))
            .transpose()?;
        let s = state(ctx);
        let org_state = s
            .handler
            .load(&podledger_domain::Target::Org(p.org), p.org)
            .await
            .map_err(ApiError::from)?;
        if !podledger_domain::permissions::can_read_audit_log(&org_state.org, &p.actor, pod) {
            return Err(ApiError::Forbidden(
                "the audit log is for ORG_ADMIN, oversight roles, and a pod's PO and SM".into(),
            )
            .into());
        }
        if !(1..=500).contains(&first) {
            return Err(ApiError::bad_input("first", "must be between 1 and 500").into());
        }
        let after = after
            .as_deref()
            .map(|a| position(a, "after"))
            .transpose()?
            .unwrap_or(0);
        let filter = podledger_projections::audit::AuditFilter {
            stream: pod.map(|p| format!("pod-{p}")),
            actor,
            event_type,
            from,
            to,
        };
        let limit = first as usize;
        let mut entries = podledger_projections::audit::audit_log(
            s.projections.store().reader_pool(),
            p.org.as_uuid(),
            &filter,
            after,
            limit + 1,
        )
        .await
        .map_err(ApiError::from)?;
        let has_next_page = entries.len() > limit;
        entries.truncate(limit);
        Ok(AuditPage {
            end_cursor: entries.last().map(|e| e.position.to_string()),
            has_next_page,
            entries: entries
                .into_iter()
                .map(|e| AuditEntry {
                    position: e.position.to_string(),
                    event_id: e.event_id.to_string(),
                    stream: e.stream,
                    event_type: e.event_type,
                    actor: e.actor,
                    recorded_at: e.recorded_at,
                    correlation_id: e.correlation_id.to_string(),
                    payload: async_graphql::Json(
                        serde_json::from_str(&e.payload).unwrap_or_default(),
                    ),
                })
                .collect(),
        })
    }

    /// An item of a pod, with its ownership history — now, or as of a past position or time.
    async fn item(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        id: ID,
        as_of: Option<AsOfInput>,
        min_position: Option<String>,
    ) -> Result<Option<Item>, async_graphql::Error> {
        let pod = PodId(from_id("Pod", &pod_id, "podId")?);
        let item = ItemId(from_id("Item", &id, "id")?);
        Ok(pod_view_at(ctx, pod, as_of, min_position)
            .await?
            .and_then(|at| types::find_item(&at.pod, &at.org, pod, item)))
    }

    /// A sprint of a pod with its board and metrics — now, or as of a past position or time.
    async fn sprint(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        id: ID,
        as_of: Option<AsOfInput>,
        min_position: Option<String>,
    ) -> Result<Option<Sprint>, async_graphql::Error> {
        let pod = PodId(from_id("Pod", &pod_id, "podId")?);
        let sprint = SprintId(from_id("Sprint", &id, "id")?);
        Ok(pod_view_at(ctx, pod, as_of, min_position)
            .await?
            .and_then(|at| types::find_sprint(&at.pod, &at.org, pod, sprint)))
    }
}

/// One event of the audit log.
#[derive(SimpleObject, Debug)]
pub struct AuditEntry {
    /// Global position.
    pub position: String,
    /// Event id.
    pub event_id: String,
    /// Stream (`org-…`, `pod-…`, `kpi-…`).
    pub stream: String,
    /// Event type (`ItemCreated`, …).
    pub event_type: String,
    /// Who (`member:<uuid>` or `service:<uuid>`).
    pub actor: String,
    /// When.
    pub recorded_at: DateTime<Utc>,
    /// The request.
    pub correlation_id: String,
    /// The event's fields.
    pub payload: async_graphql::Json<serde_json::Value>,
}

/// A page of the audit log.
#[derive(SimpleObject, Debug)]
pub struct AuditPage {
    /// Entries, oldest first.
    pub entries: Vec<AuditEntry>,
    /// Pass as `after` for the next page.
    pub end_cursor: Option<String>,
    /// Whether more entries follow.
    pub has_next_page: bool,
}

/// Request options every mutation accepts.
#[derive(InputObject, Debug, Default)]
pub struct CommandOptions {
    /// The version of the target you last read (R12); the command fails if it moved.
    pub expected_version: Option<String>,
    /// A UUID of your choosing: re-sending the same mutation with it returns the first result.
    pub idempotency_key: Option<String>,
}

/// What a mutation did.
#[derive(SimpleObject, Debug)]
pub struct Outcome {
    /// Global position of the command's last event (pass as `minPosition` to read your write);
    /// null when the command changed nothing.
    pub position: Option<String>,
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
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        idempotency_key,
    };
    let done = s.handler.execute(&command, &context, meta).await?;
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
    /// Position.
    pub position: Option<String>,
    /// The pod as it is now.
    pub pod: Option<Pod>,
}

/// The result of an item mutation.
#[derive(SimpleObject, Debug)]
pub struct ItemPayload {
    /// Position.
    pub position: Option<String>,
    /// The item as it is now.
    pub item: Option<Item>,
}

/// The result of a sprint mutation.
#[derive(SimpleObject, Debug)]
pub struct SprintPayload {
    /// Position.
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

fn read_pod(ctx: &Context<'_>, pod: PodId) -> Option<Pod> {
    let s = state(ctx);
    let org = principal(ctx).ok()?.org.as_uuid();
    types::pod_with_kpis(
        pod,
        &*s.projections.org(org)?,
        &*s.projections.pod(org, pod)?,
        &s.projections.kpis_of_pod(org, pod),
    )
}

fn read_kpi(ctx: &Context<'_>, kpi: KpiId) -> Option<types::Kpi> {
    let org = principal(ctx).ok()?.org.as_uuid();
    state(ctx).projections.kpi(org, kpi).map(|k| types::kpi(&k))
}

fn read_person(ctx: &Context<'_>, person: PersonId) -> Option<types::Person> {
    let org = principal(ctx).ok()?.org.as_uuid();
    types::person_of(&*state(ctx).projections.org(org)?, person)
}

/// The result of a KPI mutation.
#[derive(SimpleObject, Debug)]
pub struct KpiPayload {
    /// Position.
    pub position: Option<String>,
    /// The KPI as it is now.
    pub kpi: Option<types::Kpi>,
}

/// The result of a person mutation.
#[derive(SimpleObject, Debug)]
pub struct PersonPayload {
    /// Position.
    pub position: Option<String>,
    /// The person as they are now.
    pub person: Option<types::Person>,
}

/// The result of a blocker mutation.
#[derive(SimpleObject, Debug)]
pub struct BlockerPayload {
    /// Position.
    pub position: Option<String>,
    /// The blocker as it is now.
    pub blocker: Option<types::Blocker>,
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
    let org = principal(ctx)?.org.as_uuid();
    let view = state(ctx).projections.pod(org, pod);
    Ok(BlockerPayload {
        position: outcome.position,
        blocker: view.and_then(|v| {
            v.blockers
                .iter()
                .find(|b| b.id == blocker)
                .map(types::blocker)
        }),
    })
}

fn read_item(ctx: &Context<'_>, pod: PodId, item: ItemId) -> Option<Item> {
    let s = state(ctx);
    let org = principal(ctx).ok()?.org.as_uuid();
    types::find_item(
        &*s.projections.pod(org, pod)?,
        &*s.projections.org(org)?,
        pod,
        item,
    )
}

fn read_sprint(ctx: &Context<'_>, pod: PodId, sprint: SprintId) -> Option<Sprint> {
    let s = state(ctx);
    let org = principal(ctx).ok()?.org.as_uuid();
    types::find_sprint(
        &*s.projections.pod(org, pod)?,
        &*s.projections.org(org)?,
        pod,
        sprint,
    )
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
    /// Story points.
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
    ) -> Result<Outcome, async_graphql::Error> {
        let command = Command::Org(OrgCommand::CreateOrganisation {
            name,
            sprint_length_days: sprint_length_days.map(i64::from),
            founder_name,
            founder_email,
        });
        Ok(run(ctx, command, options).await?)
    }

    /// ORG_ADMIN: adds a person.
    async fn add_person(
        &self,
        ctx: &Context<'_>,
        name: String,
        email: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<types::Person, async_graphql::Error> {
        let person_id = PersonId(Uuid::now_v7());
        run(
            ctx,
            Command::Org(OrgCommand::AddPerson {
                person_id,
                name,
                email,
            }),
            options,
        )
        .await?;
        let org = principal(ctx)?.org.as_uuid();
        let view = state(ctx)
            .projections
            .org(org)
            .ok_or(ApiError::Unauthenticated)?;
        Ok(types::person_of(&view, person_id)
            .ok_or_else(|| ApiError::Internal("person missing after creation".into()))?)
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
        let pod_id = PodId(Uuid::now_v7());
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
        let pod = pod_id!(input.pod_id);
        let item_id = ItemId(Uuid::now_v7());
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
        Ok(item_mutation(ctx, pod, item_id, command, options).await?)
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
        let sprint_id = SprintId(Uuid::now_v7());
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
    ) -> Result<Outcome, async_graphql::Error> {
        let command = Command::Org(OrgCommand::SetSprintCadence {
            sprint_length_days: i64::from(sprint_length_days),
        });
        Ok(run(ctx, command, options).await?)
    }

    /// ORG_ADMIN: grants an organisation-level role.
    async fn grant_org_role(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        role: types::OrgRole,
        options: Option<CommandOptions>,
    ) -> Result<PersonPayload, async_graphql::Error> {
        let person = person_id!(person_id, "personId");
        let command = OrgCommand::GrantOrgRole {
            person_id: person,
            role: role.into(),
        };
        Ok(person_mutation(ctx, person, command, options).await?)
    }

    /// ORG_ADMIN: revokes an organisation-level role.
    async fn revoke_org_role(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        role: types::OrgRole,
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
    ) -> Result<PodPayload, async_graphql::Error> {
        let (pod, item_id) = (pod_id!(pod_id), item_id!(item_id));
        let before = before_item_id
            .map(|id| from_id("Item", &id, "beforeItemId").map(ItemId))
            .transpose()?;
        let outcome = run(
            ctx,
            Command::Pod {
                pod_id: pod,
                command: PodCommand::RankItem { item_id, before },
            },
            options,
        )
        .await?;
        Ok(PodPayload {
            position: outcome.position,
            pod: read_pod(ctx, pod),
        })
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
        category: types::BlockerCategory,
        description: String,
        options: Option<CommandOptions>,
    ) -> Result<BlockerPayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let blocker_id = BlockerId(Uuid::now_v7());
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

    /// PO: defines a KPI of the pod and names its performance owner (a pod member).
    async fn define_kpi(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        name: String,
        unit: String,
        direction: types::Direction,
        target: f64,
        baseline: Option<f64>,
        cadence: types::ReportingCadence,
        owner_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<KpiPayload, async_graphql::Error> {
        use podledger_domain::kpi::{Direction as D, ReportingCadence as C};
        let kpi = KpiId(Uuid::now_v7());
        let command = KpiCommand::DefineKpi {
            pod_id: pod_id!(pod_id),
            name,
            unit,
            direction: match direction {
                types::Direction::Increase => D::Increase,
                types::Direction::Decrease => D::Decrease,
            },
            target,
            baseline,
            cadence: match cadence {
                types::ReportingCadence::Daily => C::Daily,
                types::ReportingCadence::Weekly => C::Weekly,
                types::ReportingCadence::PerSprint => C::PerSprint,
                types::ReportingCadence::Monthly => C::Monthly,
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

//! Mutations: one per domain command, split by area — `organisation` (people, roles, pods),
//! `backlog` (items and delivery ownership), `sprint`, `blocker`, `intake`, `kpi`,
//! `governance` (approval rules, shared services), `retro`, `approval`, `service` (requests to
//! shared services) — and merged into [`MutationRoot`]. Each runs through the one command handler ([`run`]) and answers with
//! the changed object as the projections now see it (read-your-writes) and the global position
//! of its last event.

// A resolver's arguments are its GraphQL field's arguments: their number is the API's shape.
#![allow(clippy::too_many_arguments)]

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

mod approval;
mod backlog;
mod blocker;
mod governance;
mod intake;
mod kpi;
mod organisation;
mod retro;
mod service;
mod sprint;

use async_graphql::{Context, Enum, InputObject, MergedObject};
use chrono::Utc;
use podledger_domain::Command;
use std::sync::Arc;

use podledger_domain::ids::PodId;
use podledger_domain::pod::PodCommand;
use podledger_domain::pod::ScopeChangeReason;
use podledger_eventstore::RequestMeta;
use tracing::Instrument as _;
use uuid::Uuid;

use crate::context::{live_scope, position, principal, state};
use crate::error::{ApiError, ApiResult};
use crate::objects::{Pod, PodScope};

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

/// Runs `command` through the command handler (options, correlation id, span and metrics as
/// for every mutation), waits until the projections hold its events, and answers with the
/// global position of its last event (`None`: it changed nothing).
async fn run(
    ctx: &Context<'_>,
    command: Command,
    options: Option<CommandOptions>,
) -> ApiResult<Option<String>> {
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
    Ok(done.last_position.map(|p| p.to_string()))
}

/// Runs a command of `pod`'s stream, then answers with its position and what `read` finds in
/// the pod as the projections now have it.
async fn on_pod<T>(
    ctx: &Context<'_>,
    pod: PodId,
    command: PodCommand,
    options: Option<CommandOptions>,
    read: impl FnOnce(&Arc<PodScope>) -> Option<T>,
) -> ApiResult<(Option<String>, Option<T>)> {
    let position = run(
        ctx,
        Command::Pod {
            pod_id: pod,
            command,
        },
        options,
    )
    .await?;
    let scope = org_uuid(ctx).and_then(|org| live_scope(ctx, org, pod));
    Ok((position, scope.as_ref().and_then(read)))
}

fn org_uuid(ctx: &Context<'_>) -> Option<Uuid> {
    principal(ctx).ok().map(|p| p.org.as_uuid())
}

fn read_pod(ctx: &Context<'_>, pod: PodId) -> Option<Pod> {
    live_scope(ctx, org_uuid(ctx)?, pod).map(Pod::new)
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

/// Mutations: one per domain command, by area.
#[derive(MergedObject, Debug, Default)]
pub struct MutationRoot(
    organisation::OrganisationMutations,
    backlog::BacklogMutations,
    sprint::SprintMutations,
    blocker::BlockerMutations,
    intake::IntakeMutations,
    kpi::KpiMutations,
    governance::GovernanceMutations,
    retro::RetroMutations,
    approval::ApprovalMutations,
    service::ServiceRequestMutations,
);

//! Queries: read the projections — live, after a minimum position (`minPosition`, the
//! consistency token), or as of a past position or time (`asOf`) — and the audit log.

// A resolver's arguments are its GraphQL field's arguments: their number is the API's shape.
#![allow(clippy::too_many_arguments)]

use std::collections::BTreeMap;

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields};
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use podledger_domain::ids::{
    ApprovalId, BlockerId, IntakeId, ItemId, KpiId, PersonId, PodId, RetroActionId,
    ServiceRequestId, SharedServiceId, SprintId,
};
use podledger_domain::{DomainError, Target, permissions};
use podledger_projections::audit::{AuditFilter, audit_log};

use crate::connection::MAX_PAGE;
use crate::context::{AsOfInput, live_scope, pod_scope_at, require_reader, state, wait_min};
use crate::error::ApiError;
use crate::ids::{from_id, kind_of, opaque, unopaque};
use crate::objects::{self, Item, Kpi, Node, Organisation, Person, Pod, Sprint};

/// Queries.
#[derive(Debug)]
pub struct QueryRoot;

/// The organisation with its pods as the live views have them now.
pub(crate) fn live_organisation(
    ctx: &Context<'_>,
    org: uuid::Uuid,
    view: std::sync::Arc<podledger_projections::org_view::OrgView>,
) -> Organisation {
    let pods: BTreeMap<_, _> = view
        .state
        .pods
        .keys()
        .filter_map(|id| Some((*id, live_scope(ctx, org, *id)?)))
        .collect();
    Organisation::new(org, view, pods, None)
}

/// Queries. Everything is read in the caller's organisation. An id argument that names
/// nothing there — never created, another organisation's, or not yet existing at `asOf` — gives
/// `null` and a `NOT_FOUND` error with `extensions.field` (the argument) and `extensions.id`
/// (the id as sent); mutations and subscriptions answer such an id the same way, so no answer
/// tells another organisation's object from one that does not exist.
#[Object]
impl QueryRoot {
    /// The caller's organisation: pods, people, roles, health findings — now, or as of a
    /// past position or time (every pod replayed to that point).
    async fn organisation(
        &self,
        ctx: &Context<'_>,
        as_of: Option<AsOfInput>,
        min_position: Option<String>,
    ) -> async_graphql::Result<Organisation> {
        wait_min(ctx, min_position.as_deref()).await?;
        let p = require_reader(ctx)?;
        let org = p.org.as_uuid();
        let not_found =
            || ApiError::Domain(DomainError::not_found("orgId", "organisation", &p.org));
        let view = state(ctx).projections.org(org).ok_or_else(not_found)?;
        let Some(as_of) = as_of else {
            return Ok(live_organisation(ctx, org, view));
        };
        let point = as_of.parse()?;
        let pods: Vec<PodId> = view.state.pods.keys().copied().collect();
        let views = state(ctx)
            .projections
            .pods_as_of(org, &pods, point)
            .await
            .map_err(ApiError::from)?;
        let past = views.orgs.get(&org).cloned().ok_or_else(not_found)?;
        let scopes = crate::loaders::past_scopes(&views, org, &pods, point);
        let time = crate::loaders::point_time(&views, point).unwrap_or_else(Utc::now);
        Ok(Organisation::new(
            org,
            past,
            scopes.into_iter().collect(),
            Some(time),
        ))
    }

    /// Any object of the caller's organisation by its global id (Relay), as it is now.
    async fn node(
        &self,
        ctx: &Context<'_>,
        id: ID,
        min_position: Option<String>,
    ) -> async_graphql::Result<Option<Node>> {
        wait_min(ctx, min_position.as_deref()).await?;
        let p = require_reader(ctx)?;
        let org = p.org.as_uuid();
        let bad = || ApiError::bad_input("id", "not a global id");
        let (kind, uuid) = kind_of(&id).ok_or_else(bad)?;
        let projections = &state(ctx).projections;
        let entity = crate::error::entity_of_kind(&kind).ok_or_else(bad)?;
        let missing = || ApiError::not_found("id", entity, uuid);
        let Some(view) = projections.org(org) else {
            return Err(missing().into());
        };
        // Items, sprints and blockers live in a pod: look in each of the organisation's.
        let in_pods = |found: &dyn Fn(&std::sync::Arc<objects::PodScope>) -> Option<Node>| {
            view.state
                .pods
                .keys()
                .filter_map(|pod| live_scope(ctx, org, *pod))
                .find_map(|scope| found(&scope))
        };
        let found = match kind.as_str() {
            "Organisation" if uuid == org => Some(Node::Organisation(live_organisation(
                ctx,
                org,
                view.clone(),
            ))),
            "Pod" => live_scope(ctx, org, PodId(uuid)).map(|s| Node::Pod(Pod::new(s))),
            "Person" => Person::of(&view, PersonId(uuid)).map(Node::Person),
            "Kpi" => projections
                .kpi(org, KpiId(uuid))
                .map(|k| Node::Kpi(Kpi::new(k, view.clone()))),
            "Item" => in_pods(&|s| Item::of(s, ItemId(uuid)).map(Node::Item)),
            "Sprint" => in_pods(&|s| Sprint::of(s, SprintId(uuid)).map(Node::Sprint)),
            "Blocker" => in_pods(&|s| {
                s.view
                    .blocker(BlockerId(uuid))
                    .map(|b| Node::Blocker(objects::blocker(b)))
            }),
            "IntakeRequest" => in_pods(&|s| {
                s.view
                    .intake_request(IntakeId(uuid))
                    .map(|r| Node::IntakeRequest(objects::intake_request(s, r)))
            }),
            "ServiceRequest" => in_pods(&|s| {
                objects::operating::service_request(s, ServiceRequestId(uuid))
                    .map(Node::ServiceRequest)
            }),
            "RetroAction" => in_pods(&|s| {
                objects::operating::retro_action(s, RetroActionId(uuid)).map(Node::RetroAction)
            }),
            "Approval" => {
                in_pods(&|s| objects::operating::approval(s, ApprovalId(uuid)).map(Node::Approval))
            }
            "SharedService" => {
                objects::operating::live_shared_service(ctx, org, SharedServiceId(uuid))
                    .map(Node::SharedService)
            }
            _ => None,
        };
        Ok(Some(found.ok_or_else(missing)?))
    }

    /// A pod: backlog in rank order, current sprint board, sprint history, metrics — now, or as
    /// of a past position or time.
    async fn pod(
        &self,
        ctx: &Context<'_>,
        id: ID,
        as_of: Option<AsOfInput>,
        min_position: Option<String>,
    ) -> async_graphql::Result<Option<Pod>> {
        let pod = PodId(from_id("Pod", &id, "id")?);
        let scope = pod_scope_at(ctx, pod, as_of, min_position).await?;
        Ok(Some(scope.map(Pod::new).ok_or_else(|| {
            ApiError::not_found("id", "pod", pod.as_uuid())
        })?))
    }

    /// An item of a pod, with its ownership history — now, or as of a past position or time.
    async fn item(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        id: ID,
        as_of: Option<AsOfInput>,
        min_position: Option<String>,
    ) -> async_graphql::Result<Option<Item>> {
        let pod = PodId(from_id("Pod", &pod_id, "podId")?);
        let item = ItemId(from_id("Item", &id, "id")?);
        let scope = pod_scope_at(ctx, pod, as_of, min_position)
            .await?
            .ok_or_else(|| ApiError::not_found("podId", "pod", pod.as_uuid()))?;
        Ok(Some(Item::of(&scope, item).ok_or_else(|| {
            ApiError::not_found("id", "item", item.as_uuid())
        })?))
    }

    /// A sprint of a pod with its board and metrics — now, or as of a past position or time.
    async fn sprint(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        id: ID,
        as_of: Option<AsOfInput>,
        min_position: Option<String>,
    ) -> async_graphql::Result<Option<Sprint>> {
        let pod = PodId(from_id("Pod", &pod_id, "podId")?);
        let sprint = SprintId(from_id("Sprint", &id, "id")?);
        let scope = pod_scope_at(ctx, pod, as_of, min_position)
            .await?
            .ok_or_else(|| ApiError::not_found("podId", "pod", pod.as_uuid()))?;
        Ok(Some(Sprint::of(&scope, sprint).ok_or_else(|| {
            ApiError::not_found("id", "sprint", sprint.as_uuid())
        })?))
    }

    /// A KPI with its readings, attainment and ownership history.
    async fn kpi(
        &self,
        ctx: &Context<'_>,
        id: ID,
        min_position: Option<String>,
    ) -> async_graphql::Result<Option<Kpi>> {
        wait_min(ctx, min_position.as_deref()).await?;
        let p = require_reader(ctx)?;
        let kpi_id = KpiId(from_id("Kpi", &id, "id")?);
        let projections = &state(ctx).projections;
        let org = p.org.as_uuid();
        Ok(Some(
            projections
                .kpi(org, kpi_id)
                .zip(projections.org(org))
                .map(|(k, o)| Kpi::new(k, o))
                .ok_or_else(|| ApiError::not_found("id", "KPI", kpi_id.as_uuid()))?,
        ))
    }

    /// The audit log: the organisation's events (or one pod's), filtered — by who acted
    /// (`actorId`: a `Person` or `Service` id), event type and recording time — oldest first, a
    /// page at a time. ORG_ADMIN and oversight roles read it all; a pod's PO and SM read their
    /// pod's.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        pod_id: Option<ID>,
        actor_id: Option<ID>,
        event_type: Option<String>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        after: Option<String>,
        #[graphql(default = 50)] first: i32,
        min_position: Option<String>,
    ) -> async_graphql::Result<AuditLog> {
        wait_min(ctx, min_position.as_deref()).await?;
        let filter = audit_filter(ctx, pod_id, actor_id, event_type, from, to, "audit log").await?;
        let limit = usize::try_from(first)
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::bad_input("first", format!("must be between 1 and {MAX_PAGE}"))
            })?;
        let after = after
            .as_deref()
            .map(|a| PositionCursor::decode_cursor(a).map_err(|e| ApiError::bad_input("after", e)))
            .transpose()?
            .map_or(0, |c| c.0);
        let (s, p) = (state(ctx), require_reader(ctx)?);
        let _turn = crate::context::loaders(ctx)?
            .store_reads
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(Box::new(e)))?;
        let mut entries = audit_log(
            &**s.projections.store(),
            p.org.as_uuid(),
            &filter,
            after,
            limit + 1,
        )
        .await
        .map_err(ApiError::from)?;
        let has_next_page = entries.len() > limit;
        entries.truncate(limit);
        let mut connection = Connection::new(after > 0, has_next_page);
        let org_view = s.projections.org(p.org.as_uuid());
        connection.edges.extend(entries.into_iter().map(|e| {
            Edge::new(
                PositionCursor(e.position),
                AuditEntry::of(e, org_view.as_ref()),
            )
        }));
        Ok(connection)
    }
}

/// A cursor of the audit log: the global position of an entry, opaque to clients (stable: a
/// later page never repeats or skips an event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PositionCursor(pub u64);

impl CursorType for PositionCursor {
    type Error = &'static str;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        unopaque(s)
            .as_deref()
            .and_then(|t| t.strip_prefix("position:"))
            .and_then(|n| n.parse().ok())
            .map(Self)
            .ok_or("not a cursor of the audit log")
    }

    fn encode_cursor(&self) -> String {
        opaque(&format!("position:{}", self.0))
    }
}

/// What an audit-log reader asks for, checked: the caller may read it (ORG_ADMIN, oversight,
/// the pod's PO and SM — `what` names the surface in the refusal), the pod is the
/// organisation's, and `actorId` is a person's or a service's id.
pub(crate) async fn audit_filter(
    ctx: &Context<'_>,
    pod_id: Option<ID>,
    actor_id: Option<ID>,
    event_type: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    what: &str,
) -> async_graphql::Result<AuditFilter> {
    let p = require_reader(ctx)?;
    let pod = pod_id
        .map(|id| from_id("Pod", &id, "podId").map(PodId))
        .transpose()?;
    let org_state = state(ctx)
        .handler
        .load(&Target::Org(p.org), p.org)
        .await
        .map_err(ApiError::from)?;
    if !permissions::can_read_audit_log(&org_state.org, &p.actor, pod) {
        return Err(ApiError::Forbidden(format!(
            "the {what} is for ORG_ADMIN, oversight roles, and a pod's PO and SM"
        ))
        .into());
    }
    if let Some(pod) = pod
        && !org_state.org.pods.contains_key(&pod)
    {
        return Err(ApiError::not_found("podId", "pod", pod.as_uuid()).into());
    }
    let actor = actor_id
        .map(|id| {
            crate::objects::stored_actor(&id)
                .ok_or_else(|| ApiError::bad_input("actorId", "not a Person or Service id"))
        })
        .transpose()?;
    Ok(AuditFilter {
        stream: pod.map(|p| Target::Pod(p).to_string()),
        actor,
        event_type,
        from,
        to,
    })
}

/// A page of the audit log.
pub type AuditLog = Connection<PositionCursor, AuditEntry, EmptyFields>;

/// One event of the audit log.
#[derive(SimpleObject, Debug)]
pub struct AuditEntry {
    /// Global position of the event in the store (dense, in commit order): an `after` for the
    /// `events` feed, a `minPosition` for reads.
    pub position: String,
    /// The event's unique id (an idempotent re-send never stores a second one).
    pub event_id: String,
    /// The organisation, pod or KPI whose history the event belongs to: its `Organisation`,
    /// `Pod` or `Kpi` id (`node(id:)` finds it).
    pub subject_id: ID,
    /// The stored stream name (`org-<uuid>`, `pod-<uuid>`, `kpi-<uuid>`).
    #[graphql(
        deprecation = "Use subjectId; the stored stream name is for integrations that read the event store itself."
    )]
    pub stream: String,
    /// Event type (`ItemCreated`, …).
    pub event_type: String,
    /// Who acted: a person of the organisation or an integration.
    pub actor: Option<crate::objects::Actor>,
    /// When the store recorded the event (the commit time). The audit log's `from` and `to`
    /// filter by it.
    pub recorded_at: DateTime<Utc>,
    /// When it happened in the organisation: the business time every metric and `asOf`
    /// follows. For a live command, the moment it was decided (just before `recordedAt`); for
    /// an imported one (`podledger import`), the `at` its line gave.
    pub occurred_at: DateTime<Utc>,
    /// Id of the request that caused it: every event of one mutation shares it.
    pub correlation_id: String,
    /// The event's fields as stored (the ids in it are UUIDs, as the store keeps them).
    pub payload: async_graphql::Json<serde_json::Value>,
}

impl AuditEntry {
    pub(crate) fn of(
        e: podledger_projections::audit::AuditEntry,
        org: Option<&std::sync::Arc<podledger_projections::org_view::OrgView>>,
    ) -> Self {
        let subject_id = podledger_domain::command::StreamCategory::of(&e.stream)
            .zip(e.stream.split_once('-'))
            .and_then(|(category, (_, id))| {
                let kind = match category {
                    podledger_domain::command::StreamCategory::Org => "Organisation",
                    podledger_domain::command::StreamCategory::Pod => "Pod",
                    podledger_domain::command::StreamCategory::Kpi => "Kpi",
                };
                Some(crate::ids::to_id(kind, uuid::Uuid::parse_str(id).ok()?))
            })
            .unwrap_or_default();
        Self {
            position: e.position.to_string(),
            event_id: e.event_id.to_string(),
            subject_id,
            stream: e.stream,
            event_type: e.event_type,
            actor: org.and_then(|org| crate::objects::actor_of(org, &e.actor)),
            recorded_at: e.recorded_at,
            occurred_at: e.occurred_at,
            correlation_id: e.correlation_id.to_string(),
            payload: async_graphql::Json(serde_json::from_str(&e.payload).unwrap_or_default()),
        }
    }
}

//! What every resolver needs from a request: the caller, the shared state, the request's
//! loaders, the consistency wait, and a pod's views live or as of a past point.

use std::sync::Arc;

use async_graphql::{Context, InputObject};
use chrono::{DateTime, Utc};
use podledger_domain::Actor;
use podledger_domain::ids::PodId;
use podledger_projections::{AsOf, Projections};
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::loaders::{Loaders, PodAt};
use crate::objects::PodScope;
use crate::schema::ApiState;

/// The authenticated caller.
pub fn principal<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Principal> {
    ctx.data_opt::<Principal>().ok_or(ApiError::Unauthenticated)
}

/// The shared state.
pub fn state<'a>(ctx: &'a Context<'_>) -> &'a ApiState {
    ctx.data_unchecked::<ApiState>()
}

/// The request's loaders (attached with the principal by [`crate::authorised`]).
pub fn loaders<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Loaders> {
    ctx.data_opt::<Loaders>()
        .ok_or_else(|| ApiError::Internal("request without loaders".into()))
}

/// A global position or version given as a decimal string.
pub fn position(text: &str, field: &str) -> ApiResult<u64> {
    text.parse()
        .map_err(|_| ApiError::bad_input(field, "must be a non-negative integer"))
}

/// Reading needs a person of the organisation (or a service token of it).
pub fn require_reader(ctx: &Context<'_>) -> ApiResult<Principal> {
    let p = principal(ctx)?.clone();
    check_reader(&p, &state(ctx).projections)?;
    Ok(p)
}

/// The rule of [`require_reader`], for callers without a request context (live feeds).
pub fn check_reader(p: &Principal, projections: &Projections) -> ApiResult<()> {
    if let Actor::Member { person } = &p.actor {
        let known = projections
            .org(p.org.as_uuid())
            .is_some_and(|o| o.state.people.contains_key(person));
        if !known {
            return Err(ApiError::Forbidden(
                "the caller is not a person of this organisation".into(),
            ));
        }
    }
    Ok(())
}

/// Waits until the read models reach `minPosition`, if given (the consistency token).
pub async fn wait_min(ctx: &Context<'_>, min_position: Option<&str>) -> ApiResult<()> {
    if let Some(min) = min_position {
        let min = position(min, "minPosition")?;
        let s = state(ctx);
        s.projections.wait_for(min, s.consistency_timeout).await?;
    }
    Ok(())
}

/// A point in the past: a global position or a time (exactly one).
#[derive(InputObject, Debug, Clone)]
pub struct AsOfInput {
    /// Global position (decimal string).
    pub position: Option<String>,
    /// Time (RFC 3339).
    pub time: Option<DateTime<Utc>>,
}

impl AsOfInput {
    /// The point.
    pub fn parse(&self) -> ApiResult<AsOf> {
        match (&self.position, self.time) {
            (Some(p), None) => Ok(AsOf::Position(position(p, "asOf.position")?)),
            (None, Some(t)) if podledger_domain::validate::date_in_range(t.date_naive()) => {
                Ok(AsOf::Time(t))
            }
            (None, Some(_)) => Err(ApiError::bad_input(
                "asOf.time",
                format!(
                    "must be between {}-01-01 and {}-12-31",
                    podledger_domain::validate::EARLIEST_YEAR,
                    podledger_domain::validate::LATEST_YEAR
                ),
            )),
            _ => Err(ApiError::bad_input(
                "asOf",
                "give exactly one of position and time",
            )),
        }
    }
}

/// A pod of organisation `org` as the live views have it now.
pub fn live_scope(ctx: &Context<'_>, org: Uuid, pod: PodId) -> Option<Arc<PodScope>> {
    let projections = &state(ctx).projections;
    PodScope::live(projections.org(org)?, pod, projections.pod(org, pod)?)
}

/// A pod of the caller's organisation, live or as of a past point — the one path for pod,
/// sprint and item queries; `None` when the pod is not the caller's organisation's (or did not
/// exist then).
pub async fn pod_scope_at(
    ctx: &Context<'_>,
    pod: PodId,
    as_of: Option<AsOfInput>,
    min_position: Option<String>,
) -> ApiResult<Option<Arc<PodScope>>> {
    wait_min(ctx, min_position.as_deref()).await?;
    let p = require_reader(ctx)?;
    match as_of {
        None => Ok(live_scope(ctx, p.org.as_uuid(), pod)),
        Some(as_of) => {
            let key = PodAt {
                pod,
                as_of: as_of.parse()?,
            };
            Ok(loaders(ctx)?.as_of.load_one(key).await?)
        }
    }
}

//! The schema: queries over the projections, mutations through the one command handler, and
//! what each request carries (the caller and its loaders).

use std::time::Duration;

use async_graphql::{Schema, ValidationMode};
use podledger_eventstore::CommandHandler;
use podledger_projections::Projections;
use std::sync::Arc;

use crate::auth::Principal;
use crate::document_cache::DocumentCache;
use crate::live::{self, Hub, Live, Subscriber};
use crate::loaders::Loaders;
use crate::mutation::MutationRoot;
use crate::query::QueryRoot;
use crate::subscription::SubscriptionRoot;

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
pub type PodledgerSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Builds the schema over `state`.
pub fn build_schema(state: ApiState) -> PodledgerSchema {
    build_schema_validating(state, ValidationMode::Strict)
}

fn build_schema_validating(state: ApiState, mode: ValidationMode) -> PodledgerSchema {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .data(state)
        .validation_mode(mode)
        .limit_depth(16)
        .limit_complexity(5_000)
        .finish()
}

/// The SDL of the schema (what `schema/schema.graphql` holds).
pub fn sdl() -> String {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .finish()
        .sdl()
}

/// A request of an authenticated caller, with that request's loaders.
pub fn authorised(
    request: async_graphql::Request,
    principal: Principal,
    state: &ApiState,
) -> async_graphql::Request {
    let loaders = Loaders::new(&state.projections, principal.org.as_uuid());
    request.data(principal).data(loaders)
}

/// The API as a server mounts it: the schema and the state every request gets.
#[derive(Clone)]
pub struct Api {
    schema: PodledgerSchema,
    /// The same schema validating only depth and complexity: for requests that passed the full
    /// validation before (see `document_cache`).
    revalidating: PodledgerSchema,
    state: ApiState,
    documents: DocumentCache,
    hub: Arc<Hub>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Api {
    /// The API over `state`.
    pub fn new(state: ApiState) -> Self {
        Self {
            schema: build_schema(state.clone()),
            revalidating: build_schema_validating(state.clone(), ValidationMode::Fast),
            state,
            documents: DocumentCache::default(),
            hub: Arc::default(),
        }
    }

    /// Runs a request of an authenticated caller.
    pub async fn execute(
        &self,
        request: async_graphql::Request,
        principal: Principal,
    ) -> async_graphql::Response {
        let mut request = request;
        let (key, validated_before) = self.documents.prepare(&mut request);
        let request = authorised(request, principal, &self.state);
        if validated_before {
            return self.revalidating.execute(request).await;
        }
        let response = self.schema.execute(request).await;
        if let Some(key) = key {
            self.documents.record(key, &response);
        }
        response
    }

    /// Runs an operation of an authenticated caller: a shared feed delivers to `subscriber`,
    /// anything else is a stream of messages (a query or mutation gives one) — see
    /// [`crate::live`].
    pub fn subscribe(
        &self,
        request: async_graphql::Request,
        principal: Principal,
        subscriber: Arc<dyn Subscriber>,
    ) -> Live {
        live::subscribe(
            &self.schema,
            &self.state,
            &self.hub,
            request,
            principal,
            subscriber,
        )
    }

    /// The shared live executions.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The read models.
    pub fn projections(&self) -> &Projections {
        &self.state.projections
    }

    /// The schema.
    pub fn schema(&self) -> &PodledgerSchema {
        &self.schema
    }
}

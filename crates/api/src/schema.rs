//! The schema: queries over the projections, mutations through the one command handler, and
//! what each request carries (the caller and its loaders).

use std::time::Duration;

use async_graphql::{Schema, ValidationMode};
use podledger_eventstore::CommandHandler;
use podledger_projections::Projections;
use std::sync::Arc;

use crate::admission::{Admission, Permit};
use crate::auth::Principal;
use crate::document_cache::DocumentCache;
use crate::error::refused;
use crate::limits::{Limits, Refusal, TypeIndex};
use crate::live::{self, Hub, Live, Subscriber};
use crate::loaders::Loaders;
use crate::mutation::MutationRoot;
use crate::query::QueryRoot;
use crate::subscription::SubscriptionRoot;
use futures_util::StreamExt as _;

/// What resolvers share.
#[derive(Clone, Debug)]
pub struct ApiState {
    /// The command loop.
    pub handler: Arc<CommandHandler>,
    /// The read models.
    pub projections: Projections,
    /// How long a request waits for the read models to reach a position.
    pub consistency_timeout: Duration,
    /// What operators see counted (`/metrics`).
    pub metrics: crate::telemetry::ApiMetrics,
}

impl ApiState {
    /// The state over `handler` and `projections`: a read waits up to 5 s for a position, and
    /// the counters start at zero.
    pub fn new(handler: Arc<CommandHandler>, projections: Projections) -> Self {
        Self {
            handler,
            projections,
            consistency_timeout: Duration::from_secs(5),
            metrics: crate::telemetry::ApiMetrics::default(),
        }
    }
}

/// The schema type.
pub type PodledgerSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// What every request is held to, beyond the schema itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The document limits, checked before validation (see [`crate::limits`]).
    pub limits: Limits,
    /// Introspection and "did you mean" suggestions (on for development only: they hand an
    /// attacker the schema).
    pub introspection: bool,
    /// Largest serialised response; a larger one is replaced by a `RESPONSE_TOO_LARGE` error.
    pub max_response_bytes: usize,
    /// How long one query or mutation may run before it is answered with `TIMEOUT`.
    pub deadline: Duration,
    /// Queries and mutations one caller may have running at once (the next is refused with
    /// `TOO_MANY_REQUESTS`: HTTP 429).
    pub max_concurrent_per_caller: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            introspection: false,
            max_response_bytes: 4 * 1024 * 1024,
            deadline: Duration::from_secs(10),
            max_concurrent_per_caller: 8,
        }
    }
}

/// Builds the schema over `state` with the default [`Policy`] (no introspection).
pub fn build_schema(state: ApiState) -> PodledgerSchema {
    build_schema_validating(state, ValidationMode::Strict, &Policy::default())
}

fn build_schema_validating(
    state: ApiState,
    mode: ValidationMode,
    policy: &Policy,
) -> PodledgerSchema {
    // Depth, cost and nesting are [`Limits`]'; async-graphql's own recursion check (32 by
    // default) is set above ours so that ours, with its code, answers first.
    let builder = Schema::build(QueryRoot, MutationRoot::default(), SubscriptionRoot)
        .data(state)
        .validation_mode(mode)
        .limit_recursive_depth(policy.limits.max_nesting + 1);
    if policy.introspection {
        builder.finish()
    } else {
        builder
            .disable_introspection()
            .disable_suggestions()
            .finish()
    }
}

/// The SDL of the schema (what `schema/schema.graphql` holds).
pub fn sdl() -> String {
    Schema::build(QueryRoot, MutationRoot::default(), SubscriptionRoot)
        .finish()
        .sdl()
}

/// The kind of operation a parsed request runs, as a metrics label (`none` when it names no
/// operation of its document).
fn operation_of(request: &mut async_graphql::Request) -> crate::OperationInfo {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let mut name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return crate::OperationInfo::none();
    };
    if let (None, DocumentOperations::Multiple(ops)) = (&name, &document.operations)
        && ops.len() == 1
    {
        name = ops.keys().next().map(ToString::to_string);
    }
    let kind = match crate::limits::operation_to_run(document, name.as_deref()).map(|op| op.node.ty)
    {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "none",
    };
    crate::OperationInfo {
        kind,
        name: name.filter(|_| kind != "none"),
    }
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
    policy: Arc<Policy>,
    types: Arc<TypeIndex>,
    admission: Admission,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Api {
    /// The API over `state` with the default [`Policy`].
    pub fn new(state: ApiState) -> Self {
        Self::with_policy(state, Policy::default())
    }

    /// The API over `state`, holding every request to `policy`.
    pub fn with_policy(state: ApiState, policy: Policy) -> Self {
        let schema = build_schema_validating(state.clone(), ValidationMode::Strict, &policy);
        Self {
            types: Arc::new(TypeIndex::from_sdl(&schema.sdl())),
            revalidating: build_schema_validating(state.clone(), ValidationMode::Fast, &policy),
            schema,
            state,
            documents: DocumentCache::default(),
            hub: Arc::default(),
            admission: Admission::new(policy.max_concurrent_per_caller),
            policy: Arc::new(policy),
        }
    }

    /// The person of organisation `org` that an identity provider's `subject` (issued by
    /// `issuer`) signs in as, from the organisation's events (`linkIdentity`).
    pub fn person_by_identity(
        &self,
        org: podledger_domain::ids::OrgId,
        issuer: &str,
        subject: &str,
    ) -> Option<podledger_domain::ids::PersonId> {
        self.state
            .projections
            .org(org.as_uuid())?
            .state
            .person_by_identity(issuer, subject)
    }

    /// The API's counters, for the server's `/metrics`.
    pub fn metrics(&self) -> &crate::telemetry::ApiMetrics {
        &self.state.metrics
    }

    /// The policy requests are held to.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// A place for one more query or mutation of `principal`, or `None` when they already have
    /// [`Policy::max_concurrent_per_caller`] running. Held until dropped.
    pub fn admit(&self, principal: &Principal) -> Option<Permit> {
        self.admission.admit(principal)
    }

    /// The lexical guard alone (what a transport runs before it parses anything itself):
    /// `Some(refusal)` when the text exceeds a limit.
    pub fn scan(&self, query: &str) -> Option<async_graphql::Response> {
        self.policy
            .limits
            .scan(query)
            .err()
            .map(|r| async_graphql::Response::from_errors(vec![refused(&r)]))
    }

    /// Checks a request against the [`Limits`] (the text, then the parsed document) and leaves
    /// it parsed; `Ok(true)` when this exact request passed validation before. The error is
    /// what the client gets: a limit's refusal, or `GRAPHQL_PARSE_FAILED`.
    fn check(
        &self,
        request: &mut async_graphql::Request,
    ) -> Result<(Option<crate::document_cache::Validated>, bool), async_graphql::ServerError> {
        self.policy
            .limits
            .scan(&request.query)
            .map_err(|r| refused(&r))?;
        let (key, validated_before) = self.documents.prepare(request);
        if !validated_before {
            let operation = request.operation_name.clone();
            let variables = std::mem::take(&mut request.variables);
            let analysed = match request.parsed_query() {
                Ok(document)
                    if !self.policy.introspection && crate::limits::introspects(document) =>
                {
                    Err(refused(&Refusal::introspection()))
                }
                Ok(document) => self
                    .policy
                    .limits
                    .analyse(&self.types, document, operation.as_deref(), &variables)
                    .map_err(|r| refused(&r)),
                Err(error) => Err(crate::error::parse_failed(error)),
            };
            request.variables = variables;
            analysed?;
        }
        Ok((key, validated_before))
    }

    /// Runs a request of an authenticated caller, within the [`Policy`]: refused before it
    /// runs when it exceeds a limit, answered with `TIMEOUT` past the deadline.
    pub async fn execute(
        &self,
        request: async_graphql::Request,
        principal: Principal,
    ) -> async_graphql::Response {
        self.execute_observed(request, principal).await.0
    }

    /// [`Api::execute`], also saying which operation ran (its type and name) — for metrics
    /// and traces.
    pub async fn execute_observed(
        &self,
        request: async_graphql::Request,
        principal: Principal,
    ) -> (async_graphql::Response, crate::OperationInfo) {
        let mut request = request;
        let checked = match self.check(&mut request) {
            Ok(checked) => checked,
            Err(error) => {
                let none = crate::OperationInfo::none();
                return (async_graphql::Response::from_errors(vec![error]), none);
            }
        };
        let operation = operation_of(&mut request);
        (
            self.run_checked(request, principal, checked).await,
            operation,
        )
    }

    /// Runs a request that passed [`Api::check`], within the deadline, every error coded.
    async fn run_checked(
        &self,
        request: async_graphql::Request,
        principal: Principal,
        (key, validated_before): (Option<crate::document_cache::Validated>, bool),
    ) -> async_graphql::Response {
        let request = authorised(request, principal, &self.state);
        let run = async {
            if validated_before {
                return self.revalidating.execute(request).await;
            }
            let response = self.schema.execute(request).await;
            if let Some(key) = key {
                self.documents.record(key, &response);
            }
            response
        };
        match tokio::time::timeout(self.policy.deadline, run).await {
            Ok(response) => crate::error::coded(response),
            Err(_) => async_graphql::Response::from_errors(vec![crate::error::timed_out(
                self.policy.deadline,
            )]),
        }
    }

    /// `response` as JSON, or a `RESPONSE_TOO_LARGE` error in its place when it is larger than
    /// [`Policy::max_response_bytes`] (never a truncated body).
    /// A request error (nothing ran) is `{"errors": […]}` with no `data` entry.
    pub fn to_json(&self, response: &async_graphql::Response) -> Vec<u8> {
        if crate::error::is_request_error(response) {
            return crate::error::request_errors_json(&response.errors);
        }
        crate::error::bounded_json(response, self.policy.max_response_bytes).unwrap_or_else(|e| {
            self.metrics().refused("RESPONSE_TOO_LARGE");
            crate::error::request_errors_json(&[e])
        })
    }

    /// Runs an operation of an authenticated caller, checked like [`Api::execute`]: a shared
    /// feed delivers to `subscriber`, another subscription is a stream of messages, and a query
    /// or mutation gives one message — run as over HTTP (the caller's share of running
    /// requests, the deadline) — see [`crate::live`].
    pub fn subscribe(
        &self,
        request: async_graphql::Request,
        principal: Principal,
        subscriber: Arc<dyn Subscriber>,
    ) -> Live {
        let mut request = request;
        let checked = match self.check(&mut request) {
            Ok(checked) => checked,
            Err(error) => return Live::failed(error),
        };
        let max_bytes = self.policy.max_response_bytes;
        if operation_of(&mut request).kind != "subscription" {
            let Some(permit) = self.admit(&principal) else {
                return Live::failed(crate::error::too_many_requests(
                    self.policy.max_concurrent_per_caller,
                ));
            };
            let api = self.clone();
            return Live::Stream(
                futures_util::stream::once(async move {
                    let _permit = permit;
                    let response = api.run_checked(request, principal, checked).await;
                    live::LiveMessage::of(&response, max_bytes)
                })
                .boxed(),
            );
        }
        live::subscribe(
            &self.schema,
            &self.state,
            &self.hub,
            max_bytes,
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

//! The one place where errors become GraphQL errors: every domain error keeps its SPEC code in
//! `extensions.code`, validation errors list their fields, and nothing internal (SQL, driver,
//! panic text) ever reaches a client — it goes to the log with a reference id instead.
//!
//! Resolvers return `Result<T, ApiError>`; `ApiError` deliberately does not implement `Display`,
//! so async-graphql's blanket `From<Display>` (which would copy any error text into the
//! response) cannot be used by accident.

use async_graphql::{ErrorExtensions, Value};
use podledger_domain::DomainError;
use podledger_eventstore::{HandleError, StoreError};
use podledger_projections::ProjectionError;
use uuid::Uuid;

/// Every error a resolver can return.
#[derive(Debug)]
pub enum ApiError {
    /// No or bad token.
    Unauthenticated,
    /// Not allowed (also for reads outside the caller's organisation).
    Forbidden(String),
    /// A domain refusal, with its SPEC code.
    Domain(DomainError),
    /// Malformed input caught before the domain (ids, enums, formats).
    BadUserInput {
        /// The argument.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The projections did not reach the requested position in time.
    ConsistencyTimeout(u64),
    /// Anything else: logged with a reference, shown as `INTERNAL_SERVER_ERROR`.
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

/// A resolver's result.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// Bad input on one argument.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        Self::Domain(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl From<HandleError> for ApiError {
    fn from(e: HandleError) -> Self {
        match e {
            HandleError::Domain(d) => Self::Domain(d),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<ProjectionError> for ApiError {
    fn from(e: ProjectionError) -> Self {
        match e {
            ProjectionError::Timeout { wanted, .. } => Self::ConsistencyTimeout(wanted),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<std::sync::Arc<ProjectionError>> for ApiError {
    fn from(e: std::sync::Arc<ProjectionError>) -> Self {
        match &*e {
            ProjectionError::Timeout { wanted, .. } => Self::ConsistencyTimeout(*wanted),
            _ => Self::Internal(Box::new(e)),
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unauthenticated => async_graphql::Error::new("authentication required")
                .extend_with(|_, x| x.set("code", "UNAUTHENTICATED")),
            ApiError::Forbidden(reason) => {
                async_graphql::Error::new(reason).extend_with(|_, x| x.set("code", "FORBIDDEN"))
            }
            ApiError::Domain(d) => {
                let fields: Vec<Value> = d
                    .field_errors()
                    .iter()
                    .map(|f| {
                        let mut m = async_graphql::indexmap::IndexMap::new();
                        m.insert(
                            async_graphql::Name::new("field"),
                            Value::from(f.field.clone()),
                        );
                        m.insert(
                            async_graphql::Name::new("message"),
                            Value::from(f.message.clone()),
                        );
                        Value::Object(m)
                    })
                    .collect();
                let field = match &d {
                    DomainError::NotFound { field, .. } => Some(field.clone()),
                    _ => None,
                };
                async_graphql::Error::new(d.to_string()).extend_with(|_, x| {
                    x.set("code", d.code().as_str());
                    if !fields.is_empty() {
                        x.set("fields", Value::List(fields.clone()));
                    }
                    if let Some(field) = &field {
                        x.set("field", field.clone());
                    }
                })
            }
            ApiError::BadUserInput { field, message } => {
                async_graphql::Error::new(format!("{field}: {message}")).extend_with(|_, x| {
                    x.set("code", "BAD_USER_INPUT");
                    x.set("field", field.clone());
                })
            }
            ApiError::ConsistencyTimeout(position) => async_graphql::Error::new(format!(
                "the read models have not reached position {position} yet; retry shortly"
            ))
            .extend_with(|_, x| x.set("code", "CONSISTENCY_TIMEOUT")),
            ApiError::Internal(source) => {
                let reference = Uuid::now_v7();
                tracing::error!(%reference, error = %source, "internal error answering a GraphQL request");
                async_graphql::Error::new(format!("internal error (reference {reference})"))
                    .extend_with(|_, x| x.set("code", "INTERNAL_SERVER_ERROR"))
            }
        }
    }
}

/// A request refused by a [`crate::limits::Limits`] check, before anything ran: its code, the
/// limit (`extensions.limit`, the flag's name), the limit's value (`max`) and what the request
/// came to (`cost` for the cost, `actual` otherwise).
pub fn refused(refusal: &crate::limits::Refusal) -> async_graphql::ServerError {
    let mut error = async_graphql::ServerError::new(refusal.message(), None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", refusal.code);
    extensions.set("limit", refusal.limit);
    extensions.set("max", refusal.max);
    if refusal.code == "QUERY_TOO_COMPLEX" {
        extensions.set("cost", refusal.actual);
    } else {
        extensions.set("actual", refusal.actual);
    }
    error.extensions = Some(extensions);
    error
}

/// A request error with only a code.
pub fn request_error(code: &str, message: impl Into<String>) -> async_graphql::ServerError {
    let mut error = async_graphql::ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

/// The answer to a request that ran past its deadline.
pub fn timed_out(deadline: std::time::Duration) -> async_graphql::ServerError {
    request_error(
        "TIMEOUT",
        format!(
            "the request took longer than {} ms and was stopped",
            deadline.as_millis()
        ),
    )
}

/// The answer to a caller with too many requests running.
pub fn too_many_requests(max: usize) -> async_graphql::ServerError {
    request_error(
        "TOO_MANY_REQUESTS",
        format!("at most {max} requests of one caller run at once; retry when one has finished"),
    )
}

/// `response` as JSON, or the `RESPONSE_TOO_LARGE` error to send instead when the JSON is
/// longer than `max` bytes.
pub fn bounded_json(
    response: &async_graphql::Response,
    max: usize,
) -> Result<Vec<u8>, async_graphql::ServerError> {
    let json = serde_json::to_vec(response).unwrap_or_default();
    if json.len() <= max {
        return Ok(json);
    }
    let mut error = request_error(
        "RESPONSE_TOO_LARGE",
        format!(
            "the response would be {} bytes and at most {max} are sent: ask for smaller pages or fewer fields",
            json.len()
        ),
    );
    if let Some(extensions) = error.extensions.as_mut() {
        extensions.set("max", max as u64);
        extensions.set("actual", json.len() as u64);
    }
    Err(error)
}

/// Whether `response` is a request error: nothing ran (no data, and no error has a path).
pub fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// A request error as JSON: `{"errors": […]}`, with no `data` entry (GraphQL over HTTP).
pub fn request_errors_json(errors: &[async_graphql::ServerError]) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct RequestErrors<'a> {
        errors: &'a [async_graphql::ServerError],
    }
    serde_json::to_vec(&RequestErrors { errors }).unwrap_or_default()
}

/// A document that does not parse: `GRAPHQL_PARSE_FAILED`, with the parser's message and
/// position.
pub fn parse_failed(error: async_graphql::ServerError) -> async_graphql::ServerError {
    with_code(error, "GRAPHQL_PARSE_FAILED")
}

fn with_code(mut error: async_graphql::ServerError, code: &str) -> async_graphql::ServerError {
    error
        .extensions
        .get_or_insert_with(async_graphql::ErrorExtensionValues::default)
        .set("code", code);
    error
}

/// `response` with a code on every error the executor left without one: its validation
/// (`GRAPHQL_VALIDATION_FAILED`, or `BAD_USER_INPUT` for a value that does not fit its
/// argument, given literally or in a variable). Resolver errors have theirs from [`ApiError`].
pub fn coded(mut response: async_graphql::Response) -> async_graphql::Response {
    code_errors(&mut response.errors);
    response
}

/// Gives each of `errors` a code as [`coded`] does.
pub fn code_errors(errors: &mut [async_graphql::ServerError]) {
    for error in errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|x| x.get("code").is_some());
        if has_code {
            continue;
        }
        // A value that does not fit its argument — literal or variable — is the client's input;
        // anything else the validator says is about the document.
        let code = if error.message.starts_with("Invalid value for argument")
            || error.message.starts_with("Failed to parse")
        {
            "BAD_USER_INPUT"
        } else if error.path.is_empty() {
            "GRAPHQL_VALIDATION_FAILED"
        } else {
            "INTERNAL_SERVER_ERROR"
        };
        *error = with_code(
            std::mem::replace(error, async_graphql::ServerError::new("", None)),
            code,
        );
    }
}

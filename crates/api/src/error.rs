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

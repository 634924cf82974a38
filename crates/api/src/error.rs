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

/// The domain's name for each kind of object (in its errors) beside the API's kind of id.
const ENTITIES: [(&str, &str); 13] = [
    ("organisation", "Organisation"),
    ("person", "Person"),
    ("pod", "Pod"),
    ("item", "Item"),
    ("open backlog item", "Item"),
    ("sprint", "Sprint"),
    ("KPI", "Kpi"),
    ("blocker", "Blocker"),
    ("intake request", "IntakeRequest"),
    ("shared service", "SharedService"),
    ("service request", "ServiceRequest"),
    ("retro action", "RetroAction"),
    ("approval", "Approval"),
];

/// The API's kind of id for an entity the domain names in its errors.
fn kind_of_entity(entity: &str) -> Option<&'static str> {
    ENTITIES.iter().find(|(e, _)| *e == entity).map(|(_, k)| *k)
}

/// The domain's name for the objects of an API kind of id (`Pod` → `pod`).
pub fn entity_of_kind(kind: &str) -> Option<&'static str> {
    ENTITIES.iter().find(|(_, k)| *k == kind).map(|(e, _)| *e)
}

/// The id a client uses for `entity` `id` (a UUID in the domain's words).
fn api_id(entity: &str, id: &str) -> Option<String> {
    let kind = kind_of_entity(entity)?;
    Some(crate::ids::to_id(kind, Uuid::parse_str(id).ok()?).to_string())
}

/// `message` with each UUID that follows an entity's name (`person <uuid>`, `pod <uuid>`…)
/// written as the id clients use for it: domain messages speak UUIDs, clients opaque ids.
fn api_ids(message: &str) -> String {
    const UUID: usize = 36;
    let bytes = message.as_bytes();
    let mut out = String::with_capacity(message.len());
    let (mut i, mut copied) = (0, 0);
    while i + UUID <= message.len() {
        let starts_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let uuid =
            (starts_word && message.is_char_boundary(i) && message.is_char_boundary(i + UUID))
                .then(|| Uuid::parse_str(&message[i..i + UUID]).ok())
                .flatten();
        if let Some(uuid) = uuid {
            let entity = message[..i]
                .trim_end()
                .rsplit(|c: char| c.is_whitespace() || c == '(')
                .next()
                .unwrap_or("");
            if let Some(id) = api_id(entity, &uuid.to_string()) {
                out.push_str(&message[copied..i]);
                out.push_str(&id);
                i += UUID;
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&message[copied..]);
    out
}

impl ApiError {
    /// An id argument (`field`) that names no `entity` of the caller's organisation — never
    /// created, another organisation's, or not yet existing at `asOf`: the one answer every
    /// query, mutation and subscription gives (`NOT_FOUND`, the argument and the id as sent).
    pub fn not_found(field: &str, entity: &'static str, id: Uuid) -> Self {
        Self::Domain(DomainError::not_found(field, entity, &id))
    }

    /// The same error with its field paths inside the input object `input` (`title` becomes
    /// `input.title`), for a mutation whose arguments come in one input object.
    #[must_use]
    pub fn within(self, input: &str) -> Self {
        let prefix = |field: &str| format!("{input}.{field}");
        match self {
            Self::Domain(DomainError::Validation(fields)) => Self::Domain(DomainError::Validation(
                fields
                    .into_iter()
                    .map(|f| podledger_domain::error::FieldError::new(prefix(&f.field), f.message))
                    .collect(),
            )),
            Self::Domain(DomainError::NotFound { field, entity, id }) => {
                Self::Domain(DomainError::NotFound {
                    field: prefix(&field),
                    entity,
                    id,
                })
            }
            Self::BadUserInput { field, message } => Self::BadUserInput {
                field: prefix(&field),
                message,
            },
            other => other,
        }
    }

    /// The fields a validation error names (tests, logs).
    pub fn to_fields(&self) -> Vec<String> {
        match self {
            Self::Domain(d) => d.field_errors().iter().map(|f| f.field.clone()).collect(),
            Self::BadUserInput { field, .. } => vec![field.clone()],
            _ => Vec::new(),
        }
    }

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
                            Value::from(api_ids(&f.message)),
                        );
                        Value::Object(m)
                    })
                    .collect();
                let (message, not_found) = match &d {
                    DomainError::NotFound { field, entity, id } => {
                        let id = api_id(entity, id).unwrap_or_else(|| id.clone());
                        (
                            format!("{field}: no {entity} with id {id}"),
                            Some((field.clone(), id)),
                        )
                    }
                    _ => (api_ids(&d.to_string()), None),
                };
                async_graphql::Error::new(message).extend_with(|_, x| {
                    x.set("code", d.code().as_str());
                    if !fields.is_empty() {
                        x.set("fields", Value::List(fields.clone()));
                    }
                    if let Some((field, id)) = &not_found {
                        x.set("field", field.clone());
                        x.set("id", id.clone());
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
    let mut error = request_error(refusal.code(), refusal.message());
    if let Some(extensions) = error.extensions.as_mut() {
        extensions.set("limit", refusal.limit.flag());
        extensions.set("max", refusal.max);
        let came_to = if refusal.limit == crate::limits::Limit::Cost {
            "cost"
        } else {
            "actual"
        };
        extensions.set(came_to, refusal.actual);
    }
    error
}

/// A request error with only a code.
pub fn request_error(code: &str, message: impl Into<String>) -> async_graphql::ServerError {
    with_code(async_graphql::ServerError::new(message, None), code)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_domain_message_with_uuids_then_each_after_an_entity_reads_as_the_api_id() {
        let (person, pod) = (Uuid::now_v7(), Uuid::now_v7());
        let message = format!("person {person} holds a role in pod {pod}; see request {pod}");
        let shown = api_ids(&message);
        assert_eq!(
            shown,
            format!(
                "person {} holds a role in pod {}; see request {pod}",
                crate::ids::to_id("Person", person).as_str(),
                crate::ids::to_id("Pod", pod).as_str()
            ),
            "an unknown word keeps its UUID"
        );
        assert_eq!(
            api_ids("no ids here, 42 and abc"),
            "no ids here, 42 and abc"
        );
    }

    #[test]
    fn given_a_not_found_then_the_message_and_extensions_carry_the_id_as_clients_send_it() {
        let pod = Uuid::now_v7();
        let error = async_graphql::Error::from(ApiError::not_found("podId", "pod", pod));
        let sent = crate::ids::to_id("Pod", pod).to_string();
        assert_eq!(error.message, format!("podId: no pod with id {sent}"));
        let extensions = error.extensions.unwrap();
        assert_eq!(extensions.get("code"), Some(&Value::from("NOT_FOUND")));
        assert_eq!(extensions.get("id"), Some(&Value::from(sent)));
    }

    #[test]
    fn given_an_input_object_mutation_then_field_paths_are_inside_it() {
        let error = ApiError::Domain(DomainError::Validation(vec![
            podledger_domain::error::FieldError::new("title", "must not be empty"),
        ]))
        .within("input");
        assert_eq!(error.to_fields(), ["input.title"]);
    }
}

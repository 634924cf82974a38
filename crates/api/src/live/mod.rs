//! Running subscriptions for a transport. Dashboard feeds (`sprintBoard`, `podMetrics`,
//! `kpiReadings`) are multiplexed: the subscribers of an organisation sending the same operation
//! with the same variables share one execution, whose messages are serialised once — ten
//! thousand screens on one board cost one resolution per change, not ten thousand — and handed
//! to each subscriber's [`Subscriber`] by the fan-out ([`fanout`]: no task, channel or wake-up
//! per subscriber, the work shared by every thread). Every other subscription becomes a stream of
//! serialised messages that the transport forwards at its client's pace.
//!
//! Sharing is safe because these feeds answer the same for every reader of an organisation:
//! each subscriber is checked as a reader before joining (the rule queries use), and the key
//! holds the organisation, so no message ever crosses organisations. The shared execution runs
//! as its first subscriber. A subscriber that cannot take a message (its transport's bounded
//! buffer is full) is dropped from the feed and disconnected by its transport, so memory never
//! grows with a slow reader.

mod fanout;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use async_graphql::parser::types::{OperationType, Selection};
use async_graphql::{Pos, Request, Response, ServerError};
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};

use crate::auth::Principal;
use crate::context::check_reader;
use crate::error::{ApiError, bounded_json};
use crate::schema::{ApiState, PodledgerSchema, authorised};
pub use fanout::Membership;
use fanout::{Feed, Group, join};

/// Messages the fan-out's relays may fall behind a shared execution by before the subscribers
/// who missed one are told they lagged.
pub const SHARED_BUFFER: usize = 64;

/// Root fields whose executions are shared; the state feeds among them replay their latest
/// message to a subscriber that joins later.
const SHARED_STATE_FEEDS: [&str; 2] = ["sprintBoard", "podMetrics"];
const SHARED_EVENT_FEEDS: [&str; 1] = ["kpiReadings"];

/// One message of an operation, already serialised.
#[derive(Clone, Debug)]
pub enum LiveMessage {
    /// A result (`data`, and `errors` if a field failed): graphql-transport-ws `next`.
    Next(Arc<str>),
    /// The operation failed as a whole (validation, authorisation, a bad argument), as a JSON
    /// array of errors: graphql-transport-ws `error`. Nothing follows it.
    Error(Arc<str>),
    /// The subscriber missed a message of a shared feed (its relays fell more than
    /// [`SHARED_BUFFER`] messages behind): nothing follows it.
    Lagged,
}

impl LiveMessage {
    /// The message for a response of the executor; a response whose JSON is longer than
    /// `max_bytes` becomes a `RESPONSE_TOO_LARGE` error.
    pub fn of(response: &Response, max_bytes: usize) -> Self {
        let failed = response.data == async_graphql::Value::Null && !response.errors.is_empty();
        if failed {
            let mut errors = response.errors.clone();
            crate::error::code_errors(&mut errors);
            return Self::errors(&errors);
        }
        match bounded_json(response, max_bytes) {
            Ok(json) => Self::Next(String::from_utf8(json).unwrap_or_default().into()),
            Err(too_large) => Self::errors(&[too_large]),
        }
    }

    fn errors(errors: &[ServerError]) -> Self {
        Self::Error(serde_json::to_string(errors).unwrap_or_default().into())
    }

    fn refused(error: ApiError) -> Self {
        let error: ServerError =
            async_graphql::Error::from(error).into_server_error(Pos::default());
        Self::Error(serde_json::to_string(&[error]).unwrap_or_default().into())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    org: uuid::Uuid,
    query: String,
    operation: Option<String>,
    variables: String,
}

/// The transport's side of one operation on a shared feed: the fan-out hands it each message.
/// Both calls must return at once (write or buffer, never wait), from any thread.
pub trait Subscriber: Send + Sync {
    /// Takes `message` (`Next`, `Error`, or `Lagged`); `false` when it cannot or the operation
    /// ended (after `Error` or `Lagged`, or when its buffer is full): no more messages come then.
    fn deliver(&self, message: &LiveMessage) -> bool;
    /// The feed ended: nothing follows (graphql-transport-ws `complete`).
    fn end(&self);
}

/// A running operation, as [`subscribe`] starts it.
pub enum Live {
    /// Its messages, for the transport to forward at its client's pace.
    Stream(BoxStream<'static, LiveMessage>),
    /// A place on a shared feed: messages go to the [`Subscriber`] given to [`subscribe`] (the
    /// latest may already have). Dropping it leaves the feed.
    Joined(Membership),
}

impl Live {
    /// An operation that failed before it ran (a limit, a syntax error): one `error` message.
    pub fn failed(error: ServerError) -> Self {
        Self::Stream(stream::iter([LiveMessage::errors(&[error])]).boxed())
    }
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Stream(_) => "Live::Stream",
            Self::Joined(_) => "Live::Joined",
        })
    }
}

/// The shared executions, by key.
#[derive(Debug, Default)]
pub struct Hub {
    groups: Mutex<HashMap<Key, Weak<Group>>>,
}

impl Hub {
    /// How many shared executions run (telemetry, tests).
    pub fn shared_executions(&self) -> usize {
        let mut groups = self.groups.lock().expect("live hub");
        groups.retain(|_, g| g.strong_count() > 0);
        groups.len()
    }
}

/// Whether `request` is a shared feed: `Some(replay)` for a subscription whose root fields are
/// all shared feeds (replaying the latest message when they are all state feeds).
fn shared_feed(request: &mut Request) -> Option<bool> {
    let name = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    let operation = crate::limits::operation_to_run(document, name.as_deref())?;
    if operation.node.ty != OperationType::Subscription {
        return None;
    }
    let mut replay = true;
    for selection in &operation.node.selection_set.node.items {
        let Selection::Field(field) = &selection.node else {
            return None;
        };
        let name = field.node.name.node.as_str();
        if SHARED_EVENT_FEEDS.contains(&name) {
            replay = false;
        } else if !SHARED_STATE_FEEDS.contains(&name) {
            return None;
        }
    }
    Some(replay)
}

/// Runs subscription `request` of `principal` (which passed the limits): a shared feed
/// delivers to `subscriber`, any other is a stream of messages.
pub fn subscribe(
    schema: &PodledgerSchema,
    state: &ApiState,
    hub: &Arc<Hub>,
    max_bytes: usize,
    mut request: Request,
    principal: Principal,
    subscriber: Arc<dyn Subscriber>,
) -> Live {
    let Some(replay) = shared_feed(&mut request) else {
        return Live::Stream(
            schema
                .execute_stream(authorised(request, principal, state))
                .map(move |response| LiveMessage::of(&response, max_bytes))
                .boxed(),
        );
    };
    if let Err(refusal) = check_reader(&principal, &state.projections) {
        return Live::Stream(stream::iter([LiveMessage::refused(refusal)]).boxed());
    }
    let key = Key {
        org: principal.org.as_uuid(),
        query: request.query.clone(),
        operation: request.operation_name.clone(),
        variables: serde_json::to_string(&request.variables).unwrap_or_default(),
    };
    let mut groups = hub.groups.lock().expect("live hub");
    if let Some(group) = groups.get(&key).and_then(Weak::upgrade)
        && let Some(membership) = join(&group, subscriber.clone())
    {
        return Live::Joined(membership);
    }
    let group = start(schema, state, request, principal, replay, max_bytes);
    // Forget the keys of executions that ended or lost their last subscriber.
    groups.retain(|_, g| g.strong_count() > 0);
    groups.insert(key, Arc::downgrade(&group));
    drop(groups);
    Live::Joined(join(&group, subscriber).expect("a new group has not ended"))
}

fn start(
    schema: &PodledgerSchema,
    state: &ApiState,
    request: Request,
    principal: Principal,
    replay: bool,
    max_bytes: usize,
) -> Arc<Group> {
    let feed = Feed::new();
    let mut responses = schema.execute_stream(authorised(request, principal, state));
    let task = tokio::spawn({
        let feed = feed.clone();
        async move {
            while let Some(response) = responses.next().await {
                feed.publish(LiveMessage::of(&response, max_bytes));
            }
            feed.end();
        }
    });
    Arc::new(Group::new(feed, replay, task.abort_handle()))
}

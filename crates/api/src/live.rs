//! Running subscriptions for a transport: every operation becomes a stream of serialised
//! messages. Dashboard feeds (`sprintBoard`, `podMetrics`, `kpiReadings`) are multiplexed: the
//! subscribers of an organisation sending the same operation with the same variables share one
//! execution, whose messages are serialised once — ten thousand screens on one board cost one
//! resolution per change, not ten thousand.
//!
//! Sharing is safe because these feeds answer the same for every reader of an organisation:
//! each subscriber is checked as a reader before joining (the rule queries use), and the key
//! holds the organisation, so no message ever crosses organisations. The shared execution runs
//! as its first subscriber. Each subscriber reads through a bounded buffer of
//! [`SHARED_BUFFER`] messages; one that falls behind it gets [`LiveMessage::Lagged`] and the
//! transport disconnects it, so memory never grows with a slow reader.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
use async_graphql::{Pos, Request, Response, ServerError};
use futures_util::stream::{self, BoxStream};
use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::auth::Principal;
use crate::context::check_reader;
use crate::error::ApiError;
use crate::schema::{ApiState, PodledgerSchema, authorised};

/// Messages a subscriber of a shared feed may fall behind by before it is disconnected.
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
    /// The subscriber fell more than [`SHARED_BUFFER`] messages behind.
    Lagged,
}

impl LiveMessage {
    /// The message for a response of the executor.
    pub fn of(response: &Response) -> Self {
        let failed = response.data == async_graphql::Value::Null && !response.errors.is_empty();
        if failed {
            Self::Error(
                serde_json::to_string(&response.errors)
                    .unwrap_or_default()
                    .into(),
            )
        } else {
            Self::Next(serde_json::to_string(response).unwrap_or_default().into())
        }
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

#[derive(Clone, Debug)]
enum Shared {
    Message(LiveMessage),
    End,
}

#[derive(Debug, Default)]
struct Latest {
    message: Option<LiveMessage>,
    ended: bool,
}

#[derive(Debug)]
struct Group {
    sender: broadcast::Sender<Shared>,
    latest: Arc<Mutex<Latest>>,
    replay: bool,
    task: tokio::task::AbortHandle,
}

impl Drop for Group {
    fn drop(&mut self) {
        // The last subscriber left: stop resolving for nobody.
        self.task.abort();
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
fn shared_feed(request: &Request) -> Option<bool> {
    let document = async_graphql::parser::parse_query(&request.query).ok()?;
    let operation = match (&document.operations, &request.operation_name) {
        (DocumentOperations::Single(op), None) => op.clone(),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name.as_str())?.clone(),
        _ => return None,
    };
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

/// Runs `request` of `principal` as a stream of messages (a query or mutation gives one).
pub fn subscribe(
    schema: &PodledgerSchema,
    state: &ApiState,
    hub: &Arc<Hub>,
    request: Request,
    principal: Principal,
) -> BoxStream<'static, LiveMessage> {
    let Some(replay) = shared_feed(&request) else {
        return schema
            .execute_stream(authorised(request, principal, state))
            .map(|response| LiveMessage::of(&response))
            .boxed();
    };
    if let Err(refusal) = check_reader(&principal, &state.projections) {
        return stream::iter([LiveMessage::refused(refusal)]).boxed();
    }
    let key = Key {
        org: principal.org.as_uuid(),
        query: request.query.clone(),
        operation: request.operation_name.clone(),
        variables: serde_json::to_string(&request.variables).unwrap_or_default(),
    };
    let mut groups = hub.groups.lock().expect("live hub");
    if let Some(group) = groups.get(&key).and_then(Weak::upgrade)
        && let Some(joined) = join(group)
    {
        return joined.boxed();
    }
    let group = start(schema, state, request, principal, replay);
    // Forget the keys of executions that ended or lost their last subscriber.
    groups.retain(|_, g| g.strong_count() > 0);
    groups.insert(key, Arc::downgrade(&group));
    drop(groups);
    join(group).expect("a new group has not ended").boxed()
}

fn start(
    schema: &PodledgerSchema,
    state: &ApiState,
    request: Request,
    principal: Principal,
    replay: bool,
) -> Arc<Group> {
    let (sender, _) = broadcast::channel(SHARED_BUFFER);
    let latest = Arc::new(Mutex::new(Latest::default()));
    let mut responses = schema.execute_stream(authorised(request, principal, state));
    let task = tokio::spawn({
        let (sender, latest) = (sender.clone(), latest.clone());
        async move {
            while let Some(response) = responses.next().await {
                let message = LiveMessage::of(&response);
                let mut latest = latest.lock().expect("live group");
                latest.message = Some(message.clone());
                let _ = sender.send(Shared::Message(message));
            }
            latest.lock().expect("live group").ended = true;
            let _ = sender.send(Shared::End);
        }
    });
    Arc::new(Group {
        sender,
        latest,
        replay,
        task: task.abort_handle(),
    })
}

/// A subscriber's view of a group: its latest message first (state feeds), then each new one;
/// `None` when the group has ended (the caller starts a new one).
fn join(group: Arc<Group>) -> Option<impl Stream<Item = LiveMessage>> {
    let (receiver, first) = {
        let latest = group.latest.lock().expect("live group");
        if latest.ended {
            return None;
        }
        let first = if group.replay {
            latest.message.clone()
        } else {
            None
        };
        (group.sender.subscribe(), first)
    };
    let rest = stream::unfold(
        (receiver, Some(group)),
        |(mut receiver, group)| async move {
            let group = group?;
            match receiver.recv().await {
                Ok(Shared::Message(message)) => Some((message, (receiver, Some(group)))),
                Ok(Shared::End) | Err(RecvError::Closed) => None,
                Err(RecvError::Lagged(_)) => Some((LiveMessage::Lagged, (receiver, None))),
            }
        },
    );
    Some(stream::iter(first).chain(rest))
}

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
//!
//! Fan-out goes through one relay per thread: the execution wakes one relay task on each
//! thread that has subscribers, and the relay wakes that thread's subscribers. A wake-up
//! across threads costs a system call (the other thread's event loop is signalled), one within
//! a thread does not — with 10,000 subscribers over two workers this is 2 signals per message
//! instead of 5,000, and the wake-ups run on both threads at once.

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
    /// The `n`-th message of the execution (from 1).
    Message(u64, LiveMessage),
    End,
    /// A relay fell behind the execution: every subscriber behind it did.
    Lagged,
}

#[derive(Debug, Default)]
struct Latest {
    /// The last message and its number.
    message: Option<(u64, LiveMessage)>,
    ended: bool,
}

#[derive(Debug)]
struct Group {
    sender: broadcast::Sender<Shared>,
    latest: Arc<Mutex<Latest>>,
    replay: bool,
    task: tokio::task::AbortHandle,
    /// Tells the relays apart in the per-thread registry.
    id: u64,
}

impl Drop for Group {
    fn drop(&mut self) {
        // The last subscriber left: stop resolving for nobody.
        self.task.abort();
    }
}

/// One thread's share of a group: a task on this thread that takes each message from the
/// execution and hands it to this thread's subscribers.
#[derive(Debug)]
struct Relay {
    sender: broadcast::Sender<Shared>,
    task: tokio::task::AbortHandle,
    /// Keeps the execution running while this thread has subscribers.
    _group: Arc<Group>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

thread_local! {
    /// This thread's relays, by group.
    static RELAYS: std::cell::RefCell<HashMap<u64, Weak<Relay>>> =
        std::cell::RefCell::new(HashMap::new());
}

static GROUP_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// This thread's relay of `group`, started if there is none. Call it with the group's
/// `latest` lock held, so that no message falls between the caller's replay and the relay.
fn relay(group: &Arc<Group>) -> Arc<Relay> {
    RELAYS.with_borrow_mut(|relays| {
        if let Some(relay) = relays.get(&group.id).and_then(Weak::upgrade) {
            return relay;
        }
        let (sender, _) = broadcast::channel(SHARED_BUFFER);
        let mut upstream = group.sender.subscribe();
        let task = tokio::spawn({
            let sender = sender.clone();
            async move {
                loop {
                    let shared = match upstream.recv().await {
                        Ok(shared) => shared,
                        Err(RecvError::Closed) => Shared::End,
                        Err(RecvError::Lagged(_)) => Shared::Lagged,
                    };
                    let last = !matches!(shared, Shared::Message(..));
                    let _ = sender.send(shared);
                    if last {
                        return;
                    }
                }
            }
        });
        let relay = Arc::new(Relay {
            sender,
            task: task.abort_handle(),
            _group: group.clone(),
        });
        relays.retain(|_, r| r.strong_count() > 0);
        relays.insert(group.id, Arc::downgrade(&relay));
        relay
    })
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
        && let Some(joined) = join(&group)
    {
        return joined.boxed();
    }
    let group = start(schema, state, request, principal, replay);
    // Forget the keys of executions that ended or lost their last subscriber.
    groups.retain(|_, g| g.strong_count() > 0);
    groups.insert(key, Arc::downgrade(&group));
    drop(groups);
    join(&group).expect("a new group has not ended").boxed()
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
            let mut n = 0;
            while let Some(response) = responses.next().await {
                let message = LiveMessage::of(&response);
                n += 1;
                let mut latest = latest.lock().expect("live group");
                latest.message = Some((n, message.clone()));
                let _ = sender.send(Shared::Message(n, message));
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
        id: GROUP_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
    })
}

/// A subscriber's view of a group: its latest message first (state feeds), then each new one;
/// `None` when the group has ended (the caller starts a new one).
fn join(group: &Arc<Group>) -> Option<impl Stream<Item = LiveMessage> + use<>> {
    let (receiver, first, relay) = {
        let latest = group.latest.lock().expect("live group");
        if latest.ended {
            return None;
        }
        let first = if group.replay {
            latest.message.clone()
        } else {
            None
        };
        let relay = relay(group);
        (relay.sender.subscribe(), first, relay)
    };
    // A message the relay had not passed on yet when this subscriber replayed it comes again
    // through the relay: skip what was seen.
    let seen = first.as_ref().map_or(0, |(n, _)| *n);
    let rest = stream::unfold(
        (receiver, Some(relay), seen),
        |(mut receiver, relay, seen)| async move {
            let relay = relay?;
            loop {
                match receiver.recv().await {
                    Ok(Shared::Message(n, _)) if n <= seen => {}
                    Ok(Shared::Message(n, message)) => {
                        return Some((message, (receiver, Some(relay), n)));
                    }
                    Ok(Shared::End) | Err(RecvError::Closed) => return None,
                    Ok(Shared::Lagged) | Err(RecvError::Lagged(_)) => {
                        return Some((LiveMessage::Lagged, (receiver, None, seen)));
                    }
                }
            }
        },
    );
    Some(stream::iter(first.map(|(_, message)| message)).chain(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> LiveMessage {
        LiveMessage::Next(text.into())
    }

    fn texts(messages: &[LiveMessage]) -> Vec<String> {
        messages
            .iter()
            .map(|m| match m {
                LiveMessage::Next(t) | LiveMessage::Error(t) => t.to_string(),
                LiveMessage::Lagged => "lagged".into(),
            })
            .collect()
    }

    /// A group whose execution is driven by hand: `publish` is what the execution task does.
    fn group(replay: bool) -> Arc<Group> {
        let (sender, _) = broadcast::channel(SHARED_BUFFER);
        let idle = tokio::spawn(std::future::pending::<()>());
        Arc::new(Group {
            sender,
            latest: Arc::new(Mutex::new(Latest::default())),
            replay,
            task: idle.abort_handle(),
            id: GROUP_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    fn publish(group: &Group, n: u64, text: &str) {
        group.latest.lock().unwrap().message = Some((n, message(text)));
        let _ = group.sender.send(Shared::Message(n, message(text)));
    }

    fn end(group: &Group) {
        group.latest.lock().unwrap().ended = true;
        let _ = group.sender.send(Shared::End);
    }

    #[tokio::test]
    async fn given_a_message_the_relay_has_not_passed_on_when_a_subscriber_joins_then_it_arrives_once()
     {
        let group = group(true);
        let first = join(&group).unwrap();
        // The execution publishes; this thread's relay has not run yet.
        publish(&group, 1, "board 1");
        let late = join(&group).unwrap();
        publish(&group, 2, "board 2");
        end(&group);
        let (first, late): (Vec<_>, Vec<_>) = tokio::join!(first.collect(), late.collect());
        assert_eq!(texts(&first), ["board 1", "board 2"]);
        assert_eq!(texts(&late), ["board 1", "board 2"]);
    }

    #[tokio::test]
    async fn given_subscribers_on_one_thread_then_they_share_one_relay_which_stops_with_the_last() {
        let group = group(false);
        let a = join(&group).unwrap();
        let b = join(&group).unwrap();
        let relays = RELAYS.with_borrow(|r| r.get(&group.id).map_or(0, Weak::strong_count));
        assert_eq!(relays, 2, "both subscribers hold the same relay");
        drop((a, b));
        let alive = RELAYS.with_borrow(|r| r.get(&group.id).is_some_and(|w| w.strong_count() > 0));
        assert!(!alive, "the relay went with its last subscriber");
        // The relay held the group: only this test's handle is left.
        assert_eq!(Arc::strong_count(&group), 1);
    }

    #[tokio::test]
    async fn given_a_relay_that_fell_behind_the_execution_then_its_subscribers_are_told_they_lagged()
     {
        let group = group(false);
        let subscriber = join(&group).unwrap();
        for n in 1..=(SHARED_BUFFER as u64 + 10) {
            publish(&group, n, "reading");
        }
        end(&group);
        let received: Vec<_> = subscriber.collect().await;
        assert_eq!(texts(&received), ["lagged"]);
    }
}

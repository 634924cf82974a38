//! The one load–decide–append loop. The API calls [`CommandHandler::execute`]; nothing else
//! appends domain events.
//!
//! 1. Load the organisation stream and the command's target stream (from a per-stream cache,
//!    reading only the events after the cached version).
//! 2. `decide` (pure).
//! 3. Append to the target with `Exact(target version)`, conditioned on the organisation
//!    stream's version — so a decision never stands on stale roles or memberships.
//! 4. On `WrongExpectedVersion`, go to 1. Retrying is always safe: the decision is re-made on
//!    the new state (and a caller's own expected version, R12, is re-checked by the domain).
//!
//! Commands on the same target stream queue behind a per-stream lock inside one process, so
//! they do not race each other into retries; retries remain for writers in other processes
//! (API replicas), with a short jittered back-off.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tracing::Instrument as _;

use podledger_domain::ids::OrgId;
use podledger_domain::kpi::KpiState;
use podledger_domain::org::OrgState;
use podledger_domain::pod::PodState;
use podledger_domain::{Command, Context, DecodeError, DomainError, Event, State, Target, decide};
use uuid::Uuid;

use crate::store::{
    EventMetadata, EventStore, ExpectedVersion, NewEvent, RecordedEvent, StoreError, StreamWrite,
};

/// Attempts before a conflict is reported to the caller.
const MAX_ATTEMPTS: usize = 8;
/// Events read per query while loading.
const PAGE: usize = 1_000;

/// Request-level metadata of a command.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// The request (propagated to every event).
    pub correlation_id: Uuid,
    /// The message that caused this command, if any.
    pub causation_id: Option<Uuid>,
    /// Client-supplied idempotency key: the first event's id (the others derive from it).
    /// Re-sending the same command with the same key returns the original result.
    pub idempotency_key: Option<Uuid>,
}

/// What a command did.
#[derive(Clone, Debug, PartialEq)]
pub struct Executed {
    /// The events it produced (empty when the command changed nothing).
    pub events: Vec<Event>,
    /// Global position of its last event — the consistency token. `None` if nothing changed.
    pub last_position: Option<u64>,
    /// The target stream's version after the command.
    pub target_version: u64,
    /// True when this answers a retry of an already-executed command (idempotency key).
    pub replayed: bool,
}

/// Why a command did not execute.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The domain refused it.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event could not be read (a bug or a newer writer).
    #[error("a stored event could not be read")]
    Decode(#[from] DecodeError),
}

#[derive(Clone, Debug)]
enum Aggregate {
    Org(OrgState),
    Pod(PodState),
    Kpi(KpiState),
}

/// Executes commands against a store.
#[derive(Debug)]
pub struct CommandHandler {
    store: Arc<dyn EventStore>,
    cache: Mutex<HashMap<String, Aggregate>>,
    stream_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl CommandHandler {
    /// A handler over `store`.
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        Self {
            store,
            cache: Mutex::new(HashMap::new()),
            stream_locks: Mutex::new(HashMap::new()),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// Loads, decides and appends, retrying on concurrent writes.
    pub async fn execute(
        &self,
        command: &Command,
        ctx: &Context,
        meta: RequestMeta,
    ) -> Result<Executed, HandleError> {
        if let Some(key) = meta.idempotency_key
            && let Some(done) = self.replay(key).await?
        {
            return Ok(done);
        }
        let target = command.target(ctx.org);
        let target_stream = target.to_string();
        let lock = self.stream_lock(&target_stream);
        let result = {
            let _turn = lock.lock().await;
            self.decide_and_append(command, ctx, meta, target, &target_stream)
                .await
        };
        self.release_stream_lock(&target_stream, lock);
        result
    }

    /// Runs `commands` in order, each decided against the state the ones before it left (in
    /// memory: no store round trip between them), and appends every decided command's events
    /// in one atomic append, in command order — one commit for the lot (`podledger import`).
    /// Stops at the first refusal: the commands before it are appended, it and the ones after
    /// are not. Returns what each command before the refusal did, and the refusal. Retries are
    /// the caller's to skip (the importer knows which lines an earlier run applied): an append
    /// of events already stored is answered as the store answers a retried append.
    pub async fn execute_in_order(
        &self,
        commands: &[(Command, Context, RequestMeta)],
    ) -> Result<(Vec<Executed>, Option<(usize, HandleError)>), HandleError> {
        let mut states: HashMap<String, Aggregate> = HashMap::new();
        let mut guards: Vec<StreamWrite> = Vec::new();
        let mut writes: Vec<StreamWrite> = Vec::new();
        // What each command did, and how many events it appends.
        let mut done: Vec<(Executed, usize)> = Vec::new();
        let mut refusal = None;
        for (index, (command, ctx, meta)) in commands.iter().enumerate() {
            let target = command.target(ctx.org);
            let org_stream = Target::Org(ctx.org).to_string();
            let target_stream = target.to_string();
            for (stream, which) in [
                (&org_stream, Target::Org(ctx.org)),
                (&target_stream, target),
            ] {
                if !states.contains_key(stream) {
                    let loaded = self.aggregate(&which).await?;
                    if let Aggregate::Org(org) = &loaded {
                        // Decisions read the organisation (roles): it must not change under them.
                        guards.push(StreamWrite {
                            stream: stream.clone(),
                            expected: ExpectedVersion::Exact(org.version),
                            events: vec![],
                        });
                    }
                    states.insert(stream.clone(), loaded);
                }
            }
            let mut state = State::default();
            if let Some(Aggregate::Org(org)) = states.get(&org_stream) {
                state.org = org.clone();
            }
            match states.get(&target_stream) {
                Some(Aggregate::Pod(s)) => state.pod = s.clone(),
                Some(Aggregate::Kpi(s)) => state.kpi = s.clone(),
                _ => {}
            }
            let target_version = state.target_version(&target);
            let events = match decide(&state, command, ctx) {
                Ok(events) => events,
                Err(e) => {
                    refusal = Some((index, e.into()));
                    break;
                }
            };
            let aggregate = states.get_mut(&target_stream).expect("loaded above");
            for event in &events {
                match (&mut *aggregate, event) {
                    (Aggregate::Org(s), Event::Org(e)) => s.evolve(e),
                    (Aggregate::Pod(s), Event::Pod(e)) => s.evolve(e),
                    (Aggregate::Kpi(s), Event::Kpi(e)) => s.evolve(e),
                    _ => unreachable!("a command's events are its stream's"),
                }
            }
            let count = events.len();
            if count > 0 {
                writes.push(StreamWrite {
                    stream: target_stream,
                    expected: ExpectedVersion::Exact(target_version),
                    events: encode(&events, ctx, *meta),
                });
            }
            done.push((
                Executed {
                    events,
                    last_position: None,
                    target_version: target_version + count as u64,
                    replayed: false,
                },
                count,
            ));
        }
        if !writes.is_empty() {
            let span = tracing::info_span!("append", commands = done.len());
            guards.extend(writes);
            let appended = self.store.append(guards).instrument(span).await;
            // The in-memory states ran ahead of the store: the cache learns from the store again.
            self.cache.lock().expect("cache lock").clear();
            let outcome = appended?;
            let mut position = outcome.first_position - 1;
            for (executed, count) in &mut done {
                if *count > 0 {
                    position += *count as u64;
                    executed.last_position = Some(position);
                }
            }
        }
        Ok((done.into_iter().map(|(e, _)| e).collect(), refusal))
    }

    fn stream_lock(&self, stream: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.stream_locks.lock().expect("lock table");
        Arc::clone(locks.entry(stream.to_owned()).or_default())
    }

    /// Drops the stream's lock entry when nobody else holds or waits for it.
    fn release_stream_lock(&self, stream: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut locks = self.stream_locks.lock().expect("lock table");
        drop(lock);
        if locks.get(stream).is_some_and(|l| Arc::strong_count(l) == 1) {
            locks.remove(stream);
        }
    }

    async fn decide_and_append(
        &self,
        command: &Command,
        ctx: &Context,
        meta: RequestMeta,
        target: Target,
        target_stream: &str,
    ) -> Result<Executed, HandleError> {
        let org_stream = Target::Org(ctx.org).to_string();
        let mut conflict = None;
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                // Another process wrote the stream: back off a little, with jitter.
                let jitter = u64::from(Uuid::now_v7().as_bytes()[15]) % 8;
                tokio::time::sleep(std::time::Duration::from_millis(
                    (1 << attempt.min(5)) + jitter,
                ))
                .await;
            }
            let state = self.load(&target, ctx.org).await?;
            let target_version = state.target_version(&target);
            let events = tracing::info_span!(
                "decide",
                stream = target_stream,
                version = target_version,
                attempt
            )
            .in_scope(|| decide(&state, command, ctx))?;
            if events.is_empty() {
                return Ok(Executed {
                    events,
                    last_position: None,
                    target_version,
                    replayed: false,
                });
            }
            let new_events = encode(&events, ctx, meta);
            let mut writes = vec![StreamWrite {
                stream: target_stream.to_owned(),
                expected: ExpectedVersion::Exact(target_version),
                events: new_events,
            }];
            if !matches!(target, Target::Org(_)) {
                writes.insert(
                    0,
                    StreamWrite {
                        stream: org_stream.clone(),
                        expected: ExpectedVersion::Exact(state.org.version),
                        events: vec![],
                    },
                );
            }
            let span = tracing::info_span!(
                "append",
                stream = target_stream,
                expected_version = target_version,
                events = new_events_count(&writes),
                attempt,
                position = tracing::field::Empty,
                conflict = tracing::field::Empty,
            );
            let appended = self.store.append(writes).instrument(span.clone()).await;
            match &appended {
                Ok(outcome) => span.record("position", outcome.last_position),
                Err(StoreError::WrongExpectedVersion { .. }) => span.record("conflict", true),
                Err(_) => &span,
            };
            tracing::Span::current().record("retries", attempt);
            match appended {
                Ok(outcome) => {
                    let target_version = outcome
                        .stream_versions
                        .iter()
                        .find(|(s, _)| *s == target_stream)
                        .map_or(target_version, |(_, v)| *v);
                    return Ok(Executed {
                        events,
                        last_position: Some(outcome.last_position),
                        target_version,
                        replayed: false,
                    });
                }
                Err(StoreError::WrongExpectedVersion {
                    expected, actual, ..
                }) => {
                    conflict = Some((expected, actual));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let (expected, actual) = conflict.unwrap_or((ExpectedVersion::Any, 0));
        tracing::warn!(%target_stream, attempts = MAX_ATTEMPTS, "command gave up after repeated conflicts");
        Err(DomainError::ConcurrencyConflict {
            expected: match expected {
                ExpectedVersion::Exact(v) => v,
                _ => 0,
            },
            actual,
        }
        .into())
    }

    /// The decision state for a command on `target` in `org`: the organisation and the target
    /// stream, caught up with the store.
    pub async fn load(&self, target: &Target, org: OrgId) -> Result<State, HandleError> {
        let mut state = State {
            org: self.org(org).await?,
            ..State::default()
        };
        match self.aggregate(target).await? {
            Aggregate::Org(_) => {}
            Aggregate::Pod(s) => state.pod = s,
            Aggregate::Kpi(s) => state.kpi = s,
        }
        Ok(state)
    }

    async fn org(&self, org: OrgId) -> Result<OrgState, HandleError> {
        match self.aggregate(&Target::Org(org)).await? {
            Aggregate::Org(s) => Ok(s),
            _ => unreachable!("org streams hold organisations"),
        }
    }

    /// Catches a cached aggregate up with its stream and returns a copy.
    async fn aggregate(&self, target: &Target) -> Result<Aggregate, HandleError> {
        let stream = target.to_string();
        let cached = self.cache.lock().expect("cache lock").get(&stream).cloned();
        let mut aggregate = cached.unwrap_or_else(|| match target {
            Target::Org(_) => Aggregate::Org(OrgState::default()),
            Target::Pod(_) => Aggregate::Pod(PodState::default()),
            Target::Kpi(_) => Aggregate::Kpi(KpiState::default()),
        });
        loop {
            let version = match &aggregate {
                Aggregate::Org(s) => s.version,
                Aggregate::Pod(s) => s.version,
                Aggregate::Kpi(s) => s.version,
            };
            let page = self.store.read_stream(&stream, version, PAGE).await?;
            for recorded in &page {
                match (&mut aggregate, decode(recorded)?) {
                    (Aggregate::Org(s), Event::Org(e)) => s.evolve(&e),
                    (Aggregate::Pod(s), Event::Pod(e)) => s.evolve(&e),
                    (Aggregate::Kpi(s), Event::Kpi(e)) => s.evolve(&e),
                    _ => unreachable!("stream categories decode to their own aggregate"),
                }
            }
            if page.len() < PAGE {
                break;
            }
        }
        self.cache
            .lock()
            .expect("cache lock")
            .insert(stream, aggregate.clone());
        Ok(aggregate)
    }

    /// The result of an already-executed command, found by its idempotency key.
    async fn replay(&self, key: Uuid) -> Result<Option<Executed>, HandleError> {
        let Some(first) = self.store.find_event(key).await? else {
            return Ok(None);
        };
        let mut recorded = vec![first];
        for index in 1.. {
            match self.store.find_event(derived_id(key, index)).await? {
                Some(e) => recorded.push(e),
                None => break,
            }
        }
        let events = recorded.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        let last = recorded.last().expect("at least the first event");
        Ok(Some(Executed {
            events,
            last_position: Some(last.position),
            target_version: last.stream_version,
            replayed: true,
        }))
    }
}

/// Reads a stored domain event.
pub fn decode(recorded: &RecordedEvent) -> Result<Event, DecodeError> {
    Event::decode_str(
        &recorded.stream,
        &recorded.event_type,
        recorded.schema_version,
        &recorded.payload,
    )
}

/// The id of the `index`-th event of a command with idempotency key `key`.
fn derived_id(key: Uuid, index: usize) -> Uuid {
    if index == 0 {
        key
    } else {
        Uuid::new_v5(&key, &index.to_be_bytes())
    }
}

fn encode(events: &[Event], ctx: &Context, meta: RequestMeta) -> Vec<NewEvent> {
    let metadata = EventMetadata {
        org_id: ctx.org.as_uuid(),
        actor: ctx.actor.to_metadata(),
        correlation_id: meta.correlation_id,
        causation_id: meta.causation_id,
        occurred_at: Some(ctx.now),
    };
    events
        .iter()
        .enumerate()
        .map(|(index, event)| {
            let encoded = event.encode();
            NewEvent {
                event_id: meta
                    .idempotency_key
                    .map_or_else(Uuid::now_v7, |key| derived_id(key, index)),
                event_type: encoded.event_type,
                schema_version: encoded.schema_version,
                payload: encoded.payload.to_string(),
                metadata: metadata.clone(),
            }
        })
        .collect()
}

/// Events a group of writes appends (for the `append` span).
fn new_events_count(writes: &[StreamWrite]) -> usize {
    writes.iter().map(|w| w.events.len()).sum()
}

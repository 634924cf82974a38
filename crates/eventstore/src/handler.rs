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
//! Commands on the same target stream are pipelined inside one process: they queue while the
//! stream's batch runs, and the next batch is decided one command after another against the
//! state the previous decisions left and appended in one atomic append (see
//! [`CommandHandler`]), so they never race each other into retries; retries remain for writers
//! in other processes (API replicas), with a short jittered back-off. An import runs the same
//! way across streams ([`CommandHandler::execute_in_order`]).

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

impl Aggregate {
    /// The state of a stream with no events.
    fn empty(target: &Target) -> Self {
        match target {
            Target::Org(_) => Self::Org(OrgState::default()),
            Target::Pod(_) => Self::Pod(PodState::default()),
            Target::Kpi(_) => Self::Kpi(KpiState::default()),
        }
    }

    /// The stream version it reflects.
    const fn version(&self) -> u64 {
        match self {
            Self::Org(s) => s.version,
            Self::Pod(s) => s.version,
            Self::Kpi(s) => s.version,
        }
    }

    /// Moves a decision's state in: the organisation's (when this is it) or the target's.
    fn move_into(&mut self, state: &mut State) {
        match self {
            Self::Org(s) => state.org = std::mem::take(s),
            Self::Pod(s) => state.pod = std::mem::take(s),
            Self::Kpi(s) => state.kpi = std::mem::take(s),
        }
    }

    /// Moves it back out of the decision's state (after the decision's events evolved it).
    fn move_from(&mut self, state: &mut State) {
        match self {
            Self::Org(s) => *s = std::mem::take(&mut state.org),
            Self::Pod(s) => *s = std::mem::take(&mut state.pod),
            Self::Kpi(s) => *s = std::mem::take(&mut state.kpi),
        }
    }
}

/// Executes commands against a store. Cheap to clone: clones share the cache and the queues.
///
/// Commands on one stream are pipelined: while a batch of them is being decided and appended,
/// newly arriving ones queue; the next batch is decided one after another against the state
/// the previous decisions left (no reload between them) and appended in one atomic append with
/// the expected versions chained — one commit for the batch. A refusal answers only its own
/// command; acknowledged commands are in the log in the order they were queued.
#[derive(Clone, Debug)]
pub struct CommandHandler {
    store: Arc<dyn EventStore>,
    cache: Arc<Mutex<HashMap<String, Aggregate>>>,
    /// Commands waiting for their stream's batch; a stream is here while a batch task runs.
    queues: Arc<Mutex<HashMap<String, Vec<Job>>>>,
    /// Per organisation: held shared by the batches that read it while they decide and append,
    /// exclusively by its own batches (see `run_batch`).
    organisations: Arc<Mutex<HashMap<OrgId, Arc<tokio::sync::RwLock<()>>>>>,
    /// Where batch tasks run: the runtime the handler was made on (the server's, beside the
    /// store's writer and the projections), not the HTTP worker whose request led the batch —
    /// there a batch would wait its turn behind every request that worker is serving.
    runtime: Option<tokio::runtime::Handle>,
}

/// A queued command and where its answer goes.
#[derive(Debug)]
struct Job {
    command: Command,
    ctx: Context,
    meta: RequestMeta,
    /// The caller's span: the decision and the append are recorded under it.
    span: tracing::Span,
    reply: tokio::sync::oneshot::Sender<Result<Executed, HandleError>>,
}

/// Removes a stream's queue when its drain task ends in any way but the normal one.
struct DrainGuard {
    queues: Arc<Mutex<HashMap<String, Vec<Job>>>>,
    stream: String,
}

impl Drop for DrainGuard {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Ok(mut queues) = self.queues.lock()
        {
            queues.remove(&self.stream);
        }
    }
}

/// Commands decided and appended together, at most.
const MAX_BATCH: usize = 256;

impl CommandHandler {
    /// A handler over `store`.
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        Self {
            store,
            cache: Arc::new(Mutex::new(HashMap::new())),
            queues: Arc::new(Mutex::new(HashMap::new())),
            organisations: Arc::new(Mutex::new(HashMap::new())),
            runtime: tokio::runtime::Handle::try_current().ok(),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// Decides and appends `command`, retrying on concurrent writes by other processes; runs
    /// in its stream's next batch (see [`CommandHandler`]). Cancelling the returned future does
    /// not cancel the command once queued: the batch runs in its own task.
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
        let stream = command.target(ctx.org).to_string();
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            command: command.clone(),
            ctx: ctx.clone(),
            meta,
            span: tracing::Span::current(),
            reply,
        };
        let lead = {
            let mut queues = self.queues.lock().expect("queues");
            if let Some(waiting) = queues.get_mut(&stream) {
                waiting.push(job);
                false
            } else {
                queues.insert(stream.clone(), vec![job]);
                true
            }
        };
        if lead {
            let drain = self.clone().drain(stream);
            match &self.runtime {
                Some(runtime) => runtime.spawn(drain),
                None => tokio::spawn(drain),
            };
        }
        answer
            .await
            .map_err(|_| HandleError::Store(StoreError::Closed))?
    }

    /// Runs the stream's queued commands, batch after batch, until none is left.
    async fn drain(self, stream: String) {
        // Should a batch panic (a bug), the stream must not stay marked as draining with nobody
        // draining it: the guard forgets the queue, whose callers are told the store closed,
        // and the next command starts a new drain.
        let _guard = DrainGuard {
            queues: self.queues.clone(),
            stream: stream.clone(),
        };
        loop {
            let jobs = {
                let mut queues = self.queues.lock().expect("queues");
                let Some(waiting) = queues.get_mut(&stream) else {
                    return;
                };
                if waiting.is_empty() {
                    queues.remove(&stream);
                    return;
                }
                let n = waiting.len().min(MAX_BATCH);
                waiting.drain(..n).collect::<Vec<_>>()
            };
            self.run_batch(&stream, jobs).await;
        }
    }

    /// Decides `jobs` in order against the state each left, appends the decided ones in one
    /// append, and answers every job; on a concurrent write by another process, starts over.
    async fn run_batch(&self, stream: &str, jobs: Vec<Job>) {
        let target = jobs[0].command.target(jobs[0].ctx.org);
        // In this process, the organisations the batch reads hold still until its append
        // returns (an organisation's own batch has it to itself): a local `addPerson` never
        // invalidates a pod batch's guard. Only another process's write can, and that is
        // retried below. (Issue 20: with `addPerson` at 2 % of a mixed load, most pod batches
        // met a changed organisation, backed off and re-read their whole stream.)
        let _held = self.hold_organisations(&target, &jobs).await;
        // The stream's committed state, taken out of the cache (not copied: a pod's state
        // grows with its history) and put back when the batch ends. The first attempt decides
        // on it in place; after a conflict the state is read again, and each later attempt
        // decides on a copy of it (cheap but for the open backlog), so that it survives.
        let mut base = match self.take_aggregate(&target).await {
            Ok(base) => Some(base),
            Err(error) => return answer_all(jobs, &error.to_string()),
        };
        let mut conflict = None;
        for attempt in 0..MAX_ATTEMPTS {
            if let Some((_, _, ref on)) = conflict {
                base = match self
                    .again(&target, *on == stream, base.take(), attempt)
                    .await
                {
                    Ok(state) => Some(state),
                    Err(error) => return answer_all(jobs, &error.to_string()),
                };
            }
            let subject = if attempt == 0 {
                base.take()
            } else {
                base.clone()
            }
            .expect("the stream's state");
            let decided = match self.decide_batch(stream, &jobs, attempt, subject).await {
                Ok(decided) => decided,
                Err(error) => {
                    if let Some(state) = base {
                        self.put_back(stream, state);
                    }
                    return answer_all(jobs, &error.to_string());
                }
            };
            let Decided {
                guards,
                writes,
                subject,
                outcomes,
            } = decided;
            if writes.is_empty() {
                self.put_back(stream, subject);
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    let _ = job.reply.send(outcome.map(|(executed, _)| executed));
                }
                return;
            }
            let events: usize = writes.iter().map(|w| w.events.len()).sum();
            let expected_version = match writes.first().map(|w| w.expected) {
                Some(ExpectedVersion::Exact(v)) => v,
                _ => 0,
            };
            let span = tracing::info_span!(
                parent: &jobs[0].span,
                "append",
                stream,
                expected_version,
                events,
                commands = jobs.len(),
                attempt,
                position = tracing::field::Empty,
                conflict = tracing::field::Empty,
            );
            let mut all = guards;
            all.extend(writes);
            let appended = self.store.append(all).instrument(span.clone()).await;
            for job in &jobs {
                job.span.record("retries", attempt);
            }
            match appended {
                Ok(outcome) => {
                    span.record("position", outcome.last_position);
                    // The stream's state after the batch is what the store now holds.
                    self.put_back(stream, subject);
                    return answer_appended(jobs, outcomes, outcome.first_position);
                }
                Err(StoreError::WrongExpectedVersion {
                    expected,
                    actual,
                    stream: on,
                }) => {
                    span.record("conflict", true);
                    conflict = Some((expected, actual, on));
                }
                Err(e) => {
                    if let Some(state) = base {
                        self.put_back(stream, state);
                    }
                    let message = e.to_string();
                    for (job, result) in jobs.into_iter().zip(outcomes) {
                        let _ = job.reply.send(result.and(Err(failed(&message))));
                    }
                    return;
                }
            }
        }
        if let Some(state) = base {
            self.put_back(stream, state);
        }
        give_up(stream, jobs, conflict.map(|(e, a, _)| (e, a)));
    }

    /// The stream's state for another attempt after a conflict, caught up with the store (read
    /// again when the first attempt consumed it). When the stream itself was written by
    /// another process, first backs off a little, with jitter; a conflict on a guard — an
    /// organisation another process changed — is retried at once: the next decision reads it
    /// again.
    async fn again(
        &self,
        target: &Target,
        on_the_stream: bool,
        base: Option<Aggregate>,
        attempt: usize,
    ) -> Result<Aggregate, HandleError> {
        if on_the_stream {
            let jitter = u64::from(Uuid::now_v7().as_bytes()[15]) % 8;
            tokio::time::sleep(std::time::Duration::from_millis(
                (1 << attempt.min(5)) + jitter,
            ))
            .await;
        }
        match base {
            Some(state) => self.catch_up(&target.to_string(), state).await,
            None => self.take_aggregate(target).await,
        }
    }

    /// Holds the organisations a batch reads, shared (a pod's or a KPI's batch), or its own
    /// organisation, exclusively (an organisation's batch), until the guards are dropped.
    async fn hold_organisations(&self, target: &Target, jobs: &[Job]) -> Vec<OrganisationHold> {
        let lock = |org: OrgId| {
            Arc::clone(
                self.organisations
                    .lock()
                    .expect("organisation locks")
                    .entry(org)
                    .or_default(),
            )
        };
        if let Target::Org(org) = target {
            return vec![OrganisationHold::Own(lock(*org).write_owned().await)];
        }
        let mut orgs: Vec<OrgId> = jobs.iter().map(|j| j.ctx.org).collect();
        orgs.sort_unstable_by_key(OrgId::as_uuid);
        orgs.dedup();
        let mut held = Vec::with_capacity(orgs.len());
        for org in orgs {
            held.push(OrganisationHold::Read(lock(org).read_owned().await));
        }
        held
    }

    /// Returns a stream's committed state to the cache (its batch task had taken it out).
    fn put_back(&self, stream: &str, state: Aggregate) {
        self.cache
            .lock()
            .expect("cache lock")
            .insert(stream.to_owned(), state);
    }

    /// Decides each job against the state the ones before it left: the guards on the
    /// organisations the decisions read, the writes, and each job's outcome (with its count of
    /// events) or refusal. The states are moved into each decision and back, never copied.
    async fn decide_batch(
        &self,
        stream: &str,
        jobs: &[Job],
        attempt: usize,
        mut subject: Aggregate,
    ) -> Result<Decided, HandleError> {
        let first = &jobs[0];
        let target = first.command.target(first.ctx.org);
        let mut orgs: HashMap<OrgId, OrgState> = HashMap::new();
        let mut guards = Vec::new();
        let mut writes = Vec::new();
        let mut outcomes = Vec::with_capacity(jobs.len());
        for job in jobs {
            let org = job.ctx.org;
            let org_is_subject = matches!(target, Target::Org(o) if o == org);
            if !org_is_subject && !orgs.contains_key(&org) {
                let loaded = self.org(org).await?;
                // The decisions read the organisation (roles): it must not change under them.
                guards.push(StreamWrite {
                    stream: Target::Org(org).to_string(),
                    expected: ExpectedVersion::Exact(loaded.version),
                    events: vec![],
                });
                orgs.insert(org, loaded);
            }
            // Move the states in (an organisation stream's batch is one organisation's).
            let mut state = State::default();
            subject.move_into(&mut state);
            if !org_is_subject {
                state.org = orgs.remove(&org).unwrap_or_default();
            }
            let version = state.target_version(&target);
            let decided =
                tracing::info_span!(parent: &job.span, "decide", stream, version, attempt)
                    .in_scope(|| decide(&state, &job.command, &job.ctx));
            if let Ok(events) = &decided {
                evolve_state(&mut state, events);
            }
            // Move them back.
            subject.move_from(&mut state);
            if !org_is_subject {
                orgs.insert(org, std::mem::take(&mut state.org));
            }
            let events = match decided {
                Ok(events) => events,
                Err(e) => {
                    outcomes.push(Err(e.into()));
                    continue;
                }
            };
            let count = events.len();
            if count > 0 {
                writes.push(StreamWrite {
                    stream: stream.to_owned(),
                    expected: ExpectedVersion::Exact(version),
                    events: encode(&events, &job.ctx, job.meta),
                });
            }
            outcomes.push(Ok((
                Executed {
                    events,
                    last_position: None,
                    target_version: version + count as u64,
                    replayed: false,
                },
                count,
            )));
        }
        Ok(Decided {
            guards,
            writes,
            subject,
            outcomes,
        })
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
            // Moved into the decision and back, never copied (a pod's state grows with history).
            let mut state = State::default();
            let streams: &[&String] = if target_stream == org_stream {
                &[&org_stream]
            } else {
                &[&org_stream, &target_stream]
            };
            for stream in streams {
                states
                    .get_mut(*stream)
                    .expect("loaded above")
                    .move_into(&mut state);
            }
            let target_version = state.target_version(&target);
            let decided = decide(&state, command, ctx);
            if let Ok(events) = &decided {
                evolve_state(&mut state, events);
            }
            for stream in streams {
                states
                    .get_mut(*stream)
                    .expect("loaded above")
                    .move_from(&mut state);
            }
            let events = match decided {
                Ok(events) => events,
                Err(e) => {
                    refusal = Some((index, e.into()));
                    break;
                }
            };
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
            let outcome = self.store.append(guards).instrument(span).await?;
            // The store now holds what the states reflect. (On a failure the cache keeps the
            // committed states it lent copies of.)
            self.cache.lock().expect("cache lock").extend(states);
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

    /// Takes a stream's aggregate out of the cache (or starts it empty) and catches it up with
    /// the stream. Only the stream's batch task does this; the batch puts it back.
    async fn take_aggregate(&self, target: &Target) -> Result<Aggregate, HandleError> {
        let stream = target.to_string();
        let cached = self.cache.lock().expect("cache lock").remove(&stream);
        let aggregate = cached.unwrap_or_else(|| Aggregate::empty(target));
        self.catch_up(&stream, aggregate).await
    }

    /// Folds the stream's events after the aggregate's version into it.
    async fn catch_up(
        &self,
        stream: &str,
        mut aggregate: Aggregate,
    ) -> Result<Aggregate, HandleError> {
        loop {
            let page = self
                .store
                .read_stream(stream, aggregate.version(), PAGE)
                .await?;
            for recorded in &page {
                evolve(&mut aggregate, &decode(recorded)?);
            }
            if page.len() < PAGE {
                return Ok(aggregate);
            }
        }
    }

    /// Catches a cached aggregate up with its stream and returns a copy.
    async fn aggregate(&self, target: &Target) -> Result<Aggregate, HandleError> {
        let stream = target.to_string();
        let cached = self.cache.lock().expect("cache lock").get(&stream).cloned();
        let aggregate = cached.unwrap_or_else(|| Aggregate::empty(target));
        let aggregate = self.catch_up(&stream, aggregate).await?;
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

/// Answers the jobs of a batch appended from `first_position` on, each with the position of its
/// last event (the refused with their refusal).
fn answer_appended(jobs: Vec<Job>, outcomes: Vec<Outcome>, first_position: u64) {
    let mut position = first_position - 1;
    for (job, result) in jobs.into_iter().zip(outcomes) {
        let answer = result.map(|(mut executed, count)| {
            if count > 0 {
                position += count as u64;
                executed.last_position = Some(position);
            }
            executed
        });
        let _ = job.reply.send(answer);
    }
}

/// Answers every job of a batch with the same failure.
fn answer_all(jobs: Vec<Job>, message: &str) {
    for job in jobs {
        let _ = job.reply.send(Err(failed(message)));
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

/// A batch decided: guards on the organisations read, the writes in order, the stream's state
/// after them, each job's outcome.
struct Decided {
    guards: Vec<StreamWrite>,
    writes: Vec<StreamWrite>,
    subject: Aggregate,
    outcomes: Vec<Outcome>,
}

/// An organisation held by a batch (see `CommandHandler::hold_organisations`).
enum OrganisationHold {
    Read(#[allow(dead_code)] tokio::sync::OwnedRwLockReadGuard<()>),
    Own(#[allow(dead_code)] tokio::sync::OwnedRwLockWriteGuard<()>),
}

/// A job's decision: what it executed and its count of events, or its refusal.
type Outcome = Result<(Executed, usize), HandleError>;

/// Applies a decision's events to the state it was made on.
fn evolve_state(state: &mut State, events: &[Event]) {
    for event in events {
        match event {
            Event::Org(e) => state.org.evolve(e),
            Event::Pod(e) => state.pod.evolve(e),
            Event::Kpi(e) => state.kpi.evolve(e),
        }
    }
}

/// Applies one of a stream's events to its aggregate.
fn evolve(aggregate: &mut Aggregate, event: &Event) {
    match (aggregate, event) {
        (Aggregate::Org(s), Event::Org(e)) => s.evolve(e),
        (Aggregate::Pod(s), Event::Pod(e)) => s.evolve(e),
        (Aggregate::Kpi(s), Event::Kpi(e)) => s.evolve(e),
        _ => unreachable!("a stream's events are its aggregate's"),
    }
}

/// A store failure, for every command of a batch.
fn failed(message: &str) -> HandleError {
    HandleError::Store(StoreError::backend(std::io::Error::other(
        message.to_owned(),
    )))
}

/// Answers every job of a batch that kept meeting other processes' writes.
fn give_up(stream: &str, jobs: Vec<Job>, conflict: Option<(ExpectedVersion, u64)>) {
    let (expected, actual) = conflict.unwrap_or((ExpectedVersion::Any, 0));
    tracing::warn!(%stream, attempts = MAX_ATTEMPTS, "commands gave up after repeated conflicts");
    for job in jobs {
        let _ = job.reply.send(Err(DomainError::ConcurrencyConflict {
            expected: match expected {
                ExpectedVersion::Exact(v) => v,
                _ => 0,
            },
            actual,
        }
        .into()));
    }
}

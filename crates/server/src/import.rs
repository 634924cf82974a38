//! `podledger import` and `podledger export`: an organisation's history as JSON Lines
//! (`docs/import-format.md` is the reference; `demo/demo.jsonl` is a whole example).
//!
//! A file is a header line naming the organisation, then one line per command — the domain
//! command with the GraphQL mutation's name and its fields, the acting person, the business
//! time `at` — or per stored event (what `export` writes). Commands go through the same
//! [`CommandHandler`] and domain rules as live ones, with the context time set to `at`; events
//! are appended as they are, checked by decoding. Lines apply in file order; the first refusal
//! stops the import with its line number and code, and nothing after it is applied. Every line
//! has an idempotency key (given, or derived from its line number and text), so running the
//! file again after a fix skips what was applied and resumes at the fixed line.
//!
//! Business time never goes backwards within an organisation and never lies in the future;
//! an organisation that already has live history is refused: importing into it would rewrite
//! its past (see ARCHITECTURE.md, "Two clocks").

use std::sync::Arc;

use chrono::{DateTime, Utc};
use podledger_domain::ids::{OrgId, PersonId};
use podledger_domain::kpi::KpiCommand;
use podledger_domain::org::OrgCommand;
use podledger_domain::pod::PodCommand;
use podledger_domain::{Actor, Command, Context};
use podledger_eventstore::{
    CommandHandler, EventMetadata, EventStore, ExpectedVersion, HandleError, NewEvent,
    RecordedEvent, RequestMeta, StoreError, StreamWrite,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Commands decided and committed together (one transaction, one fsync).
const BATCH: usize = 512;

/// A command line ready to run: its line number, the command, its context and metadata.
type Queued = (u64, Command, Context, RequestMeta);

/// What a line leaves to be committed with its neighbours of the same kind.
enum Read {
    /// Nothing (a header, or a line an earlier run applied).
    Nothing,
    /// A command to decide.
    Command(Box<Queued>),
    /// An event to append as it is: its line number and write.
    Event(u64, StreamWrite),
}

/// The `format` of a header line.
pub const FORMAT: &str = "podledger-import";
/// The format's version: a header with another is refused.
pub const VERSION: u64 = 1;

/// Ids written `@name` in a file are `v5(organisation, name)`; the organisation's own
/// `@name` is `v5(ORGANISATIONS, name)`.
const ORGANISATIONS: Uuid = Uuid::from_u128(0x9c1f_53d2_6a0e_4b7d_8e21_4f6a_0b3c_5d19);

/// Argument names of the GraphQL mutations that the domain's commands spell otherwise.
const GRAPHQL_NAMES: &[(&str, &str)] = &[
    ("goalItemIds", "goalItems"),
    ("ownerId", "owner"),
    ("beforeItemId", "before"),
];

/// A header: the organisation the lines after it belong to.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u64,
    /// The organisation: a UUID, or `@name`.
    pub organisation: String,
}

/// A stored event as `export` writes it (and `import` appends it).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventLine {
    /// Its stream (`org-…`, `pod-…`, `kpi-…`).
    pub stream: String,
    /// Event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Payload schema version.
    pub schema_version: u32,
    /// The payload.
    pub payload: Value,
    /// The event id (kept: a second import of the line is recognised).
    pub event_id: Uuid,
    /// `member:<uuid>` or `service:<uuid>`.
    pub actor: String,
    /// Business time.
    pub occurred_at: DateTime<Utc>,
    /// When the source store committed it (informational; the target records its own).
    #[serde(default)]
    pub recorded_at: Option<DateTime<Utc>>,
    /// The request that caused it.
    pub correlation_id: Uuid,
    /// The message that caused it.
    #[serde(default)]
    pub causation_id: Option<Uuid>,
}

/// Why a line was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Not JSON, not a known command, a field of the wrong shape.
    #[error("BAD_LINE: {0}")]
    BadLine(String),
    /// A header with an unknown format or version, or a line before any header.
    #[error("BAD_HEADER: {0}")]
    BadHeader(String),
    /// `at` before the organisation's last business time, or in the future.
    #[error("BAD_TIME: {0}")]
    BadTime(String),
    /// The organisation has history that no import wrote.
    #[error("ORGANISATION_HAS_LIVE_HISTORY: {0}")]
    LiveHistory(String),
    /// The domain refused the command (its error code first).
    #[error("{code}: {message}")]
    Domain {
        /// The domain error's code.
        code: String,
        /// Its message.
        message: String,
    },
    /// The store failed.
    #[error("STORE: {0}")]
    Store(String),
}

impl Refusal {
    /// The refusal's code (`BAD_TIME`, `FORBIDDEN`, …).
    pub fn code(&self) -> &str {
        match self {
            Self::BadLine(_) => "BAD_LINE",
            Self::BadHeader(_) => "BAD_HEADER",
            Self::BadTime(_) => "BAD_TIME",
            Self::LiveHistory(_) => "ORGANISATION_HAS_LIVE_HISTORY",
            Self::Domain { code, .. } => code,
            Self::Store(_) => "STORE",
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

impl From<HandleError> for Refusal {
    fn from(e: HandleError) -> Self {
        match e {
            HandleError::Domain(e) => Self::Domain {
                code: e.code().as_str().to_owned(),
                message: e.to_string(),
            },
            other => Self::Store(other.to_string()),
        }
    }
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Lines read (headers included).
    pub lines: u64,
    /// Commands applied now.
    pub commands: u64,
    /// Lines skipped because an earlier run applied them.
    pub already_applied: u64,
    /// Events appended now (by commands and event lines).
    pub events: u64,
    /// Organisations the file names.
    pub organisations: u64,
    /// 0, or 1: the import stops at its first refusal.
    pub refusals: u64,
}

/// A refusal and where it happened.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {refusal}")]
pub struct Stopped {
    /// 1-based line number.
    pub line: u64,
    /// Why.
    pub refusal: Refusal,
    /// What was applied before it.
    pub summary: Summary,
}

/// Options of an import.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Move every date and time of the file by whole weeks so that its last `at` falls in the
    /// current week (the demo file stays current; weekdays are kept).
    pub shift_to_now: bool,
}

/// The organisation being imported.
#[derive(Debug)]
struct Current {
    org: OrgId,
    /// No event of the organisation was stored when the import reached it: no line can have
    /// been applied before, so none is looked up.
    fresh: bool,
    /// Business time of the organisation's last event (store or file).
    last: Option<DateTime<Utc>>,
}

/// Imports JSON Lines into a store.
#[derive(Debug)]
pub struct Importer {
    store: Arc<dyn EventStore>,
    handler: CommandHandler,
    options: Options,
    shift: chrono::Duration,
}

/// `v5(namespace, name)` for `@name`, or the UUID itself.
fn reference(namespace: &Uuid, text: &str) -> Result<Uuid, Refusal> {
    if let Some(name) = text.strip_prefix('@') {
        return Ok(Uuid::new_v5(namespace, name.as_bytes()));
    }
    Uuid::parse_str(text)
        .map_err(|_| Refusal::BadLine(format!("{text:?} is neither a UUID nor an @name")))
}

/// The organisation a header names.
pub fn organisation(text: &str) -> Result<OrgId, Refusal> {
    reference(&ORGANISATIONS, text).map(OrgId)
}

/// The correlation id of every event an import writes for `org` (it marks imported history).
pub fn import_correlation(org: OrgId) -> Uuid {
    Uuid::new_v5(&org.as_uuid(), b"podledger import")
}

/// Replaces every string `@name` in `value` by the UUID it names in `org`.
fn resolve_references(value: &mut Value, org: OrgId) {
    match value {
        Value::String(s) if s.starts_with('@') => {
            *s = named(org, &s[1..]).to_string();
        }
        Value::Array(items) => items.iter_mut().for_each(|v| resolve_references(v, org)),
        Value::Object(fields) => fields.values_mut().for_each(|v| resolve_references(v, org)),
        _ => {}
    }
}

/// Moves every date (`YYYY-MM-DD`) and RFC 3339 time in `value` by `by`.
fn shift_times(value: &mut Value, by: chrono::Duration) {
    match value {
        Value::String(s) => {
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                *s = (t.with_timezone(&Utc) + by)
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            } else if s.len() == 10
                && let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            {
                *s = (d + by).format("%Y-%m-%d").to_string();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| shift_times(v, by)),
        Value::Object(fields) => fields.values_mut().for_each(|v| shift_times(v, by)),
        _ => {}
    }
}

/// A command line's fields as a domain command: `command` is the mutation's name (`createItem`),
/// the other fields the command's; `podId`/`kpiId` choose the stream of pod and KPI commands.
fn command_of(mut fields: serde_json::Map<String, Value>) -> Result<Command, Refusal> {
    let Some(Value::String(name)) = fields.remove("command") else {
        return Err(Refusal::BadLine("`command` must name a mutation".into()));
    };
    let mut chars = name.chars();
    let variant: String = chars
        .next()
        .map(|c| c.to_ascii_uppercase())
        .into_iter()
        .chain(chars)
        .collect();
    fields.insert("type".into(), Value::String(variant));
    // The mutations' argument names where the domain's differ.
    for (graphql, domain) in GRAPHQL_NAMES {
        if let Some(value) = fields.remove(*graphql) {
            fields.insert((*domain).into(), value);
        }
    }
    let bad = |e: serde_json::Error| Refusal::BadLine(format!("{name}: {e}"));
    let object = Value::Object(fields.clone());
    if let Ok(command) = serde_json::from_value::<OrgCommand>(object.clone()) {
        return Ok(Command::Org(command));
    }
    let id = |key: &str| -> Result<Option<Uuid>, Refusal> {
        fields
            .get(key)
            .map(|v| {
                serde_json::from_value::<Uuid>(v.clone())
                    .map_err(|_| Refusal::BadLine(format!("{name}: `{key}` must be an id")))
            })
            .transpose()
    };
    if let Some(kpi) = id("kpiId")?
        && let Ok(command) = serde_json::from_value::<KpiCommand>(without(&fields, "kpiId"))
    {
        return Ok(Command::Kpi {
            kpi_id: podledger_domain::ids::KpiId(kpi),
            command,
        });
    }
    if let Some(pod) = id("podId")?
        && let Ok(command) = serde_json::from_value::<PodCommand>(without(&fields, "podId"))
    {
        return Ok(Command::Pod {
            pod_id: podledger_domain::ids::PodId(pod),
            command,
        });
    }
    // None fits: report the error of the family that knows the name.
    let families = [
        (
            "an organisation",
            None,
            serde_json::from_value::<OrgCommand>(object).err(),
        ),
        (
            "a pod",
            Some("podId"),
            serde_json::from_value::<PodCommand>(without(&fields, "podId")).err(),
        ),
        (
            "a KPI",
            Some("kpiId"),
            serde_json::from_value::<KpiCommand>(without(&fields, "kpiId")).err(),
        ),
    ];
    for (family, stream_key, error) in families {
        let Some(error) = error else { continue };
        if error.to_string().starts_with("unknown variant") {
            continue;
        }
        if let Some(key) = stream_key
            && !fields.contains_key(key)
        {
            return Err(Refusal::BadLine(format!(
                "{name}: {family} command needs `{key}`"
            )));
        }
        return Err(bad(error));
    }
    Err(Refusal::BadLine(format!("`{name}` is not a command")))
}

fn without(fields: &serde_json::Map<String, Value>, key: &str) -> Value {
    let mut fields = fields.clone();
    fields.remove(key);
    Value::Object(fields)
}

impl Importer {
    /// An importer writing to `store`.
    pub fn new(store: Arc<dyn EventStore>, options: Options) -> Self {
        Self {
            handler: CommandHandler::new(store.clone()),
            store,
            options,
            shift: chrono::Duration::zero(),
        }
    }

    /// Imports `text` (a whole file); `progress` is called after each line with its number.
    pub async fn import(
        &mut self,
        text: &str,
        mut progress: impl FnMut(u64),
    ) -> Result<Summary, Stopped> {
        if self.options.shift_to_now {
            self.shift = shift_for(text);
        }
        let mut summary = Summary::default();
        let mut current: Option<Current> = None;
        // Consecutive lines of one kind are committed together, in file order.
        let mut commands: Vec<Queued> = Vec::new();
        let mut events: Vec<(u64, StreamWrite)> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index as u64 + 1;
            summary.lines = line;
            if raw.trim().is_empty() {
                continue;
            }
            let parsed = serde_json::from_str::<Value>(raw)
                .map_err(|e| Refusal::BadLine(format!("not a JSON object: {e}")));
            let (is_header, is_event) = parsed.as_ref().map_or((false, false), |v| {
                (v.get("format").is_some(), v.get("event").is_some())
            });
            if is_header || is_event {
                self.flush(&mut commands, &mut summary).await?;
            }
            if !is_event {
                self.append(&mut events, &mut summary).await?;
            }
            let read = match parsed {
                Ok(value) => {
                    self.line(line, raw, value, &mut current, &mut summary)
                        .await
                }
                Err(refusal) => Err(refusal),
            };
            match read {
                Ok(Read::Nothing) => {}
                Ok(Read::Command(queued)) => {
                    commands.push(*queued);
                    if commands.len() >= BATCH {
                        self.flush(&mut commands, &mut summary).await?;
                    }
                }
                Ok(Read::Event(line, write)) => {
                    events.push((line, write));
                    if events.len() >= BATCH {
                        self.append(&mut events, &mut summary).await?;
                    }
                }
                Err(refusal) => {
                    // The lines before it are applied; it and the ones after are not.
                    self.flush(&mut commands, &mut summary).await?;
                    self.append(&mut events, &mut summary).await?;
                    summary.refusals = 1;
                    return Err(Stopped {
                        line,
                        refusal,
                        summary,
                    });
                }
            }
            progress(line);
        }
        self.flush(&mut commands, &mut summary).await?;
        self.append(&mut events, &mut summary).await?;
        Ok(summary)
    }

    /// Appends the queued event lines as they are, in one append.
    async fn append(
        &self,
        pending: &mut Vec<(u64, StreamWrite)>,
        summary: &mut Summary,
    ) -> Result<(), Stopped> {
        let Some(&(first, _)) = pending.first() else {
            return Ok(());
        };
        let writes: Vec<StreamWrite> = pending.drain(..).map(|(_, w)| w).collect();
        let count = writes.len() as u64;
        if let Err(e) = self.store.append(writes).await {
            summary.refusals = 1;
            return Err(Stopped {
                line: first,
                refusal: e.into(),
                summary: summary.clone(),
            });
        }
        summary.events += count;
        Ok(())
    }

    /// Runs the queued commands in order, in one commit ([`CommandHandler::execute_in_order`]).
    async fn flush(&self, pending: &mut Vec<Queued>, summary: &mut Summary) -> Result<(), Stopped> {
        if pending.is_empty() {
            return Ok(());
        }
        let lines: Vec<u64> = pending.iter().map(|q| q.0).collect();
        let commands: Vec<(Command, Context, RequestMeta)> =
            pending.drain(..).map(|(_, c, x, m)| (c, x, m)).collect();
        let stop = |line: u64, refusal: Refusal, summary: &mut Summary| {
            summary.refusals = 1;
            Stopped {
                line,
                refusal,
                summary: summary.clone(),
            }
        };
        let (done, refused) = match self.handler.execute_in_order(&commands).await {
            Ok(outcome) => outcome,
            Err(e) => return Err(stop(lines[0], e.into(), summary)),
        };
        for executed in &done {
            summary.commands += 1;
            summary.events += executed.events.len() as u64;
        }
        match refused {
            Some((index, e)) => Err(stop(lines[index], e.into(), summary)),
            None => Ok(()),
        }
    }

    /// Reads one line: a header applies now; a command or an event is checked and returned to
    /// be committed with its neighbours (nothing when an earlier run applied it).
    async fn line(
        &self,
        line: u64,
        raw: &str,
        mut value: Value,
        current: &mut Option<Current>,
        summary: &mut Summary,
    ) -> Result<Read, Refusal> {
        let Value::Object(fields) = &mut value else {
            return Err(Refusal::BadLine("not a JSON object".into()));
        };
        if fields.contains_key("format") {
            let header: Header =
                serde_json::from_value(value).map_err(|e| Refusal::BadHeader(e.to_string()))?;
            if header.format != FORMAT || header.version != VERSION {
                return Err(Refusal::BadHeader(format!(
                    "this podledger reads {FORMAT} version {VERSION}, not {} version {}",
                    header.format, header.version
                )));
            }
            let org = organisation(&header.organisation)?;
            *current = Some(self.open(org).await?);
            summary.organisations += 1;
            return Ok(Read::Nothing);
        }
        let Some(current) = current.as_mut() else {
            return Err(Refusal::BadHeader(
                "the first line must be a header naming the organisation".into(),
            ));
        };
        if self.shift != chrono::Duration::zero() {
            shift_times(&mut value, self.shift);
        }
        let Value::Object(mut fields) = value else {
            unreachable!("checked above")
        };
        if let Some(event) = fields.remove("event") {
            if !fields.is_empty() {
                return Err(Refusal::BadLine("an event line holds only `event`".into()));
            }
            let event: EventLine = serde_json::from_value(event)
                .map_err(|e| Refusal::BadLine(format!("event: {e}")))?;
            return self.event(line, current, event, summary).await;
        }
        let at = match fields.remove("at") {
            Some(Value::String(at)) => DateTime::parse_from_rfc3339(&at)
                .map_err(|e| Refusal::BadLine(format!("`at` {at:?}: {e}")))?
                .with_timezone(&Utc),
            _ => {
                return Err(Refusal::BadLine(
                    "`at` (an RFC 3339 time) is required".into(),
                ));
            }
        };
        let actor = match fields.remove("actor") {
            Some(Value::String(actor)) => reference(&current.org.as_uuid(), &actor)?,
            _ => {
                return Err(Refusal::BadLine(
                    "`actor` (a person's @name or UUID) is required".into(),
                ));
            }
        };
        let key = match fields.remove("key") {
            Some(Value::String(key)) => Uuid::parse_str(&key)
                .unwrap_or_else(|_| Uuid::new_v5(&current.org.as_uuid(), key.as_bytes())),
            None => Uuid::new_v5(
                &current.org.as_uuid(),
                format!("line {line}: {raw}").as_bytes(),
            ),
            Some(_) => return Err(Refusal::BadLine("`key` must be a string".into())),
        };
        let mut command_fields = Value::Object(fields);
        resolve_references(&mut command_fields, current.org);
        let Value::Object(command_fields) = command_fields else {
            unreachable!("an object stays an object")
        };
        let command = command_of(command_fields)?;
        if !current.fresh && self.store.find_event(key).await?.is_some() {
            summary.already_applied += 1;
            current.last = Some(current.last.map_or(at, |l| l.max(at)));
            return Ok(Read::Nothing);
        }
        check_time(current, at)?;
        let ctx = Context::new(current.org, Actor::member(PersonId(actor)), at);
        let meta = RequestMeta {
            correlation_id: import_correlation(current.org),
            causation_id: None,
            idempotency_key: Some(key),
        };
        current.last = Some(at);
        Ok(Read::Command(Box::new((line, command, ctx, meta))))
    }

    /// Checks that `org` is new, or was written by an import and nothing else since.
    async fn open(&self, org: OrgId) -> Result<Current, Refusal> {
        let last = self
            .store
            .position_at(org.as_uuid(), DateTime::<Utc>::MAX_UTC)
            .await?;
        if last == 0 {
            return Ok(Current {
                org,
                fresh: true,
                last: None,
            });
        }
        let event = self.store.read_all(last - 1, 1).await?;
        let event = event
            .first()
            .ok_or_else(|| Refusal::Store("a listed event is gone".into()))?;
        let first = self
            .store
            .read_stream(&format!("org-{}", org.as_uuid()), 0, 1)
            .await?;
        let imported = |e: &RecordedEvent| e.metadata.correlation_id == import_correlation(org);
        if !first.first().is_some_and(imported) || !imported(event) {
            return Err(Refusal::LiveHistory(format!(
                "organisation {} already has history that no import wrote; import into a new \
                 organisation (or an empty store) — adding the past to a live organisation would \
                 rewrite its metrics",
                org.as_uuid()
            )));
        }
        Ok(Current {
            org,
            fresh: false,
            last: Some(event.occurred_at()),
        })
    }

    /// An event line checked (unless an earlier run applied it) and made a write of its own.
    async fn event(
        &self,
        number: u64,
        current: &mut Current,
        line: EventLine,
        summary: &mut Summary,
    ) -> Result<Read, Refusal> {
        if !current.fresh && self.store.find_event(line.event_id).await?.is_some() {
            summary.already_applied += 1;
            return Ok(Read::Nothing);
        }
        check_time(current, line.occurred_at)?;
        let payload = line.payload.to_string();
        podledger_domain::Event::decode_str(
            &line.stream,
            &line.event_type,
            line.schema_version,
            &payload,
        )
        .map_err(|e| Refusal::BadLine(format!("event {}: {e}", line.event_id)))?;
        let event = NewEvent {
            event_id: line.event_id,
            event_type: line.event_type,
            schema_version: line.schema_version,
            payload,
            metadata: EventMetadata {
                org_id: current.org.as_uuid(),
                actor: line.actor,
                correlation_id: line.correlation_id,
                causation_id: line.causation_id,
                occurred_at: Some(line.occurred_at),
            },
        };
        current.last = Some(line.occurred_at);
        Ok(Read::Event(
            number,
            StreamWrite {
                stream: line.stream,
                expected: ExpectedVersion::Any,
                events: vec![event],
            },
        ))
    }
}

/// `at` may not be before the organisation's last business time, nor in the future.
fn check_time(current: &Current, at: DateTime<Utc>) -> Result<(), Refusal> {
    if let Some(last) = current.last
        && at < last
    {
        return Err(Refusal::BadTime(format!(
            "{at} is before {last}, the organisation's last business time: lines go forward in time"
        )));
    }
    if at > Utc::now() {
        return Err(Refusal::BadTime(format!("{at} is in the future")));
    }
    Ok(())
}

/// Whole weeks that move the file's last `at` (or event time) into the current week.
fn shift_for(text: &str) -> chrono::Duration {
    let last = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| {
            let at = v.get("at").or_else(|| v.get("event")?.get("occurredAt"))?;
            DateTime::parse_from_rfc3339(at.as_str()?).ok()
        })
        .map(|t| t.with_timezone(&Utc))
        .max();
    let Some(last) = last else {
        return chrono::Duration::zero();
    };
    let weeks = (Utc::now() - last).num_days().div_euclid(7);
    chrono::Duration::weeks(weeks.max(0))
}

/// Writes the header and every event of `org`, in position order, as event lines.
pub async fn export(
    store: &dyn EventStore,
    org: OrgId,
    out: &mut impl std::io::Write,
) -> anyhow::Result<u64> {
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        organisation: org.as_uuid().to_string(),
    };
    writeln!(out, "{}", serde_json::to_string(&header)?)?;
    let mut after = 0;
    let mut written = 0;
    loop {
        let page = store.read_all(after, 1_000).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for e in page
            .into_iter()
            .filter(|e| e.metadata.org_id == org.as_uuid())
        {
            let occurred_at = e.occurred_at();
            let line = EventLine {
                payload: serde_json::from_str(&e.payload)?,
                stream: e.stream,
                event_type: e.event_type,
                schema_version: e.schema_version,
                event_id: e.event_id,
                actor: e.metadata.actor,
                occurred_at,
                recorded_at: Some(e.recorded_at),
                correlation_id: e.metadata.correlation_id,
                causation_id: e.metadata.causation_id,
            };
            writeln!(out, "{}", serde_json::json!({ "event": line }))?;
            written += 1;
        }
    }
    Ok(written)
}

/// The id a file's `@name` stands for in `org` (also for tools that convert into the format).
pub fn named(org: OrgId, name: &str) -> Uuid {
    Uuid::new_v5(&org.as_uuid(), name.as_bytes())
}

//! Subscriptions over WebSocket at `/graphql`: the graphql-transport-ws protocol as its
//! PROTOCOL.md gives it — `connection_init` (the token is in its payload) within
//! [`WsConfig::init_timeout`] or 4408, `connection_ack`, `ping`/`pong`, `subscribe`/`next`/
//! `error`/`complete`, and the close codes 4400 (invalid message), 4401 (subscribe before the
//! acknowledgement), 4403 (refused or expired token), 4406 (subprotocol not offered), 4409
//! (duplicate operation id), 4429 (second `connection_init`).
//!
//! Limits: an `Origin` allow-list on upgrade (403), a largest frame and message (1009), at
//! most [`WsConfig::max_subscriptions`] operations per connection (an `error` for the one past
//! it), and a bounded outbound buffer: a client that does not read fast enough is disconnected
//! with 1008 "slow consumer" — at once when a shared feed's message finds its buffer over
//! [`WsConfig::max_buffered`] (a live feed waits for nobody), after the send timeout when a
//! streamed operation does — so memory never grows with a slow reader.
//!
//! When the server shuts down, every connection closes with 1001 "going away" (see
//! [`WsContext::shutdown`]).
//!
//! The connection owns its socket (taken from actix-http at the upgrade, see [`upgrade`]):
//! messages go from an operation straight into the socket ([`wire`]), frames come in through
//! [`inbound`].

pub mod inbound;
pub mod upgrade;
pub mod wire;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use podledger_api::live::{Live as Started, LiveMessage, Membership, Subscriber};
use podledger_api::{Api, AuthConfig, Principal};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use inbound::{Inbound, ReadError, Reader};
use wire::{Refused, TEXT, Wire};

/// The subprotocol.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// How long a closing connection waits for the client to take the close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Limits and policy of WebSocket connections.
#[derive(Clone, Debug)]
pub struct WsConfig {
    /// Origins allowed to open a connection (`https://app.example.com`). Empty: only the
    /// server's own origin. A client that sends no `Origin` (not a browser) is always allowed —
    /// the token is what authenticates.
    pub allowed_origins: Vec<String>,
    /// How long a client has to send `connection_init` (4408 after).
    pub init_timeout: Duration,
    /// Largest frame and largest message (continuations joined), bytes (1009 past it).
    pub max_message: usize,
    /// Most operations running at once on one connection.
    pub max_subscriptions: usize,
    /// Bytes a connection may hold for a client beyond what the socket's buffers took.
    pub max_buffered: usize,
    /// The kernel's send buffer of a WebSocket (`SO_SNDBUF`), bytes; `None` leaves it to the
    /// kernel's autotuning (which lets it grow to megabytes for a client that does not read).
    pub socket_send_buffer: Option<usize>,
    /// How long a message may wait for room in the connection's buffer before the client counts
    /// as a slow consumer (1008). Operations wait for room, so a catch-up feed goes at the
    /// client's pace.
    pub send_timeout: Duration,
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            init_timeout: Duration::from_secs(10),
            max_message: 64 * 1024,
            max_subscriptions: 100,
            max_buffered: 256 * 1024,
            socket_send_buffer: None,
            send_timeout: Duration::from_secs(10),
        }
    }
}

/// What a connection needs from the server.
#[derive(Clone, Debug)]
pub struct WsContext {
    pub api: Api,
    pub auth: AuthConfig,
    pub config: WsConfig,
    pub telemetry: crate::telemetry::Telemetry,
    /// Turns `true` when the server shuts down: every connection closes with 1001 ("going
    /// away"), which graphql-ws clients take as a cue to reconnect (to another replica).
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<serde_json::Value>,
    },
    Ping {
        #[serde(default)]
        #[allow(dead_code)]
        payload: Option<serde_json::Value>,
    },
    Pong {
        #[serde(default)]
        #[allow(dead_code)]
        payload: Option<serde_json::Value>,
    },
    Subscribe {
        id: String,
        payload: SubscribePayload,
    },
    Complete {
        id: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscribePayload {
    query: String,
    #[serde(default)]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Option<serde_json::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    extensions: Option<serde_json::Value>,
}

/// What the connection's tasks tell its loop.
enum Event {
    /// Operation `id` (of generation `generation`) ended; `complete` or `error` was queued.
    Ended { id: String, generation: u64 },
    /// The client does not read fast enough.
    Slow,
}

/// One connection: what the server gave it, and the writer of its socket (`run` holds the reader).
struct Connection {
    ctx: Arc<WsContext>,
    wire: Arc<Wire>,
}

/// The bearer token in a `connection_init` payload: `{"token": "…"}` or
/// `{"Authorization": "Bearer …"}` (any case).
fn token_of(payload: Option<&serde_json::Value>) -> Option<String> {
    let object = payload?.as_object()?;
    if let Some(token) = object.get("token").and_then(|t| t.as_str()) {
        return Some(token.to_owned());
    }
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, v)| v.as_str())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
}

/// The W3C trace context fields of a `connection_init` payload.
fn trace_context_of(payload: Option<&serde_json::Value>) -> Vec<(String, String)> {
    ["traceparent", "tracestate"]
        .iter()
        .filter_map(|key| {
            let value = payload?.get(*key)?.as_str()?;
            Some(((*key).to_owned(), value.to_owned()))
        })
        .collect()
}

/// Why a connection closes: code and reason.
type Closing = (u16, String);

fn slow() -> Closing {
    (1008, "slow consumer: too many messages queued".into())
}

/// What a refused send means for the connection.
fn closing(refused: &Refused) -> Closing {
    match refused {
        Refused::Full => slow(),
        Refused::Gone => (1000, String::new()),
    }
}

/// A running operation of a connection: its forwarding task, or its place on a shared feed.
enum Running {
    Task(tokio::task::AbortHandle),
    Joined(Membership),
}

impl Running {
    fn stop(self) {
        match self {
            Self::Task(task) => task.abort(),
            // Dropping the membership leaves the feed.
            Self::Joined(membership) => drop(membership),
        }
    }
}

/// The protocol state of one connection.
struct Live {
    init_received: bool,
    principal: Option<(Principal, Instant)>,
    operations: HashMap<String, (u64, Running)>,
    generation: u64,
    events: mpsc::UnboundedSender<Event>,
    /// W3C `traceparent`/`tracestate` from the `connection_init` payload: the parent of the
    /// spans of this connection's operations.
    trace_context: Vec<(String, String)>,
}

impl Connection {
    async fn send(&self, text: &str) -> Result<(), Closing> {
        self.wire
            .send(TEXT, &[text.as_bytes()], self.ctx.config.send_timeout)
            .await
            .map_err(|refused| closing(&refused))
    }

    /// Runs the protocol until the connection ends, then closes it.
    async fn run(self, mut reader: Reader, agreed: bool) {
        let telemetry = self.ctx.telemetry.clone();
        telemetry.ws_connections.inc();
        let closing = if agreed {
            self.serve(&mut reader).await
        } else {
            (4406, "Subprotocol not acceptable".into())
        };
        if closing.0 == 1008 {
            telemetry.slow_consumers.inc();
        }
        self.wire.close(closing.0, &closing.1, CLOSE_GRACE).await;
        telemetry.ws_connections.dec();
    }

    async fn serve(&self, reader: &mut Reader) -> Closing {
        let (events_tx, mut events) = mpsc::unbounded_channel::<Event>();
        let init_deadline = Instant::now() + self.ctx.config.init_timeout;
        let far = Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
        let mut shutdown = self.ctx.shutdown.clone();
        // Operations of this connection counted in the `ws_operations` gauge.
        let mut counted = 0i64;
        let mut live = Live {
            init_received: false,
            principal: None,
            operations: HashMap::new(),
            generation: 0,
            events: events_tx,
            trace_context: Vec::new(),
        };
        let closing: Closing = loop {
            let expires = live.principal.as_ref().map_or(far, |(_, at)| *at);
            let step = tokio::select! {
                () = sleep_until(init_deadline), if !live.init_received => {
                    Err((4408, "Connection initialisation timeout".into()))
                }
                () = sleep_until(expires), if live.principal.is_some() => {
                    Err((4403, "Forbidden: the token expired".into()))
                }
                Some(event) = events.recv() => match event {
                    Event::Ended { id, generation } => {
                        if live.operations.get(&id).is_some_and(|(g, _)| *g == generation) {
                            live.operations.remove(&id);
                        }
                        Ok(())
                    }
                    Event::Slow => Err(slow()),
                },
                () = self.wire.drain() => Err((1000, String::new())),
                _ = shutdown.wait_for(|stopping| *stopping) => {
                    Err((1001, "Server shutting down: reconnect".into()))
                }
                message = reader.next() => self.on_frame(&mut live, message).await,
            };
            let running = live.operations.len() as i64;
            self.ctx.telemetry.ws_operations.inc_by(running - counted);
            counted = running;
            if let Err(closing) = step {
                break closing;
            }
        };
        self.ctx.telemetry.ws_operations.dec_by(counted);
        for (_, running) in live.operations.into_values() {
            running.stop();
        }
        closing
    }

    async fn on_frame(
        &self,
        live: &mut Live,
        frame: Option<Result<Inbound, ReadError>>,
    ) -> Result<(), Closing> {
        match frame {
            None | Some(Ok(Inbound::Close)) => Err((1000, String::new())),
            Some(Ok(Inbound::Text(text))) => match std::str::from_utf8(&text) {
                Ok(text) => self.on_message(live, text).await,
                Err(_) => Err((1007, "text frames must be UTF-8".into())),
            },
            Some(Ok(Inbound::Ping(bytes))) => self
                .wire
                .send(wire::PONG, &[&bytes], self.ctx.config.send_timeout)
                .await
                .map_err(|refused| closing(&refused)),
            Some(Ok(Inbound::Pong)) => Ok(()),
            Some(Ok(Inbound::Binary)) => Err((
                4400,
                "Invalid message received: binary frames are not part of the protocol".into(),
            )),
            Some(Err(ReadError::Overflow)) => Err((
                1009,
                format!(
                    "messages are limited to {} bytes",
                    self.ctx.config.max_message
                ),
            )),
            Some(Err(ReadError::Protocol)) => Err((1002, "WebSocket protocol error".into())),
        }
    }

    async fn on_message(&self, live: &mut Live, text: &str) -> Result<(), Closing> {
        let Ok(message) = serde_json::from_str::<ClientMessage>(text) else {
            return Err((4400, "Invalid message received".into()));
        };
        match message {
            ClientMessage::ConnectionInit { payload } => {
                if live.init_received {
                    return Err((4429, "Too many initialisation requests".into()));
                }
                live.init_received = true;
                live.trace_context = trace_context_of(payload.as_ref());
                let Some(token) = token_of(payload.as_ref()) else {
                    return Err((4403, "Forbidden".into()));
                };
                let api = &self.ctx.api;
                let linked =
                    |org, issuer: &str, subject: &str| api.person_by_identity(org, issuer, subject);
                let Ok(p) = self.ctx.auth.authenticate(&token, &linked).await else {
                    return Err((4403, "Forbidden".into()));
                };
                let left = p.expires_at - chrono::Utc::now().timestamp();
                let at = Instant::now() + Duration::from_secs(u64::try_from(left).unwrap_or(0));
                live.principal = Some((p, at));
                self.send(r#"{"type":"connection_ack"}"#).await
            }
            ClientMessage::Ping { .. } => self.send(r#"{"type":"pong"}"#).await,
            ClientMessage::Pong { .. } => Ok(()),
            ClientMessage::Subscribe { id, payload } => self.on_subscribe(live, id, payload).await,
            ClientMessage::Complete { id } => {
                if let Some((_, running)) = live.operations.remove(&id) {
                    running.stop();
                }
                Ok(())
            }
        }
    }

    async fn on_subscribe(
        &self,
        live: &mut Live,
        id: String,
        payload: SubscribePayload,
    ) -> Result<(), Closing> {
        let Some((p, _)) = &live.principal else {
            return Err((4401, "Unauthorized".into()));
        };
        if live.operations.contains_key(&id) {
            return Err((4409, format!("Subscriber for {id} already exists")));
        }
        let id_json = serde_json::to_string(&id).unwrap_or_default();
        if live.operations.len() >= self.ctx.config.max_subscriptions {
            return self
                .send(&format!(
                    r#"{{"id":{id_json},"type":"error","payload":[{{"message":"at most {} operations per connection","extensions":{{"code":"TOO_MANY_SUBSCRIPTIONS"}}}}]}}"#,
                    self.ctx.config.max_subscriptions
                ))
                .await;
        }
        let mut request = async_graphql::Request::new(payload.query);
        request.operation_name = payload.operation_name;
        if let Some(variables) = payload.variables {
            request = request.variables(async_graphql::Variables::from_json(variables));
        }
        live.generation += 1;
        let span = tracing::info_span!(
            "graphql",
            otel.kind = "server",
            graphql.operation.type = tracing::field::Empty,
            graphql.operation.name = tracing::field::Empty,
            trace_id = tracing::field::Empty,
        );
        crate::traces::continue_trace(
            &span,
            live.trace_context
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        crate::traces::name_operation(&span, "subscription", request.operation_name.as_deref());
        let _in_span = span.enter();
        let operation = Arc::new(Operation {
            text: Framing::new(&id_json),
            wire: self.wire.clone(),
            events: live.events.clone(),
            ending: (id.clone(), live.generation),
        });
        let running = match self
            .ctx
            .api
            .subscribe(request, p.clone(), operation.clone())
        {
            Started::Joined(membership) => Running::Joined(membership),
            Started::Stream(stream) => Running::Task(
                tokio::spawn(operation.forward(stream, self.ctx.config.send_timeout))
                    .abort_handle(),
            ),
        };
        live.operations.insert(id, (live.generation, running));
        Ok(())
    }
}

/// The fixed text around an operation's messages, built once per operation: a message is sent
/// as `{prefix}{payload}}`, with no copy of the payload.
struct Framing {
    next: Box<str>,
    error: Box<str>,
    complete: Box<str>,
}

impl Framing {
    fn new(id_json: &str) -> Self {
        Self {
            next: format!(r#"{{"id":{id_json},"type":"next","payload":"#).into(),
            error: format!(r#"{{"id":{id_json},"type":"error","payload":"#).into(),
            complete: format!(r#"{{"id":{id_json},"type":"complete"}}"#).into(),
        }
    }
}

/// One running operation's way to its client. On a shared feed the fan-out hands it each
/// message ([`Subscriber`]), which goes into the socket at once or into the connection's buffer
/// — and when that is full the client is too slow for a live feed and is disconnected (waiting
/// would hold up every other subscriber). Any other operation is [`Operation::forward`]ed at
/// the client's pace, waiting up to the send timeout for room.
struct Operation {
    text: Framing,
    wire: Arc<Wire>,
    events: mpsc::UnboundedSender<Event>,
    ending: (String, u64),
}

impl Operation {
    /// The pieces of `message`'s frame and whether it is the operation's last; `None` for
    /// [`LiveMessage::Lagged`], which ends the connection.
    fn frame<'a>(&'a self, message: &'a LiveMessage) -> Option<([&'a [u8]; 3], bool)> {
        let (prefix, payload, last) = match message {
            LiveMessage::Next(payload) => (&self.text.next, payload, false),
            LiveMessage::Error(errors) => (&self.text.error, errors, true),
            LiveMessage::Lagged => return None,
        };
        Some(([prefix.as_bytes(), payload.as_bytes(), b"}"], last))
    }

    fn ended(&self) {
        let (id, generation) = self.ending.clone();
        let _ = self.events.send(Event::Ended { id, generation });
    }

    fn refused(&self, refused: &Refused) {
        if *refused == Refused::Full {
            let _ = self.events.send(Event::Slow);
        }
    }

    /// Sends a stream's messages until it ends (`complete`), fails (`error`), or the client
    /// falls behind (no room within `timeout`).
    async fn forward(
        self: Arc<Self>,
        mut stream: futures_util::stream::BoxStream<'static, LiveMessage>,
        timeout: Duration,
    ) {
        while let Some(message) = stream.next().await {
            let Some((parts, last)) = self.frame(&message) else {
                return self.refused(&Refused::Full);
            };
            if let Err(refused) = self.wire.send(TEXT, &parts, timeout).await {
                return self.refused(&refused);
            }
            if last {
                return self.ended();
            }
        }
        match self
            .wire
            .send(TEXT, &[self.text.complete.as_bytes()], timeout)
            .await
        {
            Ok(()) => self.ended(),
            Err(refused) => self.refused(&refused),
        }
    }
}

impl Subscriber for Operation {
    fn deliver(&self, message: &LiveMessage) -> bool {
        let Some((parts, last)) = self.frame(message) else {
            self.refused(&Refused::Full);
            return false;
        };
        if let Err(refused) = self.wire.try_send(TEXT, &parts) {
            self.refused(&refused);
            return false;
        }
        if last {
            self.ended();
        }
        !last
    }

    fn end(&self) {
        match self.wire.try_send(TEXT, &[self.text.complete.as_bytes()]) {
            Ok(()) => self.ended(),
            Err(refused) => self.refused(&refused),
        }
    }
}

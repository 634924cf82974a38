//! Subscriptions over WebSocket at `/graphql`: the graphql-transport-ws protocol as its
//! PROTOCOL.md gives it — `connection_init` (the token is in its payload) within
//! [`WsConfig::init_timeout`] or 4408, `connection_ack`, `ping`/`pong`, `subscribe`/`next`/
//! `error`/`complete`, and the close codes 4400 (invalid message), 4401 (subscribe before the
//! acknowledgement), 4403 (refused or expired token), 4406 (subprotocol not offered), 4409
//! (duplicate operation id), 4429 (second `connection_init`).
//!
//! Limits: an `Origin` allow-list on upgrade (403), a largest frame and message (1009), at
//! most [`WsConfig::max_subscriptions`] operations per connection (an `error` for the one past
//! it), and bounded buffers: a client that does not read fast enough (a shared feed's buffer
//! overtook it, or its outbound buffer stayed full for the send timeout) is disconnected with
//! 1008 "slow consumer", so memory never grows with a slow reader.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, ProtocolError, Session};
use futures_util::StreamExt;
use podledger_api::live::LiveMessage;
use podledger_api::{Api, AuthConfig, Principal};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

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
    /// Largest frame and largest message (continuations aggregated), bytes (1009 past it).
    pub max_message: usize,
    /// Most operations running at once on one connection.
    pub max_subscriptions: usize,
    /// How long a message may wait for room in the connection's outbound buffer (actix-ws
    /// holds 32 frames, then the socket's buffers) before the client counts as a slow consumer
    /// (1008). Operations wait for room, so a catch-up feed goes at the client's pace.
    pub send_timeout: Duration,
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            init_timeout: Duration::from_secs(10),
            max_message: 64 * 1024,
            max_subscriptions: 100,
            send_timeout: Duration::from_secs(10),
        }
    }
}

/// Whether a request asks for a WebSocket upgrade (routes it here rather than to GET queries).
pub fn is_upgrade(ctx: &actix_web::guard::GuardContext<'_>) -> bool {
    ctx.head()
        .headers()
        .get(actix_web::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

fn origin_allowed(request: &HttpRequest, config: &WsConfig) -> bool {
    let Some(origin) = request
        .headers()
        .get(actix_web::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    if config.allowed_origins.is_empty() {
        let host = request.connection_info().host().to_owned();
        return origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(&host));
    }
    config
        .allowed_origins
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(origin))
}

/// `GET /graphql` with `Upgrade: websocket`.
pub async fn upgrade(
    api: web::Data<Api>,
    auth: web::Data<AuthConfig>,
    config: web::Data<WsConfig>,
    request: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    if !origin_allowed(&request, &config) {
        return HttpResponse::build(StatusCode::FORBIDDEN).json(serde_json::json!({
            "errors": [{ "message": "this origin may not open a WebSocket", "extensions": { "code": "FORBIDDEN" } }]
        }));
    }
    let (response, session, messages) =
        match actix_ws::handle_with_protocols(&request, body, &[PROTOCOL]) {
            Ok(parts) => parts,
            Err(e) => return e.error_response(),
        };
    let agreed = response
        .headers()
        .contains_key(actix_web::http::header::SEC_WEBSOCKET_PROTOCOL);
    let messages = messages
        .max_frame_size(config.max_message)
        .aggregate_continuations()
        .max_continuation_size(config.max_message);
    let connection = Connection {
        api: api.get_ref().clone(),
        auth: auth.get_ref().clone(),
        config: config.get_ref().clone(),
        session,
    };
    actix_web::rt::spawn(connection.run(messages, agreed));
    response
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

struct Connection {
    api: Api,
    auth: AuthConfig,
    config: WsConfig,
    session: Session,
}

fn close_reason(code: u16, description: &str) -> CloseReason {
    CloseReason {
        code: CloseCode::from(code),
        description: Some(description.to_owned()),
    }
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

/// Why a connection closes: code and reason.
type Closing = (u16, String);

fn slow() -> Closing {
    (1008, "slow consumer: too many messages queued".into())
}

/// The protocol state of one connection.
struct Live {
    init_received: bool,
    principal: Option<(Principal, Instant)>,
    operations: HashMap<String, (u64, tokio::task::AbortHandle)>,
    generation: u64,
    outbound: Outbound,
    events: mpsc::UnboundedSender<Event>,
}

/// Writes to the client: every message goes straight into the session (no queue of our own
/// between a subscription and the socket). Each operation's task holds its own handle, so a
/// send is a push onto the session's channel, with no per-message clone of the sender.
#[derive(Clone)]
struct Outbound {
    session: Session,
    timeout: Duration,
}

impl Outbound {
    async fn send(&mut self, text: String) -> Result<(), Closing> {
        let mut pending = std::pin::pin!(self.session.text(text));
        // Most sends find room at once: those need no timer.
        let outcome = match futures_util::FutureExt::now_or_never(pending.as_mut()) {
            Some(outcome) => outcome,
            None => match tokio::time::timeout(self.timeout, pending).await {
                Ok(outcome) => outcome,
                Err(_) => return Err(slow()),
            },
        };
        outcome.map_err(|_| (1000, String::new()))
    }
}

impl Connection {
    async fn close(self, code: u16, description: &str) {
        // The close frame queues behind what the client has not read yet; one that reads nothing
        // cannot take it: bounded wait, then the connection is dropped.
        let _ = tokio::time::timeout(
            CLOSE_GRACE,
            self.session.close(Some(close_reason(code, description))),
        )
        .await;
    }

    async fn run(self, mut messages: actix_ws::AggregatedMessageStream, agreed: bool) {
        if !agreed {
            self.close(4406, "Subprotocol not acceptable").await;
            return;
        }
        let (events_tx, mut events) = mpsc::unbounded_channel::<Event>();
        let init_deadline = Instant::now() + self.config.init_timeout;
        let far = Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
        let mut live = Live {
            init_received: false,
            principal: None,
            operations: HashMap::new(),
            generation: 0,
            outbound: Outbound {
                session: self.session.clone(),
                timeout: self.config.send_timeout,
            },
            events: events_tx,
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
                message = messages.next() => self.on_frame(&mut live, message).await,
            };
            if let Err(closing) = step {
                break closing;
            }
        };
        for (_, task) in live.operations.into_values() {
            task.abort();
        }
        if closing.0 == 1000 {
            let _ = tokio::time::timeout(CLOSE_GRACE, self.session.close(None)).await;
        } else {
            self.close(closing.0, &closing.1).await;
        }
    }

    async fn on_frame(
        &self,
        live: &mut Live,
        frame: Option<Result<AggregatedMessage, ProtocolError>>,
    ) -> Result<(), Closing> {
        match frame {
            None | Some(Ok(AggregatedMessage::Close(_))) => Err((1000, String::new())),
            Some(Ok(AggregatedMessage::Text(text))) => self.on_message(live, &text).await,
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                let _ = self.session.clone().pong(&bytes).await;
                Ok(())
            }
            Some(Ok(AggregatedMessage::Pong(_))) => Ok(()),
            Some(Ok(AggregatedMessage::Binary(_))) => Err((
                4400,
                "Invalid message received: binary frames are not part of the protocol".into(),
            )),
            Some(Err(ProtocolError::Overflow)) => Err((
                1009,
                format!("messages are limited to {} bytes", self.config.max_message),
            )),
            Some(Err(_)) => Err((1002, "WebSocket protocol error".into())),
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
                let Some(p) = token_of(payload.as_ref()).and_then(|t| self.auth.verify(&t).ok())
                else {
                    return Err((4403, "Forbidden".into()));
                };
                let left = p.expires_at - chrono::Utc::now().timestamp();
                let at = Instant::now() + Duration::from_secs(u64::try_from(left).unwrap_or(0));
                live.principal = Some((p, at));
                live.outbound
                    .send(r#"{"type":"connection_ack"}"#.into())
                    .await
            }
            ClientMessage::Ping { .. } => live.outbound.send(r#"{"type":"pong"}"#.into()).await,
            ClientMessage::Pong { .. } => Ok(()),
            ClientMessage::Subscribe { id, payload } => self.on_subscribe(live, id, payload).await,
            ClientMessage::Complete { id } => {
                if let Some((_, task)) = live.operations.remove(&id) {
                    task.abort();
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
        if live.operations.len() >= self.config.max_subscriptions {
            return live
                .outbound
                .send(format!(
                    r#"{{"id":{id_json},"type":"error","payload":[{{"message":"at most {} operations per connection","extensions":{{"code":"TOO_MANY_SUBSCRIPTIONS"}}}}]}}"#,
                    self.config.max_subscriptions
                ))
                .await;
        }
        let mut request = async_graphql::Request::new(payload.query);
        request.operation_name = payload.operation_name;
        if let Some(variables) = payload.variables {
            request = request.variables(async_graphql::Variables::from_json(variables));
        }
        live.generation += 1;
        let stream = self.api.subscribe(request, p.clone());
        let task = tokio::spawn(forward(
            stream,
            id_json,
            live.outbound.clone(),
            live.events.clone(),
            (id.clone(), live.generation),
        ));
        live.operations
            .insert(id, (live.generation, task.abort_handle()));
        Ok(())
    }
}

/// Sends an operation's messages to the client until it ends (`complete`), fails (`error`), or
/// the client falls behind: a shared feed it lagged behind, or no room within the send timeout.
async fn forward(
    mut stream: futures_util::stream::BoxStream<'static, LiveMessage>,
    id_json: String,
    mut outbound: Outbound,
    events: mpsc::UnboundedSender<Event>,
    (id, generation): (String, u64),
) {
    let gone = |closing: Closing| {
        if closing.0 != 1000 {
            let _ = events.send(Event::Slow);
        }
    };
    while let Some(message) = stream.next().await {
        let (text, last) = match message {
            LiveMessage::Next(payload) => (
                format!(r#"{{"id":{id_json},"type":"next","payload":{payload}}}"#),
                false,
            ),
            LiveMessage::Error(errors) => (
                format!(r#"{{"id":{id_json},"type":"error","payload":{errors}}}"#),
                true,
            ),
            LiveMessage::Lagged => return gone(slow()),
        };
        if let Err(closing) = outbound.send(text).await {
            return gone(closing);
        }
        if last {
            let _ = events.send(Event::Ended { id, generation });
            return;
        }
    }
    if let Err(closing) = outbound
        .send(format!(r#"{{"id":{id_json},"type":"complete"}}"#))
        .await
    {
        return gone(closing);
    }
    let _ = events.send(Event::Ended { id, generation });
}

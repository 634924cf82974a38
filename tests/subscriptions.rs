//! Subscriptions end to end: the real server on port 0 with a fresh database (demo data
//! seeded), a real WebSocket client speaking graphql-transport-ws — the happy path, every
//! close code of the protocol, the limits, and exactly-once delivery of the event feed across
//! random disconnects.

#[path = "common/node.rs"]
mod node;

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use podledger_api::AuthConfig;
use podledger_api::ids::to_id;
use podledger_domain::ids::{KpiId, OrgId, PersonId, PodId, ServiceId};
use podledger_domain::kpi::KpiCommand;
use podledger_domain::{Actor, Command, Context, ServiceScope};
use podledger_eventstore::{CommandHandler, RequestMeta};
use podledger_server::ws::WsConfig;
use podledger_server::{Running, ServerConfig, demo, start};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use uuid::Uuid;

struct App {
    _dir: tempfile::TempDir,
    running: Running,
    auth: AuthConfig,
}

async fn spawn_app(ws: WsConfig) -> App {
    let dir = tempfile::tempdir().unwrap();
    let auth = AuthConfig::new(
        b"ws-secret-ws-secret-ws-secret-ws".to_vec(),
        "podledger",
        "podledger",
    );
    let database_url = format!("sqlite://{}", dir.path().join("podledger.db").display());
    let running = start(ServerConfig {
        demo: true,
        ws,
        workers: 2,
        ..ServerConfig::new(database_url, auth.clone())
    })
    .await
    .unwrap();
    App {
        _dir: dir,
        running,
        auth,
    }
}

fn admin() -> PersonId {
    demo::key_people()[0].2
}

/// The Acquisition pod's product owner (edits its items).
fn po() -> PersonId {
    demo::key_people()[2].2
}

fn acquisition() -> PodId {
    PodId(podledger_server::demo::id("Acquisition"))
}

impl App {
    fn token(&self, person: PersonId) -> String {
        self.auth
            .mint_member(demo::org_id(), person, chrono::Duration::hours(1))
    }

    fn url(&self) -> String {
        format!("ws://{}/graphql", self.running.addr)
    }

    async fn connect(&self) -> Ws {
        self.connect_with(Some("graphql-transport-ws"), None)
            .await
            .expect("upgrade")
    }

    async fn connect_with(
        &self,
        protocol: Option<&str>,
        origin: Option<&str>,
    ) -> Result<Ws, tungstenite::Error> {
        let mut request = self.url().into_client_request().unwrap();
        if let Some(protocol) = protocol {
            request
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
        }
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("Origin", origin.parse().unwrap());
        }
        let (socket, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Ws { socket })
    }

    /// A connection past `connection_ack`.
    async fn ready(&self) -> Ws {
        let mut ws = self.connect().await;
        ws.send(json!({"type": "connection_init", "payload": {"token": self.token(admin())}}))
            .await;
        assert_eq!(ws.next().await["type"], "connection_ack");
        ws
    }

    /// A connection past `connection_ack` whose socket has a 4 KiB receive window, so the
    /// kernel does not absorb a whole feed for a client that stops reading.
    async fn ready_with_a_small_window(&self) -> Ws {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4 * 1024).unwrap();
        let stream = socket.connect(self.running.addr).await.unwrap();
        let mut request = self.url().into_client_request().unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
        let (socket, _) = tokio_tungstenite::client_async(request, stream)
            .await
            .unwrap();
        let mut ws = Ws { socket };
        ws.send(json!({"type": "connection_init", "payload": {"token": self.token(admin())}}))
            .await;
        assert_eq!(ws.next().await["type"], "connection_ack");
        ws
    }

    async fn graphql(&self, query: &str, variables: Value) -> Value {
        let response: Value = reqwest::Client::new()
            .post(format!("http://{}/graphql", self.running.addr))
            .bearer_auth(self.token(po()))
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(response["errors"].is_null(), "{response}");
        response["data"].clone()
    }
}

struct Ws {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Ws {
    async fn send(&mut self, message: Value) {
        self.send_text(message.to_string()).await;
    }

    async fn send_text(&mut self, text: String) {
        self.socket.send(Message::text(text)).await.unwrap();
    }

    /// The next protocol message (within 10 s).
    async fn next(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .expect("a message within 10 s")
                .expect("the connection is open")
                .expect("a frame");
            match frame {
                Message::Text(text) => return serde_json::from_str(&text).unwrap(),
                Message::Close(close) => panic!("closed: {close:?}"),
                _ => {}
            }
        }
    }

    /// The close code the server ends with (within 10 s), skipping other messages.
    async fn close_code(&mut self) -> u16 {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .expect("closed within 10 s")
            {
                Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
                Some(Ok(Message::Close(None))) | None => return 1005,
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("no close frame: {e}"),
            }
        }
    }

    /// Nothing arrives for `wait`.
    async fn quiet(&mut self, wait: Duration) {
        if let Ok(frame) = tokio::time::timeout(wait, self.socket.next()).await {
            panic!("expected nothing, got {frame:?}");
        }
    }
}

const BOARD: &str = "subscription($pod: ID!) { sprintBoard(podId: $pod) { id status \
    items { nodes { id title status } } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_subscriber_gets_the_board_then_each_change_once_the_read_models_have_it() {
    let app = spawn_app(WsConfig::default()).await;
    let pod = to_id("Pod", acquisition().as_uuid());
    let mut ws = app.ready().await;
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next().await["type"], "pong");

    ws.send(json!({"id": "board", "type": "subscribe",
        "payload": {"query": BOARD, "variables": {"pod": pod.0}}}))
        .await;
    let first = ws.next().await;
    assert_eq!(first["id"], "board");
    assert_eq!(first["type"], "next");
    let board = &first["payload"]["data"]["sprintBoard"];
    assert_eq!(board["status"], "ACTIVE", "{first}");
    let item = board["items"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["status"] != "DONE")
        .expect("an unfinished item")
        .clone();

    // A change through the API reaches the subscriber.
    let retitled = app
        .graphql(
            "mutation($pod: ID!, $item: ID!) { editItem(podId: $pod, itemId: $item, title: \"Retitled live\") { position } }",
            json!({"pod": pod.0, "item": item["id"]}),
        )
        .await;
    assert!(retitled["editItem"]["position"].is_string());
    let change = ws.next().await;
    let nodes = change["payload"]["data"]["sprintBoard"]["items"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        nodes
            .iter()
            .any(|i| i["id"] == item["id"] && i["title"] == "Retitled live"),
        "{change}"
    );
    // …and a query right after sees what the message said.
    let queried = app
        .graphql(
            "query($pod: ID!) { pod(id: $pod) { currentSprint { items { nodes { id title } } } } }",
            json!({"pod": pod.0}),
        )
        .await;
    assert_eq!(
        queried["pod"]["currentSprint"]["items"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == item["id"])
            .unwrap()["title"],
        "Retitled live"
    );

    // A change elsewhere (another pod) sends nothing; `complete` stops the feed.
    ws.send(json!({"id": "board", "type": "complete"})).await;
    app.graphql(
        "mutation($pod: ID!, $item: ID!) { editItem(podId: $pod, itemId: $item, title: \"Again\") { position } }",
        json!({"pod": pod.0, "item": item["id"]}),
    )
    .await;
    ws.quiet(Duration::from_millis(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_of_the_same_board_share_one_execution_and_a_late_one_gets_the_latest() {
    let app = spawn_app(WsConfig::default()).await;
    let pod = to_id("Pod", acquisition().as_uuid());
    let subscribe = json!({"id": "1", "type": "subscribe",
        "payload": {"query": BOARD, "variables": {"pod": pod.0}}});
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut ws = app.ready().await;
        ws.send(subscribe.clone()).await;
        let first = ws.next().await;
        assert_eq!(
            first["type"], "next",
            "each one, late or not, gets the board at once"
        );
        clients.push((ws, first));
    }
    assert_eq!(app.running.api.hub().shared_executions(), 1);
    assert!(clients.windows(2).all(|w| w[0].1 == w[1].1));

    let mut metrics = app.ready().await;
    metrics
        .send(json!({"id": "m", "type": "subscribe",
            "payload": {"query": "subscription($pod: ID!) { podMetrics(podId: $pod) { closedSprints } }",
                "variables": {"pod": pod.0}}}))
        .await;
    assert!(
        metrics.next().await["payload"]["data"]["podMetrics"]["closedSprints"]
            .as_i64()
            .is_some()
    );
    assert_eq!(app.running.api.hub().shared_executions(), 2);

    // One change, one message to each.
    let item = clients[0].1["payload"]["data"]["sprintBoard"]["items"]["nodes"][0]["id"].clone();
    app.graphql(
        "mutation($pod: ID!, $item: ID!) { editItem(podId: $pod, itemId: $item, title: \"Shared\") { position } }",
        json!({"pod": pod.0, "item": item}),
    )
    .await;
    for (ws, _) in &mut clients {
        let change = ws.next().await;
        assert_eq!(
            change["payload"]["data"]["sprintBoard"]["items"]["nodes"][0]["title"],
            "Shared"
        );
    }
    // Everyone leaves: the shared executions stop.
    drop(clients);
    drop(metrics);
    let mut left = usize::MAX;
    for _ in 0..50 {
        left = app.running.api.hub().shared_executions();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_close_code_of_the_protocol() {
    let app = spawn_app(WsConfig {
        init_timeout: Duration::from_millis(300),
        ..WsConfig::default()
    })
    .await;
    let pod = to_id("Pod", acquisition().as_uuid());
    let subscribe = |id: &str| {
        json!({"id": id, "type": "subscribe",
            "payload": {"query": BOARD, "variables": {"pod": pod.0}}})
    };

    // 4400: not a message of the protocol.
    let mut ws = app.ready().await;
    ws.send_text("{ not json".into()).await;
    assert_eq!(ws.close_code().await, 4400);
    let mut ws = app.ready().await;
    ws.send(json!({"type": "subscribe"})).await;
    assert_eq!(ws.close_code().await, 4400, "a subscribe without id");

    // 4401: subscribe before the acknowledgement.
    let mut ws = app.connect().await;
    ws.send(subscribe("early")).await;
    assert_eq!(ws.close_code().await, 4401);

    // 4403: a bad token in connection_init.
    let mut ws = app.connect().await;
    ws.send(json!({"type": "connection_init", "payload": {"token": "not-a-token"}}))
        .await;
    assert_eq!(ws.close_code().await, 4403);

    // 4406: the subprotocol was not offered.
    let mut ws = app.connect_with(None, None).await.unwrap();
    assert_eq!(ws.close_code().await, 4406);

    // 4408: no connection_init in time.
    let mut ws = app.connect().await;
    assert_eq!(ws.close_code().await, 4408);

    // 4409: an id already running.
    let mut ws = app.ready().await;
    ws.send(subscribe("same")).await;
    assert_eq!(ws.next().await["type"], "next");
    ws.send(subscribe("same")).await;
    assert_eq!(ws.close_code().await, 4409);

    // 4429: a second connection_init.
    let mut ws = app.ready().await;
    ws.send(json!({"type": "connection_init", "payload": {"token": app.token(admin())}}))
        .await;
    assert_eq!(ws.close_code().await, 4429);

    // 4403 when the token expires mid-connection.
    let short = app
        .auth
        .mint_member(demo::org_id(), admin(), chrono::Duration::seconds(2));
    let mut ws = app.connect().await;
    ws.send(
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {short}")}}),
    )
    .await;
    assert_eq!(ws.next().await["type"], "connection_ack");
    ws.send(subscribe("until-expiry")).await;
    assert_eq!(ws.next().await["type"], "next");
    assert_eq!(ws.close_code().await, 4403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_origins_message_size_operations_per_connection() {
    let app = spawn_app(WsConfig {
        allowed_origins: vec!["https://dash.example".into()],
        max_message: 4 * 1024,
        max_subscriptions: 2,
        ..WsConfig::default()
    })
    .await;
    // Origin allow-list on upgrade.
    match app
        .connect_with(Some("graphql-transport-ws"), Some("https://evil.example"))
        .await
    {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 403),
        other => panic!("expected a 403, got {:?}", other.map(|_| ())),
    }
    assert!(
        app.connect_with(Some("graphql-transport-ws"), Some("https://dash.example"))
            .await
            .is_ok()
    );

    // A message past the limit.
    let mut ws = app.ready().await;
    ws.send_text(format!(
        r#"{{"type":"ping","payload":{{"pad":"{}"}}}}"#,
        "x".repeat(8 * 1024)
    ))
    .await;
    assert_eq!(ws.close_code().await, 1009);

    // At most two operations at once: the third is refused, the connection stays.
    let pod = to_id("Pod", acquisition().as_uuid());
    let mut ws = app.ready().await;
    for id in ["a", "b", "c"] {
        ws.send(json!({"id": id, "type": "subscribe",
            "payload": {"query": BOARD, "variables": {"pod": pod.0}}}))
            .await;
    }
    let mut refused = None;
    for _ in 0..3 {
        let message = ws.next().await;
        if message["type"] == "error" {
            refused = Some(message);
        }
    }
    let refused = refused.expect("the third operation is refused");
    assert_eq!(refused["id"], "c");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "TOO_MANY_SUBSCRIPTIONS"
    );
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next().await["type"], "pong");
}

/// Sends `request` on a fresh TCP connection and returns the response's status and body.
async fn raw_http(addr: std::net::SocketAddr, request: &str) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("the server answers and closes")
        .unwrap();
    let response = String::from_utf8(response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_layer_joins_fragments_answers_pings_and_refuses_what_is_not_a_handshake() {
    use tungstenite::protocol::frame::Frame;
    use tungstenite::protocol::frame::coding::{Data, OpCode};
    let app = spawn_app(WsConfig {
        max_message: 4 * 1024,
        ..WsConfig::default()
    })
    .await;
    let addr = app.running.addr;
    let handshake = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";
    let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

    // A WebSocket handshake anywhere but /graphql, or without its key, is refused in JSON.
    let (status, body) = raw_http(
        addr,
        &format!("GET /elsewhere HTTP/1.1\r\nHost: {addr}\r\n{handshake}{key}\r\n"),
    )
    .await;
    assert_eq!(
        (status, &body["errors"][0]["extensions"]["code"]),
        (404, &json!("NOT_FOUND"))
    );
    let (status, body) = raw_http(
        addr,
        &format!("GET /graphql HTTP/1.1\r\nHost: {addr}\r\n{handshake}\r\n"),
    )
    .await;
    assert_eq!(
        (status, &body["errors"][0]["extensions"]["code"]),
        (400, &json!("BAD_REQUEST"))
    );

    // A message in three fragments is one message; a WebSocket ping gets its pong.
    let mut ws = app.connect().await;
    let init = json!({"type": "connection_init", "payload": {"token": app.token(admin())}})
        .to_string()
        .into_bytes();
    let (a, rest) = init.split_at(10);
    let (b, c) = rest.split_at(10);
    for (piece, opcode, last) in [
        (a, OpCode::Data(Data::Text), false),
        (b, OpCode::Data(Data::Continue), false),
        (c, OpCode::Data(Data::Continue), true),
    ] {
        ws.socket
            .send(Message::Frame(Frame::message(piece.to_vec(), opcode, last)))
            .await
            .unwrap();
    }
    assert_eq!(ws.next().await["type"], "connection_ack");
    ws.socket.send(Message::Ping("hi".into())).await.unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(10), ws.socket.next())
        .await
        .expect("a pong within 10 s");
    assert!(
        matches!(pong, Some(Ok(Message::Pong(ref p))) if p.as_ref() == b"hi"),
        "{pong:?}"
    );

    // Fragments that together pass the largest message: 1009.
    let piece = vec![b' '; 1500];
    for (opcode, last) in [
        (OpCode::Data(Data::Text), false),
        (OpCode::Data(Data::Continue), false),
        (OpCode::Data(Data::Continue), false),
        (OpCode::Data(Data::Continue), true),
    ] {
        let sent = ws
            .socket
            .send(Message::Frame(Frame::message(piece.clone(), opcode, last)))
            .await;
        if sent.is_err() {
            break;
        }
    }
    assert_eq!(ws.close_code().await, 1009);

    // Plain HTTP still works beside it.
    let health = reqwest::get(format!("http://{addr}/health")).await.unwrap();
    assert!(health.status().is_success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_subscription_is_an_error_message_and_never_crosses_organisations() {
    let app = spawn_app(WsConfig::default()).await;
    let mut ws = app.ready().await;
    let foreign_pod = to_id("Pod", Uuid::now_v7());
    ws.send(json!({"id": "x", "type": "subscribe",
        "payload": {"query": BOARD, "variables": {"pod": foreign_pod.0}}}))
        .await;
    let refused = ws.next().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(
        refused["payload"][0]["extensions"]["id"], foreign_pod.0,
        "the id as sent"
    );

    // A person of another organisation sees nothing of this one.
    let stranger = app.auth.mint_member(
        OrgId(Uuid::now_v7()),
        PersonId(Uuid::now_v7()),
        chrono::Duration::hours(1),
    );
    let mut ws = app.connect().await;
    ws.send(json!({"type": "connection_init", "payload": {"token": stranger}}))
        .await;
    assert_eq!(ws.next().await["type"], "connection_ack");
    let pod = to_id("Pod", acquisition().as_uuid());
    ws.send(json!({"id": "y", "type": "subscribe",
        "payload": {"query": BOARD, "variables": {"pod": pod.0}}}))
        .await;
    let refused = ws.next().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "FORBIDDEN");
}

/// Records `count` KPI readings through the command handler, spread over the demo KPIs (one
/// writer per KPI, so appends group-commit), as the pods' integration would.
async fn record_readings(app: &App, count: usize) {
    let handler = Arc::new(CommandHandler::new(app.running.projections.store().clone()));
    let org = demo::org_id();
    let pods: Vec<PodId> = app
        .running
        .projections
        .org(org.as_uuid())
        .unwrap()
        .state
        .pods
        .keys()
        .copied()
        .collect();
    let kpis: Vec<KpiId> = pods
        .iter()
        .flat_map(|pod| app.running.projections.kpis_of_pod(org.as_uuid(), *pod))
        .map(|k| k.id)
        .collect();
    assert!(!kpis.is_empty());
    let actor = Actor::Service {
        service: ServiceId(Uuid::now_v7()),
        scope: ServiceScope {
            kpi_readings_for_pods: pods.into_iter().collect(),
        },
    };
    let per_kpi = count.div_ceil(kpis.len());
    let mut writers = Vec::new();
    let mut left = count;
    for kpi in kpis {
        let n = per_kpi.min(left);
        left -= n;
        let (handler, actor) = (handler.clone(), actor.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..n {
                let command = Command::Kpi {
                    kpi_id: kpi,
                    command: KpiCommand::RecordKpiReading {
                        value: i as f64,
                        observed_at: chrono::Utc::now(),
                        source: Some("ws-test".into()),
                    },
                };
                let ctx = Context::new(org, actor.clone(), chrono::Utc::now());
                let meta = RequestMeta {
                    correlation_id: Uuid::now_v7(),
                    causation_id: None,
                    idempotency_key: None,
                };
                handler.execute(&command, &ctx, meta).await.unwrap();
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_feed_delivers_every_event_exactly_once_in_order_across_random_disconnects() {
    const EVENTS: usize = 10_000;
    let app = Arc::new(spawn_app(WsConfig::default()).await);
    let start_head = app.running.projections.position();
    let writer = tokio::spawn({
        let app = app.clone();
        async move { record_readings(&app, EVENTS).await }
    });

    let query =
        "subscription($after: String!) { events(after: $after) { position eventId eventType } }";
    let mut seen: Vec<u64> = Vec::new();
    let mut ids = std::collections::HashSet::new();
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut reconnects = 0;
    let target = start_head + EVENTS as u64;
    while seen.last().copied().unwrap_or(0) < target {
        let after = seen.last().copied().unwrap_or(0);
        let mut ws = app.ready().await;
        ws.send(json!({"id": "feed", "type": "subscribe",
            "payload": {"query": query, "variables": {"after": after.to_string()}}}))
            .await;
        // xorshift: drop the connection after a random number of messages.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let take = 1 + rng % 1_500;
        for _ in 0..take {
            let message = ws.next().await;
            assert_eq!(message["type"], "next", "{message}");
            let event = &message["payload"]["data"]["events"];
            let position: u64 = event["position"].as_str().unwrap().parse().unwrap();
            assert!(
                ids.insert(event["eventId"].as_str().unwrap().to_owned()),
                "event {position} delivered twice"
            );
            if let Some(last) = seen.last() {
                assert_eq!(position, last + 1, "in order, nothing skipped");
            } else {
                assert_eq!(position, 1, "the feed starts at the first event");
            }
            seen.push(position);
            if position == target {
                break;
            }
        }
        // Drop without a close handshake, as a lost network would.
        drop(ws);
        reconnects += 1;
    }
    writer.await.unwrap();
    assert_eq!(seen.len() as u64, target);
    assert!(
        reconnects > 5,
        "the test dropped the client {reconnects} times"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected_as_a_slow_consumer() {
    let app = spawn_app(WsConfig {
        send_timeout: Duration::from_millis(300),
        ..WsConfig::default()
    })
    .await;
    let mut ws = app.ready_with_a_small_window().await;
    // The whole demo history fifty times over, with every field: far more than the window, the
    // kernel's buffers and the queue.
    for n in 0..50 {
        ws.send(json!({"id": n.to_string(), "type": "subscribe", "payload": {"query":
            "subscription { events(after: \"0\") { position eventId stream subjectId eventType actor { __typename ... on Person { id name } } recordedAt correlationId payload } }"}}))
            .await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(ws.close_code().await, 1008);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_subscriber_that_stops_reading_is_dropped_from_the_shared_feed_and_the_others_go_on()
 {
    let app = spawn_app(WsConfig {
        max_buffered: 4 * 1024,
        socket_send_buffer: Some(8 * 1024),
        ..WsConfig::default()
    })
    .await;
    let pod = to_id("Pod", acquisition().as_uuid());
    let subscribe = json!({"id": "board", "type": "subscribe",
        "payload": {"query": BOARD, "variables": {"pod": pod.0}}});
    // The slow one: it reads nothing after its first board.
    let mut slow = app.ready_with_a_small_window().await;
    slow.send(subscribe.clone()).await;
    let first = slow.next().await;
    let item = first["payload"]["data"]["sprintBoard"]["items"]["nodes"][0]["id"].clone();
    let mut reader = app.ready().await;
    reader.send(subscribe).await;
    reader.next().await;

    // Far more boards than the window, the socket's buffers and the wire's 4 KiB take.
    for n in 0..60 {
        app.graphql(
            "mutation($pod: ID!, $item: ID!, $title: String!) { editItem(podId: $pod, itemId: $item, title: $title) { position } }",
            json!({"pod": pod.0, "item": item, "title": format!("Slow {n}")}),
        )
        .await;
        let board = reader.next().await;
        assert!(board.to_string().contains(&format!("Slow {n}")), "{board}");
    }
    assert_eq!(slow.close_code().await, 1008);
    assert_eq!(
        app.running.api.hub().shared_executions(),
        1,
        "the reader's feed runs on"
    );
}

/// The graphql-ws client script.
fn node_client() -> std::path::PathBuf {
    node::node_script("subscribe.mjs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_npm_graphql_ws_client_receives_a_mutations_change() {
    use tokio::io::AsyncBufReadExt;

    let app = spawn_app(WsConfig::default()).await;
    let pod = to_id("Pod", acquisition().as_uuid());
    let mut node = tokio::process::Command::new("node")
        .arg(node_client())
        .args([app.url(), app.token(admin()), pod.0.clone()])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node is needed to run the graphql-ws client test");
    let mut lines = tokio::io::BufReader::new(node.stdout.take().unwrap()).lines();
    let mut next_line = async || {
        tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the client speaks within 30 s")
            .unwrap()
            .expect("a line from the client")
    };
    let ready = next_line().await;
    let board: Value = serde_json::from_str(ready.strip_prefix("READY ").expect(&ready)).unwrap();
    let item = board["data"]["sprintBoard"]["items"]["nodes"][0]["id"].clone();
    app.graphql(
        "mutation($pod: ID!, $item: ID!) { editItem(podId: $pod, itemId: $item, title: \"Seen by graphql-ws\") { position } }",
        json!({"pod": pod.0, "item": item}),
    )
    .await;
    let change = next_line().await;
    let change: Value =
        serde_json::from_str(change.strip_prefix("CHANGE ").expect(&change)).unwrap();
    assert_eq!(
        change["data"]["sprintBoard"]["items"]["nodes"][0]["title"],
        "Seen by graphql-ws"
    );
    assert!(node.wait().await.unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kpi_readings_of_a_pod_arrive_each_with_its_attainment_and_only_that_pods() {
    let app = spawn_app(WsConfig::default()).await;
    let org = demo::org_id().as_uuid();
    let mine: std::collections::HashSet<String> = app
        .running
        .projections
        .kpis_of_pod(org, acquisition())
        .iter()
        .map(|k| to_id("Kpi", k.id.as_uuid()).0)
        .collect();
    assert!(!mine.is_empty());
    let pod = to_id("Pod", acquisition().as_uuid());
    let mut ws = app.ready().await;
    ws.send(json!({"id": "kpi", "type": "subscribe", "payload": {
        "query": "subscription($pod: ID!) { kpiReadings(podId: $pod) { kpi { id } reading { value attainment status position } } }",
        "variables": {"pod": pod.0}}}))
        .await;
    // Nothing is replayed: only readings recorded from now on.
    ws.quiet(Duration::from_millis(300)).await;
    // One reading for every KPI of every pod.
    let all: usize = app
        .running
        .projections
        .org(org)
        .unwrap()
        .state
        .pods
        .keys()
        .map(|p| app.running.projections.kpis_of_pod(org, *p).len())
        .sum();
    record_readings(&app, all).await;
    let mut got = std::collections::HashSet::new();
    let mut last_position = 0u64;
    for _ in 0..mine.len() {
        let message = ws.next().await;
        let added = &message["payload"]["data"]["kpiReadings"];
        let kpi = added["kpi"]["id"].as_str().unwrap().to_owned();
        assert!(mine.contains(&kpi), "a KPI of another pod: {message}");
        assert!(got.insert(kpi), "one message per reading");
        let reading = &added["reading"];
        assert_eq!(reading["value"], 0.0);
        let position: u64 = reading["position"].as_str().unwrap().parse().unwrap();
        assert!(position > last_position, "in recording order");
        last_position = position;
        // A reading of 0 attains 0 of an INCREASE target and is undefined for a DECREASE one.
        assert!(
            reading["attainment"] == json!(0.0) || reading["attainment"].is_null(),
            "{reading}"
        );
    }
    ws.quiet(Duration::from_millis(300)).await;
}

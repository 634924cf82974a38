//! The binary as an operator runs it: traces exported over OTLP to a receiver the test starts
//! (gRPC and HTTP/protobuf), JSON log lines carrying the request's trace and correlation ids,
//! and a graceful shutdown on SIGTERM under load that loses no acknowledged mutation and tells
//! WebSocket clients to reconnect (1001).

#[path = "common/otlp.rs"]
mod otlp;
#[path = "common/serve.rs"]
mod serve;

use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use podledger_server::demo;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{self, Message};

const SECRET: &str = "operations-test-secret-operations";

/// `podledger serve --demo` in its own process, with its stderr lines collected.
struct Server {
    child: Child,
    addr: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(dir: &std::path::Path, envs: &[(&str, &str)]) -> Self {
        let serve::Process { child, addr, lines } = serve::start(
            &[
                "serve",
                "--demo",
                "--listen",
                "127.0.0.1:0",
                "--jwt-secret",
                SECRET,
                "--shutdown-timeout-secs",
                "10",
            ],
            dir,
            envs,
        );
        Self { child, addr, lines }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn lines(&self) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
            .collect()
    }

    fn terminate(&self) {
        rustix::process::kill_process(
            rustix::process::Pid::from_child(&self.child),
            rustix::process::Signal::TERM,
        )
        .unwrap();
    }

    /// Waits for the process to exit (at most `within`); its exit status.
    fn wait(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "still running after {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn token(person: usize) -> String {
    let auth = podledger_api::AuthConfig::new(SECRET.as_bytes().to_vec(), "podledger", "podledger");
    auth.mint_member(
        demo::org_id(),
        demo::key_people()[person].2,
        chrono::Duration::hours(1),
    )
}

/// The Acquisition pod's PO, and the pod's id.
const PO: usize = 2;

async fn post(
    client: &reqwest::Client,
    server: &Server,
    headers: &[(&str, &str)],
    body: &Value,
) -> reqwest::Result<(reqwest::StatusCode, reqwest::header::HeaderMap, Value)> {
    let mut request = client
        .post(server.url("/graphql"))
        .bearer_auth(token(PO))
        .json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await?;
    let status = response.status();
    let headers = response.headers().clone();
    Ok((status, headers, response.json().await?))
}

async fn acquisition_pod(client: &reqwest::Client, server: &Server) -> Value {
    let (_, _, body) = post(
        client,
        server,
        &[],
        &json!({"query": "{ organisation { pods { nodes { id name } } } }"}),
    )
    .await
    .unwrap();
    body["data"]["organisation"]["pods"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Acquisition")
        .unwrap_or_else(|| panic!("{body}"))["id"]
        .clone()
}

const CREATE: &str = "mutation CreateCampaignItem($i: CreateItemInput!) { createItem(input: $i) { position item { id } } }";

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a AnyValue> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn string_attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    match attribute(span, key)? {
        AnyValue::StringValue(s) => Some(s),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        use std::fmt::Write as _;
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// One run against a receiver speaking `protocol`.
async fn traces_reach_the_receiver(protocol: &str) {
    let (receiver, endpoint) = if protocol == "grpc" {
        otlp::Receiver::grpc().await
    } else {
        otlp::Receiver::http().await
    };
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        dir.path(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let client = reqwest::Client::new();
    let pod = acquisition_pod(&client, &server).await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_span = "00f067aa0ba902b7";
    let traceparent = format!("00-{trace_id}-{parent_span}-01");
    let correlation = "0193a0a0-0000-7000-8000-00000000c0de";
    let secret_title = "Secret launch plan 7f3a9c";
    let (status, headers, body) = post(
        &client,
        &server,
        &[
            ("traceparent", traceparent.as_str()),
            ("x-correlation-id", correlation),
        ],
        &json!({"query": CREATE, "operationName": "CreateCampaignItem",
                "variables": {"i": {"podId": pod, "title": secret_title, "outputCategory": "email",
                                    "acceptanceCriteria": "Live", "estimate": 3}}}),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body["data"]["createItem"]["item"]["id"].is_string(),
        "{body}"
    );
    assert_eq!(headers["x-correlation-id"], correlation);

    // A subscription continues the trace its `connection_init` names.
    let ws_trace = "5bf92f3577b34da6a3ce929d0e0e4737";
    let mut socket = subscribe_board(
        &server,
        &pod,
        json!({"token": token(PO), "traceparent": format!("00-{ws_trace}-{parent_span}-01")}),
    )
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(5), socket.next()).await;
    drop(socket);

    server.terminate();
    assert!(server.wait(Duration::from_secs(30)).success());
    spans_show_the_request(
        &receiver,
        &server,
        &Expected {
            trace_id,
            parent_span,
            ws_trace,
            correlation,
            secret_title,
        },
    );
}

/// What one traced run must show.
struct Expected<'a> {
    trace_id: &'a str,
    parent_span: &'a str,
    ws_trace: &'a str,
    correlation: &'a str,
    secret_title: &'a str,
}

/// The spans of the mutation (under the caller's trace), of its command, decision and append,
/// of the projections, and of the subscription; and no variable value or document anywhere.
fn spans_show_the_request(receiver: &otlp::Receiver, server: &Server, e: &Expected<'_>) {
    let Expected {
        trace_id,
        parent_span,
        ws_trace,
        correlation,
        secret_title,
    } = *e;
    // The last export (with the views persisted at exit) may still be read by the receiver
    // when the process has gone.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !receiver
        .spans()
        .iter()
        .any(|s| s.name == "projection.persist")
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let spans = receiver.spans();
    let named = |name: &str| -> Vec<&Span> { spans.iter().filter(|s| s.name == name).collect() };
    let operation = named("mutation CreateCampaignItem");
    let span_names: std::collections::BTreeSet<&str> =
        spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        operation.len(),
        1,
        "{span_names:?}\n{:#?}",
        server
            .lines()
            .iter()
            .filter(|l| l["level"] != "INFO")
            .collect::<Vec<_>>()
    );
    let operation = operation[0];
    assert_eq!(hex(&operation.trace_id), trace_id);
    assert_eq!(hex(&operation.parent_span_id), parent_span);
    assert_eq!(
        string_attribute(operation, "graphql.operation.type"),
        Some("mutation")
    );
    assert_eq!(
        string_attribute(operation, "graphql.operation.name"),
        Some("CreateCampaignItem")
    );
    assert_eq!(
        string_attribute(operation, "correlation_id"),
        Some(correlation)
    );
    let command = named("command createItem");
    assert_eq!(command.len(), 1);
    assert_eq!(command[0].parent_span_id, operation.span_id);
    assert_eq!(string_attribute(command[0], "command.outcome"), Some("ok"));
    let append = named("append");
    let append = append
        .iter()
        .find(|s| s.parent_span_id == command[0].span_id)
        .expect("an append span under the command");
    assert!(string_attribute(append, "stream").is_some_and(|s| s.starts_with("pod-")));
    assert!(attribute(append, "position").is_some(), "{append:?}");
    assert!(attribute(append, "expected_version").is_some());
    assert!(
        named("decide")
            .iter()
            .any(|s| s.parent_span_id == command[0].span_id)
    );
    assert!(!named("projection.apply").is_empty());
    let subscription = named("subscription Board");
    assert_eq!(subscription.len(), 1, "{span_names:?}");
    assert_eq!(hex(&subscription[0].trace_id), ws_trace);
    assert_eq!(hex(&subscription[0].parent_span_id), parent_span);
    assert!(
        !named("projection.persist").is_empty(),
        "views persisted at shutdown; spans {span_names:?}; the server said {:?}",
        server
            .lines()
            .iter()
            .rev()
            .take(8)
            .map(|l| l["fields"]["message"].clone())
            .collect::<Vec<_>>()
    );
    // No variable value (nor the document) anywhere in what was exported.
    for body in receiver.raw.lock().unwrap().iter() {
        assert!(
            !body
                .windows(secret_title.len())
                .any(|w| w == secret_title.as_bytes()),
            "a variable value was exported"
        );
        assert!(
            !body.windows(9).any(|w| w == b"mutation("),
            "the document was exported"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_are_exported_over_otlp_grpc_with_the_callers_trace_as_parent_and_no_variable_values()
 {
    traces_reach_the_receiver("grpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_are_exported_over_otlp_http_protobuf_too() {
    traces_reach_the_receiver("http/protobuf").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_of_a_request_carry_its_trace_and_correlation_ids() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[("PODLEDGER_LOG", "info,podledger_api=debug")]);
    let client = reqwest::Client::new();
    let pod = acquisition_pod(&client, &server).await;
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let correlation = "0193a0a0-0000-7000-8000-0000000000aa";
    let (status, _, body) = post(
        &client,
        &server,
        &[
            ("traceparent", &format!("00-{trace_id}-b7ad6b7169203331-01")),
            ("x-correlation-id", correlation),
        ],
        &json!({"query": CREATE, "variables": {"i": {"podId": pod, "title": "Logged",
                "outputCategory": "email", "acceptanceCriteria": "Live", "estimate": 2}}}),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    // The container health check: `podledger probe` asks the running server.
    let probe = |path: &str, listen: &str| {
        Command::new(env!("CARGO_BIN_EXE_podledger"))
            .args(["probe", path, "--listen", listen])
            .output()
            .unwrap()
    };
    let healthy = probe("/healthz", &server.addr);
    assert!(healthy.status.success(), "{healthy:?}");
    assert!(String::from_utf8_lossy(&healthy.stdout).starts_with("200"));
    assert!(probe("/readyz", &server.addr).status.success());
    assert!(!probe("/nowhere", &server.addr).status.success());
    server.terminate();
    assert!(server.wait(Duration::from_secs(30)).success());
    assert!(
        !probe("/healthz", &server.addr).status.success(),
        "nothing listens any more"
    );
    let lines = server.lines();
    let of_request: Vec<&Value> = lines
        .iter()
        .filter(|line| {
            line["spans"]
                .as_array()
                .is_some_and(|spans| spans.iter().any(|s| s["name"] == "graphql"))
        })
        .collect();
    assert!(
        !of_request.is_empty(),
        "no log line inside the request: {lines:#?}"
    );
    for line in of_request {
        let request = line["spans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "graphql")
            .unwrap();
        assert_eq!(request["trace_id"], trace_id, "{line}");
        assert_eq!(request["correlation_id"], correlation, "{line}");
    }
    // Every line is a JSON object with a level and a message.
    assert!(
        lines
            .iter()
            .all(|l| l["level"].is_string() && l["fields"]["message"].is_string())
    );
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket with the `Board` subscription (the pod's sprint board) running on it.
async fn subscribe_board(server: &Server, pod: &Value, init: Value) -> Socket {
    let mut request = format!("ws://{}/graphql", server.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(Message::text(
            json!({"type": "connection_init", "payload": init}).to_string(),
        ))
        .await
        .unwrap();
    let ack = socket.next().await.unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack:?}");
    socket
        .send(Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {
                "query": "subscription Board($p: ID!) { sprintBoard(podId: $p) { position } }",
                "operationName": "Board", "variables": {"p": pod}}})
            .to_string(),
        ))
        .await
        .unwrap();
    socket
}

/// Creates items through `client` until the server stops answering; the ids it acknowledged.
async fn create_until_refused(
    server_url: String,
    pod: Value,
    stop: Arc<AtomicBool>,
) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut acknowledged = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let response = client
            .post(&server_url)
            .bearer_auth(token(PO))
            .json(&json!({"query": CREATE, "variables": {"i": {"podId": pod, "title": format!("Load {n}"),
                    "outputCategory": "email", "acceptanceCriteria": "Live", "estimate": 1}}}))
            .send()
            .await;
        let Ok(response) = response else { break };
        let Ok(body) = response.json::<Value>().await else {
            break;
        };
        if let Some(id) = body["data"]["createItem"]["item"]["id"].as_str() {
            acknowledged.push(id.to_owned());
        }
    }
    acknowledged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_acknowledged_mutation_and_closes_websockets_with_1001() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    let client = reqwest::Client::new();
    let pod = acquisition_pod(&client, &server).await;

    // A live board subscriber.
    let mut socket = subscribe_board(&server, &pod, json!({"token": token(PO)})).await;

    // Eight writers, then SIGTERM while they write.
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn(create_until_refused(
                server.url("/graphql"),
                pod.clone(),
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let terminated_at = Instant::now();
    server.terminate();

    // The subscriber is told the server goes away.
    let close = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(Message::Close(frame)) => return frame,
                Ok(_) => {}
                Err(e) => panic!("the socket failed instead of closing: {e}"),
            }
        }
        None
    })
    .await
    .expect("a close frame within 10 s")
    .expect("a close frame");
    assert_eq!(
        close.code,
        tungstenite::protocol::frame::coding::CloseCode::Away
    );

    let status = tokio::task::spawn_blocking(move || {
        let status = server.wait(Duration::from_secs(30));
        (status, server)
    })
    .await
    .unwrap();
    let (status, server) = status;
    assert!(status.success(), "{status:?}");
    let stopped_after = terminated_at.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    assert!(
        acknowledged.len() > 8,
        "the load ran: {}",
        acknowledged.len()
    );
    let logged = server.lines();
    assert!(
        logged.iter().any(|l| l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("stopped"))),
        "{logged:#?}"
    );
    drop(server);

    // Restarted on the same database: every acknowledged item is there, exactly once.
    let server = Server::start(dir.path(), &[]);
    let client = reqwest::Client::new();
    let mut backlog = std::collections::HashMap::<String, usize>::new();
    let mut after = Value::Null;
    loop {
        let (status, _, body) = post(
            &client,
            &server,
            &[],
            &json!({"query": "query($p: ID!, $a: String) { pod(id: $p) { backlog(first: 500, after: $a) {
                        nodes { id } pageInfo { hasNextPage endCursor } } } }",
                    "variables": {"p": pod, "a": after}}),
        )
        .await
        .unwrap();
        assert_eq!(status, 200, "{body}");
        let page = &body["data"]["pod"]["backlog"];
        for node in page["nodes"].as_array().unwrap_or_else(|| panic!("{body}")) {
            *backlog
                .entry(node["id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|id| backlog.get(*id) != Some(&1))
        .collect();
    assert!(missing.is_empty(), "lost after SIGTERM: {missing:?}");
    eprintln!(
        "{} acknowledged mutations, all readable after restart; stopped {stopped_after:?} after SIGTERM",
        acknowledged.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sigterm_readyz_answers_503_with_the_reason_for_the_shutdown_delay_while_healthz_stays_200()
 {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[("PODLEDGER_SHUTDOWN_DELAY_MS", "3000")]);
    let client = reqwest::Client::new();
    let ready = client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    server.terminate();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let draining = client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(draining.status(), 503);
    let reason: Value = draining.json().await.unwrap();
    assert_eq!(reason["status"], "not ready");
    assert_eq!(reason["reason"], "the server is shutting down");
    let alive = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(alive.status(), 200);
    let status = tokio::task::spawn_blocking(move || server.wait(Duration::from_secs(30)))
        .await
        .unwrap();
    assert!(status.success());
}

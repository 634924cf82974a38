//! Several `podledger serve` processes on one PostgreSQL database behave as one system:
//! read-your-writes across replicas with `minPosition`, live feeds on one replica carrying what
//! another wrote, concurrent commands on one pod through two replicas resolved without a lost
//! update, and a replica killed with SIGKILL under load losing nothing it acknowledged. Real
//! processes, a real PostgreSQL started by the test run (`crates/eventstore/tests/support`).

#[path = "../crates/eventstore/tests/support/postgres.rs"]
mod postgres;
#[path = "common/serve.rs"]
mod serve;

use std::collections::HashMap;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use podledger_server::demo;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

const SECRET: &str = "replica-test-secret-replica-test";

/// The Acquisition pod's product owner (demo key person).
const PO: usize = 2;

/// One `podledger serve` process on the test database.
struct Replica {
    child: Child,
    addr: String,
    lines: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Replica {
    /// Starts a replica on `url` (`--demo` seeds the demo organisation first) and waits until
    /// `/readyz` answers 200.
    fn start(url: &str, demo: bool) -> Self {
        let mut args = vec![
            "--database-url",
            url,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--jwt-secret",
            SECRET,
        ];
        if demo {
            args.push("--demo");
        }
        let dir = tempfile::tempdir().unwrap();
        let serve::Process { child, addr, lines } = serve::start(&args, dir.path(), &[]);
        Self {
            child,
            addr,
            lines,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// SIGKILL: no shutdown, no flush.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "replica {} log: {:#?}",
                self.addr,
                self.lines.lock().unwrap()
            );
        }
    }
}

fn token() -> String {
    podledger_api::AuthConfig::new(SECRET.as_bytes().to_vec(), "podledger", "podledger")
        .mint_member(
            demo::org_id(),
            demo::key_people()[PO].2,
            chrono::Duration::hours(1),
        )
}

async fn gql(client: &reqwest::Client, url: &str, query: &str, variables: Value) -> Value {
    let body: Value = client
        .post(url)
        .bearer_auth(token())
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["errors"].is_null(), "{body}");
    body["data"].clone()
}

async fn acquisition_pod(client: &reqwest::Client, replica: &Replica) -> Value {
    let data = gql(
        client,
        &replica.url(),
        "{ organisation { pods { nodes { id name } } } }",
        json!({}),
    )
    .await;
    data["organisation"]["pods"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Acquisition")
        .unwrap_or_else(|| panic!("{data}"))["id"]
        .clone()
}

const CREATE: &str =
    "mutation($i: CreateItemInput!) { createItem(input: $i) { position item { id } } }";

/// Creates one item; its id and the position to read it back at, or `None` when the replica
/// did not acknowledge it.
async fn create(
    client: &reqwest::Client,
    url: &str,
    pod: &Value,
    title: &str,
) -> Option<(String, String)> {
    let response = client
        .post(url)
        .bearer_auth(token())
        .json(
            &json!({"query": CREATE, "variables": {"i": {"podId": pod, "title": title,
            "outputCategory": "email", "acceptanceCriteria": "Live", "estimate": 1}}}),
        )
        .send()
        .await
        .ok()?;
    let body: Value = response.json().await.ok()?;
    let created = &body["data"]["createItem"];
    Some((
        created["item"]["id"].as_str()?.to_owned(),
        created["position"].as_str()?.to_owned(),
    ))
}

/// Creates items on `url` until `stop` (or until the replica stops answering); what it
/// acknowledged, with positions.
async fn create_until(
    url: String,
    pod: Value,
    stop: Arc<AtomicBool>,
    tag: String,
) -> Vec<(String, String)> {
    let client = reqwest::Client::new();
    let mut acknowledged = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        match create(&client, &url, &pod, &format!("{tag} {n}")).await {
            Some(done) => acknowledged.push(done),
            None => break,
        }
    }
    acknowledged
}

/// Every open item of the pod on `url` once the replica has applied `min_position`, counted by
/// id.
async fn backlog(
    client: &reqwest::Client,
    url: &str,
    pod: &Value,
    min_position: &str,
) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    let mut after = Value::Null;
    loop {
        let data = gql(
            client,
            url,
            "query($p: ID!, $m: String, $a: String) { pod(id: $p, minPosition: $m) {
                backlog(first: 500, after: $a) { nodes { id } pageInfo { hasNextPage endCursor } } } }",
            json!({"p": pod, "m": min_position, "a": after}),
        )
        .await;
        let page = &data["pod"]["backlog"];
        for node in page["nodes"].as_array().unwrap() {
            *seen
                .entry(node["id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        if page["pageInfo"]["hasNextPage"] != true {
            return seen;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

fn highest(acknowledged: &[(String, String)]) -> String {
    acknowledged
        .iter()
        .map(|(_, p)| p.parse::<u64>().unwrap())
        .max()
        .unwrap_or(0)
        .to_string()
}

/// The ids of the last three open items of `pod` on `replica`, read with `condition` (which
/// names `$at`, bound to `at`).
async fn last_items(
    client: &reqwest::Client,
    replica: &Replica,
    pod: &Value,
    condition: &str,
    at: &str,
) -> Vec<String> {
    let data = gql(
        client,
        &replica.url(),
        &format!(
            "query($p: ID!, $at: String) {{ pod(id: $p, {condition}) {{ backlog(last: 3) {{ nodes {{ id }} }} }} }}"
        ),
        json!({"p": pod, "at": at}),
    )
    .await;
    data["pod"]["backlog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mutation_on_one_replica_is_read_back_on_another_with_min_position_and_as_of_the_past() {
    let url = postgres::cluster().database().await;
    let a = Replica::start(&url, true);
    let b = Replica::start(&url, false);
    let client = reqwest::Client::new();
    // A has the demo (it waited for it); B may still be folding it: B is read with minPosition.
    let pod = acquisition_pod(&client, &a).await;
    let mut written = Vec::new();
    for n in 0..20 {
        let (id, position) = create(&client, &a.url(), &pod, &format!("Written on A {n}"))
            .await
            .expect("acknowledged");
        let ids = last_items(&client, &b, &pod, "minPosition: $at", &position).await;
        assert!(
            ids.contains(&id),
            "B at position {position} lacks {id}: {ids:?}"
        );
        written.push((id, position));
    }
    // Time travel on B (its stream scans read PostgreSQL): as of the tenth write, the pod's
    // backlog ends with it, without the ten after.
    let (tenth, at) = &written[9];
    let ids = last_items(&client, &b, &pod, "asOf: {position: $at}", at).await;
    assert_eq!(ids.last(), Some(tenth), "{ids:?}");
    assert!(written[10..].iter().all(|(id, _)| !ids.contains(id)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_events_subscriber_on_one_replica_receives_what_another_writes() {
    let url = postgres::cluster().database().await;
    let a = Replica::start(&url, true);
    let b = Replica::start(&url, false);
    let client = reqwest::Client::new();
    // A has the demo (it waited for it); B may still be folding it: B is read with minPosition.
    let pod = acquisition_pod(&client, &a).await;
    let (_, start) = create(&client, &a.url(), &pod, "Before").await.unwrap();
    // B has folded the organisation (a subscription checks the caller against it).
    gql(
        &client,
        &b.url(),
        "query($p: ID!, $m: String) { pod(id: $p, minPosition: $m) { id } }",
        json!({"p": pod, "m": start}),
    )
    .await;

    let mut request = format!("ws://{}/graphql", b.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(Message::text(
            json!({"type": "connection_init", "payload": {"token": token()}}).to_string(),
        ))
        .await
        .unwrap();
    let ack = socket.next().await.unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack:?}");
    socket
        .send(Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {
                "query": "subscription($a: String!, $p: ID!) { events(after: $a, podId: $p) { position eventType } }",
                "variables": {"a": start, "p": pod}}})
            .to_string(),
        ))
        .await
        .unwrap();

    let mut delays = Vec::new();
    for n in 0..30 {
        let sent = Instant::now();
        let (_, position) = create(&client, &a.url(), &pod, &format!("Live {n}"))
            .await
            .unwrap();
        let acknowledged = sent.elapsed();
        let arrived = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let message = socket.next().await.unwrap().unwrap();
                let Ok(text) = message.to_text() else {
                    continue;
                };
                let value: Value = serde_json::from_str(text).unwrap();
                assert_ne!(value["type"], "error", "{value}");
                if value["payload"]["data"]["events"]["position"] == position.as_str() {
                    return;
                }
            }
        })
        .await;
        assert!(
            arrived.is_ok(),
            "position {position} written on A never reached B's feed"
        );
        delays.push(sent.elapsed().saturating_sub(acknowledged));
    }
    delays.sort();
    eprintln!(
        "A to B feed, after A's acknowledgement: p50 {:?}, max {:?} (30 changes; the bench \
         measures the distribution)",
        delays[delays.len() / 2],
        delays[delays.len() - 1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commands_on_one_pod_through_two_replicas_lose_no_update() {
    let url = postgres::cluster().database().await;
    let a = Replica::start(&url, true);
    let b = Replica::start(&url, false);
    let client = reqwest::Client::new();
    let pod = acquisition_pod(&client, &a).await;
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let target = if w % 2 == 0 { a.url() } else { b.url() };
            tokio::spawn(create_until(
                target,
                pod.clone(),
                stop.clone(),
                format!("W{w}"),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for writer in writers {
        let done = writer.await.unwrap();
        assert!(!done.is_empty(), "every writer was answered");
        acknowledged.extend(done);
    }
    let at = highest(&acknowledged);
    for replica in [&a, &b] {
        let seen = backlog(&client, &replica.url(), &pod, &at).await;
        let wrong: Vec<_> = acknowledged
            .iter()
            .filter(|(id, _)| seen.get(id) != Some(&1))
            .collect();
        assert!(
            wrong.is_empty(),
            "lost or repeated on {}: {wrong:?}",
            replica.addr
        );
        assert!(seen.values().all(|n| *n == 1));
    }
    eprintln!(
        "{} items created by 8 writers through two replicas, each once on both",
        acknowledged.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_under_load_loses_no_acknowledged_mutation() {
    let url = postgres::cluster().database().await;
    let mut a = Replica::start(&url, true);
    let b = Replica::start(&url, false);
    let client = reqwest::Client::new();
    let pod = acquisition_pod(&client, &a).await;
    let (stop_a, stop_b) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let on_a: Vec<_> = (0..6)
        .map(|w| {
            tokio::spawn(create_until(
                a.url(),
                pod.clone(),
                stop_a.clone(),
                format!("A{w}"),
            ))
        })
        .collect();
    let on_b: Vec<_> = (0..2)
        .map(|w| {
            tokio::spawn(create_until(
                b.url(),
                pod.clone(),
                stop_b.clone(),
                format!("B{w}"),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    a.kill();
    // A's writers see their connections drop and stop; B's carry on a while.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_a.store(true, Ordering::Relaxed);
    stop_b.store(true, Ordering::Relaxed);
    let mut from_a = Vec::new();
    for writer in on_a {
        from_a.extend(writer.await.unwrap());
    }
    let mut from_b = Vec::new();
    for writer in on_b {
        from_b.extend(writer.await.unwrap());
    }
    assert!(from_a.len() > 6, "the load ran on A: {}", from_a.len());
    let all: Vec<_> = from_a.iter().chain(&from_b).cloned().collect();
    let seen = backlog(&client, &b.url(), &pod, &highest(&all)).await;
    let wrong: Vec<_> = all
        .iter()
        .filter(|(id, _)| seen.get(id) != Some(&1))
        .collect();
    assert!(
        wrong.is_empty(),
        "lost or repeated after A's SIGKILL: {wrong:?}"
    );
    assert!(seen.values().all(|n| *n == 1), "an item appears twice");
    // And B keeps taking writes.
    assert!(create(&client, &b.url(), &pod, "After").await.is_some());
    eprintln!(
        "A acknowledged {} and B {} mutations; after SIGKILL of A every one is on B, once",
        from_a.len(),
        from_b.len()
    );
}

//! `just bench` (issue 16): live-feed delivery across replicas. Two servers (this binary re-run
//! as children, `podledger_server::start` on one PostgreSQL database of a throw-away durable
//! cluster; A seeds the demo organisation). `BENCH_SUBSCRIBERS` (default 100) graphql-transport-ws
//! clients subscribe to the Acquisition pod's `events` feed on replica B, and as many on A (the
//! same-replica baseline, side by side); a writer creates items through A at `BENCH_RATE`
//! (default 20) per second for `BENCH_SECS` (default 10). Latency runs from the moment the
//! writer sent the mutation to the moment a subscriber has read the event's frame — A's commit,
//! the notification, B's read of the log and fold, and the fan-out.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use podledger_api::AuthConfig;
use podledger_server::{ServerConfig, demo, start};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

#[path = "../../eventstore/tests/support/postgres.rs"]
#[allow(dead_code)] // the tests' part of it
mod postgres;

const CHILD: &str = "PODLEDGER_BENCH_REPLICA_SERVE";
const SECRET: &[u8] = b"bench-secret-bench-secret-bench-secret";

fn auth() -> AuthConfig {
    AuthConfig::new(SECRET.to_vec(), "podledger", "podledger")
}

fn token() -> String {
    auth().mint_member(
        demo::org_id(),
        demo::key_people()[2].2,
        chrono::Duration::hours(1),
    )
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The child: a replica on the database `url` (with the demo when `demo`); prints its address,
/// then serves until killed.
fn serve(url: &str, demo: bool) -> anyhow::Result<()> {
    tokio::runtime::Runtime::new()?.block_on(async {
        let mut config = ServerConfig::new(url, auth());
        config.demo = demo;
        let running = start(config).await?;
        println!("LISTEN {}", running.addr);
        running.server.await??;
        Ok(())
    })
}

struct Child(std::process::Child, SocketAddr);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(url: &str, demo: bool) -> anyhow::Result<Child> {
    let mut process = std::process::Command::new(std::env::current_exe()?)
        .env(CHILD, url)
        .env("BENCH_REPLICA_DEMO", if demo { "1" } else { "0" })
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(process.stdout.take().expect("stdout")),
        &mut line,
    )?;
    let addr = line
        .trim()
        .strip_prefix("LISTEN ")
        .ok_or_else(|| anyhow::anyhow!("child said {line:?}"))?
        .parse()?;
    Ok(Child(process, addr))
}

async fn graphql(client: &reqwest::Client, addr: SocketAddr, body: Value) -> Value {
    let answer: Value = client
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(token())
        .json(&body)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    assert!(answer["errors"].is_null(), "{answer}");
    answer["data"].clone()
}

/// Each event position a subscriber read, with when.
type Received = Arc<Mutex<Vec<(u64, Instant)>>>;

/// A subscriber to the pod's `events` feed after `after`, on `addr`; returns once subscribed.
async fn subscribe(addr: SocketAddr, pod: &str, after: u64, received: Received) {
    let mut request = format!("ws://{addr}/graphql")
        .into_client_request()
        .expect("URL");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    socket
        .send(Message::text(
            json!({"type": "connection_init", "payload": {"token": token()}}).to_string(),
        ))
        .await
        .expect("init");
    let _ack = socket.next().await;
    socket
        .send(Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {
                "query": "subscription($a: String!, $p: ID!) { events(after: $a, podId: $p) { position } }",
                "variables": {"a": after.to_string(), "p": pod}}})
            .to_string(),
        ))
        .await
        .expect("subscribe");
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            let at = Instant::now();
            let Ok(text) = message.to_text() else {
                continue;
            };
            let Ok(value) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            if let Some(position) = value["payload"]["data"]["events"]["position"]
                .as_str()
                .and_then(|p| p.parse().ok())
            {
                received.lock().expect("lock").push((position, at));
            }
        }
    });
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn main() -> anyhow::Result<()> {
    if let Ok(url) = std::env::var(CHILD) {
        return serve(
            &url,
            std::env::var("BENCH_REPLICA_DEMO").as_deref() == Ok("1"),
        );
    }
    let (subscribers, rate, secs) = (
        setting("BENCH_SUBSCRIBERS", 100),
        setting("BENCH_RATE", 20),
        setting("BENCH_SECS", 10),
    );
    tokio::runtime::Runtime::new()?.block_on(async {
        let url = postgres::durable_cluster().database().await;
        let a = spawn(&url, true)?;
        let b = spawn(&url, false)?;
        let client = reqwest::Client::new();
        let pod = podledger_api::ids::to_id("Pod", demo::id("Acquisition"));
        let create = |n: u64| {
            json!({"query": "mutation($i: CreateItemInput!) { createItem(input: $i) { position } }",
                "variables": {"i": {"podId": pod.as_str(), "title": format!("Feed {n}"),
                "outputCategory": "email", "acceptanceCriteria": "Live", "estimate": 1}}})
        };
        let first = graphql(&client, a.1, create(0)).await;
        let after: u64 = first["createItem"]["position"]
            .as_str()
            .and_then(|p| p.parse().ok())
            .expect("position");
        // B has folded the organisation before anyone subscribes there.
        graphql(
            &client,
            b.1,
            json!({"query": "query($p: ID!, $m: String) { pod(id: $p, minPosition: $m) { id } }",
                "variables": {"p": pod.as_str(), "m": after.to_string()}}),
        )
        .await;
        let (on_b, on_a): (Received, Received) = Default::default();
        for _ in 0..subscribers {
            subscribe(b.1, pod.as_str(), after, on_b.clone()).await;
            subscribe(a.1, pod.as_str(), after, on_a.clone()).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut sent = std::collections::HashMap::new();
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
        for n in 1..=rate * secs {
            tick.tick().await;
            let at = Instant::now();
            let done = graphql(&client, a.1, create(n)).await;
            let position: u64 = done["createItem"]["position"]
                .as_str()
                .and_then(|p| p.parse().ok())
                .expect("position");
            sent.insert(position, at);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        println!(
            "{subscribers} subscribers on each replica, {} items created through A at {rate}/s; \
             from the mutation's send to a subscriber's receipt of its event\n",
            sent.len()
        );
        println!("| subscribers on | frames | missing | p50 ms | p99 ms | max ms |");
        println!("|---|---:|---:|---:|---:|---:|");
        for (name, received) in [
            ("B (the other replica)", &on_b),
            ("A (the writer's replica)", &on_a),
        ] {
            let received = received.lock().expect("lock");
            let mut delays: Vec<f64> = received
                .iter()
                .filter_map(|(p, at)| Some(at.duration_since(*sent.get(p)?).as_secs_f64() * 1e3))
                .collect();
            delays.sort_by(f64::total_cmp);
            let expected = sent.len() * subscribers as usize;
            println!(
                "| {name} | {} | {} | {:.1} | {:.1} | {:.1} |",
                delays.len(),
                expected.saturating_sub(delays.len()),
                percentile(&delays, 0.5),
                percentile(&delays, 0.99),
                delays.last().copied().unwrap_or_default()
            );
        }
        Ok(())
    })
}

//! `just bench` (hot pod over HTTP): 64 clients each sending `createItem` for ONE pod through
//! `POST /graphql` (auth, limits, the command handler, the wait for the read models — what a
//! client's acknowledgement includes) for `BENCH_SECS` (default 3), against the store's own
//! group commit of single-event appends from 64 writers on the same disk, side by side in one
//! run. Server and load generator share the machine's cores. Every acknowledged mutation is
//! counted in the log afterwards. Medians of `BENCH_ROUNDS` (default 3).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use podledger_api::AuthConfig;
use podledger_eventstore::EventStore as _;
use podledger_server::demo;
use serde_json::json;

#[path = "../../eventstore/benches/support/baseline.rs"]
mod baseline;
#[allow(dead_code)]
mod support;

use baseline::{WRITERS, group_commit, median, runtime, setting};

/// Events in the demo's Acquisition pod stream.
async fn acquisition_events(running: &podledger_server::Running) -> u64 {
    let stream = format!("pod-{}", demo::id("Acquisition"));
    let store = running.api.projections().store();
    store
        .read_stream(&stream, 0, usize::MAX >> 1)
        .await
        .unwrap()
        .len() as u64
}

/// Acknowledged `createItem` mutations per second on the demo's Acquisition pod.
async fn over_http(dir: &std::path::Path, round: usize, secs: f64) -> f64 {
    let auth = AuthConfig::new(
        b"hot-pod-bench-secret-hot-pod-bench".to_vec(),
        "podledger",
        "podledger",
    );
    // One PO's token stands for 64 integrations, so the per-caller share (8 running requests)
    // would refuse most of them: lifted here, every other limit as served.
    let running = support::demo_server(&dir.join(format!("api-{round}.db")), &auth).await;
    let url = format!("http://{}/graphql", running.addr);
    let po = demo::key_people()[2].2;
    let token = auth.mint_member(demo::org_id(), po, chrono::Duration::hours(1));
    let pod = podledger_api::ids::to_id("Pod", demo::id("Acquisition")).0;
    let body = json!({
        "query": "mutation($i: CreateItemInput!) { createItem(input: $i) { position } }",
        "variables": {"i": {"podId": pod, "title": "Spring webinar landing page",
                            "outputCategory": "landing page", "estimate": 3}}
    })
    .to_string();
    let before = acquisition_events(&running).await;
    let acknowledged = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(WRITERS)
        .build()
        .unwrap();
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (client, url, token, body) =
                (client.clone(), url.clone(), token.clone(), body.clone());
            let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let answer: serde_json::Value = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    assert!(
                        answer["data"]["createItem"]["position"].is_string(),
                        "{answer}"
                    );
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let acknowledged = acknowledged.load(Ordering::Relaxed);
    let after = acquisition_events(&running).await;
    assert_eq!(
        after - before,
        acknowledged,
        "every acknowledged mutation is in the log, once"
    );
    running.handle.stop(true).await;
    acknowledged as f64 / elapsed
}

fn main() {
    let (secs, rounds): (f64, usize) = (setting("BENCH_SECS", 3.0), setting("BENCH_ROUNDS", 3));
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (mut api, mut group, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    rt.block_on(async {
        for round in 0..rounds {
            let a = over_http(dir.path(), round, secs).await;
            let g = group_commit(dir.path(), round, secs).await;
            println!(
                "round {round}: one pod over HTTP {a:.0} mutations/s, group commit {g:.0} appends/s, ratio {:.2}",
                a / g
            );
            api.push(a);
            group.push(g);
            ratios.push(a / g);
        }
    });
    println!(
        "\n| {WRITERS} clients, {secs} s, median of {rounds} | per second | vs group commit |"
    );
    println!("|---|---:|---:|");
    println!(
        "| store group commit, single-event appends to their own streams | {:.0} | 1.00 |",
        median(&mut group)
    );
    println!(
        "| `createItem` on one pod over HTTP, acknowledged (read models caught up) | {:.0} | {:.2} (median of the rounds' ratios) |",
        median(&mut api),
        median(&mut ratios)
    );
}

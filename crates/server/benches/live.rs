//! `just bench` (subscriptions part): 1,000, 5,000 and 10,000 concurrent graphql-transport-ws
//! subscribers on one pod's sprint board while the pod's product owner edits a board item at a
//! fixed rate; commit → client-receipt latency (p50/p99), the server's memory per idle
//! connection, and the CPU each message costs the server and the client.
//!
//! The server is this binary re-run as a child (`podledger_server::start`, demo data seeded,
//! the real routes); the subscribers and the writer run in this process. Latency runs from the
//! event's commit (the time the store recorded for it, read from the database after each level;
//! the fsync comes after it, so it is inside the figure) to the moment a subscriber has read the
//! frame that shows the edit; the p99 from the moment the writer sent the mutation is printed
//! beside it. Memory is the server's resident set growth divided by the connections added (each
//! connected, acknowledged and subscribed).

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use podledger_api::AuthConfig;
use podledger_api::ids::to_id;
use podledger_domain::ids::PodId;
use podledger_server::ws::WsConfig;
use podledger_server::{ServerConfig, demo, start};
use serde_json::{Value, json};
use std::sync::Mutex;
use support::Cpu;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

const CHILD: &str = "PODLEDGER_BENCH_LIVE_SERVE";
const SECRET: &[u8] = b"bench-secret-bench-secret-bench-secret";
const BOARD: &str =
    "subscription($pod: ID!) { sprintBoard(podId: $pod) { items { nodes { id title status } } } }";
/// Marks a title written by the bench: `bench-<sequence>-`.
const MARK: &str = "bench-";

fn auth() -> AuthConfig {
    AuthConfig::new(SECRET.to_vec(), "podledger", "podledger")
}

fn acquisition() -> PodId {
    PodId(podledger_server::demo::id("Acquisition"))
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The child: the real server over a seeded database.
async fn serve(dir: &str) -> anyhow::Result<()> {
    let running = start(ServerConfig {
        demo: true,
        ws: WsConfig {
            // A bench client connects thousands of sockets in bursts.
            init_timeout: Duration::from_secs(60),
            ..WsConfig::default()
        },
        // 0: one per core, the server's default.
        workers: usize::try_from(env("BENCH_SERVER_WORKERS", 0)).unwrap_or(0),
        ..ServerConfig::new(format!("sqlite://{dir}/bench.db"), auth())
    })
    .await?;
    println!("LISTEN {}", running.addr);
    running.server.await??;
    Ok(())
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

/// When each edit was sent (µs since `epoch`) and the position of its event, by sequence
/// number.
struct Sent {
    epoch: Instant,
    /// The wall clock at `epoch`, µs since 1970 (commit times are wall-clock times).
    epoch_wall: i64,
    at: Vec<AtomicU64>,
    position: Vec<AtomicU64>,
}

/// Which edit a subscriber saw, and when (µs since `epoch`).
type Receipts = Arc<Mutex<Vec<(usize, u64)>>>;

/// One subscriber: connects, acknowledges, subscribes, waits for the first board, then hands
/// its socket to the reader thread ([`read_all`]), which records every bench edit it shows.
async fn subscriber(
    addr: SocketAddr,
    token: String,
    pod: String,
    readers: std::sync::mpsc::Sender<std::net::TcpStream>,
    ready: tokio::sync::mpsc::Sender<()>,
) {
    let mut request = format!("ws://{addr}/graphql")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let mut socket = loop {
        // tungstenite zeroes its whole read buffer (128 KiB by default) on every read; with
        // 10,000 sockets that memset alone was a sixth of the machine. A board is ~2 KiB.
        let config = WebSocketConfig::default().read_buffer_size(8 * 1024);
        match tokio_tungstenite::connect_async_with_config(request.clone(), Some(config), true)
            .await
        {
            Ok((socket, _)) => break socket,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    socket
        .send(Message::text(
            json!({"type": "connection_init", "payload": {"token": token}}).to_string(),
        ))
        .await
        .unwrap();
    socket
        .send(Message::text(
            json!({"id": "b", "type": "subscribe", "payload": {"query": BOARD, "variables": {"pod": pod}}})
                .to_string(),
        ))
        .await
        .unwrap();
    // The handshake and the first board go through tungstenite; after that the server sends
    // nothing until an edit, so nothing is buffered and the frames can be read off the socket
    // directly — a general-purpose client cost more CPU per message than the server's send.
    while let Some(Ok(frame)) = socket.next().await {
        if let Message::Text(text) = frame
            && text.contains("\"next\"")
        {
            break;
        }
    }
    let MaybeTlsStream::Plain(tcp) = socket.into_inner() else {
        unreachable!("ws:// is plain TCP")
    };
    readers
        .send(tcp.into_std().expect("a plain socket"))
        .expect("the reader thread");
    let _ = ready.send(()).await;
}

/// One reader thread's share of the subscribers' sockets after their first board (one thread
/// reads them all unless `BENCH_READERS` says otherwise), polled with epoll, level-triggered: a
/// socket with something to read is read until it has nothing, each data frame checked for the
/// newest bench edit it shows. No task per socket: the client shares the 2 cores with the
/// server, so it must cost as little per message as it can.
fn read_all(
    sockets: &std::sync::mpsc::Receiver<std::net::TcpStream>,
    sent: &Sent,
    receipts: &Receipts,
) {
    use rustix::event::epoll;
    let poll = epoll::create(epoll::CreateFlags::CLOEXEC).expect("epoll");
    let mut readers: Vec<Option<Reader>> = Vec::new();
    let mut events = Vec::with_capacity(1024);
    // New sockets are taken between waits: wait at most 10 ms while subscribers connect.
    let wait = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 10_000_000,
    };
    loop {
        while let Ok(stream) = sockets.try_recv() {
            epoll::add(
                &poll,
                &stream,
                epoll::EventData::new_u64(readers.len() as u64),
                epoll::EventFlags::IN,
            )
            .expect("epoll add");
            readers.push(Some(Reader {
                stream,
                // Its buffer allocated and touched now: faulting in 10,000 fresh pages on
                // the first edit's messages would be the client's cost, not the server's.
                frames: Frames {
                    buffer: vec![0; 4096],
                    ..Frames::default()
                },
                last_seq: None,
            }));
        }
        events.clear();
        epoll::wait(
            &poll,
            rustix::buffer::spare_capacity(&mut events),
            Some(&wait),
        )
        .expect("epoll wait");
        for event in &events {
            let index = event.data.u64() as usize;
            let open = readers[index]
                .as_mut()
                .is_some_and(|reader| reader.read_ready(sent, receipts));
            if !open && let Some(reader) = readers[index].take() {
                let _ = epoll::delete(&poll, &reader.stream);
            }
        }
    }
}

/// One subscriber's socket in the reader thread.
struct Reader {
    stream: std::net::TcpStream,
    frames: Frames,
    last_seq: Option<usize>,
}

impl Reader {
    /// Reads what has arrived and records the bench edits it shows; `false` once closed.
    fn read_ready(&mut self, sent: &Sent, receipts: &Receipts) -> bool {
        // A read that left room in the buffer took all there was: epoll (level-triggered) says
        // when more comes, so no second read is spent to hear "would block".
        let mut drained = false;
        loop {
            while let Some(frame) = self.frames.pop() {
                let Frame::Data(payload) = frame else {
                    return false;
                };
                let now = sent.epoch.elapsed().as_micros() as u64;
                // The newest bench title on the board is the edit this message shows.
                let seq = memchr::memmem::find_iter(payload, MARK.as_bytes())
                    .filter_map(|i| {
                        let digits = &payload[i + MARK.len()..];
                        let end = digits.iter().position(|b| !b.is_ascii_digit())?;
                        std::str::from_utf8(&digits[..end])
                            .ok()?
                            .parse::<usize>()
                            .ok()
                    })
                    .max();
                if let Some(seq) = seq
                    && self.last_seq != Some(seq)
                {
                    self.last_seq = Some(seq);
                    if sent.at[seq].load(Ordering::Acquire) > 0 {
                        receipts.lock().expect("receipts").push((seq, now));
                    }
                }
            }
            if drained {
                return true;
            }
            match self.frames.fill(&mut self.stream) {
                Ok((0, _)) => return false,
                Ok((read, room)) => drained = read < room,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
        }
    }
}

/// A minimal reader of server-to-client WebSocket frames (unmasked, RFC 6455 §5.2) from a
/// non-blocking socket: [`Frames::fill`] reads what has arrived, [`Frames::pop`] hands out
/// the complete frames.
#[derive(Default)]
struct Frames {
    buffer: Vec<u8>,
    start: usize,
    end: usize,
}

/// A frame the client acts on (pings and pongs are skipped).
enum Frame<'a> {
    /// The payload of a data frame.
    Data(&'a [u8]),
    Close,
}

impl Frames {
    /// The next complete frame; `None` when no complete frame is buffered.
    fn pop(&mut self) -> Option<Frame<'_>> {
        loop {
            let (header, length, opcode) = frame_at(&self.buffer[self.start..self.end])?;
            if self.end - self.start < header + length {
                return None;
            }
            let payload = self.start + header..self.start + header + length;
            self.start = payload.end;
            match opcode {
                0x8 => return Some(Frame::Close),
                0x0..=0x2 => return Some(Frame::Data(&self.buffer[payload])),
                _ => {}
            }
        }
    }

    /// Reads what the socket has into the buffer (making room first): bytes read, and the room
    /// there was.
    fn fill(&mut self, stream: &mut std::net::TcpStream) -> std::io::Result<(usize, usize)> {
        use std::io::Read;
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        if self.buffer.len() - self.end < 4096 {
            self.buffer.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
            if self.buffer.len() - self.end < 4096 {
                self.buffer.resize(self.end + 4096, 0);
            }
        }
        let room = self.buffer.len() - self.end;
        let read = stream.read(&mut self.buffer[self.end..])?;
        self.end += read;
        Ok((read, room))
    }
}

/// Header length, payload length and opcode of the frame at the start of `bytes`, once its
/// header is complete.
fn frame_at(bytes: &[u8]) -> Option<(usize, usize, u8)> {
    let (&first, &second) = (bytes.first()?, bytes.get(1)?);
    let opcode = first & 0x0f;
    match second & 0x7f {
        126 => Some((
            4,
            usize::from(u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?])),
            opcode,
        )),
        127 => {
            let length: [u8; 8] = bytes.get(2..10)?.try_into().ok()?;
            Some((
                10,
                usize::try_from(u64::from_be_bytes(length)).ok()?,
                opcode,
            ))
        }
        short => Some((2, usize::from(short), opcode)),
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

async fn graphql(client: &reqwest::Client, addr: SocketAddr, token: &str, body: Value) -> Value {
    client
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The commit time (µs since 1970) of each event at `positions`, read from the server's file.
async fn commit_times(
    db: &sqlx::SqlitePool,
    positions: &[u64],
) -> anyhow::Result<std::collections::HashMap<u64, i64>> {
    let (low, high) = (
        positions.iter().min().copied().unwrap_or(0),
        positions.iter().max().copied().unwrap_or(0),
    );
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT position, recorded_at FROM events WHERE position BETWEEN ?1 AND ?2")
            .bind(low as i64)
            .bind(high as i64)
            .fetch_all(db)
            .await?;
    Ok(rows.into_iter().map(|(p, at)| (p as u64, at)).collect())
}

#[allow(clippy::too_many_lines)]
async fn measure(addr: SocketAddr, server: u32, dir: &std::path::Path) -> anyhow::Result<()> {
    let levels: Vec<usize> = std::env::var("BENCH_SUBSCRIBERS")
        .unwrap_or_else(|_| "1000,5000,10000".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let rate = env("BENCH_RATE", 5);
    let secs = env("BENCH_SECS", 10);
    let key = demo::key_people();
    let (admin, po) = (key[0].2, key[2].2);
    let reader = auth().mint_member(demo::org_id(), admin, chrono::Duration::hours(2));
    let writer = auth().mint_member(demo::org_id(), po, chrono::Duration::hours(2));
    let pod = to_id("Pod", acquisition().as_uuid()).0;
    let client = reqwest::Client::new();
    let board = graphql(
        &client,
        addr,
        &reader,
        json!({"query": "query($pod: ID!) { pod(id: $pod) { currentSprint { items { nodes { id } } } } }", "variables": {"pod": pod}}),
    )
    .await;
    let item = board["data"]["pod"]["currentSprint"]["items"]["nodes"][0]["id"].clone();
    anyhow::ensure!(item.is_string(), "no board item: {board}");

    let edits_per_level = (rate * secs) as usize;
    let edits = edits_per_level * levels.len();
    let sent = Arc::new(Sent {
        epoch: Instant::now(),
        epoch_wall: chrono::Utc::now().timestamp_micros(),
        at: (0..=edits).map(|_| AtomicU64::new(0)).collect(),
        position: (0..=edits).map(|_| AtomicU64::new(0)).collect(),
    });
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}?mode=ro",
        dir.join("bench.db").display()
    ))
    .await?;
    let baseline = rss_kib(server);
    println!(
        "server RSS before any connection: {:.1} MiB; {rate} edits/s for {secs} s per level\n",
        baseline as f64 / 1024.0
    );
    println!(
        "| subscribers | messages received | p50 ms | p99 ms | max ms | p99 ms from the mutation's send | server RSS MiB | KiB per connection | server µs/message user + kernel | client µs/message user + kernel |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    // Subscribers connected so far; each task ends once its socket is with the reader thread.
    let mut connected = 0usize;
    let receipts: Receipts = Arc::new(Mutex::new(Vec::new()));
    // The reader threads, each with its share of the sockets.
    let readers = usize::try_from(env("BENCH_READERS", 1)).unwrap_or(1).max(1);
    let sockets: Vec<_> = (0..readers)
        .map(|_| {
            let (sockets, subscribed) = std::sync::mpsc::channel();
            let (sent, receipts) = (sent.clone(), receipts.clone());
            std::thread::spawn(move || read_all(&subscribed, &sent, &receipts));
            sockets
        })
        .collect();
    let mut seq = 0usize;
    for &level in &levels {
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(1024);
        let adding = level.saturating_sub(connected);
        for _ in 0..adding {
            tokio::spawn(subscriber(
                addr,
                reader.clone(),
                pod.clone(),
                sockets[connected % readers].clone(),
                ready_tx.clone(),
            ));
            connected += 1;
            if connected.is_multiple_of(200) {
                tokio::task::yield_now().await;
            }
        }
        drop(ready_tx);
        for _ in 0..adding {
            ready_rx.recv().await;
        }
        // Idle a moment so the server's allocations settle.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rss = rss_kib(server);
        receipts.lock().expect("receipts").clear();
        let first_seq = seq + 1;
        let cpu = Cpu::start(server);
        let started = Instant::now();
        for n in 0..edits_per_level {
            let due = started + Duration::from_secs_f64(n as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
            seq += 1;
            sent.at[seq].store(sent.epoch.elapsed().as_micros() as u64, Ordering::Release);
            let title = format!("{MARK}{seq}-");
            let client = client.clone();
            let writer = writer.clone();
            let (pod, item) = (pod.clone(), item.clone());
            let sent = sent.clone();
            tokio::spawn(async move {
                let response = graphql(&client, addr, &writer, json!({
                    "query": "mutation($pod: ID!, $item: ID!, $t: String!) { editItem(podId: $pod, itemId: $item, title: $t) { position } }",
                    "variables": {"pod": pod, "item": item, "t": title}})).await;
                assert!(response["errors"].is_null(), "{response}");
                let position = response["data"]["editItem"]["position"]
                    .as_str()
                    .and_then(|p| p.parse().ok())
                    .expect("the mutation's position");
                sent.position[seq].store(position, Ordering::Release);
            });
        }
        // Let the last messages arrive.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let seen = std::mem::take(&mut *receipts.lock().expect("receipts"));
        let positions: Vec<u64> = (first_seq..=seq)
            .map(|s| sent.position[s].load(Ordering::Acquire))
            .collect();
        anyhow::ensure!(
            !positions.contains(&0),
            "an edit did not return its position"
        );
        let committed = commit_times(&db, &positions).await?;
        // From the commit (the time the store recorded for the event) to the receipt: what
        // the issue names. From the send: the same plus the HTTP request and the decision.
        let since_commit = |s: usize, at: u64| {
            let commit = committed[&sent.position[s].load(Ordering::Acquire)];
            u64::try_from(sent.epoch_wall + at as i64 - commit).unwrap_or(0)
        };
        let mut lat: Vec<u64> = seen.iter().map(|&(s, at)| since_commit(s, at)).collect();
        lat.sort_unstable();
        // BENCH_CDF: where the p99 comes from — the distribution, and each edit's own p99 (one
        // slow edit of fifty decides the p99 of all messages).
        if std::env::var_os("BENCH_CDF").is_some() {
            let cdf: Vec<String> = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]
                .iter()
                .map(|p| format!("p{}={:.1}", p * 100.0, percentile(&lat, *p)))
                .collect();
            eprintln!("CDF {}", cdf.join(" "));
            let mut by_edit = std::collections::BTreeMap::<usize, Vec<u64>>::new();
            for &(s, at) in &seen {
                by_edit.entry(s).or_default().push(since_commit(s, at));
            }
            let p99s: Vec<u64> = by_edit
                .values_mut()
                .map(|v| {
                    v.sort_unstable();
                    v[v.len() * 99 / 100]
                })
                .collect();
            eprintln!(
                "each edit's p99, ms, in order: {:?}",
                p99s.iter().map(|m| m / 1000).collect::<Vec<_>>()
            );
        }
        let mut from_send: Vec<u64> = seen
            .iter()
            .map(|&(s, at)| at.saturating_sub(sent.at[s].load(Ordering::Acquire)))
            .collect();
        from_send.sort_unstable();
        let (server_cpu, client_cpu) = cpu.used();
        // Clock ticks are 10 ms = 10,000 µs.
        let per = |t: u64| t as f64 * 10_000.0 / lat.len().max(1) as f64;
        println!(
            "| {level} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} + {:.1} | {:.1} + {:.1} |",
            lat.len(),
            percentile(&lat, 0.50),
            percentile(&lat, 0.99),
            percentile(&lat, 1.0),
            percentile(&from_send, 0.99),
            rss as f64 / 1024.0,
            rss.saturating_sub(baseline) as f64 / level as f64,
            per(server_cpu.user),
            per(server_cpu.kernel),
            per(client_cpu.user),
            per(client_cpu.kernel),
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    if let Ok(dir) = std::env::var(CHILD) {
        return actix_web::rt::System::new().block_on(serve(&dir));
    }
    let dir = tempfile::tempdir()?;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .env(CHILD, dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut line,
    )?;
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("LISTEN ")
        .ok_or_else(|| anyhow::anyhow!("child said {line:?}"))?
        .parse()?;
    // The runtime that connects the subscribers and sends the edits; one more thread reads
    // every subscriber's socket after its first board (`read_all`).
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::try_from(env("BENCH_CLIENT_THREADS", 1)).unwrap_or(1))
        .enable_all()
        .build()?
        .block_on(measure(addr, child.id(), dir.path()));
    child.kill()?;
    child.wait()?;
    result
}

//! The load generator the HTTP benches share: a lean keep-alive client, and an open loop paced
//! by a `timerfd` (requests released at fixed times, latency counted from when each was due).
#![allow(dead_code)] // each bench uses its part

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A lean HTTP/1.1 keep-alive client (one request at a time per connection, the request bytes
/// built once): on a 2-core machine the load generator shares the CPU with the server, so it
/// must cost as little as possible — a general-purpose client takes more CPU than the handler.
pub struct Conn {
    addr: SocketAddr,
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
}

/// How many times the server closed a kept-alive connection (the client then reconnects).
pub static RECONNECTS: AtomicU64 = AtomicU64::new(0);

impl Conn {
    pub async fn open(addr: SocketAddr) -> Self {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            addr,
            stream,
            buf: Vec::with_capacity(8192),
        }
    }

    /// Sends `request` and returns the response body (the status must be 200); when the
    /// server has closed the idle connection, reconnects and sends again.
    pub async fn call(&mut self, request: &[u8]) -> &[u8] {
        if !self.exchange(request).await {
            RECONNECTS.fetch_add(1, Ordering::Relaxed);
            *self = Self::open(self.addr).await;
            assert!(
                self.exchange(request).await,
                "server closed a fresh connection"
            );
        }
        let head_end = self
            .buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("head")
            + 4;
        &self.buf[head_end..]
    }

    /// One request/response; `false` if the connection was closed before the response.
    async fn exchange(&mut self, request: &[u8]) -> bool {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        if self.stream.write_all(request).await.is_err() {
            return false;
        }
        self.buf.clear();
        let mut chunk = [0u8; 8192];
        let (head_end, length) = loop {
            let n = self.stream.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                return false;
            }
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end]).expect("ascii head");
                assert!(head.starts_with("HTTP/1.1 200"), "{head}");
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .expect("content-length");
                break (end + 4, length);
            }
        };
        while self.buf.len() < head_end + length {
            let n = self.stream.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                return false;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        self.buf.truncate(head_end + length);
        true
    }
}

/// Requests released by the pacer and not yet taken by a connection: their due times (ns) and
/// their indexes in the run (0, 1, 2…), which a mixed load maps to a request kind.
#[derive(Default)]
pub struct Due {
    queue: std::sync::Mutex<Released>,
    ready: tokio::sync::Notify,
}

#[derive(Default)]
struct Released {
    waiting: std::collections::VecDeque<(u64, u64)>,
    /// The pacer has released the run's last request.
    finished: bool,
}

impl Due {
    pub fn release(&self, at: u64, k: u64) {
        self.queue.lock().expect("queue").waiting.push_back((at, k));
        self.ready.notify_one();
    }

    pub fn finish(&self) {
        self.queue.lock().expect("queue").finished = true;
        self.ready.notify_waiters();
    }

    /// The oldest released request, waiting for one; `None` once the run is over.
    pub async fn take(&self) -> Option<(u64, u64)> {
        loop {
            let ready = self.ready.notified();
            {
                let mut queue = self.queue.lock().expect("queue");
                if let Some(due) = queue.waiting.pop_front() {
                    return Some(due);
                }
                if queue.finished {
                    return None;
                }
            }
            ready.await;
        }
    }
}

/// The open loop's clock: a periodic `timerfd` on `CLOCK_MONOTONIC` (tokio's timers tick in
/// milliseconds, which would release the load in bursts of a millisecond's worth).
pub mod pacer {
    use rustix::time::{
        ClockId, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec,
    };
    use std::os::fd::OwnedFd;
    use tokio::io::unix::AsyncFd;

    /// `CLOCK_MONOTONIC` in nanoseconds (the clock the timer is armed on).
    pub fn now_ns() -> u64 {
        let now = rustix::time::clock_gettime(ClockId::Monotonic);
        now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
    }

    /// How often the pacer wakes to release the requests due by then (each is released at
    /// most this late, and the latency counts from when it was due).
    pub const TICK_NS: u64 = 100_000;

    /// A periodic timer: one `timerfd` armed once, read at every expiry.
    pub struct Ticks(AsyncFd<OwnedFd>);

    impl Ticks {
        /// Ticks from `start_ns` on, every `period_ns`.
        pub fn every(start_ns: u64, period_ns: u64) -> Self {
            let fd = rustix::time::timerfd_create(
                TimerfdClockId::Monotonic,
                TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
            )
            .expect("timerfd_create");
            let at = |ns: u64| Timespec {
                tv_sec: (ns / 1_000_000_000) as _,
                tv_nsec: (ns % 1_000_000_000) as _,
            };
            let spec = Itimerspec {
                it_interval: at(period_ns),
                it_value: at(start_ns),
            };
            rustix::time::timerfd_settime(&fd, TimerfdTimerFlags::ABSTIME, &spec)
                .expect("timerfd_settime");
            // Deprecated for fds the AsyncFd does not own (they could be closed while
            // registered); this one owns its fd.
            #[allow(deprecated)]
            Self(AsyncFd::new(fd).expect("register timerfd"))
        }

        /// Waits for the next expiry (returns at once if some passed unread).
        pub async fn next(&self) {
            loop {
                let mut guard = self.0.readable().await.expect("timerfd");
                let mut expirations = [0u8; 8];
                if rustix::io::read(self.0.get_ref(), &mut expirations) == Ok(8) {
                    return;
                }
                guard.clear_ready();
            }
        }
    }
}

pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// What a load sends: request `k` of a run (0, 1, 2…), and the check of its answer.
pub trait Requests: Send + Sync + 'static {
    /// The bytes of request `k` (a whole HTTP/1.1 request).
    fn request(&self, k: u64) -> std::borrow::Cow<'_, [u8]>;
    /// Checks the body of request `k`'s answer (status 200 is checked already); panics on a
    /// wrong one, so a bench never counts a refusal as served.
    fn check(&self, _k: u64, _body: &[u8]) {}
}

/// One request of an open-loop run: its index, how long after its due time the answer came,
/// and how late it was sent (µs).
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub k: u64,
    pub latency_us: u64,
    pub sent_late_us: u64,
}

/// Closed loop: `workers` connections, one request in flight each, for `secs`. Returns the
/// indexes of the requests answered (worker `w` sends `w`, `w + workers`, …) and the seconds
/// the run took.
pub async fn closed_loop<R: Requests>(
    addr: SocketAddr,
    load: &Arc<R>,
    workers: usize,
    secs: f64,
) -> (Vec<u64>, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers as u64)
        .map(|w| {
            let (load, stop) = (load.clone(), stop.clone());
            tokio::spawn(async move {
                let mut conn = Conn::open(addr).await;
                let mut done = Vec::new();
                let mut k = w;
                while !stop.load(Ordering::Relaxed) {
                    let body = conn.call(&load.request(k)).await;
                    load.check(k, body);
                    done.push(k);
                    k += workers as u64;
                }
                done
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut done = Vec::new();
    for t in tasks {
        done.extend(t.await.expect("worker"));
    }
    (done, started.elapsed().as_secs_f64())
}

/// Open loop at `rate` requests/s for `secs` over `conns` connections: a pacer releases
/// request k at start + k/rate (to within its 100 µs tick, not tokio's 1 ms timer ticks,
/// which would send the load in bursts of a millisecond's worth) and the next free
/// connection takes it. Latency counts from when each was due, so time spent waiting for a
/// free connection or for the generator's thread counts, and shows.
pub async fn open_loop<R: Requests>(
    addr: SocketAddr,
    load: &Arc<R>,
    rate: f64,
    secs: f64,
    conns: usize,
) -> Vec<Sample> {
    let total = (rate * secs) as u64;
    let due = Arc::new(Due::default());
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            let (load, due) = (load.clone(), due.clone());
            tokio::spawn(async move {
                let mut conn = Conn::open(addr).await;
                let mut samples = Vec::new();
                while let Some((at, k)) = due.take().await {
                    let sent_late_us = (pacer::now_ns() - at) / 1000;
                    let body = conn.call(&load.request(k)).await;
                    let latency_us = (pacer::now_ns() - at) / 1000;
                    load.check(k, body);
                    samples.push(Sample {
                        k,
                        latency_us,
                        sent_late_us,
                    });
                }
                samples
            })
        })
        .collect();
    let start = pacer::now_ns() + 100_000_000;
    let ticks = pacer::Ticks::every(start, pacer::TICK_NS);
    let mut k = 0;
    while k < total {
        ticks.next().await;
        let now = pacer::now_ns();
        loop {
            let at = start + (k as f64 * 1e9 / rate) as u64;
            if k >= total || at > now {
                break;
            }
            due.release(at, k);
            k += 1;
        }
    }
    due.finish();
    let mut samples = Vec::with_capacity(total as usize);
    for t in tasks {
        samples.extend(t.await.expect("connection"));
    }
    samples
}

/// Pins this thread — and the threads it starts afterwards — to the CPUs listed in the
/// environment variable `name` ("1" or "0,1"); unset or empty leaves the scheduler free.
/// Returns what was applied, for the bench's header.
pub fn pin_from_env(name: &str) -> Option<String> {
    let list = std::env::var(name).ok().filter(|l| !l.trim().is_empty())?;
    let mut set = rustix::thread::CpuSet::new();
    for cpu in list.split(',') {
        set.set(cpu.trim().parse().expect("a CPU number"));
    }
    rustix::thread::sched_setaffinity(None, &set).expect("sched_setaffinity");
    Some(list)
}

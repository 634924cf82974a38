//! `podledger serve` in a process of its own, as an operator runs it: JSON log lines on stderr
//! collected, the address it logs, and `/readyz` answered 200 before the test goes on.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running `podledger` process.
pub struct Process {
    pub child: Child,
    /// Where it listens (`host:port`).
    pub addr: String,
    /// Its stderr, line by line.
    pub lines: Arc<Mutex<Vec<String>>>,
}

/// Starts `podledger --log-format json <args>` in `dir` with `envs` (no database URL or OTLP
/// endpoint from the test's own environment) and waits for `/readyz`.
pub fn start(args: &[&str], dir: &std::path::Path, envs: &[(&str, &str)]) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_podledger"))
        .args(["--log-format", "json"])
        .args(args)
        .current_dir(dir)
        .env_remove("PODLEDGER_DATABASE_URL")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env("PODLEDGER_LOG", "info")
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().unwrap();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::spawn({
        let lines = lines.clone();
        move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(json) = serde_json::from_str::<Value>(&line)
                    && let Some(addr) = json["fields"]["addr"].as_str()
                {
                    let _ = addr_tx.send(addr.to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        }
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("no address logged: {:#?}", lines.lock().unwrap()));
    // Ready: the read models have the log (a client would ask /readyz the same way).
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready(&addr) {
        assert!(Instant::now() < deadline, "not ready within 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    Process { child, addr, lines }
}

/// Whether `GET /readyz` on `addr` answers 200.
fn ready(addr: &str) -> bool {
    use std::io::{Read as _, Write as _};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = write!(
        s,
        "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

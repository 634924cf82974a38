//! A throw-away PostgreSQL cluster for a test binary: `initdb` in the target's temp directory
//! (as the `postgres` user when the tests run as root — `initdb` refuses root), the server on a
//! free port, started once per test binary and killed with it (`setpriv --pdeathsig`). Each test
//! gets a database of its own. A machine without PostgreSQL fails the tests that need it: they
//! never skip (`.ci/run` installs it).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The running cluster: where it listens.
pub struct Cluster {
    pub port: u16,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static DURABLE: OnceLock<Cluster> = OnceLock::new();

/// The server binaries: `PODLEDGER_PG_BIN`, else `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/*/bin`.
fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PODLEDGER_PG_BIN") {
        return dir.into();
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| Some(e.ok()?.path().join("bin"))).collect())
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .filter(|d| d.join("initdb").exists())
        .expect("PostgreSQL is not installed (initdb not found): install postgresql or set PODLEDGER_PG_BIN")
}

/// Whether this process runs as root (its effective uid, from `/proc`).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
    })
}

/// `program args…` as the `postgres` user when root, and killed when this process ends.
fn as_cluster_owner(program: &Path) -> Command {
    let mut command = Command::new("setpriv");
    if is_root() {
        command.args(["--reuid=postgres", "--regid=postgres", "--clear-groups"]);
    }
    command.args(["--pdeathsig=KILL"]).arg(program);
    command
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The cluster of this test binary, started on first use, with `fsync=off` (tests prove
/// behaviour, not durability against power loss).
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| start(false))
}

/// A cluster with PostgreSQL's durable defaults (`fsync=on`, `synchronous_commit=on`): for
/// benchmarks.
#[allow(dead_code)] // the benches' only
pub fn durable_cluster() -> &'static Cluster {
    DURABLE.get_or_init(|| start(true))
}

fn start(durable: bool) -> Cluster {
    let bin = bin_dir();
    // One directory per test binary, cleared at each start: a killed run leaves nothing that
    // grows.
    let name = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "tests".into());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "postgres-{name}{}",
        if durable { "-durable" } else { "" }
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cluster directory");
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .expect("chown");
        assert!(status.success(), "chown of {}", dir.display());
    }
    let data = dir.join("data");
    let out = as_cluster_owner(&bin.join("initdb"))
        .args([
            "-A",
            "trust",
            "-U",
            "podledger",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "-D",
        ])
        .arg(&data)
        .output()
        .expect("initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let (postgres, socket_dir) = (bin.join("postgres"), dir.clone());
    // The server's parent is a thread that lives as long as the process: `--pdeathsig` kills
    // the server when its parent *thread* ends, and a test's thread ends with the test.
    let (started, up) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let child = as_cluster_owner(&postgres)
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-k")
            .arg(&socket_dir)
            .args(["-c", if durable { "fsync=on" } else { "fsync=off" }])
            .args(["-c", "max_connections=300"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let ok = child.is_ok();
        let _ = started.send(child.map(|_| ()));
        if ok {
            loop {
                std::thread::park();
            }
        }
    });
    up.recv().expect("server thread").expect("start postgres");
    let began = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "postgres did not listen within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Cluster { port }
}

impl Cluster {
    /// The URL of database `name` on this cluster.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://podledger@127.0.0.1:{}/{name}", self.port)
    }

    /// A new, empty database; its URL.
    pub async fn database(&self) -> String {
        use sqlx::Connection;
        let name = format!("t_{}", uuid::Uuid::now_v7().simple());
        // The server accepts TCP before it accepts logins: retry while it starts up.
        let began = Instant::now();
        let mut conn = loop {
            match sqlx::PgConnection::connect(&self.url("postgres")).await {
                Ok(conn) => break conn,
                Err(e) if began.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("connecting to the test cluster: {e}"),
            }
        };
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create database");
        self.url(&name)
    }
}

//! The dashboard at `/`: served from the binary with its headers, and driven in headless
//! Chromium by Playwright against a real `podledger serve --demo` (`tests/node/dashboard.mjs`:
//! the demo pods, the keyboard, charts whose numbers are the API's, a mutation on the open board
//! within 1 s, time travel, axe-core in light and dark mode, screenshots).
//!
//! Chromium is found at `$PODLEDGER_CHROMIUM`, else `/usr/bin/chromium` or `chromium` on the
//! path; without it the browser test fails (it never skips): `apt-get install chromium`.

#[path = "common/node.rs"]
mod node;

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use podledger_api::AuthConfig;
use podledger_server::{ServerConfig, start};

/// `podledger serve --demo` in its own process on a free port, stopped on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_podledger"))
            .args([
                "--log-format",
                "json",
                "serve",
                "--demo",
                "--listen",
                "127.0.0.1:0",
            ])
            .current_dir(dir)
            .env_remove("PODLEDGER_DATABASE_URL")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env("PODLEDGER_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(json) = serde_json::from_str::<serde_json::Value>(&line)
                    && let Some(addr) = json["fields"]["addr"].as_str()
                {
                    let _ = addr_tx.send(addr.to_owned());
                }
            }
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("serve logged no address");
        let server = Self { child, addr };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !server.ready() {
            assert!(Instant::now() < deadline, "not ready within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn ready(&self) -> bool {
        use std::io::{Read as _, Write as _};
        let Ok(mut s) = std::net::TcpStream::connect(&self.addr) else {
            return false;
        };
        let _ = write!(
            s,
            "GET /readyz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.1 200")
    }
}

/// Debian's Chromium (or `$PODLEDGER_CHROMIUM`); panics with how to install it.
fn chromium() -> String {
    if let Ok(path) = std::env::var("PODLEDGER_CHROMIUM") {
        return path;
    }
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if std::path::Path::new(candidate).exists() {
            return candidate.to_owned();
        }
    }
    panic!(
        "the dashboard test needs Chromium: `apt-get install chromium` (or set PODLEDGER_CHROMIUM)"
    );
}

#[test]
fn the_dashboard_in_chromium_shows_the_demo_live_and_in_the_past() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let artefacts = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    let script = node::node_script("dashboard.mjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(format!("http://{}", server.addr))
        .arg(&artefacts)
        .arg(chromium())
        .current_dir(script.parent().unwrap())
        .output()
        .expect("node is needed to run tests/node/dashboard.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    println!("screenshots: {}", artefacts.display());
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for shot in [
        "sign-in", "overview", "pod", "pod-live", "pod-past", "item", "pod-dark",
    ] {
        let png = artefacts.join(format!("{shot}.png"));
        assert!(
            std::fs::metadata(&png).is_ok_and(|m| m.len() > 1000),
            "{} was not written",
            png.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_embedded_with_its_security_headers_and_revalidates_by_etag() {
    let dir = tempfile::tempdir().unwrap();
    let auth = AuthConfig::new(
        b"dashboard-secret-dashboard-secret".to_vec(),
        "podledger",
        "podledger",
    );
    let running = start(ServerConfig::new(
        format!("sqlite://{}", dir.path().join("podledger.db").display()),
        auth,
    ))
    .await
    .unwrap();
    let base = format!("http://{}", running.addr);
    let client = reqwest::Client::new();

    let index = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(index.status(), 200);
    let csp = index.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = index.text().await.unwrap();

    // Every file the page names is served from the binary; together under 300 KB.
    let mut weight = html.len();
    for name in [
        "app.js",
        "charts.js",
        "style.css",
        "vendor/uPlot.iife.min.js",
        "vendor/uPlot.min.css",
        "vendor/graphql-ws.min.js",
    ] {
        assert!(
            html.contains(&format!("/ui/{name}")) || name == "charts.js",
            "{name}"
        );
        let response = client
            .get(format!("{base}/ui/{name}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{name}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        weight += response.bytes().await.unwrap().len();
        let again = client
            .get(format!("{base}/ui/{name}"))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{name} revalidates by its ETag");
    }
    assert!(weight < 300 * 1024, "the page weighs {weight} bytes");
    println!("the page weighs {weight} bytes");

    // Without --demo there is no one-click sign-in; unknown files are 404s.
    for path in ["/ui/demo-people", "/ui/nothing.js", "/ui/../Cargo.toml"] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    running.handle.stop(true).await;
}

//! The binary, run as a user runs it: migrate, then status, on a fresh data directory.

use std::process::Command;

fn podledger(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_podledger"))
        .args(args)
        .current_dir(dir)
        .env_remove("PODLEDGER_DATABASE_URL")
        .output()
        .unwrap()
}

#[test]
fn migrate_creates_the_default_database_under_data_and_status_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = podledger(dir.path(), &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("data/podledger.db").exists());
    let out = podledger(dir.path(), &["status"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("events    0"), "{stdout}");
    assert!(stdout.contains("integrity ok"), "{stdout}");
}

#[test]
fn the_database_url_flag_and_environment_variable_choose_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = podledger(
        dir.path(),
        &["--database-url", "sqlite://elsewhere/x.db", "migrate"],
    );
    assert!(out.status.success());
    assert!(dir.path().join("elsewhere/x.db").exists());
    let out = Command::new(env!("CARGO_BIN_EXE_podledger"))
        .arg("migrate")
        .current_dir(dir.path())
        .env("PODLEDGER_DATABASE_URL", "env.db")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(dir.path().join("env.db").exists());
}

#[test]
fn version_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let out = podledger(dir.path(), &["--version"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("podledger "));
}

#[test]
fn token_accepts_the_api_person_id_or_its_uuid_and_mints_service_tokens_for_pods() {
    let dir = tempfile::tempdir().unwrap();
    let org = "0193a0a0-0000-7000-8000-000000000001";
    let person = "0193a0a0-0000-7000-8000-000000000002";
    let pod = "0193a0a0-0000-7000-8000-000000000003";
    let opaque =
        |kind: &str, uuid: &str| podledger_api::ids::to_id(kind, uuid.parse().unwrap()).to_string();
    let secret = ["--jwt-secret", "cli-secret-cli-secret-cli-secret"];
    let auth = podledger_api::AuthConfig::new(
        b"cli-secret-cli-secret-cli-secret".to_vec(),
        "podledger",
        "podledger",
    );
    let mint = |args: &[&str]| {
        let mut all = vec!["token", "--org", org];
        all.extend_from_slice(args);
        all.extend_from_slice(&secret);
        let out = podledger(dir.path(), &all);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        auth.verify(String::from_utf8(out.stdout).unwrap().trim())
            .unwrap()
    };
    let by_uuid = mint(&["--person", person]);
    let by_id = mint(&["--person", &opaque("Person", person)]);
    assert_eq!(by_uuid.actor, by_id.actor);
    assert_eq!(
        by_id.actor,
        podledger_domain::Actor::member(podledger_domain::ids::PersonId(person.parse().unwrap()))
    );
    let service = mint(&["--service", "--pod", &opaque("Pod", pod)]);
    match service.actor {
        podledger_domain::Actor::Service { scope, .. } => assert!(
            scope
                .kpi_readings_for_pods
                .contains(&podledger_domain::ids::PodId(pod.parse().unwrap()))
        ),
        podledger_domain::Actor::Member { .. } => panic!("a service token"),
    }
    // Not an id of the kind asked for.
    let out = podledger(
        dir.path(),
        &[
            "token",
            "--org",
            org,
            "--person",
            &opaque("Pod", pod),
            "--jwt-secret",
            secret[1],
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither a Person id nor a UUID"));
}

#[test]
fn serve_refuses_an_identity_providers_keys_over_plain_http_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out = podledger(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--oidc-issuer",
            "https://id.example.test/",
            "--oidc-jwks",
            "http://id.example.test/jwks.json",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("keys are fetched over https"), "{stderr}");
    // The issuer without its keys is a usage error.
    let out = podledger(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--oidc-issuer",
            "https://id.example.test/",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--oidc-jwks"));
}

#[test]
fn demo_prints_each_key_persons_api_id_and_a_token_that_podledger_token_can_mint_again() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "demo-secret-demo-secret-demo-secret";
    let out = podledger(dir.path(), &["demo", "--jwt-secret", secret]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let auth = podledger_api::AuthConfig::new(secret.as_bytes().to_vec(), "podledger", "podledger");
    let org = podledger_server::demo::org_id().as_uuid().to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    let mut seen = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some((_, person_id)) = line.split_once("Person.id ") else {
            continue;
        };
        let printed = auth
            .verify(lines[i + 1].trim())
            .expect("the printed token verifies");
        let minted = podledger(
            dir.path(),
            &[
                "token",
                "--org",
                &org,
                "--person",
                person_id.trim(),
                "--jwt-secret",
                secret,
            ],
        );
        let minted = auth
            .verify(String::from_utf8_lossy(&minted.stdout).trim())
            .expect("a token minted from the printed Person.id");
        assert_eq!(minted.actor, printed.actor, "{line}");
        seen += 1;
    }
    assert_eq!(seen, podledger_server::demo::key_people().len(), "{stdout}");
}

#[test]
fn config_merges_flags_environment_file_and_defaults_in_that_order_and_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("podledger.toml"),
        "listen = \"0.0.0.0:9000\"\nmax-cost = 1234\nmax_depth = 12\nworkers = 7\n\
         jwt-secret = \"file-secret-file-secret\"\nallowed-origin = [\"https://a.example\", \"https://b.example\"]\n\
         database-url = \"postgres://app:hunter2@db/podledger\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_podledger"))
        .args(["--config", "podledger.toml", "config", "--workers", "3"])
        .current_dir(dir.path())
        .env_remove("PODLEDGER_DATABASE_URL")
        .env("PODLEDGER_MAX_DEPTH", "9")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "workers = 3  # flag",
        "max-depth = 9  # environment",
        "listen = \"0.0.0.0:9000\"  # file",
        "max-cost = 1234  # file",
        "allowed-origin = [\"https://a.example\", \"https://b.example\"]  # file",
        "max-aliases = 30  # default",
        "# jwt-secret = <redacted>  # file",
        "database-url = \"postgres://app:redacted@db/podledger\"  # file",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    assert!(
        !text.contains("hunter2") && !text.contains("file-secret"),
        "{text}"
    );

    // The printed configuration is itself a configuration file (secrets left out).
    std::fs::write(dir.path().join("printed.toml"), text.as_bytes()).unwrap();
    let again = Command::new(env!("CARGO_BIN_EXE_podledger"))
        .args(["--config", "printed.toml", "config"])
        .current_dir(dir.path())
        .env_remove("PODLEDGER_DATABASE_URL")
        .env_remove("PODLEDGER_MAX_DEPTH")
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let again = String::from_utf8_lossy(&again.stdout);
    assert!(again.lines().any(|l| l == "workers = 3  # file"), "{again}");
    assert!(
        again.lines().any(|l| l == "max-depth = 9  # file"),
        "{again}"
    );
}

#[test]
fn a_configuration_file_with_an_unknown_or_ill_typed_setting_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "max-costs = 5\n").unwrap();
    let out = podledger(dir.path(), &["--config", "bad.toml", "config"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown setting `max-costs`"));
    std::fs::write(dir.path().join("bad.toml"), "max-cost = \"lots\"\n").unwrap();
    let out = podledger(dir.path(), &["--config", "bad.toml", "config"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--max-cost"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A setting of another subcommand is not an error for this one: one file serves them all.
    std::fs::write(dir.path().join("shared.toml"), "listen = \"127.0.0.1:1\"\n").unwrap();
    let out = podledger(dir.path(), &["--config", "shared.toml", "migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[path = "../../eventstore/tests/support/postgres.rs"]
mod postgres;

/// A PostgreSQL URL is a database like a SQLite path: `migrate` prepares it, `status` checks
/// it; `serve` asks for a shared token secret (replicas must agree, and there is no file beside
/// the database to keep one in) and never takes the URL for a file name.
#[tokio::test]
async fn a_postgres_url_is_migrated_and_checked_and_serve_asks_for_a_shared_secret() {
    let url = postgres::cluster().database().await;
    let dir = tempfile::tempdir().unwrap();
    let out = podledger(dir.path(), &["--database-url", &url, "migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&sqlx::PgPool::connect(&url).await.unwrap())
        .await
        .unwrap();
    assert_eq!(events, 0);
    let out = podledger(dir.path(), &["--database-url", &url, "status"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("database  PostgreSQL postgres://"),
        "{stdout}"
    );
    assert!(stdout.contains("events    0"), "{stdout}");
    let out = podledger(dir.path(), &["--database-url", &url, "serve"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("needs --jwt-secret"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file made of the URL"
    );
}

/// `podledger demo` into the database at `url`.
fn demo_into(dir: &std::path::Path, url: &str) {
    let out = podledger(
        dir,
        &[
            "--database-url",
            url,
            "demo",
            "--jwt-secret",
            "copy-test-secret-copy-test-secret",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every event of `url`, as stored.
async fn log_of(url: &str) -> Vec<podledger_eventstore::RecordedEvent> {
    let store = podledger_eventstore::open(url).await.unwrap();
    store.read_all(0, usize::MAX >> 1).await.unwrap()
}

/// `podledger copy` moves the demo organisation's log from SQLite to PostgreSQL and from there
/// to a second SQLite file: the three logs are equal event for event (positions, ids, both
/// times, metadata), the copy reports the views it compared, and the target's persisted views
/// serve at once (a rebuild-free `status`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_moves_from_sqlite_to_postgres_and_back_with_everything_intact() {
    let pg = postgres::cluster().database().await;
    let dir = tempfile::tempdir().unwrap();
    let first = format!("sqlite://{}/first.db", dir.path().display());
    let second = format!("sqlite://{}/second.db", dir.path().display());
    demo_into(dir.path(), &first);
    for (from, to) in [(&first, &pg), (&pg, &second)] {
        let out = podledger(dir.path(), &["copy", "--from", from, "--to", to]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("(0 already there)"), "{stdout}");
        assert!(stdout.contains("same"), "{stdout}");
    }
    let (a, b, c) = (
        log_of(&first).await,
        log_of(&pg).await,
        log_of(&second).await,
    );
    assert!(a.len() > 100, "the demo: {} events", a.len());
    assert_eq!(a, b, "SQLite to PostgreSQL");
    assert_eq!(a, c, "and back");
    // Copying again finds nothing to do.
    let out = podledger(dir.path(), &["copy", "--from", &first, "--to", &pg]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("copied 0 events ({} already there)", a.len())),
        "{stdout}"
    );
    // The demo imported straight into PostgreSQL gives a log of the same length.
    let direct = postgres::cluster().database().await;
    demo_into(dir.path(), &direct);
    assert_eq!(log_of(&direct).await.len(), a.len());
    // `rebuild` and `status` on the PostgreSQL copy.
    let out = podledger(dir.path(), &["--database-url", &pg, "rebuild"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("rebuilt the read models to position {}", a.len())),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = podledger(dir.path(), &["--database-url", &pg, "status"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("events    {}", a.len())),
        "{stdout}"
    );
    // The target's views were persisted with the log: a start loads them instead of folding.
    let target = podledger_eventstore::open(&second).await.unwrap();
    let views = target
        .load_views(podledger_projections::persist::CHECKPOINT)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(views.checkpoint, a.len() as u64);
    assert!(!views.views.is_empty());
}

/// A copy stopped after its first batch resumes from the target's head and ends with the
/// source's log; a target holding another log is refused, never appended to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_copy_resumes_and_a_target_with_another_log_is_refused() {
    use podledger_server::copy::{CopyError, copy};
    let dir = tempfile::tempdir().unwrap();
    let source_url = format!("sqlite://{}/source.db", dir.path().display());
    demo_into(dir.path(), &source_url);
    let source = podledger_eventstore::open(&source_url).await.unwrap();
    let target = podledger_eventstore::open(&postgres::cluster().database().await)
        .await
        .unwrap();
    let head = source.head().await.unwrap();

    // Interrupted: the task is dropped once the first batch of 40 has committed.
    let (batches, mut committed) = tokio::sync::mpsc::unbounded_channel();
    let running = tokio::spawn({
        let (source, target) = (source.clone(), target.clone());
        async move {
            copy(&source, &target, 40, move |done, _| {
                let _ = batches.send(done);
            })
            .await
        }
    });
    while committed.recv().await != Some(40) {}
    running.abort();
    let _ = running.await;
    let stopped_at = target.head().await.unwrap();
    assert!(
        stopped_at >= 40 && stopped_at < head,
        "stopped at {stopped_at} of {head}"
    );

    let copied = copy(&source, &target, 40, |_, _| {}).await.unwrap();
    assert_eq!(copied.resumed_at, stopped_at);
    assert_eq!(copied.head, head);
    assert!(copied.views > 3, "{copied:?}");
    assert_eq!(
        source.read_all(0, usize::MAX >> 1).await.unwrap(),
        target.read_all(0, usize::MAX >> 1).await.unwrap()
    );

    // Another log: a fresh store with one event of its own is not a prefix of the source.
    let other = podledger_eventstore::open(&postgres::cluster().database().await)
        .await
        .unwrap();
    other
        .append(podledger_eventstore::conformance::write(
            "elsewhere",
            podledger_eventstore::ExpectedVersion::Any,
            vec![podledger_eventstore::conformance::event(1)],
        ))
        .await
        .unwrap();
    let refused = copy(&source, &other, 40, |_, _| {}).await;
    assert!(
        matches!(refused, Err(CopyError::Diverged(_))),
        "{refused:?}"
    );
    assert_eq!(other.head().await.unwrap(), 1, "nothing appended");
}

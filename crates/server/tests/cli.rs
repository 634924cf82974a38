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

/// `migrate` prepares a PostgreSQL database for the event store; the commands that still run
/// on SQLite refuse a PostgreSQL URL with a sentence instead of taking it for a file name.
#[tokio::test]
async fn a_postgres_url_is_migrated_and_refused_by_what_runs_on_sqlite() {
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
    let out = podledger(dir.path(), &["--database-url", &url, "serve"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("accepted by `migrate` only"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file made of the URL"
    );
}

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

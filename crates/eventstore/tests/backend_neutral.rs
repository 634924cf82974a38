//! **Architecture Invariant** (`backend.rs`): the read side never names a backend. The
//! projections and the API reach the store only through `Backend`; neither depends on a
//! database driver, so a new backend needs no change above `eventstore`.

use std::path::Path;

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    found
}

/// The `[dependencies]` section of a manifest (dev-dependencies may name drivers: tests open
/// real databases).
fn dependencies(manifest: &str) -> String {
    manifest
        .split("\n[")
        .find(|s| s.starts_with("dependencies]"))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn the_projections_and_the_api_name_no_backend() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for name in ["projections", "api"] {
        let manifest = std::fs::read_to_string(crates.join(name).join("Cargo.toml")).unwrap();
        let deps = dependencies(&manifest);
        for driver in ["sqlx", "rusqlite", "postgres"] {
            assert!(!deps.contains(driver), "{name} depends on {driver}");
        }
        for (path, text) in sources(&crates.join(name).join("src")) {
            // Unit tests inside a source file may open a real SQLite store.
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for backend in [
                "SqliteEventStore",
                "PgEventStore",
                "sqlx::",
                "rusqlite",
                "reader_pool",
            ] {
                assert!(!code.contains(backend), "{path} names {backend}");
            }
        }
    }
}

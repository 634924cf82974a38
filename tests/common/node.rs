//! The npm packages some end-to-end tests run under Node (`tests/node`).

/// `npm ci` in `tests/node` when any of its packages is missing (a fresh clone), then the path
/// of `script` there. Fails loudly without Node and npm: the suites that use it must run.
pub fn node_script(script: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/node");
    let installed = [
        "graphql-ws",
        "graphql-http",
        "@graphql-inspector/core",
        "playwright-core",
        "axe-core",
    ]
    .iter()
    .all(|package| dir.join("node_modules").join(package).exists());
    if !installed {
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm is needed to run the tests under tests/node");
        assert!(status.success(), "npm ci in tests/node failed");
    }
    dir.join(script)
}

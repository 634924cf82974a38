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

# Benchmarks: append vs raw INSERT (1, 8, 64 writers) and read-all scan. Record figures in BENCHMARKS.md.
bench:
    cargo bench -p podledger-eventstore --bench append

# The SIGKILL durability test with 100 cycles instead of CI's 20.
soak:
    CRASH_CYCLES=100 cargo test -p podledger-eventstore --release --test crash_durability -- --nocapture

# Everything CI runs, locally.
ci:
    bash .ci/run

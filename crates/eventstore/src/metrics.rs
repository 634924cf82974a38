//! What the store counts for operators: append latency as callers see it (queue and commit),
//! the size and duration of each group commit, and the events appended. The server registers
//! these with its Prometheus registry (`/metrics`).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The store's metrics (shared by every clone of a store).
#[derive(Clone, Debug)]
pub struct StoreMetrics {
    /// Time from an append's call to its answer: waiting for the writer, then its group's commit.
    pub append_seconds: Histogram,
    /// Time to commit one group (one transaction, one fsync).
    pub commit_seconds: Histogram,
    /// Appends per group commit.
    pub group_appends: Histogram,
    /// Events committed.
    pub events_appended: Counter,
    /// Group commits that failed (every append in the group was answered with the error).
    pub commit_failures: Counter,
    /// Group commits that took the checked path: the writer's memory could not be trusted
    /// (another process appended, an append was retried, a stream was not in memory).
    pub checked_commits: Counter,
}

impl Default for StoreMetrics {
    fn default() -> Self {
        Self {
            append_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 18)),
            commit_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 18)),
            group_appends: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
            events_appended: Counter::default(),
            commit_failures: Counter::default(),
            checked_commits: Counter::default(),
        }
    }
}

impl StoreMetrics {
    /// Registers the metrics under `podledger_store_*`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "podledger_store_append_duration_seconds",
            "Time from an append's call to its answer (queue wait and group commit)",
            self.append_seconds.clone(),
        );
        registry.register(
            "podledger_store_group_commit_duration_seconds",
            "Time to commit one group of appends (one transaction)",
            self.commit_seconds.clone(),
        );
        registry.register(
            "podledger_store_group_commit_appends",
            "Appends committed together in one group",
            self.group_appends.clone(),
        );
        registry.register(
            "podledger_store_events_appended",
            "Events committed to the store",
            self.events_appended.clone(),
        );
        registry.register(
            "podledger_store_group_commit_failures",
            "Group commits that failed",
            self.commit_failures.clone(),
        );
        registry.register(
            "podledger_store_checked_commits",
            "Group commits that re-read the stored versions (another process appended, a retry)",
            self.checked_commits.clone(),
        );
    }
}

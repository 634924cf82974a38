//! What the API counts for operators: mutations by name and outcome. The server registers these
//! with its Prometheus registry (`/metrics`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// A mutation and how it ended: `ok`, or the code of its error.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandLabels {
    /// The mutation's field name (`createItem`, …).
    pub mutation: String,
    /// `ok` or the error code (`FORBIDDEN`, `VALIDATION_FAILED`, …).
    pub outcome: String,
}

/// The API's counters.
#[derive(Clone, Debug, Default)]
pub struct ApiMetrics {
    /// Mutations by name and outcome.
    pub commands: Family<CommandLabels, Counter>,
}

impl ApiMetrics {
    /// Registers the counters (`podledger_commands_total`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "podledger_commands",
            "Mutations handled, by mutation and outcome (ok or the error code)",
            self.commands.clone(),
        );
    }
}

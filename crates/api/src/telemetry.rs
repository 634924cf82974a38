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

/// A request refused by one of its bounds.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// The limit, named by its `serve` flag (`max-depth`, `max-response-bytes`, …).
    pub limit: String,
}

/// The API's counters.
#[derive(Clone, Debug, Default)]
pub struct ApiMetrics {
    /// Mutations by name and outcome.
    pub commands: Family<CommandLabels, Counter>,
    /// Requests refused by a limit, by limit.
    pub refusals: Family<RefusalLabels, Counter>,
}

impl ApiMetrics {
    /// Registers the counters (`podledger_commands_total`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "podledger_commands",
            "Mutations handled, by mutation and outcome (ok or the error code)",
            self.commands.clone(),
        );
        registry.register(
            "podledger_request_refusals",
            "Requests refused by a limit, by the limit's serve flag (max-depth, max-cost, ...)",
            self.refusals.clone(),
        );
    }

    /// Counts an error code: a refusal by a limit when the code is one.
    pub fn refused(&self, code: &str) {
        if let Some(limit) = crate::limits::Limit::flag_of_code(code) {
            self.refusals
                .get_or_create(&RefusalLabels {
                    limit: limit.to_owned(),
                })
                .inc();
        }
    }
}

/// The correlation id of a request: taken from its `X-Correlation-Id` header when that is a
/// UUID, else a new one. Every event a mutation of the request appends carries it, and every
/// log line of the request shows it (the server's request span records it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CorrelationId(pub uuid::Uuid);

/// Which operation a request ran — for metrics labels and span attributes (never its document
/// nor its variables, which hold the caller's data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationInfo {
    /// `query`, `mutation`, `subscription`, or `none` when the request never reached one.
    pub kind: &'static str,
    /// The operation's name, when the document names it.
    pub name: Option<String>,
}

impl OperationInfo {
    /// A request that never reached an operation (refused before, or not GraphQL).
    pub const fn none() -> Self {
        Self {
            kind: "none",
            name: None,
        }
    }
}

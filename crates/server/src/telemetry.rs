//! What operators see: Prometheus metrics at `/metrics`, liveness at `/healthz`, readiness at
//! `/readyz`. Metric names follow Prometheus conventions with a `podledger_` prefix.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use podledger_api::Api;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// An HTTP request: which kind of GraphQL operation (`query`, `mutation`, `subscription`, or
/// `none` when it never reached one) and the status answered.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// `query`, `mutation`, `subscription` or `none`.
    pub operation: &'static str,
    /// The HTTP status.
    pub status: u16,
}

/// An error answered, by its `extensions.code`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    /// The code.
    pub code: String,
}

/// The server's metrics and the registry that exposes them.
#[derive(Clone, Debug)]
pub struct Telemetry {
    registry: Arc<Registry>,
    /// HTTP requests by operation and status.
    pub http_requests: Family<HttpLabels, Counter>,
    /// Their latency.
    pub http_seconds: Family<HttpLabels, Histogram>,
    /// GraphQL errors answered, by code (limits' refusals included).
    pub graphql_errors: Family<CodeLabels, Counter>,
    /// Open WebSocket connections.
    pub ws_connections: Gauge,
    /// WebSocket connections closed as slow consumers (1008).
    pub slow_consumers: Counter,
    /// Operations (subscriptions) running on WebSocket connections.
    pub ws_operations: Gauge,
    api_metrics: podledger_api::telemetry::ApiMetrics,
    head: Gauge,
    applied: Gauge,
    lag: Gauge,
    catch_up: Counter,
    /// When the server began to start (the log reports the time to ready from it).
    pub started: Instant,
    /// Events the read models may be behind the store's head and still be ready.
    pub ready_max_lag: u64,
    /// Set when the server begins to shut down: `/readyz` answers 503 from then on, so a load
    /// balancer stops sending work while in-flight requests finish.
    draining: Arc<AtomicBool>,
}

impl Telemetry {
    /// Fresh metrics, with the API's registered beside them; `started` is when the server began
    /// to start (before opening its store).
    pub fn new(api: &Api, ready_max_lag: u64, started: Instant) -> Self {
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_seconds = Family::<HttpLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.000_25, 2.0, 16))) as fn() -> Histogram,
        );
        let graphql_errors = Family::<CodeLabels, Counter>::default();
        let (ws_connections, slow_consumers) = (Gauge::default(), Counter::default());
        let ws_operations = Gauge::default();
        let (head, applied, lag) = (Gauge::default(), Gauge::default(), Gauge::default());
        let catch_up = Counter::default();
        let mut registry = Registry::default();
        registry.register(
            "podledger_http_requests",
            "HTTP requests to /graphql, by GraphQL operation type and status",
            http_requests.clone(),
        );
        registry.register(
            "podledger_http_request_duration_seconds",
            "Time to answer an HTTP request to /graphql, by operation type and status",
            http_seconds.clone(),
        );
        registry.register(
            "podledger_graphql_errors",
            "GraphQL errors answered, by extensions.code (refusals by a limit included)",
            graphql_errors.clone(),
        );
        registry.register(
            "podledger_websocket_connections",
            "Open WebSocket connections",
            ws_connections.clone(),
        );
        registry.register(
            "podledger_websocket_slow_consumer_disconnects",
            "WebSocket connections closed because the client did not read (1008)",
            slow_consumers.clone(),
        );
        registry.register(
            "podledger_websocket_operations",
            "Operations (subscriptions) running on WebSocket connections",
            ws_operations.clone(),
        );
        registry.register(
            "podledger_store_head_position",
            "Global position of the last event committed to the store",
            head.clone(),
        );
        registry.register(
            "podledger_projection_applied_position",
            "Global position the read models have applied",
            applied.clone(),
        );
        registry.register(
            "podledger_projection_catch_up_events",
            "Events folded by the parallel catch-up of a start or rebuild, chunk by chunk (its progress before the applied position moves)",
            catch_up.clone(),
        );
        registry.register(
            "podledger_projection_lag_events",
            "Events committed that the read models have not applied yet (head - applied)",
            lag.clone(),
        );
        api.metrics().register(&mut registry);
        api.projections().store().metrics().register(&mut registry);
        Self {
            registry: Arc::new(registry),
            http_requests,
            http_seconds,
            graphql_errors,
            ws_connections,
            slow_consumers,
            ws_operations,
            api_metrics: api.metrics().clone(),
            head,
            applied,
            lag,
            catch_up,
            started,
            ready_max_lag,
            draining: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Marks the server as shutting down (`/readyz` answers 503 from now on).
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Records one answered HTTP request.
    pub fn observe(&self, operation: &'static str, status: u16, took: Duration) {
        let labels = HttpLabels { operation, status };
        self.http_requests.get_or_create(&labels).inc();
        self.http_seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Counts the codes of `errors`.
    pub fn errors(&self, errors: &[async_graphql::ServerError]) {
        for error in errors {
            let code = error
                .extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .and_then(|c| match c {
                    async_graphql::Value::String(s) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "NONE".into());
            self.count(&code);
        }
    }

    /// Counts one error answered with `code` (and the refusal, when a limit refused).
    pub fn count(&self, code: &str) {
        self.graphql_errors
            .get_or_create(&CodeLabels { code: code.into() })
            .inc();
        self.api_metrics.refused(code);
    }

    /// The store's head and the read models' position now, and whether the server is ready:
    /// the store answers and the read models are within [`Telemetry::ready_max_lag`] events
    /// of its head.
    pub async fn readiness(&self, api: &Api) -> Result<(u64, u64), String> {
        let projections = api.projections();
        let head = projections
            .store()
            .head()
            .await
            .map_err(|_| "the event store does not answer".to_owned())?;
        let applied = projections.position();
        self.head.set(i64::try_from(head).unwrap_or(i64::MAX));
        self.applied.set(i64::try_from(applied).unwrap_or(i64::MAX));
        let lag = head.saturating_sub(applied);
        let scanned = podledger_projections::catch_up::scanned_so_far();
        self.catch_up
            .inc_by(scanned.saturating_sub(self.catch_up.get()));
        self.lag.set(i64::try_from(lag).unwrap_or(i64::MAX));
        if self.draining.load(Ordering::Relaxed) {
            return Err("the server is shutting down".to_owned());
        }
        if lag > self.ready_max_lag {
            return Err(format!(
                "the read models are {lag} events behind the store (ready within {})",
                self.ready_max_lag
            ));
        }
        Ok((head, applied))
    }

    /// The metrics in the Prometheus text format (store and projection gauges read now).
    pub async fn encode(&self, api: &Api) -> String {
        let _ = self.readiness(api).await;
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).unwrap_or_default();
        out
    }
}

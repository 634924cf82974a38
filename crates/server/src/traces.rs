//! Logs and traces. Every log line goes to stderr as text or JSON; spans (a GraphQL operation,
//! a command's `decide` and `append`, a projection batch, a live fan-out) are exported over
//! OTLP when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`)
//! is set — with `OTEL_EXPORTER_OTLP_PROTOCOL` `grpc` (the default) or `http/protobuf` — and
//! nowhere otherwise. Trace ids exist either way: a request's log lines carry its `trace_id`
//! (the caller's, from a W3C `traceparent`) and `correlation_id`.
//!
//! Spans follow OpenTelemetry's GraphQL conventions: named `{type} {name}`, with
//! `graphql.operation.type` and `graphql.operation.name`. The document (`graphql.document`)
//! and variable values are never recorded: they hold the caller's data.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, with the fields of the spans it was logged in (the
    /// request's `trace_id` and `correlation_id` among them).
    Json,
}

/// Spans queued for export at most (unless `OTEL_BSP_MAX_QUEUE_SIZE` sets it); past it the
/// SDK drops new spans.
const MAX_QUEUED_SPANS: usize = 16_384;

/// Where spans go: nowhere, or an OTLP collector.
#[derive(Debug)]
pub struct Tracing {
    provider: SdkTracerProvider,
    /// The OTLP protocol spans are exported with, if they are.
    pub exporting: Option<&'static str>,
}

impl Tracing {
    /// Exports the spans still buffered and stops the exporter (call once, at exit). Blocks:
    /// call it from a blocking thread.
    pub fn shutdown(&self) {
        // Flush first: it waits for an export already on its way, which the shutdown alone
        // may leave behind with the last spans (the views persisted at exit among them).
        if let Err(e) = self.provider.force_flush() {
            eprintln!("podledger: exporting the last spans failed: {e}");
        }
        if let Err(e) = self.provider.shutdown() {
            eprintln!("podledger: exporting the last spans failed: {e}");
        }
    }
}

fn otlp_endpoint_set() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
}

/// The OTLP protocol the environment asks for (`OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, then
/// `OTEL_EXPORTER_OTLP_PROTOCOL`; `grpc` by default).
fn otlp_protocol() -> Result<&'static str, String> {
    let asked = std::env::var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .unwrap_or_else(|_| "grpc".into());
    match asked.trim() {
        "grpc" => Ok("grpc"),
        "http/protobuf" => Ok("http/protobuf"),
        other => Err(format!(
            "OTEL_EXPORTER_OTLP_PROTOCOL {other:?} is not supported (grpc or http/protobuf)"
        )),
    }
}

/// Installs the global subscriber: the log filter (`PODLEDGER_LOG`, default `info`), log lines
/// in `format`, and the OpenTelemetry layer. Spans are batched and exported by a task on
/// `runtime` (both exporters' clients are async).
pub fn init(format: LogFormat, runtime: &tokio::runtime::Runtime) -> anyhow::Result<Tracing> {
    let mut builder = SdkTracerProvider::builder().with_resource(
        opentelemetry_sdk::Resource::builder()
            .with_service_name("podledger")
            .with_attribute(opentelemetry::KeyValue::new(
                "service.version",
                env!("CARGO_PKG_VERSION"),
            ))
            .build(),
    );
    let mut exporting = None;
    if otlp_endpoint_set() {
        use opentelemetry_otlp::WithExportConfig as _;
        let protocol = otlp_protocol().map_err(anyhow::Error::msg)?;
        let _inside = runtime.enter();
        let exporter = if protocol == "grpc" {
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_protocol(opentelemetry_otlp::Protocol::Grpc)
                .build()?
        } else {
            opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .build()?
        };
        // The SDK's default queue (2,048 spans) drops spans in a burst (an import, a busy
        // minute of a large organisation): keep more unless OTEL_BSP_MAX_QUEUE_SIZE says.
        let mut config = opentelemetry_sdk::trace::BatchConfigBuilder::default();
        if std::env::var_os("OTEL_BSP_MAX_QUEUE_SIZE").is_none() {
            config = config.with_max_queue_size(MAX_QUEUED_SPANS);
        }
        let batches = opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
            exporter,
            opentelemetry_sdk::runtime::Tokio,
        )
        .with_batch_config(config.build())
        .build();
        builder = builder.with_span_processor(batches);
        exporting = Some(protocol);
    }
    let provider = builder.build();
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("podledger"));
    let filter = tracing_subscriber::EnvFilter::try_from_env("PODLEDGER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    match format {
        LogFormat::Text => registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(false)
                    .with_span_list(true)
                    .with_writer(std::io::stderr),
            )
            .init(),
    }
    Ok(Tracing {
        provider,
        exporting,
    })
}

/// Makes the caller's trace the parent of `span`, from W3C `traceparent`/`tracestate` values
/// (HTTP headers, or the `connection_init` payload of a WebSocket), and records the trace id
/// the span ends up in as its `trace_id` field (for log lines).
pub fn continue_trace<'a>(
    span: &tracing::Span,
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
) {
    let carrier: HashMap<String, String> = fields
        .into_iter()
        .filter(|(k, _)| {
            k.eq_ignore_ascii_case("traceparent") || k.eq_ignore_ascii_case("tracestate")
        })
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    if !carrier.is_empty() {
        let parent = TraceContextPropagator::new().extract(&carrier);
        let _ = span.set_parent(parent);
    }
    let trace_id = span.context().span().span_context().trace_id();
    if trace_id != opentelemetry::trace::TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace_id));
    }
}

/// Names a GraphQL operation's span once the operation is known: `{type} {name}` (or the type
/// alone), with `graphql.operation.type` and `graphql.operation.name` recorded. The span is
/// renamed on its OpenTelemetry context, which exists by then (`otel.name` recorded after that
/// is not seen by the exporter).
pub fn name_operation(span: &tracing::Span, kind: &str, name: Option<&str>) {
    span.record("graphql.operation.type", kind);
    let full = match name {
        Some(name) => {
            span.record("graphql.operation.name", name);
            format!("{kind} {name}")
        }
        None => kind.to_owned(),
    };
    span.context().span().update_name(full);
}

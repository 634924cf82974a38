//! HTTP: `POST /graphql` and `GET /graphql` (queries only; a WebSocket handshake never reaches
//! the `App`: [`serve`] hands it to `ws::upgrade`), bearer authentication, `/health`, GraphiQL at
//! `/graphiql` with `--dev`, and the dashboard at `/` ([`crate::dashboard`]).
//!
//! GraphQL over HTTP: the response media type follows `Accept` —
//! `application/graphql-response+json` (then a request that fails before execution, such as a
//! syntax or validation error, is a 400) or `application/json` (always 200, the legacy
//! behaviour); anything else is a 406. Bodies over [`MAX_BODY`] are a 413.

use std::net::SocketAddr;

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::http::GraphiQLSource;
use podledger_api::{Api, AuthConfig};
use tracing::Instrument as _;

use crate::telemetry::Telemetry;

/// Largest request body accepted (bytes).
pub const MAX_BODY: usize = 256 * 1024;

/// The GraphQL-over-HTTP response media type.
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type to answer with, from `Accept` (`None`: nothing acceptable).
fn negotiate(http: &HttpRequest) -> Option<&'static str> {
    let Some(accept) = http
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|h| h.to_str().ok())
    else {
        return Some(JSON);
    };
    let wants = |media: &str| {
        accept
            .split(',')
            .map(|part| part.split(';').next().unwrap_or("").trim())
            .any(|m| m == media)
    };
    if wants(GRAPHQL_RESPONSE) {
        Some(GRAPHQL_RESPONSE)
    } else if wants(JSON) || wants("application/*") || wants("*/*") {
        Some(JSON)
    } else {
        None
    }
}

fn error_body(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    error_body_as(status, code, message, JSON)
}

fn error_body_as(status: StatusCode, code: &str, message: &str, media: &str) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response.insert_header(("Allow", "POST"));
    }
    response.content_type(media).json(serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    }))
}

async fn graphql(
    api: web::Data<Api>,
    auth: web::Data<AuthConfig>,
    telemetry: web::Data<Telemetry>,
    http: HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
) -> HttpResponse {
    let started = std::time::Instant::now();
    let correlation = correlation_id(&http);
    let span = tracing::info_span!(
        "graphql",
        otel.kind = "server",
        graphql.operation.type = tracing::field::Empty,
        graphql.operation.name = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        correlation_id = %correlation.0,
    );
    crate::traces::continue_trace(
        &span,
        http.headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))),
    );
    let (mut response, operation) =
        answer_graphql(&api, &auth, &telemetry, &http, body, correlation)
            .instrument(span.clone())
            .await;
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    if operation.kind != "none" {
        crate::traces::name_operation(&span, operation.kind, operation.name.as_deref());
    }
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&correlation.0.to_string()) {
        response.headers_mut().insert(CORRELATION_HEADER, value);
    }
    telemetry.observe(operation.kind, status, started.elapsed());
    response
}

/// The header that carries a request's correlation id, both ways.
const CORRELATION_HEADER: actix_web::http::header::HeaderName =
    actix_web::http::header::HeaderName::from_static("x-correlation-id");

/// The request's correlation id: its `X-Correlation-Id` when that is a UUID, else a new one.
fn correlation_id(http: &HttpRequest) -> podledger_api::CorrelationId {
    let given = http
        .headers()
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| uuid::Uuid::parse_str(v.trim()).ok());
    podledger_api::CorrelationId(given.unwrap_or_else(uuid::Uuid::now_v7))
}

async fn answer_graphql(
    api: &Api,
    auth: &AuthConfig,
    telemetry: &Telemetry,
    http: &HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
    correlation: podledger_api::CorrelationId,
) -> (HttpResponse, podledger_api::OperationInfo) {
    let none = podledger_api::OperationInfo::none;
    let header = http
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    // A refusal before GraphQL runs: its JSON error, counted by code.
    let count = |code: &str| telemetry.count(code);
    let refuse = |status: StatusCode, code: &str, message: &str, media: &str| {
        count(code);
        (error_body_as(status, code, message, media), none())
    };
    let Some(media) = negotiate(http) else {
        return refuse(
            StatusCode::NOT_ACCEPTABLE,
            "NOT_ACCEPTABLE",
            "accept application/graphql-response+json or application/json",
            JSON,
        );
    };
    let linked = |org, issuer: &str, subject: &str| api.person_by_identity(org, issuer, subject);
    let principal = match auth.authenticate_header(header, &linked).await {
        Ok(p) => p,
        Err(e) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                &e.to_string(),
                media,
            );
        }
    };
    let request = match read_request(http, body) {
        Ok(request) => request,
        Err(response) => {
            count("BAD_REQUEST");
            return (response, none());
        }
    };
    if http.method() == actix_web::http::Method::GET {
        // The lexical guard before this parses the document (`execute` runs it for the rest).
        if let Some(refusal) = api.scan(&request.query) {
            telemetry.errors(&refusal.errors);
            return (answer(api, &refusal, media), none());
        }
        if is_mutation(&request.query) {
            return refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "BAD_REQUEST",
                "mutations must use POST",
                JSON,
            );
        }
    }
    let Some(_permit) = api.admit(&principal) else {
        let too_many =
            podledger_api::error::too_many_requests(api.policy().max_concurrent_per_caller);
        let (mut response, operation) = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "TOO_MANY_REQUESTS",
            &too_many.message,
            media,
        );
        response.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from_static("1"),
        );
        return (response, operation);
    };
    let request = request.data(correlation);
    let (response, operation) = api.execute_observed(request, principal).await;
    telemetry.errors(&response.errors);
    (answer(api, &response, media), operation)
}

/// The HTTP answer to a GraphQL response: its JSON (or the size error in its place), with 400
/// for a request error (no data, no error with a path) under `application/graphql-response+json`.
fn answer(api: &Api, response: &async_graphql::Response, media: &'static str) -> HttpResponse {
    let status = if media == GRAPHQL_RESPONSE && podledger_api::error::is_request_error(response) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    HttpResponse::build(status)
        .content_type(media)
        .body(api.to_json(response))
}

/// The GraphQL request: from the query string of a GET, or the JSON body of a POST (400 when
/// it is not a GraphQL request, 413 past [`MAX_BODY`], 415 for another media type).
#[allow(clippy::result_large_err)]
fn read_request(
    http: &HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
) -> Result<async_graphql::Request, HttpResponse> {
    let bad = |message: String| error_body(StatusCode::BAD_REQUEST, "BAD_REQUEST", &message);
    if http.method() == actix_web::http::Method::GET {
        return async_graphql::http::parse_query_string(http.query_string())
            .map_err(|e| bad(format!("not a GraphQL request: {e}")));
    }
    let content_type = http
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .map(|h| {
            h.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if content_type.is_some_and(|media| media != JSON) {
        return Err(error_body(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the request as application/json",
        ));
    }
    let body = body.map_err(|e| {
        if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
            error_body(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                &format!("request bodies are limited to {MAX_BODY} bytes"),
            )
        } else {
            bad("the request body could not be read".to_owned())
        }
    })?;
    serde_json::from_slice(&body).map_err(|e| bad(format!("not a GraphQL request: {e}")))
}

fn is_mutation(query: &str) -> bool {
    async_graphql::parser::parse_query(query).is_ok_and(|doc| {
        doc.operations
            .iter()
            .any(|(_, op)| op.node.ty == async_graphql::parser::types::OperationType::Mutation)
    })
}

async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(GraphiQLSource::build().endpoint("/graphql").finish())
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

/// Liveness: the process answers.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(JSON)
        .body(r#"{"status":"alive"}"#)
}

/// Readiness: migrations applied (the store opened), the store answers, and the read models are
/// within `ready_max_lag` events of its head; 503 with the reason until then.
async fn readyz(api: web::Data<Api>, telemetry: web::Data<Telemetry>) -> HttpResponse {
    match telemetry.readiness(&api).await {
        Ok((head, applied)) => HttpResponse::Ok()
            .content_type(JSON)
            .json(serde_json::json!({
                "status": "ready", "head": head, "applied": applied
            })),
        Err(reason) => HttpResponse::ServiceUnavailable()
            .content_type(JSON)
            .json(serde_json::json!({ "status": "not ready", "reason": reason })),
    }
}

/// The metrics, in the Prometheus text format.
async fn metrics(api: web::Data<Api>, telemetry: web::Data<Telemetry>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(telemetry.encode(&api).await)
}

/// The routes of the API (`/graphql`, `/health`, `/healthz`, `/readyz`, `/metrics`, and
/// `/graphiql` with `dev`), for an actix `App` — `serve` mounts them; benchmarks mount them
/// beside a baseline handler.
pub fn routes(
    api: Api,
    auth: AuthConfig,
    telemetry: Telemetry,
    dev: bool,
) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    let api = web::Data::new(api);
    let auth = web::Data::new(auth);
    let telemetry = web::Data::new(telemetry);
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(api.clone())
            .app_data(auth.clone())
            .app_data(telemetry.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route("/graphql", web::post().to(graphql))
            .route("/graphql", web::get().to(graphql))
            .route("/health", web::get().to(health))
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics));
        if dev {
            cfg.route("/graphiql", web::get().to(graphiql));
        }
    }
}

/// Connections queued for accepting per listener (actix-web's default).
const BACKLOG: i32 = 1024;

/// A bound server, not yet running.
#[allow(missing_debug_implementations)] // actix's `Server` has no `Debug`
pub struct Bound {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Stops it (gracefully: in-flight requests finish within the shutdown timeout).
    pub handle: ServerHandle,
    /// The server; run it by awaiting it.
    pub server: Server,
    /// Send `true` to close every WebSocket with 1001 (`going away`).
    pub close_websockets: tokio::sync::watch::Sender<bool>,
}

/// Binds and returns the server future (not yet running) with its address. The server does
/// not handle signals itself: [`crate::Running::shutdown`] stops it in order (readiness, the `WebSocket`s,
/// in-flight requests within `shutdown_timeout`, views persisted).
///
/// The HTTP service is actix-http's, with the actix-web `App` for requests and
/// [`crate::ws::upgrade::upgrade`] for WebSocket handshakes (actix-web's `HttpServer` offers
/// no way to take a connection's socket over).
pub fn serve(
    config: &crate::ServerConfig,
    api: Api,
    telemetry: Telemetry,
) -> std::io::Result<Bound> {
    let (auth, dev, ws, workers) = (
        config.auth.clone(),
        config.dev,
        config.ws.clone(),
        config.workers,
    );
    let routes = routes(api.clone(), auth.clone(), telemetry.clone(), dev);
    let dashboard = crate::dashboard::routes(auth.clone(), config.demo);
    let (close_websockets, shutdown) = tokio::sync::watch::channel(false);
    let sockets = std::sync::Arc::new(crate::ws::WsContext {
        api,
        auth,
        config: ws,
        telemetry,
        shutdown,
    });
    let listener = listener(&config.listen)?;
    let addr = listener.local_addr()?;
    let mut builder = actix_web::dev::Server::build()
        .disable_signals()
        .shutdown_timeout(config.shutdown_timeout.as_secs().max(1));
    // 0 keeps actix's default: one worker per core.
    if workers > 0 {
        builder = builder.workers(workers);
    }
    let server = builder
        .listen("podledger", listener, move || {
            let app = actix_web::App::new()
                .wrap(actix_web::middleware::from_fn(limit_body))
                .configure(routes.clone())
                .configure(dashboard.clone());
            let sockets = sockets.clone();
            actix_http::HttpService::build()
                .client_disconnect_timeout(std::time::Duration::from_secs(1))
                .local_addr(addr)
                .upgrade(actix_service::fn_factory(move || {
                    let sockets = sockets.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(actix_service::fn_service(move |parts| {
                            crate::ws::upgrade::upgrade(sockets.clone(), parts)
                        }))
                    }
                }))
                .finish(actix_service::map_config(app, |()| {
                    actix_web::dev::AppConfig::default()
                }))
                .tcp()
        })?
        .run();
    Ok(Bound {
        addr,
        handle: server.handle(),
        server,
        close_websockets,
    })
}

/// A listening socket on the first address `listen` resolves to.
fn listener(listen: &str) -> std::io::Result<std::net::TcpListener> {
    use std::net::ToSocketAddrs;
    let addr = listen.to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to listen on")
    })?;
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Refuses bodies over [`MAX_BODY`] by their declared length before anything reads them (wrap
/// an `App` mounting [`routes`] with `actix_web::middleware::from_fn(limit_body)`).
pub async fn limit_body(
    request: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let declared = request
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY) {
        let response = error_body(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            &format!("request bodies are limited to {MAX_BODY} bytes"),
        );
        return Ok(request.into_response(response));
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

//! HTTP: `POST /graphql` and `GET /graphql` (queries only), bearer authentication, `/health`,
//! and GraphiQL at `/graphiql` with `--dev`.

use std::net::SocketAddr;

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::http::GraphiQLSource;
use async_graphql_actix_web::GraphQLRequest;
use podledger_api::{AuthConfig, PodledgerSchema};

/// Largest request body accepted (bytes).
pub const MAX_BODY: usize = 256 * 1024;

fn error_body(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response.insert_header(("Allow", "POST"));
    }
    response
        .content_type("application/json")
        .json(serde_json::json!({
            "errors": [{ "message": message, "extensions": { "code": code } }]
        }))
}

async fn graphql(
    schema: web::Data<PodledgerSchema>,
    auth: web::Data<AuthConfig>,
    http: HttpRequest,
    request: GraphQLRequest,
) -> HttpResponse {
    let header = http
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let principal = match auth.verify_header(header) {
        Ok(p) => p,
        Err(e) => return error_body(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", &e.to_string()),
    };
    let request = request.into_inner();
    if http.method() == actix_web::http::Method::GET && is_mutation(&request.query) {
        return error_body(
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_REQUEST",
            "mutations must use POST",
        );
    }
    let response = schema.execute(request.data(principal)).await;
    HttpResponse::Ok()
        .content_type("application/json")
        .json(response)
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

/// Binds and returns the server future (not yet running) with its address.
pub fn serve(
    listen: &str,
    schema: PodledgerSchema,
    auth: AuthConfig,
    dev: bool,
) -> std::io::Result<(SocketAddr, ServerHandle, Server)> {
    let schema = web::Data::new(schema);
    let auth = web::Data::new(auth);
    let server = actix_web::HttpServer::new(move || {
        let mut app = actix_web::App::new()
            .app_data(schema.clone())
            .app_data(auth.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route("/graphql", web::post().to(graphql))
            .route("/graphql", web::get().to(graphql))
            .route("/health", web::get().to(health));
        if dev {
            app = app.route("/graphiql", web::get().to(graphiql));
        }
        app
    })
    .workers(2)
    .bind(listen)?;
    let addr = server.addrs()[0];
    let server = server.run();
    Ok((addr, server.handle(), server))
}

//! The WebSocket upgrade, taken at the HTTP layer: actix-http hands every request that asks for
//! a WebSocket (or `CONNECT`) to [`upgrade`] together with its connection, so that after the
//! handshake the connection owns its socket — no HTTP dispatcher, response stream or channel
//! sits between a subscription and the client. Anything but a WebSocket handshake at
//! `/graphql` from an allowed origin is answered with a JSON error and the connection closed.

use std::convert::Infallible;
use std::sync::Arc;

use actix_codec::Framed;
use actix_http::body::BodySize;
use actix_http::h1::{self, Message};
use actix_http::header::{self, HeaderValue};
use actix_http::{HttpMessage, Request, StatusCode, ws};
use bytes::Bytes;
use futures_util::SinkExt;
use tokio::net::TcpStream;

use super::inbound::Reader;
use super::wire::Wire;
use super::{Connection, PROTOCOL, WsConfig, WsContext};

fn origin_allowed(request: &Request, config: &WsConfig) -> bool {
    let headers = request.headers();
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if config.allowed_origins.is_empty() {
        let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        return origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host));
    }
    config
        .allowed_origins
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(origin))
}

/// Whether the client offered the subprotocol.
fn offers_protocol(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == PROTOCOL)
}

/// Answers with a GraphQL-shaped JSON error; the connection closes after it.
async fn refuse(
    framed: &mut Framed<TcpStream, h1::Codec>,
    status: StatusCode,
    code: &str,
    message: &str,
) {
    let body = Bytes::from(
        serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
            .to_string(),
    );
    let mut response = actix_http::Response::build(status);
    response
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .force_close();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response.insert_header((header::ALLOW, "GET"));
    }
    let head = response.finish().drop_body();
    let _ = framed
        .send(Message::Item((head, BodySize::Sized(body.len() as u64))))
        .await;
    let _ = framed.send(Message::Chunk(Some(body))).await;
    let _ = framed.send(Message::Chunk(None)).await;
}

/// The upgrade service: refuses what is not a WebSocket handshake for `/graphql` from an allowed
/// origin, else completes the handshake and runs the connection on the socket until it closes.
pub async fn upgrade(
    ctx: Arc<WsContext>,
    (request, mut framed): (Request, Framed<TcpStream, h1::Codec>),
) -> Result<(), Infallible> {
    if request.path() != "/graphql" {
        refuse(
            &mut framed,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "no such resource",
        )
        .await;
        return Ok(());
    }
    if request.method() != actix_http::Method::GET {
        refuse(
            &mut framed,
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "a WebSocket is opened with GET",
        )
        .await;
        return Ok(());
    }
    if !origin_allowed(&request, &ctx.config) {
        refuse(
            &mut framed,
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "this origin may not open a WebSocket",
        )
        .await;
        return Ok(());
    }
    if let Err(e) = ws::verify_handshake(request.head()) {
        refuse(
            &mut framed,
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            &e.to_string(),
        )
        .await;
        return Ok(());
    }
    let agreed = offers_protocol(&request);
    let mut response = ws::handshake_response(request.head());
    drop(request);
    if agreed {
        response.insert_header((
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(PROTOCOL),
        ));
    }
    let head = response.finish().drop_body();
    if framed
        .send(Message::Item((head, BodySize::None)))
        .await
        .is_err()
    {
        return Ok(());
    }
    // Keep the socket and whatever the client sent after its handshake; the HTTP codec and its
    // write buffer go now, not when the connection ends.
    let actix_codec::FramedParts { io, read_buf, .. } = framed.into_parts();
    let stream = Arc::new(io);
    let _ = stream.set_nodelay(true);
    if let Some(bytes) = ctx.config.socket_send_buffer {
        let _ = socket2::SockRef::from(&*stream).set_send_buffer_size(bytes);
    }
    let reader = Reader::new(stream.clone(), read_buf, ctx.config.max_message);
    let wire = Arc::new(Wire::new(stream, ctx.config.max_buffered));
    Connection { ctx, wire }.run(reader, agreed).await;
    Ok(())
}

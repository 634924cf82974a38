//! A real OTLP trace receiver for tests: gRPC (`TraceService/Export` over HTTP/2, answered with
//! `grpc-status: 0`) or HTTP/protobuf (`POST /v1/traces` over HTTP/1.1), on a loopback port.
//! Every request is decoded with the OTLP protobuf definitions and its spans kept.

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;

/// A running receiver.
#[derive(Clone, Debug, Default)]
pub struct Receiver {
    spans: Arc<Mutex<Vec<Span>>>,
    /// Raw request bodies, to search for what must never be exported.
    pub raw: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Receiver {
    /// The spans received so far.
    pub fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap().clone()
    }

    fn keep(&self, body: &[u8]) {
        self.raw.lock().unwrap().push(body.to_vec());
        let request = ExportTraceServiceRequest::decode(body).expect("an OTLP export request");
        let mut spans = self.spans.lock().unwrap();
        for resource in request.resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
    }

    /// Starts a gRPC receiver; returns it and its endpoint (`http://127.0.0.1:port`).
    pub async fn grpc() -> (Self, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let receiver = Self::default();
        let keeper = receiver.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let keeper = keeper.clone();
                tokio::spawn(async move {
                    let Ok(mut connection) = h2::server::handshake(socket).await else {
                        return;
                    };
                    // The connection makes progress only while it is polled: each request
                    // is answered by its own task.
                    while let Some(Ok((request, respond))) = connection.accept().await {
                        tokio::spawn(answer_grpc(keeper.clone(), request, respond));
                    }
                });
            }
        });
        (receiver, endpoint)
    }

    /// Starts an HTTP/protobuf receiver; returns it and its endpoint (`http://127.0.0.1:port`).
    pub async fn http() -> (Self, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let receiver = Self::default();
        let keeper = receiver.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let keeper = keeper.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut reader = BufReader::new(read);
                    loop {
                        let mut request_line = String::new();
                        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        assert!(
                            request_line.starts_with("POST /v1/traces "),
                            "{request_line}"
                        );
                        let mut length = 0;
                        loop {
                            let mut header = String::new();
                            reader.read_line(&mut header).await.unwrap();
                            let header = header.trim_end();
                            if header.is_empty() {
                                break;
                            }
                            let (name, value) = header.split_once(':').unwrap();
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().unwrap();
                            }
                            if name.eq_ignore_ascii_case("content-type") {
                                assert_eq!(value.trim(), "application/x-protobuf");
                            }
                        }
                        let mut body = vec![0; length];
                        reader.read_exact(&mut body).await.unwrap();
                        keeper.keep(&body);
                        write
                            .write_all(
                                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
                            )
                            .await
                            .unwrap();
                    }
                });
            }
        });
        (receiver, endpoint)
    }
}

async fn answer_grpc(
    keeper: Receiver,
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<bytes::Bytes>,
) {
    assert_eq!(
        request.uri().path(),
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
    );
    let mut body = request.into_body();
    let mut bytes = Vec::new();
    while let Some(Ok(chunk)) = body.data().await {
        let _ = body.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    // One length-prefixed gRPC message: flag byte, 4-byte length, message.
    assert!(bytes.len() >= 5 && bytes[0] == 0, "an uncompressed message");
    keeper.keep(&bytes[5..]);
    let response = http::Response::builder()
        .header("content-type", "application/grpc")
        .body(())
        .unwrap();
    let mut stream = respond.send_response(response, false).unwrap();
    // An empty ExportTraceServiceResponse, then the status.
    stream
        .send_data(bytes::Bytes::from_static(&[0, 0, 0, 0, 0]), false)
        .unwrap();
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", "0".parse().unwrap());
    stream.send_trailers(trailers).unwrap();
}

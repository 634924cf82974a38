//! The inbound half of a WebSocket connection: the client's frames read from the socket and
//! decoded by actix-http's codec (masking, opcodes, the largest frame), continuations joined
//! into whole messages up to the largest message.

use std::sync::Arc;

use actix_codec::Decoder;
use actix_http::ws::{Codec, Frame, Item, ProtocolError};
use bytes::{Bytes, BytesMut};
use tokio::net::TcpStream;

/// A whole message from the client.
#[derive(Debug)]
pub enum Inbound {
    Text(Bytes),
    Binary,
    Ping(Bytes),
    Pong,
    Close,
}

/// Why reading stopped.
#[derive(Debug)]
pub enum ReadError {
    /// A frame or message over the limit.
    Overflow,
    /// Anything else the protocol forbids.
    Protocol,
}

/// Reads whole messages from one connection's socket.
#[derive(Debug)]
pub struct Reader {
    stream: Arc<TcpStream>,
    buffer: BytesMut,
    codec: Codec,
    /// A fragmented message being joined: whether it is text, and its bytes so far.
    partial: Option<(bool, BytesMut)>,
    max_message: usize,
}

impl Reader {
    /// `buffer`: bytes already read past the upgrade request.
    pub fn new(stream: Arc<TcpStream>, buffer: BytesMut, max_message: usize) -> Self {
        Self {
            stream,
            buffer,
            codec: Codec::new().max_size(max_message),
            partial: None,
            max_message,
        }
    }

    /// The next whole message; `None` when the client closed the socket. Cancel-safe: what was
    /// read and not yet returned stays in the reader.
    pub async fn next(&mut self) -> Option<Result<Inbound, ReadError>> {
        loop {
            match self.codec.decode(&mut self.buffer) {
                Ok(Some(frame)) => {
                    if let Some(message) = self.join(frame).transpose() {
                        return Some(message);
                    }
                    continue;
                }
                Ok(None) => {}
                Err(ProtocolError::Overflow) => return Some(Err(ReadError::Overflow)),
                Err(_) => return Some(Err(ReadError::Protocol)),
            }
            // An idle connection holds no read buffer: read onto the stack, keep what is read.
            if self.buffer.is_empty() && self.buffer.capacity() > 0 {
                self.buffer = BytesMut::new();
            }
            // The chunk's scope ends before the wait: it is not part of the future's state.
            let read = {
                let mut chunk = [0u8; 4096];
                let read = self.stream.try_read(&mut chunk);
                if let Ok(n) = read {
                    self.buffer.extend_from_slice(&chunk[..n]);
                }
                read
            };
            match read {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if self.stream.readable().await.is_err() {
                        return None;
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// A frame into a whole message, or `None` while a fragmented one is incomplete.
    fn join(&mut self, frame: Frame) -> Result<Option<Inbound>, ReadError> {
        let piece = match frame {
            Frame::Text(text) => return Ok(Some(Inbound::Text(text))),
            Frame::Binary(_) => return Ok(Some(Inbound::Binary)),
            Frame::Ping(bytes) => return Ok(Some(Inbound::Ping(bytes))),
            Frame::Pong(_) => return Ok(Some(Inbound::Pong)),
            Frame::Close(_) => return Ok(Some(Inbound::Close)),
            Frame::Continuation(piece) => piece,
        };
        let (last, bytes) = match piece {
            Item::FirstText(_) | Item::FirstBinary(_) if self.partial.is_some() => {
                return Err(ReadError::Protocol);
            }
            Item::FirstText(bytes) => {
                self.partial = Some((true, BytesMut::from(&bytes[..])));
                return Ok(None);
            }
            Item::FirstBinary(bytes) => {
                self.partial = Some((false, BytesMut::from(&bytes[..])));
                return Ok(None);
            }
            Item::Continue(bytes) => (false, bytes),
            Item::Last(bytes) => (true, bytes),
        };
        let Some((_, joined)) = self.partial.as_mut() else {
            return Err(ReadError::Protocol);
        };
        if joined.len() + bytes.len() > self.max_message {
            return Err(ReadError::Overflow);
        }
        joined.extend_from_slice(&bytes);
        if !last {
            return Ok(None);
        }
        let (text, joined) = self.partial.take().unwrap_or_default();
        Ok(Some(if text {
            Inbound::Text(joined.freeze())
        } else {
            Inbound::Binary
        }))
    }
}

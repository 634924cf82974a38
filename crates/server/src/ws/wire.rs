//! The outbound half of a WebSocket connection: server frames written straight into the socket
//! with one vectored write (header, and the message in as many pieces as it was built from — a
//! shared board is never copied per subscriber), and what the socket would not take kept in a
//! bounded buffer that the connection drains when the socket has room again.

use std::io::IoSlice;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Opcodes of the frames a server sends.
pub const TEXT: u8 = 0x1;
pub const CLOSE: u8 = 0x8;
pub const PONG: u8 = 0xA;

/// Why a send did not go out.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The buffer holds more than its limit: the client does not read fast enough.
    Full,
    /// The connection is closing or broke.
    Gone,
}

#[derive(Debug, Default)]
struct Pending {
    /// Bytes the socket did not take yet, in order.
    bytes: BytesMut,
    /// No more frames: a close frame was queued, or the socket failed.
    closed: bool,
}

/// The writer of one connection, shared by the connection and its operations.
#[derive(Debug)]
pub struct Wire {
    stream: Arc<TcpStream>,
    pending: Mutex<Pending>,
    /// Signalled when the buffer shrank or the wire closed (senders waiting for room).
    room: Notify,
    /// Signalled when the buffer stopped being empty (the connection's drain).
    work: Notify,
    /// Bytes the buffer may hold before a send is refused as [`Refused::Full`].
    limit: usize,
}

/// The header of an unmasked, final frame of `len` bytes.
fn header(opcode: u8, len: usize) -> ([u8; 10], usize) {
    let mut header = [0u8; 10];
    header[0] = 0x80 | opcode;
    let size = if len < 126 {
        header[1] = u8::try_from(len).unwrap_or(0);
        2
    } else if let Ok(short) = u16::try_from(len) {
        header[1] = 126;
        header[2..4].copy_from_slice(&short.to_be_bytes());
        4
    } else {
        header[1] = 127;
        header[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    (header, size)
}

impl Wire {
    pub fn new(stream: Arc<TcpStream>, limit: usize) -> Self {
        Self {
            stream,
            pending: Mutex::new(Pending::default()),
            room: Notify::new(),
            work: Notify::new(),
            limit,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends a frame whose payload is `parts` end to end, without waiting: into the socket if
    /// nothing is queued before it, else behind the queue — unless the queue is over its limit.
    pub fn try_send(&self, opcode: u8, parts: &[&[u8]]) -> Result<(), Refused> {
        let mut pending = self.lock();
        self.push(&mut pending, opcode, parts, false)
    }

    fn push(
        &self,
        pending: &mut Pending,
        opcode: u8,
        parts: &[&[u8]],
        past_limit: bool,
    ) -> Result<(), Refused> {
        debug_assert!(parts.len() <= 3, "a frame is sent in at most three pieces");
        if pending.closed {
            return Err(Refused::Gone);
        }
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let (header, header_len) = header(opcode, len);
        let header = &header[..header_len];
        let mut written = 0;
        if pending.bytes.is_empty() {
            let mut slices = [IoSlice::new(&[]); 4];
            slices[0] = IoSlice::new(header);
            for (slice, part) in slices[1..].iter_mut().zip(parts) {
                *slice = IoSlice::new(part);
            }
            // One `sendmsg`, straight on the socket: tokio's readiness bookkeeping is not needed
            // here (a refusal leaves the bytes to `drain`, which goes through tokio), and
            // `sendmsg` skips the file layer `writev` goes through.
            match rustix::net::sendmsg(
                &*self.stream,
                &slices[..=parts.len().min(3)],
                &mut rustix::net::SendAncillaryBuffer::default(),
                rustix::net::SendFlags::DONTWAIT | rustix::net::SendFlags::NOSIGNAL,
            ) {
                Ok(n) if n == header_len + len => return Ok(()),
                Ok(n) => written = n,
                Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {}
                Err(_) => {
                    pending.closed = true;
                    self.room.notify_waiters();
                    return Err(Refused::Gone);
                }
            }
            self.work.notify_one();
        } else if !past_limit && pending.bytes.len() + header_len + len > self.limit {
            return Err(Refused::Full);
        }
        // Queue what the socket did not take: the part of the frame past `written`.
        for piece in std::iter::once(header).chain(parts.iter().copied()) {
            let skip = written.min(piece.len());
            written -= skip;
            pending.bytes.extend_from_slice(&piece[skip..]);
        }
        Ok(())
    }

    /// Sends a frame, waiting up to `timeout` for room in the buffer; [`Refused::Full`] after.
    pub async fn send(
        &self,
        opcode: u8,
        parts: &[&[u8]],
        timeout: Duration,
    ) -> Result<(), Refused> {
        // Most sends find room at once: those touch neither the notifier nor a timer.
        match self.try_send(opcode, parts) {
            Err(Refused::Full) => {}
            done => return done,
        }
        let deadline = Instant::now() + timeout;
        loop {
            // Registered before the attempt, so room made between the two is not missed.
            let room = self.room.notified();
            match self.try_send(opcode, parts) {
                Err(Refused::Full) => {}
                done => return done,
            }
            if tokio::time::timeout_at(deadline, room).await.is_err() {
                return Err(Refused::Full);
            }
        }
    }

    /// Writes what the buffer holds while the socket takes it; whether the buffer is empty.
    fn write_pending(&self) -> Result<bool, Refused> {
        let mut pending = self.lock();
        while !pending.bytes.is_empty() {
            match self.stream.try_write(&pending.bytes) {
                Ok(n) => {
                    pending.bytes.advance(n);
                    self.room.notify_waiters();
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(false),
                Err(_) => {
                    pending.closed = true;
                    self.room.notify_waiters();
                    return Err(Refused::Gone);
                }
            }
        }
        Ok(true)
    }

    /// Writes the buffer out, waiting for room in the socket as needed; `Err` if it failed.
    async fn flush(&self) -> Result<(), Refused> {
        while !self.write_pending()? {
            self.stream.writable().await.map_err(|_| Refused::Gone)?;
        }
        Ok(())
    }

    /// Drains the buffer whenever the socket has room; returns only if the socket failed. Run by
    /// the connection beside everything else it waits for (cancel-safe: the state is here).
    pub async fn drain(&self) {
        loop {
            let work = self.work.notified();
            if self.flush().await.is_err() {
                return;
            }
            work.await;
        }
    }

    /// Queues a close frame (past the limit: it must go), refuses every frame after it, and
    /// waits up to `grace` for the client to take what is queued; then shuts the socket down.
    pub async fn close(&self, code: u16, reason: &str, grace: Duration) {
        {
            let mut pending = self.lock();
            let code = code.to_be_bytes();
            // Control frames carry at most 125 bytes: the code and 123 of the reason.
            let mut end = reason.len().min(123);
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            let _ = self.push(
                &mut pending,
                CLOSE,
                &[&code, &reason.as_bytes()[..end]],
                true,
            );
            pending.closed = true;
        }
        self.room.notify_waiters();
        let _ = tokio::time::timeout(grace, self.flush()).await;
        let _ = socket2::SockRef::from(&*self.stream).shutdown(std::net::Shutdown::Both);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// A connected pair on loopback: the server's side (small send buffer) and the client's.
    async fn pair() -> (Arc<TcpStream>, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        socket2::SockRef::from(&server)
            .set_send_buffer_size(4096)
            .unwrap();
        socket2::SockRef::from(&client)
            .set_recv_buffer_size(4096)
            .unwrap();
        (Arc::new(server), client)
    }

    /// Reads `count` text frames (server frames are unmasked) and returns their payloads.
    async fn frames(client: &mut TcpStream, count: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for _ in 0..count {
            let mut head = [0u8; 2];
            client.read_exact(&mut head).await.unwrap();
            assert_eq!(head[0], 0x80 | TEXT);
            let len = match head[1] {
                126 => usize::from(client.read_u16().await.unwrap()),
                127 => usize::try_from(client.read_u64().await.unwrap()).unwrap(),
                n => usize::from(n),
            };
            let mut payload = vec![0; len];
            client.read_exact(&mut payload).await.unwrap();
            out.push(payload);
        }
        out
    }

    #[tokio::test]
    async fn given_a_client_that_reads_late_when_frames_outgrow_the_socket_then_they_queue_and_arrive_whole_and_in_order()
     {
        let (server, mut client) = pair().await;
        let wire = Arc::new(Wire::new(server, 1 << 20));
        let body = vec![b'x'; 3000];
        let messages: Vec<Vec<u8>> = (0..40u32)
            .map(|n| [format!("{n}:").into_bytes(), body.clone()].concat())
            .collect();
        for message in &messages {
            let (number, rest) = message.split_at(message.iter().position(|b| *b == b':').unwrap());
            wire.try_send(TEXT, &[number, rest]).unwrap();
        }
        assert!(
            !wire.lock().bytes.is_empty(),
            "120 kB do not fit the socket's buffers: some must wait in the wire"
        );
        let draining = tokio::spawn({
            let wire = wire.clone();
            async move { wire.drain().await }
        });
        assert_eq!(frames(&mut client, messages.len()).await, messages);
        draining.abort();
    }

    #[tokio::test]
    async fn given_a_full_buffer_when_more_is_sent_then_it_is_refused_and_a_waiting_send_times_out()
    {
        let (server, _client) = pair().await;
        let wire = Wire::new(server, 10_000);
        let chunk = vec![b'y'; 4000];
        let mut refused = None;
        for _ in 0..1000 {
            if let Err(e) = wire.try_send(TEXT, &[&chunk]) {
                refused = Some(e);
                break;
            }
        }
        assert_eq!(refused, Some(Refused::Full));
        assert!(wire.lock().bytes.len() <= 10_000 + 4000);
        let waited = wire.send(TEXT, &[&chunk], Duration::from_millis(50)).await;
        assert_eq!(waited, Err(Refused::Full));
        wire.close(1008, "slow consumer", Duration::from_millis(50))
            .await;
        assert_eq!(wire.try_send(TEXT, &[b"late"]), Err(Refused::Gone));
    }

    #[test]
    fn headers_use_the_shortest_length_encoding() {
        assert_eq!(header(TEXT, 5).0[..2], [0x81, 5]);
        let (h, n) = header(TEXT, 300);
        assert_eq!((n, &h[..4]), (4, &[0x81, 126, 1, 44][..]));
        let (h, n) = header(CLOSE, 70_000);
        assert_eq!(
            (n, &h[..10]),
            (10, &[0x88, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70][..])
        );
    }
}

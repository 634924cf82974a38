//! Catch-up-then-live subscriptions for any backend that can read by position and announces
//! its committed head: the stream always reads from the store, so the switch from catch-up to
//! live can neither miss nor repeat an event.

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::store::{EventStream, RecordedEvent, StoreError};

/// Events read per query.
const BATCH: usize = 1_000;
/// How often to look for events committed by another process, which do not announce themselves.
const POLL: Duration = Duration::from_millis(500);

struct State<F> {
    after: u64,
    buffer: VecDeque<RecordedEvent>,
    head: watch::Receiver<u64>,
    read: F,
    failed: bool,
    /// The next page, read ahead while the consumer works through the buffer (catch-up only).
    ahead: Option<JoinHandle<Result<Vec<RecordedEvent>, StoreError>>>,
}

/// A subscription from `after`: `read(after, limit)` reads committed events; `head` changes
/// whenever this process commits.
pub(crate) fn catch_up_then_live<F, Fut>(
    after: u64,
    head: watch::Receiver<u64>,
    read: F,
) -> EventStream
where
    F: Fn(u64, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send + 'static,
{
    let state = State {
        after,
        buffer: VecDeque::new(),
        head,
        read,
        failed: false,
        ahead: None,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(event) = st.buffer.pop_front() {
                st.after = event.position;
                return Some((Ok(event), st));
            }
            if st.failed {
                return None;
            }
            // Mark the current head as seen *before* reading, so a commit that lands after the
            // read wakes us up.
            st.head.borrow_and_update();
            let page = match st.ahead.take() {
                Some(ahead) => ahead.await.unwrap_or(Err(StoreError::Closed)),
                None => (st.read)(st.after, BATCH).await,
            };
            match page {
                Ok(events) if !events.is_empty() => {
                    if events.len() == BATCH {
                        // Catching up: read the next page while this one is consumed.
                        let last = events.last().map_or(st.after, |e| e.position);
                        st.ahead = Some(tokio::spawn((st.read)(last, BATCH)));
                    }
                    st.buffer.extend(events);
                }
                Ok(_) => {
                    tokio::select! {
                        changed = st.head.changed() => if changed.is_err() { return None },
                        () = tokio::time::sleep(POLL) => {}
                    }
                }
                Err(error) => {
                    st.failed = true;
                    return Some((Err(error), st));
                }
            }
        }
    }))
}

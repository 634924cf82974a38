//! Fan-out of one shared execution to its subscribers, shared by every thread that has some.
//!
//! Subscribers sit in chunks of [`CHUNK`]. Each message of the execution becomes a round: the
//! relay task of every thread with subscribers (one per thread, woken once per message) claims
//! chunks from the round's cursor and hands the message to each subscriber in them — so the
//! threads share the work whoever's connections the subscribers are, and a thread that has the
//! processor to itself takes more chunks than one that shares it. A relay starts the next round
//! only once every chunk of this one is done, so each subscriber gets the messages in order.
//!
//! Each subscriber records the number of the last message it was given: a message it already
//! has (replayed when it joined) is skipped, and one that comes after a gap (every relay fell
//! more than [`super::SHARED_BUFFER`] rounds behind) tells it it lagged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, Weak};

use tokio::sync::Notify;
use tokio::sync::broadcast::{self, error::RecvError};

use super::{LiveMessage, SHARED_BUFFER, Subscriber};

/// Subscribers per chunk: what a relay claims at a time (a few hundred microseconds of sends).
const CHUNK: usize = 64;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Member {
    /// Tells a member from a later one in the same slot.
    id: u64,
    /// The number of the last message it was given.
    seen: u64,
    subscriber: Arc<dyn Subscriber>,
}

type Chunk = Mutex<Vec<Option<Member>>>;

/// Where a member sits: chunk and slot.
type Place = (usize, usize);

#[derive(Default)]
struct Members {
    /// Only ever grows, so a chunk's index stays valid.
    chunks: RwLock<Vec<Arc<Chunk>>>,
    /// Emptied slots, to fill first.
    free: Mutex<Vec<Place>>,
}

impl Members {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<Chunk>>> {
        self.chunks.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn chunk(&self, index: usize) -> Arc<Chunk> {
        self.read()[index].clone()
    }

    fn count(&self) -> usize {
        self.read().len()
    }

    fn insert(&self, member: Member) -> Place {
        let reuse = lock(&self.free).pop();
        if let Some((chunk, slot)) = reuse {
            lock(&self.chunk(chunk))[slot] = Some(member);
            return (chunk, slot);
        }
        let mut chunks = self.chunks.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(last) = chunks.last() {
            let mut slots = lock(last);
            if slots.len() < CHUNK {
                slots.push(Some(member));
                return (chunks.len() - 1, slots.len() - 1);
            }
        }
        let mut slots = Vec::with_capacity(CHUNK);
        slots.push(Some(member));
        chunks.push(Arc::new(Mutex::new(slots)));
        (chunks.len() - 1, 0)
    }

    /// Empties `place` if member `id` is still in it (delivery may have taken it out already).
    fn remove(&self, (chunk, slot): Place, id: u64) {
        let chunk_of = self.chunk(chunk);
        let mut slots = lock(&chunk_of);
        if slots[slot].as_ref().is_some_and(|m| m.id == id) {
            slots[slot] = None;
            drop(slots);
            lock(&self.free).push((chunk, slot));
        }
    }

    /// How many subscribers (tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.read()
            .iter()
            .map(|c| lock(c).iter().filter(|m| m.is_some()).count())
            .sum()
    }
}

enum What {
    Message(u64, LiveMessage),
    End,
}

/// One message on its way to every subscriber.
struct Round {
    what: What,
    /// Chunks there were when the round began (members who joined later have the message).
    total: usize,
    /// The next chunk to claim.
    cursor: AtomicUsize,
    /// Chunks done.
    done: AtomicUsize,
    finished: Notify,
}

impl Round {
    /// Until every chunk of the round is done, whoever did it.
    async fn finished(&self) {
        loop {
            let finished = self.finished.notified();
            if self.done.load(Ordering::Acquire) >= self.total {
                return;
            }
            finished.await;
        }
    }
}

#[derive(Default)]
struct Latest {
    /// The last message and its number.
    message: Option<(u64, LiveMessage)>,
    ended: bool,
}

/// What a shared execution and its subscribers share.
pub(super) struct Feed {
    sender: broadcast::Sender<Arc<Round>>,
    latest: Mutex<Latest>,
    members: Members,
}

impl Feed {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            sender: broadcast::channel(SHARED_BUFFER).0,
            latest: Mutex::new(Latest::default()),
            members: Members::default(),
        })
    }

    /// Begins a round. `_latest` is the caller's proof that it holds the `latest` lock, as
    /// joining does: a member either joined before the round (and is in it) or after (and has
    /// its message, or did not want it).
    fn begin(&self, _latest: &Latest, what: What) {
        let _ = self.sender.send(Arc::new(Round {
            what,
            total: self.members.count(),
            cursor: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            finished: Notify::new(),
        }));
    }

    /// The execution's next message: kept as the latest, then handed to every subscriber.
    pub(super) fn publish(&self, message: LiveMessage) {
        let mut latest = lock(&self.latest);
        let n = latest.message.as_ref().map_or(1, |(n, _)| n + 1);
        let _span = tracing::info_span!(
            "live.fan_out",
            subscribers = self.members.count(),
            message = n
        )
        .entered();
        latest.message = Some((n, message.clone()));
        self.begin(&latest, What::Message(n, message));
    }

    /// The execution ended: every subscriber is told, and nobody joins any more.
    pub(super) fn end(&self) {
        let mut latest = lock(&self.latest);
        latest.ended = true;
        self.begin(&latest, What::End);
    }

    /// Claims chunks of `round` until none is left, handing its message to their members.
    fn hand_out(&self, round: &Round) {
        loop {
            let index = round.cursor.fetch_add(1, Ordering::Relaxed);
            if index >= round.total {
                return;
            }
            let chunk = self.members.chunk(index);
            let mut freed = Vec::new();
            for (slot, place) in lock(&chunk).iter_mut().enumerate() {
                let Some(member) = place else { continue };
                let stays = match &round.what {
                    What::Message(n, _) if member.seen >= *n => true,
                    What::Message(n, _) if member.seen + 1 < *n => {
                        member.subscriber.deliver(&LiveMessage::Lagged);
                        false
                    }
                    What::Message(n, message) => {
                        member.seen = *n;
                        member.subscriber.deliver(message)
                    }
                    What::End => {
                        member.subscriber.end();
                        false
                    }
                };
                if !stays {
                    *place = None;
                    freed.push((index, slot));
                }
            }
            if !freed.is_empty() {
                lock(&self.members.free).extend(freed);
            }
            if round.done.fetch_add(1, Ordering::AcqRel) + 1 == round.total {
                round.finished.notify_waiters();
            }
        }
    }
}

/// A shared execution: its feed, and the task resolving it.
pub(super) struct Group {
    pub(super) feed: Arc<Feed>,
    replay: bool,
    task: tokio::task::AbortHandle,
    /// Tells the relays apart in the per-thread registry.
    id: u64,
}

static GROUP_IDS: AtomicU64 = AtomicU64::new(1);
static MEMBER_IDS: AtomicU64 = AtomicU64::new(1);

impl Group {
    /// `replay`: give a subscriber that joins the latest message first (state feeds).
    pub(super) fn new(feed: Arc<Feed>, replay: bool, task: tokio::task::AbortHandle) -> Self {
        Self {
            feed,
            replay,
            task,
            id: GROUP_IDS.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // The last subscriber left: stop resolving for nobody.
        self.task.abort();
    }
}

/// One thread's relay of a group: a task woken once per message, which takes its share of the
/// round.
struct Relay {
    task: tokio::task::AbortHandle,
    /// Keeps the execution running while this thread has subscribers.
    group: Arc<Group>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

thread_local! {
    /// This thread's relays, by group.
    static RELAYS: std::cell::RefCell<HashMap<u64, Weak<Relay>>> =
        std::cell::RefCell::new(HashMap::new());
}

/// This thread's relay of `group`, started if there is none. Call it with the feed's `latest`
/// lock held, so that no round begins between the caller's replay and the relay.
fn relay(group: &Arc<Group>) -> Arc<Relay> {
    RELAYS.with_borrow_mut(|relays| {
        if let Some(relay) = relays.get(&group.id).and_then(Weak::upgrade) {
            return relay;
        }
        let mut rounds = group.feed.sender.subscribe();
        let feed = group.feed.clone();
        let task = tokio::spawn(async move {
            loop {
                let round = match rounds.recv().await {
                    Ok(round) => round,
                    // Rounds this relay missed were done by others, or their gap shows.
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                };
                feed.hand_out(&round);
                round.finished().await;
                if matches!(round.what, What::End) {
                    return;
                }
            }
        });
        let relay = Arc::new(Relay {
            task: task.abort_handle(),
            group: group.clone(),
        });
        relays.retain(|_, r| r.strong_count() > 0);
        relays.insert(group.id, Arc::downgrade(&relay));
        relay
    })
}

/// A subscriber's place on a shared feed; dropping it leaves the feed.
pub struct Membership {
    /// `None` when the replayed message was its last.
    place: Option<Place>,
    id: u64,
    relay: Arc<Relay>,
}

impl std::fmt::Debug for Membership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Membership")
            .field("place", &self.place)
            .finish_non_exhaustive()
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        if let Some(place) = self.place {
            self.relay.group.feed.members.remove(place, self.id);
        }
    }
}

/// Puts `subscriber` on `group`'s feed, after giving it the latest message (state feeds);
/// `None` when the group has ended (the caller starts a new one).
pub(super) fn join(group: &Arc<Group>, subscriber: Arc<dyn Subscriber>) -> Option<Membership> {
    let latest = lock(&group.feed.latest);
    if latest.ended {
        return None;
    }
    let mut seen = 0;
    let mut stays = true;
    if let Some((n, message)) = &latest.message {
        seen = *n;
        if group.replay {
            // Refused (its buffer is full) or final (an error): nothing more goes to it.
            stays = subscriber.deliver(message);
        }
    }
    let relay = relay(group);
    let id = MEMBER_IDS.fetch_add(1, Ordering::Relaxed);
    let place = stays.then(|| {
        group.feed.members.insert(Member {
            id,
            seen,
            subscriber,
        })
    });
    drop(latest);
    Some(Membership { place, id, relay })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> LiveMessage {
        LiveMessage::Next(text.into())
    }

    /// A subscriber that keeps what it is given; it refuses once it holds `room` messages.
    struct Recorder {
        received: Mutex<Vec<String>>,
        room: usize,
    }

    impl Recorder {
        fn new(room: usize) -> Arc<Self> {
            Arc::new(Self {
                received: Mutex::new(Vec::new()),
                room,
            })
        }

        fn texts(&self) -> Vec<String> {
            self.received.lock().unwrap().clone()
        }
    }

    impl Subscriber for Recorder {
        fn deliver(&self, message: &LiveMessage) -> bool {
            let mut received = self.received.lock().unwrap();
            if received.len() >= self.room {
                return false;
            }
            received.push(match message {
                LiveMessage::Next(t) | LiveMessage::Error(t) => t.to_string(),
                LiveMessage::Lagged => "lagged".into(),
            });
            matches!(message, LiveMessage::Next(_))
        }

        fn end(&self) {
            self.received.lock().unwrap().push("end".into());
        }
    }

    fn subscriber(recorder: &Arc<Recorder>) -> Arc<dyn Subscriber> {
        recorder.clone()
    }

    /// A group whose execution is driven by hand: `publish` and `end` are what it does.
    fn group(replay: bool) -> Arc<Group> {
        let idle = tokio::spawn(std::future::pending::<()>());
        Arc::new(Group::new(Feed::new(), replay, idle.abort_handle()))
    }

    /// Lets this thread's relays run until they are idle.
    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn given_a_message_the_relay_has_not_passed_on_when_a_subscriber_joins_then_it_arrives_once()
     {
        let group = group(true);
        let (first, late) = (Recorder::new(10), Recorder::new(10));
        let _first = join(&group, subscriber(&first)).unwrap();
        // The execution publishes; this thread's relay has not run yet.
        group.feed.publish(message("board 1"));
        let _late = join(&group, subscriber(&late)).unwrap();
        group.feed.publish(message("board 2"));
        group.feed.end();
        settle().await;
        assert_eq!(first.texts(), ["board 1", "board 2", "end"]);
        assert_eq!(late.texts(), ["board 1", "board 2", "end"]);
    }

    #[tokio::test]
    async fn given_subscribers_on_one_thread_then_they_share_one_relay_which_stops_with_the_last() {
        let group = group(false);
        let (a, b) = (Recorder::new(10), Recorder::new(10));
        let a = join(&group, subscriber(&a)).unwrap();
        let b = join(&group, subscriber(&b)).unwrap();
        assert!(
            Arc::ptr_eq(&a.relay, &b.relay),
            "both are on this thread's relay"
        );
        assert_eq!(group.feed.members.len(), 2);
        drop(a);
        assert_eq!(group.feed.members.len(), 1, "leaving takes the member off");
        drop(b);
        let alive = RELAYS.with_borrow(|r| r.get(&group.id).is_some_and(|w| w.strong_count() > 0));
        assert!(!alive, "the relay went with its last subscriber");
        // The relay held the group: only this test's handle is left.
        assert_eq!(Arc::strong_count(&group), 1);
    }

    #[tokio::test]
    async fn given_a_subscriber_that_cannot_take_more_then_it_leaves_the_feed_and_the_others_stay()
    {
        let group = group(false);
        let (full, reader) = (Recorder::new(1), Recorder::new(10));
        let full_membership = join(&group, subscriber(&full)).unwrap();
        let _reader = join(&group, subscriber(&reader)).unwrap();
        for n in 1..=3 {
            group.feed.publish(message(&format!("reading {n}")));
            settle().await;
        }
        assert_eq!(
            full.texts(),
            ["reading 1"],
            "refused the second, then was given nothing"
        );
        assert_eq!(reader.texts(), ["reading 1", "reading 2", "reading 3"]);
        assert_eq!(group.feed.members.len(), 1);
        // Its slot went to nobody yet; leaving afterwards takes nobody else's.
        let newcomer = Recorder::new(10);
        let _newcomer = join(&group, subscriber(&newcomer)).unwrap();
        drop(full_membership);
        assert_eq!(
            group.feed.members.len(),
            2,
            "the newcomer in the freed slot stays"
        );
    }

    #[tokio::test]
    async fn given_a_latest_message_that_is_an_error_when_a_subscriber_joins_then_it_gets_only_that()
     {
        let group = group(true);
        group
            .feed
            .publish(LiveMessage::Error("[{\"message\":\"gone\"}]".into()));
        let recorder = Recorder::new(10);
        let _member = join(&group, subscriber(&recorder)).unwrap();
        group.feed.publish(message("never"));
        group.feed.end();
        settle().await;
        assert_eq!(recorder.texts(), [r#"[{"message":"gone"}]"#]);
    }

    #[tokio::test]
    async fn given_rounds_every_relay_missed_then_their_subscribers_are_told_they_lagged() {
        let group = group(false);
        let recorder = Recorder::new(1000);
        let _member = join(&group, subscriber(&recorder)).unwrap();
        for _ in 1..=(SHARED_BUFFER + 10) {
            group.feed.publish(message("reading"));
        }
        group.feed.end();
        settle().await;
        assert_eq!(recorder.texts(), ["lagged"]);
    }

    #[test]
    fn given_subscribers_joined_on_two_threads_then_both_relays_share_the_rounds_and_each_gets_every_message_once_in_order()
     {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let group = runtime.block_on(async { group(false) });
        let (go, ready) = std::sync::mpsc::channel::<()>();
        let (done_tx, done) = std::sync::mpsc::channel::<Vec<Arc<Recorder>>>();
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (group, go, done_tx, mut stop) =
                    (group.clone(), go.clone(), done_tx.clone(), stop.clone());
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    runtime.block_on(async move {
                        let recorders: Vec<_> = (0..300).map(|_| Recorder::new(100)).collect();
                        let memberships: Vec<_> = recorders
                            .iter()
                            .map(|r| join(&group, subscriber(r)).unwrap())
                            .collect();
                        go.send(()).unwrap();
                        let _ = stop.wait_for(|s| *s).await;
                        drop(memberships);
                        done_tx.send(recorders).unwrap();
                    });
                })
            })
            .collect();
        ready.recv().unwrap();
        ready.recv().unwrap();
        for n in 1..=5 {
            group.feed.publish(message(&format!("board {n}")));
        }
        group.feed.end();
        let expected = ["board 1", "board 2", "board 3", "board 4", "board 5", "end"];
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while group.feed.members.len() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        stop_tx.send(true).unwrap();
        for _ in 0..2 {
            for recorder in done.recv().unwrap() {
                assert_eq!(recorder.texts(), expected);
            }
        }
        for thread in threads {
            thread.join().unwrap();
        }
    }
}

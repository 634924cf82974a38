//! How many queries and mutations one caller (an organisation's person or service) may have
//! running at once. A caller past the limit is refused at once — HTTP 429 with `Retry-After`,
//! an `error` message on a WebSocket — instead of queueing, so one caller's flood never holds a
//! worker, a reader connection or a place in a queue that another caller is waiting for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use podledger_domain::Actor;
use uuid::Uuid;

use crate::auth::Principal;

type Caller = (Uuid, Uuid);

/// The running requests of every caller.
#[derive(Clone, Debug)]
pub struct Admission {
    running: Arc<Mutex<HashMap<Caller, usize>>>,
    max: usize,
}

/// One running request; its place is given back when it is dropped.
#[derive(Debug)]
pub struct Permit {
    running: Arc<Mutex<HashMap<Caller, usize>>>,
    caller: Caller,
}

impl Admission {
    /// At most `max` running requests per caller (at least 1).
    pub fn new(max: usize) -> Self {
        Self {
            running: Arc::default(),
            max: max.max(1),
        }
    }

    /// A place for one more request of `principal`, unless they have `max` running.
    pub fn admit(&self, principal: &Principal) -> Option<Permit> {
        let who = match &principal.actor {
            Actor::Member { person } => person.as_uuid(),
            Actor::Service { service, .. } => service.as_uuid(),
        };
        let caller = (principal.org.as_uuid(), who);
        let mut running = self.running.lock().expect("admission");
        let count = running.entry(caller).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Permit {
            running: self.running.clone(),
            caller,
        })
    }

    /// Requests running now, over all callers (telemetry, tests).
    pub fn running(&self) -> usize {
        self.running.lock().expect("admission").values().sum()
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut running = self.running.lock().expect("admission");
        if let Some(count) = running.get_mut(&self.caller) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.caller);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use podledger_domain::ids::{OrgId, PersonId};

    use super::*;

    fn caller() -> Principal {
        Principal {
            org: OrgId(Uuid::now_v7()),
            actor: Actor::member(PersonId(Uuid::now_v7())),
            expires_at: 0,
        }
    }

    #[test]
    fn given_a_caller_at_the_limit_when_another_request_comes_then_it_is_refused_and_others_are_not()
     {
        let admission = Admission::new(2);
        let (busy, other) = (caller(), caller());
        let first = admission.admit(&busy).expect("first");
        let _second = admission.admit(&busy).expect("second");
        assert!(
            admission.admit(&busy).is_none(),
            "the third waits for nobody"
        );
        assert!(
            admission.admit(&other).is_some(),
            "another caller is not held up"
        );
        drop(first);
        assert!(
            admission.admit(&busy).is_some(),
            "a finished request frees its place"
        );
    }

    #[test]
    fn given_permits_dropped_then_nothing_is_kept_for_the_caller() {
        let admission = Admission::new(1);
        let permit = admission.admit(&caller());
        assert_eq!(admission.running(), 1);
        drop(permit);
        assert_eq!(admission.running(), 0);
        assert!(admission.running.lock().unwrap().is_empty());
    }
}

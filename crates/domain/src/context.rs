//! Who acts, for which organisation, and when: everything a decision needs that is not state.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{OrgId, PersonId, PodId, ServiceId};

/// The acting principal of a command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Actor {
    /// A person of the organisation. Their roles come from the organisation's state, never from a token.
    Member {
        /// The person.
        person: PersonId,
    },
    /// An integration with a service token and what it was granted.
    Service {
        /// The integration.
        service: ServiceId,
        /// What the token allows.
        scope: ServiceScope,
    },
}

impl Actor {
    /// A member actor.
    pub const fn member(person: PersonId) -> Self {
        Self::Member { person }
    }

    /// The person, if a member acts.
    pub const fn person(&self) -> Option<PersonId> {
        match self {
            Self::Member { person } => Some(*person),
            Self::Service { .. } => None,
        }
    }

    /// A stable text form for event metadata: `member:<uuid>` or `service:<uuid>`.
    pub fn to_metadata(&self) -> String {
        match self {
            Self::Member { person } => format!("member:{person}"),
            Self::Service { service, .. } => format!("service:{service}"),
        }
    }
}

/// What a service token may do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceScope {
    /// Pods whose KPI readings the token may record.
    pub kpi_readings_for_pods: BTreeSet<PodId>,
}

/// The context of one command: organisation, actor, the server's time, and the caller's
/// optimistic-concurrency claim on the command's target (R12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    /// The organisation the actor acts in (from the token).
    pub org: OrgId,
    /// Who acts.
    pub actor: Actor,
    /// The time of the decision, read from the clock by the caller, never inside the domain.
    pub now: DateTime<Utc>,
    /// The version of the target the caller last read, if the caller wants R12 checked.
    pub expected_version: Option<u64>,
}

impl Context {
    /// A context without an expected version.
    pub const fn new(org: OrgId, actor: Actor, now: DateTime<Utc>) -> Self {
        Self {
            org,
            actor,
            now,
            expected_version: None,
        }
    }

    /// The same context with an expected version.
    #[must_use]
    pub const fn expecting(mut self, version: u64) -> Self {
        self.expected_version = Some(version);
        self
    }
}

//! Who did something, as an object a client can join: a person of the organisation, or an
//! integration acting with a service token. Events and ledgers store the actor as
//! `member:<uuid>` or `service:<uuid>`; clients never see that form.

use std::sync::Arc;

use async_graphql::{ID, SimpleObject, Union};
use podledger_domain::ids::PersonId;
use podledger_projections::org_view::OrgView;
use uuid::Uuid;

use super::person::Person;
use crate::ids::to_id;

/// An integration acting with a service token (it may record KPI readings of the pods its
/// token names).
#[derive(SimpleObject, Clone, Debug)]
pub struct Service {
    /// Opaque id of the service (the `Service` id `podledger token --service` mints for).
    pub id: ID,
}

/// Who did something: a person of the organisation, or an integration.
#[derive(Union, Clone, Debug)]
pub enum Actor {
    /// A person.
    Person(Person),
    /// An integration.
    Service(Service),
}

/// The actor a stored `member:<uuid>` or `service:<uuid>` names, in `org`.
pub fn actor_of(org: &Arc<OrgView>, stored: &str) -> Option<Actor> {
    let (kind, id) = stored.split_once(':')?;
    let id = Uuid::parse_str(id).ok()?;
    match kind {
        "member" => Person::of(org, PersonId(id)).map(Actor::Person),
        "service" => Some(Actor::Service(Service {
            id: to_id("Service", id),
        })),
        _ => None,
    }
}

/// The stored form (`member:<uuid>`, `service:<uuid>`) of a `Person` or `Service` id.
pub fn stored_actor(id: &ID) -> Option<String> {
    let (kind, uuid) = crate::ids::kind_of(id)?;
    match kind.as_str() {
        "Person" => Some(format!("member:{uuid}")),
        "Service" => Some(format!("service:{uuid}")),
        _ => None,
    }
}

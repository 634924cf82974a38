//! The Relay `Node` interface: every object with a global id can be fetched again by it with
//! `node(id:)`.

use async_graphql::{ID, Interface};

use super::{Blocker, IntakeRequest, Item, Kpi, Organisation, Person, Pod, Sprint};

/// An object with an opaque global id.
#[derive(Interface, Debug)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global id."))]
pub enum Node {
    /// The organisation.
    Organisation(Organisation),
    /// A pod.
    Pod(Pod),
    /// A backlog item.
    Item(Item),
    /// A sprint.
    Sprint(Sprint),
    /// A person.
    Person(Person),
    /// A KPI.
    Kpi(Kpi),
    /// A blocker.
    Blocker(Blocker),
    /// An intake request.
    IntakeRequest(IntakeRequest),
}

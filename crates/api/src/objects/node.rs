//! The Relay `Node` interface: every object with a global id can be fetched again by it with
//! `node(id:)`.

use async_graphql::{ID, Interface};

use super::{
    Approval, Blocker, IntakeRequest, Item, Kpi, Organisation, Person, Pod, RetroAction,
    ServiceRequest, SharedService, Sprint,
};

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
    /// A shared service.
    SharedService(SharedService),
    /// A request to a shared service.
    ServiceRequest(ServiceRequest),
    /// A retro action item.
    RetroAction(RetroAction),
    /// An approval request.
    Approval(Approval),
}

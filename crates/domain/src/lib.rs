//! The pure domain of podledger: types, commands, events, `decide`/`evolve`, and every rule of
//! SPEC.md. No IO, no clock, no random ids: time and ids are inputs (see [`Context`]).
//!
//! **Architecture Invariant:** this crate knows nothing about sqlx, GraphQL or tokio; a test
//! (`tests/no_io_dependencies.rs`) fails if one of its normal dependencies is an IO crate.

pub mod command;
pub mod context;
pub mod error;
pub mod event;
pub mod fuzzing;
pub mod ids;
pub mod kpi;
pub mod org;
pub mod permissions;
pub mod persistent;
pub mod pod;
pub mod roles;
pub mod stamp;
mod tagged;
pub mod validate;

#[cfg(test)]
mod testkit;

pub use command::{Command, State, StreamCategory, Target, decide, evolve};
pub use context::{Actor, Context, ServiceScope};
pub use error::{DomainError, ErrorCode, FieldError};
pub use event::{DecodeError, EncodedEvent, Event};

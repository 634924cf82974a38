//! The GraphQL API of podledger — the only crate that knows GraphQL: the schema over the
//! projections and the command handler, bearer-token authentication, and the one place where
//! errors become `extensions.code`.

// Doc comments of schema items are the SDL descriptions users read; they use SPEC's names
// (ORG_ADMIN, PRODUCT_OWNER…) as written, not Rust identifiers.
#![allow(clippy::doc_markdown)]

pub mod admission;
pub mod auth;
pub mod connection;
pub mod context;
pub mod document_cache;
pub mod error;
pub mod fuzzing;
pub mod ids;
pub mod limits;
pub mod live;
pub mod loaders;
pub mod mutation;
pub mod objects;
pub mod query;
pub mod schema;
pub mod subscription;
pub mod telemetry;

pub use auth::{AuthConfig, AuthError, Principal};
pub use limits::Limits;
pub use schema::{Api, ApiState, PodledgerSchema, Policy, authorised, build_schema, sdl};
pub use telemetry::{CorrelationId, OperationInfo};

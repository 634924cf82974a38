//! Read models of podledger: what people look at, folded from the event store.
//!
//! - [`pod_view`], [`org_view`], [`kpi_view`]: pure folds of one stream each (plus metadata).
//! - [`metrics`]: every metric of SPEC §6 as pure functions of a pod view; [`operating`]: the
//!   metrics of SPEC §9 (retros, approvals, shared services); [`health_audit`]: the five
//!   failure patterns of SPEC §9.4.
//! - [`ledger`]: the ownership ledger and "who owned X at time T".
//!
//! **Architecture Invariant:** views and metrics are pure: the same events give the same view,
//! whether folded live, rebuilt from position 0, or replayed up to a past position.

pub mod audit;
pub mod catch_up;
pub mod envelope;
pub mod health_audit;
pub mod history;
pub mod kpi_view;
pub mod ledger;
pub mod metrics;
pub mod operating;
pub mod org_view;
pub mod persist;
pub mod pod_view;
pub mod runner;
pub mod snapshots;
pub mod tally;
pub use podledger_domain::stamp;
pub mod views;

pub use history::AsOf;
pub use runner::{Applied, ProjectionError, ProjectionOptions, Projections};
pub use views::{ViewKey, Views};

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests_metrics;
#[cfg(test)]
mod tests_operating;
#[cfg(test)]
mod tests_views;

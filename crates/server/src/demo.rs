//! The demo organisation, Northwind Growth: Acquisition, Activation and Retention pods with
//! SPEC roles, six closed sprints of history and one active sprint each, scope changes,
//! re-estimates, blockers, intake, KPIs with readings, retros, a legal review service with an
//! operator and an approval rule for legal copy. Acquisition is healthy; Activation trips the
//! health audit (a missing capability, one person across four output categories, a late
//! approval, a retro action not followed through, a breached request to legal). It is an import file,
//! `crates/server/demo/demo.jsonl` (the format's worked example, see docs/import-format.md),
//! loaded through the same path as `podledger import`, with every date moved by whole weeks so
//! that its active sprints are this fortnight's. Loading it again changes nothing: each line's
//! idempotency key is derived from its text, which the move does not touch.

use std::sync::Arc;

use podledger_domain::ids::{OrgId, PersonId};
use podledger_eventstore::EventStore;

use crate::import::{Importer, Options, Stopped, Summary};

/// The demo's import file.
pub const FILE: &str = include_str!("../demo/demo.jsonl");

/// The demo organisation's id (`@northwind` in the file).
pub fn org_id() -> OrgId {
    crate::import::organisation("@northwind").expect("a valid @name")
}

/// The id `@name` stands for in the demo file (`id("Acquisition")` is that pod's).
pub fn id(name: &str) -> uuid::Uuid {
    crate::import::named(org_id(), name)
}

fn person(name: &str) -> PersonId {
    PersonId(id(name))
}

/// People whose tokens `demo` prints: (role, name, id).
pub fn key_people() -> Vec<(&'static str, &'static str, PersonId)> {
    vec![
        ("ORG_ADMIN", "Ada Admin", person("Ada Admin")),
        ("VP_MARKETING", "Vera Vance", person("Vera Vance")),
        ("PO Acquisition", "Paula Price", person("Paula Price")),
        ("SM Acquisition", "Sid Sato", person("Sid Sato")),
        ("DESIGNER Acquisition", "Dana Diaz", person("Dana Diaz")),
        ("PO Activation", "Olga Ortiz", person("Olga Ortiz")),
        ("OPERATOR Legal review", "Lou Legal", person("Lou Legal")),
    ]
}

/// Loads the demo file into `store` (idempotent). Once people have used the demo organisation
/// (it has live events after the import), it is left as it is: loading the file again would
/// put a past after their present. An error names the line that was refused.
pub async fn seed(store: Arc<dyn EventStore>) -> Result<Summary, Stopped> {
    match Importer::new(store, Options { shift_to_now: true })
        .import(FILE, |_| {})
        .await
    {
        Err(stopped)
            if stopped.line == 1 && stopped.refusal.code() == "ORGANISATION_HAS_LIVE_HISTORY" =>
        {
            tracing::info!(
                "the demo organisation has been used since it was loaded: kept as it is"
            );
            Ok(Summary {
                organisations: 1,
                ..Summary::default()
            })
        }
        other => other,
    }
}

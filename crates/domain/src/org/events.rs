//! Events of an organisation (past tense; stable names — see `crate::codec`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{PersonId, PodId, SharedServiceId};
use crate::roles::{OrgRole, PodFocus, PodRole};

use super::{ServiceFunction, Sla};

/// What happened to an organisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all_fields = "camelCase")]
pub enum OrgEvent {
    /// The organisation exists.
    OrganisationCreated {
        /// Name.
        name: String,
        /// Sprint length in days.
        sprint_length_days: u16,
        /// When.
        at: DateTime<Utc>,
    },
    /// The sprint length changed.
    SprintCadenceSet {
        /// Sprint length in days.
        sprint_length_days: u16,
    },
    /// A person joined the organisation.
    PersonAdded {
        /// The person.
        person_id: PersonId,
        /// Display name.
        name: String,
        /// E-mail.
        email: Option<String>,
    },
    /// An org-level role was granted.
    OrgRoleGranted {
        /// The person.
        person_id: PersonId,
        /// The role.
        role: OrgRole,
    },
    /// An org-level role was revoked.
    OrgRoleRevoked {
        /// The person.
        person_id: PersonId,
        /// The role.
        role: OrgRole,
    },
    /// A pod was created.
    PodCreated {
        /// The pod.
        pod_id: PodId,
        /// Name.
        name: String,
        /// Focus.
        focus: PodFocus,
    },
    /// A person got a role in a pod (for `PRODUCT_OWNER`: backlog ownership, level 1 of SPEC §3).
    PodRoleAssigned {
        /// The pod.
        pod_id: PodId,
        /// The person.
        person_id: PersonId,
        /// The role.
        role: PodRole,
        /// The previous holder of a single-holder role (PO, SM), who loses it.
        replaced: Option<PersonId>,
    },
    /// A person lost a role in a pod.
    PodRoleRemoved {
        /// The pod.
        pod_id: PodId,
        /// The person.
        person_id: PersonId,
        /// The role.
        role: PodRole,
    },
    /// An identity provider's subject now signs in as the person.
    IdentityLinked {
        /// The person.
        person_id: PersonId,
        /// The provider's issuer.
        issuer: String,
        /// The provider's subject.
        subject: String,
    },
    /// The identity no longer signs in as the person.
    IdentityUnlinked {
        /// The person it signed in as.
        person_id: PersonId,
        /// The provider's issuer.
        issuer: String,
        /// The provider's subject.
        subject: String,
    },
    /// Items of an output category need approval before they are DONE (SPEC §9.3).
    ApprovalRuleSet {
        /// The output category (lower case).
        output_category: String,
        /// Who approves.
        approver: PersonId,
        /// Hours before a decision is late.
        deadline_hours: u32,
    },
    /// The category no longer needs approval.
    ApprovalRuleRemoved {
        /// The output category (lower case).
        output_category: String,
    },
    /// A shared service was defined (SPEC §9.1).
    SharedServiceDefined {
        /// The service.
        service_id: SharedServiceId,
        /// Name.
        name: String,
        /// What it does.
        function: ServiceFunction,
        /// Its SLA.
        sla: Sla,
    },
    /// A service's SLA changed.
    ServiceSlaChanged {
        /// The service.
        service_id: SharedServiceId,
        /// The new SLA.
        sla: Sla,
    },
    /// A person became an operator of a service.
    ServiceOperatorAppointed {
        /// The service.
        service_id: SharedServiceId,
        /// The person.
        person_id: PersonId,
    },
    /// A person stopped being an operator of a service.
    ServiceOperatorRemoved {
        /// The service.
        service_id: SharedServiceId,
        /// The person.
        person_id: PersonId,
    },
}

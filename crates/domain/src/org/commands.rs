//! Commands on an organisation.

use serde::{Deserialize, Serialize};

use crate::ids::{PersonId, PodId};
use crate::roles::{OrgRole, PodFocus, PodRole};

/// A request to change an organisation. All but `CreateOrganisation` need `ORG_ADMIN`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum OrgCommand {
    /// Creates the organisation; the acting member becomes its first `ORG_ADMIN`.
    CreateOrganisation {
        /// Organisation name.
        name: String,
        /// Sprint length in days (default 14).
        sprint_length_days: Option<i64>,
        /// The founder's display name.
        founder_name: String,
        /// The founder's e-mail.
        founder_email: Option<String>,
    },
    /// Sets the organisation's sprint length.
    SetSprintCadence {
        /// Sprint length in days, 1 to 56.
        sprint_length_days: i64,
    },
    /// Adds a person to the organisation.
    AddPerson {
        /// New id, chosen by the caller.
        person_id: PersonId,
        /// Display name.
        name: String,
        /// E-mail.
        email: Option<String>,
    },
    /// Grants an organisation-level role.
    GrantOrgRole {
        /// The person.
        person_id: PersonId,
        /// The role.
        role: OrgRole,
    },
    /// Revokes an organisation-level role.
    RevokeOrgRole {
        /// The person.
        person_id: PersonId,
        /// The role.
        role: OrgRole,
    },
    /// Creates a pod.
    CreatePod {
        /// New id, chosen by the caller.
        pod_id: PodId,
        /// Pod name.
        name: String,
        /// Pod focus.
        focus: PodFocus,
    },
    /// Gives a person a role in a pod. Assigning `PRODUCT_OWNER` or `SCRUM_MASTER` replaces the holder.
    AssignPodRole {
        /// The person.
        person_id: PersonId,
        /// The pod.
        pod_id: PodId,
        /// The role.
        role: PodRole,
    },
    /// Takes a pod role away; a person with no role left leaves the pod.
    RemovePodRole {
        /// The person.
        person_id: PersonId,
        /// The pod.
        pod_id: PodId,
        /// The role.
        role: PodRole,
    },
    /// Lets a person sign in with an identity provider's token: `subject` (`sub`) issued by
    /// `issuer` (`iss`) is this person from now on. An identity names one person.
    LinkIdentity {
        /// The person.
        person_id: PersonId,
        /// The provider's issuer URL, as its tokens' `iss` says.
        issuer: String,
        /// The provider's subject, as its tokens' `sub` says.
        subject: String,
    },
    /// Stops an identity signing in as the person it was linked to.
    UnlinkIdentity {
        /// The provider's issuer URL.
        issuer: String,
        /// The provider's subject.
        subject: String,
    },
}

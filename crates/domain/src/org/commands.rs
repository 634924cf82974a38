//! Commands on an organisation.

use serde::{Deserialize, Serialize};

use crate::ids::{PersonId, PodId, SharedServiceId};
use crate::roles::{OrgRole, PodFocus, PodRole};

use super::{ServiceFunction, Sla};

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
    /// Declares that items of an output category need approval before they are DONE, by whom
    /// and within how many hours (SPEC §9.3); replaces the category's rule. Applies to
    /// approval requests made after it.
    SetApprovalRule {
        /// The output category (compared without case).
        output_category: String,
        /// Who approves.
        approver: PersonId,
        /// Hours before a decision is late (1 to a year).
        deadline_hours: i64,
    },
    /// The category no longer needs approval.
    RemoveApprovalRule {
        /// The output category.
        output_category: String,
    },
    /// Defines a shared service with its SLA (SPEC §9.1).
    DefineSharedService {
        /// New id, chosen by the caller.
        service_id: SharedServiceId,
        /// Name.
        name: String,
        /// What it does.
        function: ServiceFunction,
        /// Its SLA.
        sla: Sla,
    },
    /// Changes a service's SLA; requests received after it are held to it.
    ChangeServiceSla {
        /// The service.
        service_id: SharedServiceId,
        /// The new SLA.
        sla: Sla,
    },
    /// Appoints an org-level person (never a pod member) as an operator of a service.
    AppointServiceOperator {
        /// The service.
        service_id: SharedServiceId,
        /// The person.
        person_id: PersonId,
    },
    /// A person is no longer an operator of a service.
    RemoveServiceOperator {
        /// The service.
        service_id: SharedServiceId,
        /// The person.
        person_id: PersonId,
    },
}

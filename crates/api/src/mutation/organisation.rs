//! Mutations of the organisation stream: the organisation itself, people, their org roles and
//! identities, pods and pod roles, the sprint cadence.

use async_graphql::{Context, ID, Object, SimpleObject};
use podledger_domain::Command;
use podledger_domain::ids::{PersonId, PodId};
use podledger_domain::org::OrgCommand;
use podledger_domain::roles::{PodFocus, PodRole};

use super::{CommandOptions, new_id, org_uuid, read_pod, run};
use crate::context::{principal, state};
use crate::error::{ApiError, ApiResult};
use crate::ids::from_id;
use crate::objects::{self, Pod};

/// The result of an organisation mutation.
#[derive(SimpleObject, Debug)]
pub struct OrganisationPayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica (a retry with the same idempotency key answers with the first
    /// attempt's); null when the command changed nothing.
    pub position: Option<String>,
    /// The organisation as it is now.
    pub organisation: Option<objects::Organisation>,
}

/// The result of a pod mutation.
#[derive(SimpleObject, Debug)]
pub struct PodPayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica (a retry with the same idempotency key answers with the first
    /// attempt's); null when the command changed nothing.
    pub position: Option<String>,
    /// The pod as it is now.
    pub pod: Option<Pod>,
}

/// The result of a person mutation.
#[derive(SimpleObject, Debug)]
pub struct PersonPayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica (a retry with the same idempotency key answers with the first
    /// attempt's); null when the command changed nothing.
    pub position: Option<String>,
    /// The person as they are now.
    pub person: Option<objects::Person>,
}

fn read_organisation(ctx: &Context<'_>) -> Option<objects::Organisation> {
    let org = org_uuid(ctx)?;
    let view = state(ctx).projections.org(org)?;
    Some(crate::query::live_organisation(ctx, org, view))
}

fn read_person(ctx: &Context<'_>, person: PersonId) -> Option<objects::Person> {
    objects::Person::of(&state(ctx).projections.org(org_uuid(ctx)?)?, person)
}

/// Runs an organisation command and answers with the organisation as it is now.
pub(super) async fn organisation_mutation(
    ctx: &Context<'_>,
    command: OrgCommand,
    options: Option<CommandOptions>,
) -> ApiResult<OrganisationPayload> {
    let position = run(ctx, Command::Org(command), options).await?;
    Ok(OrganisationPayload {
        position,
        organisation: read_organisation(ctx),
    })
}

/// Runs an organisation command and answers with the pod as it is now.
async fn pod_mutation(
    ctx: &Context<'_>,
    pod: PodId,
    command: OrgCommand,
    options: Option<CommandOptions>,
) -> ApiResult<PodPayload> {
    let position = run(ctx, Command::Org(command), options).await?;
    Ok(PodPayload {
        position,
        pod: read_pod(ctx, pod),
    })
}

async fn person_mutation(
    ctx: &Context<'_>,
    person: PersonId,
    command: OrgCommand,
    options: Option<CommandOptions>,
) -> ApiResult<PersonPayload> {
    let position = run(ctx, Command::Org(command), options).await?;
    Ok(PersonPayload {
        position,
        person: read_person(ctx, person),
    })
}

fn pod_role(text: &str) -> ApiResult<PodRole> {
    if let Some(label) = text
        .strip_prefix("OTHER(")
        .and_then(|t| t.strip_suffix(')'))
    {
        return Ok(PodRole::Other(label.to_owned()));
    }
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| ApiError::bad_input("role", format!("unknown pod role {text}")))
}

fn focus(text: &str) -> PodFocus {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .unwrap_or_else(|_| PodFocus::Custom(text.to_owned()))
}

/// The organisation's mutations: itself, people, org roles, identities, pods, pod roles.
#[derive(Debug, Default)]
pub struct OrganisationMutations;

#[Object]
impl OrganisationMutations {
    /// Creates the token's organisation; the caller becomes its first ORG_ADMIN.
    async fn create_organisation(
        &self,
        ctx: &Context<'_>,
        name: String,
        founder_name: String,
        founder_email: Option<String>,
        sprint_length_days: Option<i32>,
        options: Option<CommandOptions>,
    ) -> Result<OrganisationPayload, async_graphql::Error> {
        let command = OrgCommand::CreateOrganisation {
            name,
            sprint_length_days: sprint_length_days.map(i64::from),
            founder_name,
            founder_email,
        };
        Ok(organisation_mutation(ctx, command, options).await?)
    }

    /// ORG_ADMIN: adds a person.
    async fn add_person(
        &self,
        ctx: &Context<'_>,
        name: String,
        email: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<PersonPayload, async_graphql::Error> {
        let person_id = PersonId(new_id(options.as_ref(), "person"));
        let command = OrgCommand::AddPerson {
            person_id,
            name,
            email,
        };
        Ok(person_mutation(ctx, person_id, command, options).await?)
    }

    /// ORG_ADMIN: creates a pod with a focus (ACQUISITION, ACTIVATION, RETENTION, CONTENT_OPS,
    /// REVENUE_ENABLEMENT, BRAND_AND_CREATIVE, or a custom label).
    async fn create_pod(
        &self,
        ctx: &Context<'_>,
        name: String,
        focus: String,
        options: Option<CommandOptions>,
    ) -> Result<PodPayload, async_graphql::Error> {
        let pod_id = PodId(new_id(options.as_ref(), "pod"));
        let command = OrgCommand::CreatePod {
            pod_id,
            name,
            focus: self::focus(&focus),
        };
        Ok(pod_mutation(ctx, pod_id, command, options).await?)
    }

    /// ORG_ADMIN: gives a person a role in a pod (`PRODUCT_OWNER`, `SCRUM_MASTER`, `DESIGNER`,
    /// …, `OTHER(label)`).
    async fn assign_pod_role(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        pod_id: ID,
        role: String,
        options: Option<CommandOptions>,
    ) -> Result<PodPayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let command = OrgCommand::AssignPodRole {
            person_id: person_id!(person_id, "personId"),
            pod_id: pod,
            role: pod_role(&role)?,
        };
        Ok(pod_mutation(ctx, pod, command, options).await?)
    }

    /// ORG_ADMIN: sets the organisation's sprint length (1–56 days).
    async fn set_sprint_cadence(
        &self,
        ctx: &Context<'_>,
        sprint_length_days: i32,
        options: Option<CommandOptions>,
    ) -> Result<OrganisationPayload, async_graphql::Error> {
        let command = OrgCommand::SetSprintCadence {
            sprint_length_days: i64::from(sprint_length_days),
        };
        Ok(organisation_mutation(ctx, command, options).await?)
    }

    /// ORG_ADMIN: grants an organisation-level role.
    async fn grant_org_role(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        role: objects::OrgRole,
        options: Option<CommandOptions>,
    ) -> Result<PersonPayload, async_graphql::Error> {
        let person = person_id!(person_id, "personId");
        let command = OrgCommand::GrantOrgRole {
            person_id: person,
            role: role.into(),
        };
        Ok(person_mutation(ctx, person, command, options).await?)
    }

    /// ORG_ADMIN: lets the person sign in with an identity provider's token whose `iss` is
    /// `issuer` and whose `sub` is `subject` (see `--oidc-issuer`). An identity names one person;
    /// a person may have several.
    async fn link_identity(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        issuer: String,
        subject: String,
        options: Option<CommandOptions>,
    ) -> Result<PersonPayload, async_graphql::Error> {
        let person = person_id!(person_id, "personId");
        let command = OrgCommand::LinkIdentity {
            person_id: person,
            issuer,
            subject,
        };
        Ok(person_mutation(ctx, person, command, options).await?)
    }

    /// ORG_ADMIN: stops an identity signing in as the person it was linked to; the payload is
    /// that person.
    async fn unlink_identity(
        &self,
        ctx: &Context<'_>,
        issuer: String,
        subject: String,
        options: Option<CommandOptions>,
    ) -> Result<PersonPayload, async_graphql::Error> {
        let org = principal(ctx)?.org.as_uuid();
        let person = state(ctx)
            .projections
            .org(org)
            .and_then(|view| view.state.person_by_identity(issuer.trim(), subject.trim()));
        let command = OrgCommand::UnlinkIdentity {
            issuer,
            subject: subject.clone(),
        };
        if let Some(person) = person {
            return Ok(person_mutation(ctx, person, command, options).await?);
        }
        // The domain answers (FORBIDDEN before NOT_FOUND: whether an identity is linked is for
        // admins to know).
        run(ctx, Command::Org(command), options).await?;
        Err(ApiError::Domain(podledger_domain::DomainError::not_found(
            "subject", "identity", &subject,
        ))
        .into())
    }

    /// ORG_ADMIN: revokes an organisation-level role.
    async fn revoke_org_role(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        role: objects::OrgRole,
        options: Option<CommandOptions>,
    ) -> Result<PersonPayload, async_graphql::Error> {
        let person = person_id!(person_id, "personId");
        let command = OrgCommand::RevokeOrgRole {
            person_id: person,
            role: role.into(),
        };
        Ok(person_mutation(ctx, person, command, options).await?)
    }

    /// ORG_ADMIN: takes a pod role away; a person with no role left leaves the pod.
    async fn remove_pod_role(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        pod_id: ID,
        role: String,
        options: Option<CommandOptions>,
    ) -> Result<PodPayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let command = OrgCommand::RemovePodRole {
            person_id: person_id!(person_id, "personId"),
            pod_id: pod,
            role: pod_role(&role)?,
        };
        Ok(pod_mutation(ctx, pod, command, options).await?)
    }
}

//! A person of the organisation.

use std::sync::Arc;

use async_graphql::{ID, Object};
use podledger_domain::ids::PersonId;
use podledger_domain::org::Person as PersonRecord;
use podledger_domain::roles::PodRole;
use podledger_projections::org_view::OrgView;

use super::enums::OrgRole;
use crate::ids::to_id;

/// A person of the organisation.
#[derive(Clone, Debug)]
pub struct Person {
    org: Arc<OrgView>,
    id: PersonId,
}

impl Person {
    /// The person `id` of `org`, if known there.
    pub fn of(org: &Arc<OrgView>, id: PersonId) -> Option<Self> {
        org.state.people.contains_key(&id).then(|| Self {
            org: org.clone(),
            id,
        })
    }

    fn record(&self) -> &PersonRecord {
        &self.org.state.people[&self.id]
    }
}

/// A pod role as SPEC names it (`PRODUCT_OWNER`, `DESIGNER`, `OTHER(label)`…).
pub fn role_name(role: &PodRole) -> String {
    match role {
        PodRole::Other(label) => format!("OTHER({label})"),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    }
}

#[Object]
impl Person {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        to_id("Person", self.id.as_uuid())
    }

    /// Name.
    async fn name(&self) -> &str {
        &self.record().name
    }

    /// E-mail.
    async fn email(&self) -> Option<&str> {
        self.record().email.as_deref()
    }

    /// Org-level roles.
    async fn org_roles(&self) -> Vec<OrgRole> {
        self.record()
            .org_roles
            .iter()
            .map(|r| (*r).into())
            .collect()
    }

    /// Pod, if a member.
    async fn pod_id(&self) -> Option<ID> {
        self.record()
            .membership
            .as_ref()
            .map(|m| to_id("Pod", m.pod.as_uuid()))
    }

    /// Roles in that pod, as SPEC names them (`PRODUCT_OWNER`, `DESIGNER`, `OTHER(label)`…).
    async fn pod_roles(&self) -> Vec<String> {
        self.record()
            .membership
            .iter()
            .flat_map(|m| m.roles.iter().map(role_name))
            .collect()
    }
}

//! The organisation overview: pods, people, and health findings (SPEC §4).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::{ID, Object, SimpleObject};
use chrono::Utc;
use podledger_domain::ids::PodId;
use podledger_projections::org_view::{Finding, OrgView, health};
use uuid::Uuid;

use super::person::Person;
use super::pod::Pod;
use super::scope::PodScope;
use crate::connection::{Page, PageArgs, page, page_of};
use crate::ids::to_id;

/// The organisation overview.
#[derive(Clone, Debug)]
pub struct Organisation {
    id: Uuid,
    org: Arc<OrgView>,
    pods: BTreeMap<PodId, Arc<PodScope>>,
}

impl Organisation {
    /// The organisation `id` with its pods' scopes.
    pub fn new(id: Uuid, org: Arc<OrgView>, pods: BTreeMap<PodId, Arc<PodScope>>) -> Self {
        Self { id, org, pods }
    }
}

#[Object]
impl Organisation {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        to_id("Organisation", self.id)
    }

    /// Name.
    async fn name(&self) -> &str {
        self.org.name()
    }

    /// Sprint length in days.
    async fn sprint_length_days(&self) -> i32 {
        self.org
            .state
            .info
            .as_ref()
            .map_or(0, |i| i32::from(i.sprint_length_days))
    }

    /// Pods.
    async fn pods(
        &self,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<Pod>> {
        let pods = self.pods.values().cloned().map(Pod::new).collect();
        Ok(page_of(pods, &PageArgs::new(after, before, first, last))?)
    }

    /// People.
    async fn people(
        &self,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<Person>> {
        let ids: Vec<_> = self.org.state.people.keys().copied().collect();
        Ok(page(
            ids.len(),
            &PageArgs::new(after, before, first, last),
            |i| Person::of(&self.org, ids[i]).expect("listed people exist"),
        )?)
    }

    /// Health findings (SPEC §4), reported, never blocking.
    async fn health_findings(
        &self,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<HealthFinding>> {
        let views: BTreeMap<_, _> = self
            .pods
            .iter()
            .map(|(id, scope)| (*id, scope.view.clone()))
            .collect();
        let findings = health(&self.org, &views, Utc::now())
            .iter()
            .map(finding)
            .collect();
        Ok(page_of(
            findings,
            &PageArgs::new(after, before, first, last),
        )?)
    }
}

/// A health finding.
#[derive(SimpleObject, Clone, Debug)]
pub struct HealthFinding {
    /// POD_SIZE, CAPABILITY_NOT_COVERED, OWNER_SPREAD_THIN, MID_SPRINT_INSERTIONS or
    /// BLOCKER_OPEN_PAST_48H.
    pub kind: String,
    /// The pod.
    pub pod_id: ID,
    /// The sprint, where relevant.
    pub sprint_id: Option<ID>,
    /// The person, where relevant.
    pub person_id: Option<ID>,
    /// The blocker, where relevant.
    pub blocker_id: Option<ID>,
    /// The capability not covered, where relevant.
    pub capability: Option<String>,
    /// Members, output categories, insertions or hours open.
    pub count: Option<i32>,
}

/// Builds a finding.
pub fn finding(f: &Finding) -> HealthFinding {
    use Finding as F;
    let base = |kind: &str, pod: PodId| HealthFinding {
        kind: kind.into(),
        pod_id: to_id("Pod", pod.as_uuid()),
        sprint_id: None,
        person_id: None,
        blocker_id: None,
        capability: None,
        count: None,
    };
    match f {
        F::PodSize { pod, members } => HealthFinding {
            count: Some(*members as i32),
            ..base("POD_SIZE", *pod)
        },
        F::CapabilityNotCovered { pod, capability } => HealthFinding {
            capability: serde_json::to_value(capability)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned)),
            ..base("CAPABILITY_NOT_COVERED", *pod)
        },
        F::OwnerSpreadThin {
            pod,
            sprint,
            person,
            categories,
        } => HealthFinding {
            sprint_id: Some(to_id("Sprint", sprint.as_uuid())),
            person_id: Some(to_id("Person", person.as_uuid())),
            count: Some(*categories as i32),
            ..base("OWNER_SPREAD_THIN", *pod)
        },
        F::MidSprintInsertions {
            pod,
            sprint,
            insertions,
        } => HealthFinding {
            sprint_id: Some(to_id("Sprint", sprint.as_uuid())),
            count: Some(*insertions as i32),
            ..base("MID_SPRINT_INSERTIONS", *pod)
        },
        F::BlockerOpenPast48h {
            pod,
            blocker,
            hours,
        } => HealthFinding {
            blocker_id: Some(to_id("Blocker", blocker.as_uuid())),
            count: Some(*hours as i32),
            ..base("BLOCKER_OPEN_PAST_48H", *pod)
        },
    }
}

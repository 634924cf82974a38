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
    /// The time of a past point (`None`: live).
    past_time: Option<chrono::DateTime<Utc>>,
}

impl Organisation {
    /// The organisation `id` with its pods' scopes, live or at a past point (`past_time`).
    pub fn new(
        id: Uuid,
        org: Arc<OrgView>,
        pods: BTreeMap<PodId, Arc<PodScope>>,
        past_time: Option<chrono::DateTime<Utc>>,
    ) -> Self {
        Self {
            id,
            org,
            pods,
            past_time,
        }
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

    /// Shared services with their SLA, operators and figures over every pod's requests
    /// (SPEC §9.1), by name.
    async fn shared_services(
        &self,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<super::SharedService>> {
        let stats = podledger_projections::operating::service_stats(
            self.pods
                .iter()
                .map(|(id, scope)| (*id, scope.view.as_ref())),
            self.now(),
        );
        let mut services: Vec<_> = self
            .org
            .state
            .services
            .iter()
            .map(|(id, s)| super::operating::shared_service(&self.org, *id, s, stats.get(id)))
            .collect();
        services.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(page_of(
            services,
            &PageArgs::new(after, before, first, last),
        )?)
    }

    /// Output categories whose items need approval before they are DONE (SPEC §9.3).
    async fn approval_rules(&self) -> Vec<super::ApprovalRule> {
        super::operating::approval_rules(&self.org)
    }

    /// The health audit of every pod (SPEC §9.4), ranked: most failing patterns first, then
    /// most warnings.
    async fn health_audit(&self) -> Vec<super::PodAudit> {
        let now = self.now();
        let audits: BTreeMap<_, _> = self
            .pods
            .iter()
            .map(|(id, scope)| {
                (
                    *id,
                    podledger_projections::health_audit::audit(&self.org, *id, &scope.view, now),
                )
            })
            .collect();
        podledger_projections::health_audit::ranking(&audits)
            .into_iter()
            .map(|(id, failing, warning)| super::PodAudit {
                pod_id: to_id("Pod", id.as_uuid()),
                pod_name: self
                    .org
                    .state
                    .pods
                    .get(&id)
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
                failing: failing as i32,
                warning: warning as i32,
                patterns: audits[&id]
                    .iter()
                    .map(super::operating::pattern_audit)
                    .collect(),
            })
            .collect()
    }

    /// Health findings (SPEC §4), reported, never blocking — those of the query's `asOf`
    /// point when it has one.
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
        let findings = health(&self.org, &views, self.now())
            .iter()
            .map(finding)
            .collect();
        Ok(page_of(
            findings,
            &PageArgs::new(after, before, first, last),
        )?)
    }
}

impl Organisation {
    fn now(&self) -> chrono::DateTime<Utc> {
        self.past_time.unwrap_or_else(Utc::now)
    }
}

/// A health finding: what it is about (`kind`), where, and the one number that kind measures.
#[derive(SimpleObject, Clone, Debug)]
pub struct HealthFinding {
    /// What the finding is about.
    pub kind: super::enums::HealthFindingKind,
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
    /// POD_SIZE: the pod's members.
    pub members: Option<i32>,
    /// OWNER_SPREAD_THIN: the output categories the person owns items of in the sprint.
    pub output_categories: Option<i32>,
    /// MID_SPRINT_INSERTIONS: items inserted after the sprint started.
    pub insertions: Option<i32>,
    /// BLOCKER_OPEN_PAST_48H: whole hours the blocker has been open.
    pub hours_open: Option<i32>,
    /// RETRO_ACTION_NOT_FOLLOWED_THROUGH: the action.
    pub retro_action_id: Option<ID>,
    /// SERVICE_SLA_BREACHED: the request.
    pub service_request_id: Option<ID>,
    /// SERVICE_SLA_BREACHED: the shared service.
    pub shared_service_id: Option<ID>,
    /// SERVICE_SLA_BREACHED: whole hours past the due time (until answered, or now).
    pub hours_late: Option<i32>,
    /// Members, output categories, insertions or hours open, by kind.
    #[graphql(
        deprecation = "Use members, outputCategories, insertions or hoursOpen, which say what they count."
    )]
    pub count: Option<i32>,
}

/// Builds a finding.
pub fn finding(f: &Finding) -> HealthFinding {
    use super::enums::HealthFindingKind as K;
    use Finding as F;
    let base = |kind: K, pod: PodId| HealthFinding {
        kind,
        pod_id: to_id("Pod", pod.as_uuid()),
        sprint_id: None,
        person_id: None,
        blocker_id: None,
        capability: None,
        members: None,
        output_categories: None,
        insertions: None,
        hours_open: None,
        retro_action_id: None,
        service_request_id: None,
        shared_service_id: None,
        hours_late: None,
        count: None,
    };
    match f {
        F::PodSize { pod, members } => HealthFinding {
            members: Some(*members as i32),
            count: Some(*members as i32),
            ..base(K::PodSize, *pod)
        },
        F::CapabilityNotCovered { pod, capability } => HealthFinding {
            capability: serde_json::to_value(capability)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned)),
            ..base(K::CapabilityNotCovered, *pod)
        },
        F::OwnerSpreadThin {
            pod,
            sprint,
            person,
            categories,
        } => HealthFinding {
            sprint_id: Some(to_id("Sprint", sprint.as_uuid())),
            person_id: Some(to_id("Person", person.as_uuid())),
            output_categories: Some(*categories as i32),
            count: Some(*categories as i32),
            ..base(K::OwnerSpreadThin, *pod)
        },
        F::MidSprintInsertions {
            pod,
            sprint,
            insertions,
        } => HealthFinding {
            sprint_id: Some(to_id("Sprint", sprint.as_uuid())),
            insertions: Some(*insertions as i32),
            count: Some(*insertions as i32),
            ..base(K::MidSprintInsertions, *pod)
        },
        F::BlockerOpenPast48h {
            pod,
            blocker,
            hours,
        } => HealthFinding {
            blocker_id: Some(to_id("Blocker", blocker.as_uuid())),
            hours_open: Some(*hours as i32),
            count: Some(*hours as i32),
            ..base(K::BlockerOpenPast48H, *pod)
        },
        F::RetroActionNotFollowedThrough {
            pod,
            sprint,
            action,
            person,
        } => HealthFinding {
            sprint_id: Some(to_id("Sprint", sprint.as_uuid())),
            person_id: Some(to_id("Person", person.as_uuid())),
            retro_action_id: Some(to_id("RetroAction", action.as_uuid())),
            ..base(K::RetroActionNotFollowedThrough, *pod)
        },
        F::ServiceSlaBreached {
            pod,
            request,
            service,
            hours,
        } => HealthFinding {
            service_request_id: Some(to_id("ServiceRequest", request.as_uuid())),
            shared_service_id: Some(to_id("SharedService", service.as_uuid())),
            hours_late: Some(i32::try_from(*hours).unwrap_or(i32::MAX)),
            ..base(K::ServiceSlaBreached, *pod)
        },
    }
}

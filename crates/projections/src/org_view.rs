//! The organisation read model: pods, people, roles, the backlog-ownership ledger of each pod,
//! and the health findings of SPEC §4 that this data allows.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use podledger_domain::ids::{ItemId, PersonId, PodId, SprintId};
use podledger_domain::org::OrgEvent;
use podledger_domain::pod::SprintStatus;
use podledger_domain::roles::{Capability, OrgRole, PodFocus, PodRole};
use serde::{Deserialize, Serialize};

use crate::envelope::Meta;
use crate::ledger::{LedgerChange, LedgerEntry};
use crate::pod_view::PodView;

/// A person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonView {
    /// Id.
    pub id: PersonId,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Org-level roles.
    pub org_roles: BTreeSet<OrgRole>,
    /// Pod, if a member.
    pub pod: Option<PodId>,
    /// Roles in that pod.
    pub pod_roles: BTreeSet<PodRole>,
}

/// A pod as the organisation sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSummary {
    /// Id.
    pub id: PodId,
    /// Name.
    pub name: String,
    /// Focus.
    pub focus: PodFocus,
    /// Product owner.
    pub product_owner: Option<PersonId>,
    /// Scrum master.
    pub scrum_master: Option<PersonId>,
    /// Members.
    pub members: BTreeSet<PersonId>,
    /// Backlog-ownership (PO) ledger.
    pub ledger: Vec<LedgerEntry>,
}

/// The organisation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgView {
    /// Name (empty before creation).
    pub name: String,
    /// Sprint length in days.
    pub sprint_length_days: u16,
    /// People by id.
    pub people: BTreeMap<PersonId, PersonView>,
    /// Pods by id.
    pub pods: BTreeMap<PodId, PodSummary>,
    /// Global position of the last event applied.
    pub position: u64,
    /// Stream version.
    pub version: u64,
}

impl OrgView {
    /// Folds one organisation event.
    #[allow(clippy::too_many_lines)] // one arm per event type reads best as one match
    pub fn apply(&mut self, meta: &Meta, event: &OrgEvent) {
        self.position = meta.position;
        self.version = meta.stream_version;
        match event {
            OrgEvent::OrganisationCreated {
                name,
                sprint_length_days,
                ..
            } => {
                self.name.clone_from(name);
                self.sprint_length_days = *sprint_length_days;
            }
            OrgEvent::SprintCadenceSet { sprint_length_days } => {
                self.sprint_length_days = *sprint_length_days;
            }
            OrgEvent::PersonAdded {
                person_id,
                name,
                email,
            } => {
                self.people.insert(
                    *person_id,
                    PersonView {
                        id: *person_id,
                        name: name.clone(),
                        email: email.clone(),
                        org_roles: BTreeSet::new(),
                        pod: None,
                        pod_roles: BTreeSet::new(),
                    },
                );
            }
            OrgEvent::OrgRoleGranted { person_id, role } => {
                if let Some(p) = self.people.get_mut(person_id) {
                    p.org_roles.insert(*role);
                }
            }
            OrgEvent::OrgRoleRevoked { person_id, role } => {
                if let Some(p) = self.people.get_mut(person_id) {
                    p.org_roles.remove(role);
                }
            }
            OrgEvent::PodCreated {
                pod_id,
                name,
                focus,
            } => {
                self.pods.insert(
                    *pod_id,
                    PodSummary {
                        id: *pod_id,
                        name: name.clone(),
                        focus: focus.clone(),
                        product_owner: None,
                        scrum_master: None,
                        members: BTreeSet::new(),
                        ledger: Vec::new(),
                    },
                );
            }
            OrgEvent::PodRoleAssigned {
                pod_id,
                person_id,
                role,
                replaced,
            } => {
                if let Some(previous) = replaced {
                    self.remove_role(*pod_id, *previous, role);
                }
                if let Some(p) = self.people.get_mut(person_id) {
                    p.pod = Some(*pod_id);
                    p.pod_roles.insert(role.clone());
                }
                if let Some(pod) = self.pods.get_mut(pod_id) {
                    pod.members.insert(*person_id);
                    match role {
                        PodRole::ProductOwner => {
                            pod.product_owner = Some(*person_id);
                            pod.ledger.push(LedgerEntry::new(
                                LedgerChange::Assigned {
                                    person: *person_id,
                                    previous_owner: *replaced,
                                },
                                meta,
                            ));
                        }
                        PodRole::ScrumMaster => pod.scrum_master = Some(*person_id),
                        _ => {}
                    }
                }
            }
            OrgEvent::PodRoleRemoved {
                pod_id,
                person_id,
                role,
            } => {
                self.remove_role(*pod_id, *person_id, role);
                if *role == PodRole::ProductOwner
                    && let Some(pod) = self.pods.get_mut(pod_id)
                {
                    pod.ledger.push(LedgerEntry::new(
                        LedgerChange::Removed { person: *person_id },
                        meta,
                    ));
                }
            }
        }
    }

    fn remove_role(&mut self, pod_id: PodId, person_id: PersonId, role: &PodRole) {
        let mut left = false;
        if let Some(p) = self.people.get_mut(&person_id) {
            p.pod_roles.remove(role);
            if p.pod_roles.is_empty() {
                p.pod = None;
                left = true;
            }
        }
        if let Some(pod) = self.pods.get_mut(&pod_id) {
            if left {
                pod.members.remove(&person_id);
            }
            if *role == PodRole::ProductOwner && pod.product_owner == Some(person_id) {
                pod.product_owner = None;
            }
            if *role == PodRole::ScrumMaster && pod.scrum_master == Some(person_id) {
                pod.scrum_master = None;
            }
        }
    }

    /// Capabilities no member of the pod covers.
    pub fn missing_capabilities(&self, pod: PodId) -> Vec<Capability> {
        let covered: BTreeSet<Capability> = self
            .people
            .values()
            .filter(|p| p.pod == Some(pod))
            .flat_map(|p| {
                p.pod_roles
                    .iter()
                    .flat_map(|r| r.capabilities().iter().copied())
            })
            .collect();
        Capability::ALL
            .into_iter()
            .filter(|c| !covered.contains(c))
            .collect()
    }
}

/// A health finding (reported, never blocking).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "SCREAMING_SNAKE_CASE",
    rename_all_fields = "camelCase"
)]
pub enum Finding {
    /// Pod size outside 5–9 members.
    PodSize {
        /// Pod.
        pod: PodId,
        /// Members.
        members: u32,
    },
    /// A capability no member covers.
    CapabilityNotCovered {
        /// Pod.
        pod: PodId,
        /// Capability.
        capability: Capability,
    },
    /// One person owns items of more than 3 output categories in a sprint.
    OwnerSpreadThin {
        /// Pod.
        pod: PodId,
        /// Sprint.
        sprint: SprintId,
        /// Person.
        person: PersonId,
        /// Distinct output categories.
        categories: u32,
    },
    /// A sprint had items added after start.
    MidSprintInsertions {
        /// Pod.
        pod: PodId,
        /// Sprint.
        sprint: SprintId,
        /// Additions.
        insertions: u32,
    },
    /// A blocker unresolved for more than 48 h.
    BlockerOpenPast48h {
        /// Pod.
        pod: PodId,
        /// Blocker.
        blocker: podledger_domain::ids::BlockerId,
        /// Hours open.
        hours: i64,
    },
}

/// The findings for the organisation at `now`, given its pods' views.
pub fn health<P: std::borrow::Borrow<PodView>>(
    org: &OrgView,
    pods: &BTreeMap<PodId, P>,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (id, summary) in &org.pods {
        let members = summary.members.len() as u32;
        if !(5..=9).contains(&members) {
            findings.push(Finding::PodSize { pod: *id, members });
        }
        for capability in org.missing_capabilities(*id) {
            findings.push(Finding::CapabilityNotCovered {
                pod: *id,
                capability,
            });
        }
        let Some(pod) = pods.get(id).map(std::borrow::Borrow::borrow) else {
            continue;
        };
        for sprint in &pod.sprints {
            if sprint.status == SprintStatus::Planned {
                continue;
            }
            let items: BTreeSet<ItemId> = sprint
                .items
                .iter()
                .chain(
                    sprint
                        .closing
                        .iter()
                        .flat_map(|c| c.done.iter().map(|(i, _)| i)),
                )
                .copied()
                .collect();
            let mut by_owner: BTreeMap<PersonId, BTreeSet<String>> = BTreeMap::new();
            for item in items.iter().filter_map(|i| pod.items.get(i)) {
                if let Some(owner) = item.owner {
                    by_owner
                        .entry(owner)
                        .or_default()
                        .insert(item.output_category.to_lowercase());
                }
            }
            for (person, categories) in by_owner {
                if categories.len() > 3 {
                    findings.push(Finding::OwnerSpreadThin {
                        pod: *id,
                        sprint: sprint.id,
                        person,
                        categories: categories.len() as u32,
                    });
                }
            }
            if !sprint.added.is_empty() {
                findings.push(Finding::MidSprintInsertions {
                    pod: *id,
                    sprint: sprint.id,
                    insertions: sprint.added.len() as u32,
                });
            }
        }
        for b in pod.blockers.iter().filter(|b| b.resolved_at.is_none()) {
            let open = now - b.raised_at;
            if open > Duration::hours(48) {
                findings.push(Finding::BlockerOpenPast48h {
                    pod: *id,
                    blocker: b.id,
                    hours: open.num_hours(),
                });
            }
        }
    }
    findings
}

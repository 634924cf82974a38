//! The state of an organisation, folded from its events.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::ids::{PersonId, PodId, SharedServiceId};
use crate::persistent::Map;
use crate::roles::{OrgRole, PodFocus, PodRole};

use super::{ApprovalRule, OrgEvent, SharedService};

/// Name and cadence, once created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgInfo {
    /// Name.
    pub name: String,
    /// Sprint length in days.
    pub sprint_length_days: u16,
}

/// A person's pod membership: one pod, one or more roles in it (R2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The pod.
    pub pod: PodId,
    /// The roles held there.
    pub roles: BTreeSet<PodRole>,
}

/// A person of the organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Display name.
    pub name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Org-level roles.
    pub org_roles: BTreeSet<OrgRole>,
    /// Pod membership, if any.
    pub membership: Option<Membership>,
}

/// A pod as the organisation knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pod {
    /// Name.
    pub name: String,
    /// Focus.
    pub focus: PodFocus,
    /// The product owner (R1).
    pub product_owner: Option<PersonId>,
    /// The scrum master.
    pub scrum_master: Option<PersonId>,
    /// Everyone holding a role in the pod.
    pub members: BTreeSet<PersonId>,
}

/// Everything decisions need to know about an organisation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgState {
    /// Number of events applied (the stream version).
    pub version: u64,
    /// Set once created.
    pub info: Option<OrgInfo>,
    /// People by id. (Persistent maps, like a pod's: the command handler copies the state for
    /// every batch of commands that reads it, and a copy must not cost the organisation's size.)
    pub people: Map<PersonId, Person>,
    /// Pods by id.
    pub pods: Map<PodId, Pod>,
    /// People by the identity-provider identity linked to them: issuer → subject → person.
    #[serde(default)]
    pub identities: Map<String, BTreeMap<String, PersonId>>,
    /// Approval rules by output category (lower case).
    pub approval_rules: BTreeMap<String, ApprovalRule>,
    /// Shared services by id.
    pub services: BTreeMap<SharedServiceId, SharedService>,
}

impl OrgState {
    /// The person an identity provider's `subject` (issued by `issuer`) signs in as.
    pub fn person_by_identity(&self, issuer: &str, subject: &str) -> Option<PersonId> {
        self.identities.get(issuer)?.get(subject).copied()
    }

    /// Whether the person holds `role`.
    pub fn has_org_role(&self, person: PersonId, role: OrgRole) -> bool {
        self.people
            .get(&person)
            .is_some_and(|p| p.org_roles.contains(&role))
    }

    /// The approval rule of an output category, if it needs approval.
    pub fn approval_rule(&self, output_category: &str) -> Option<&ApprovalRule> {
        self.approval_rules
            .get(output_category.trim().to_lowercase().as_str())
    }

    /// Whether the person operates any shared service.
    pub fn is_service_operator(&self, person: PersonId) -> bool {
        self.services
            .values()
            .any(|s| s.operators.contains(&person))
    }

    /// Whether the person holds an oversight role.
    pub fn is_oversight(&self, person: PersonId) -> bool {
        self.people
            .get(&person)
            .is_some_and(|p| p.org_roles.iter().any(|r| r.is_oversight()))
    }

    /// The pod the person is a member of.
    pub fn pod_of(&self, person: PersonId) -> Option<PodId> {
        self.people
            .get(&person)
            .and_then(|p| p.membership.as_ref())
            .map(|m| m.pod)
    }

    /// Whether the person holds any role in the pod.
    pub fn is_member_of(&self, person: PersonId, pod: PodId) -> bool {
        self.pod_of(person) == Some(pod)
    }

    /// Whether the person is the pod's product owner.
    pub fn is_product_owner(&self, person: PersonId, pod: PodId) -> bool {
        self.pods
            .get(&pod)
            .is_some_and(|p| p.product_owner == Some(person))
    }

    /// Whether the person is the pod's scrum master.
    pub fn is_scrum_master(&self, person: PersonId, pod: PodId) -> bool {
        self.pods
            .get(&pod)
            .is_some_and(|p| p.scrum_master == Some(person))
    }

    /// Folds one event into the state.
    #[allow(clippy::too_many_lines)] // one arm per event type reads best as one match
    pub fn evolve(&mut self, event: &OrgEvent) {
        self.version += 1;
        match event {
            OrgEvent::OrganisationCreated {
                name,
                sprint_length_days,
                ..
            } => {
                self.info = Some(OrgInfo {
                    name: name.clone(),
                    sprint_length_days: *sprint_length_days,
                });
            }
            OrgEvent::SprintCadenceSet { sprint_length_days } => {
                if let Some(info) = &mut self.info {
                    info.sprint_length_days = *sprint_length_days;
                }
            }
            OrgEvent::PersonAdded {
                person_id,
                name,
                email,
            } => {
                self.people.insert(
                    *person_id,
                    Person {
                        name: name.clone(),
                        email: email.clone(),
                        org_roles: BTreeSet::new(),
                        membership: None,
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
                    Pod {
                        name: name.clone(),
                        focus: focus.clone(),
                        product_owner: None,
                        scrum_master: None,
                        members: BTreeSet::new(),
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
                self.add_role(*pod_id, *person_id, role);
            }
            OrgEvent::PodRoleRemoved {
                pod_id,
                person_id,
                role,
            } => self.remove_role(*pod_id, *person_id, role),
            OrgEvent::IdentityLinked {
                person_id,
                issuer,
                subject,
            } => {
                self.identities
                    .entry(issuer.clone())
                    .or_default()
                    .insert(subject.clone(), *person_id);
            }
            OrgEvent::IdentityUnlinked {
                issuer, subject, ..
            } => {
                if let Some(subjects) = self.identities.get_mut(issuer) {
                    subjects.remove(subject);
                    if subjects.is_empty() {
                        self.identities.remove(issuer);
                    }
                }
            }
            OrgEvent::ApprovalRuleSet {
                output_category,
                approver,
                deadline_hours,
            } => {
                self.approval_rules.insert(
                    output_category.clone(),
                    ApprovalRule {
                        approver: *approver,
                        deadline_hours: *deadline_hours,
                    },
                );
            }
            OrgEvent::ApprovalRuleRemoved { output_category } => {
                self.approval_rules.remove(output_category);
            }
            OrgEvent::SharedServiceDefined {
                service_id,
                name,
                function,
                sla,
            } => {
                self.services.insert(
                    *service_id,
                    SharedService {
                        name: name.clone(),
                        function: function.clone(),
                        sla: sla.clone(),
                        operators: BTreeSet::new(),
                    },
                );
            }
            OrgEvent::ServiceSlaChanged { service_id, sla } => {
                if let Some(s) = self.services.get_mut(service_id) {
                    s.sla = sla.clone();
                }
            }
            OrgEvent::ServiceOperatorAppointed {
                service_id,
                person_id,
            } => {
                if let Some(s) = self.services.get_mut(service_id) {
                    s.operators.insert(*person_id);
                }
            }
            OrgEvent::ServiceOperatorRemoved {
                service_id,
                person_id,
            } => {
                if let Some(s) = self.services.get_mut(service_id) {
                    s.operators.remove(person_id);
                }
            }
        }
    }

    fn add_role(&mut self, pod_id: PodId, person_id: PersonId, role: &PodRole) {
        let Some(person) = self.people.get_mut(&person_id) else {
            return;
        };
        person
            .membership
            .get_or_insert_with(|| Membership {
                pod: pod_id,
                roles: BTreeSet::new(),
            })
            .roles
            .insert(role.clone());
        if let Some(pod) = self.pods.get_mut(&pod_id) {
            pod.members.insert(person_id);
            match role {
                PodRole::ProductOwner => pod.product_owner = Some(person_id),
                PodRole::ScrumMaster => pod.scrum_master = Some(person_id),
                _ => {}
            }
        }
    }

    fn remove_role(&mut self, pod_id: PodId, person_id: PersonId, role: &PodRole) {
        let Some(person) = self.people.get_mut(&person_id) else {
            return;
        };
        let mut left_pod = false;
        if let Some(m) = &mut person.membership {
            m.roles.remove(role);
            left_pod = m.roles.is_empty();
        }
        if left_pod {
            person.membership = None;
        }
        if let Some(pod) = self.pods.get_mut(&pod_id) {
            if left_pod {
                pod.members.remove(&person_id);
            }
            match role {
                PodRole::ProductOwner if pod.product_owner == Some(person_id) => {
                    pod.product_owner = None;
                }
                PodRole::ScrumMaster if pod.scrum_master == Some(person_id) => {
                    pod.scrum_master = None;
                }
                _ => {}
            }
        }
    }
}

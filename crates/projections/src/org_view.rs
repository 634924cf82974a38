//! The organisation read model — the domain's fold plus each pod's backlog-ownership ledger —
//! and the health findings of SPEC §4 that this data allows.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use podledger_domain::ids::{PersonId, PodId, SprintId};
use podledger_domain::org::{OrgEvent, OrgState};
use podledger_domain::roles::{Capability, PodRole};
use serde::{Deserialize, Serialize};

use crate::envelope::Meta;
use crate::ledger::{LedgerChange, LedgerEntry};
use crate::pod_view::PodView;

/// The organisation as people see it: the domain's own fold of the organisation stream (people,
/// org roles, pods, pod roles — one definition, shared with decisions) plus what only reading
/// needs: the backlog-ownership ledger of each pod.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgView {
    /// People, pods and roles, folded by the domain.
    pub state: OrgState,
    /// Each pod's backlog-ownership (product owner) ledger.
    pub ledgers: BTreeMap<PodId, Vec<LedgerEntry>>,
    /// Global position of the last event applied.
    pub position: u64,
    /// Stream version.
    pub version: u64,
}

impl OrgView {
    /// Folds one organisation event.
    pub fn apply(&mut self, meta: &Meta, event: &OrgEvent) {
        self.position = meta.position;
        self.version = meta.stream_version;
        match event {
            OrgEvent::PodRoleAssigned {
                pod_id,
                person_id,
                role: PodRole::ProductOwner,
                replaced,
            } => self
                .ledgers
                .entry(*pod_id)
                .or_default()
                .push(LedgerEntry::new(
                    LedgerChange::Assigned {
                        person: *person_id,
                        previous_owner: *replaced,
                    },
                    meta,
                )),
            OrgEvent::PodRoleRemoved {
                pod_id,
                person_id,
                role: PodRole::ProductOwner,
            } => self
                .ledgers
                .entry(*pod_id)
                .or_default()
                .push(LedgerEntry::new(
                    LedgerChange::Removed { person: *person_id },
                    meta,
                )),
            _ => {}
        }
        self.state.evolve(event);
    }

    /// The organisation's name (empty before creation).
    pub fn name(&self) -> &str {
        self.state.info.as_ref().map_or("", |i| i.name.as_str())
    }

    /// The pod's backlog-ownership ledger.
    pub fn ledger(&self, pod: PodId) -> &[LedgerEntry] {
        self.ledgers.get(&pod).map_or(&[], Vec::as_slice)
    }

    /// Capabilities no member of the pod covers.
    pub fn missing_capabilities(&self, pod: PodId) -> Vec<Capability> {
        let covered: BTreeSet<Capability> = self
            .state
            .people
            .values()
            .filter_map(|p| p.membership.as_ref())
            .filter(|m| m.pod == pod)
            .flat_map(|m| {
                m.roles
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
    /// A retro action still open when the next sprint closed (SPEC §9.2).
    RetroActionNotFollowedThrough {
        /// Pod.
        pod: PodId,
        /// The sprint that closed without it.
        sprint: SprintId,
        /// The action.
        action: podledger_domain::ids::RetroActionId,
        /// Its owner.
        person: PersonId,
    },
    /// A request to a shared service not delivered or rejected by its due time (SPEC §9.1).
    ServiceSlaBreached {
        /// Pod.
        pod: PodId,
        /// The request.
        request: podledger_domain::ids::ServiceRequestId,
        /// The service.
        service: podledger_domain::ids::SharedServiceId,
        /// Whole hours past its due time (until answered, or now).
        hours: i64,
    },
}

/// Each owner of a started sprint's items and how many distinct output categories they own
/// there: as kept at the close for a closed sprint, from the items now for the active one.
fn owner_spread(pod: &PodView, sprint: crate::pod_view::SprintView<'_>) -> Vec<(PersonId, u32)> {
    if sprint.history.closing.is_some() {
        return sprint.history.owners_at_close.clone();
    }
    crate::pod_view::owner_spread(sprint.items.iter().filter_map(|i| pod.state.item(i)))
}

/// The findings for the organisation at `now`, given its pods' views.
pub fn health<P: std::borrow::Borrow<PodView>>(
    org: &OrgView,
    pods: &BTreeMap<PodId, P>,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (id, summary) in &org.state.pods {
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
        // Findings are about the pod's health now: its active sprint and the last one it
        // closed (the health audit's window), not every sprint it ever ran — a past one's
        // findings are those of the organisation `asOf` then.
        let last_closed = pod
            .tally
            .closed
            .last_by(now)
            .0
            .and_then(|c| pod.sprint_at(c.index as usize));
        let active = pod.state.active_sprint.and_then(|id| pod.sprint(id));
        for sprint in last_closed.into_iter().chain(active) {
            for (person, categories) in owner_spread(pod, sprint) {
                if categories > 3 {
                    findings.push(Finding::OwnerSpreadThin {
                        pod: *id,
                        sprint: sprint.id,
                        person,
                        categories,
                    });
                }
            }
            if !sprint.history.added.is_empty() {
                findings.push(Finding::MidSprintInsertions {
                    pod: *id,
                    sprint: sprint.id,
                    insertions: sprint.history.added.len() as u32,
                });
            }
        }
        for u in crate::operating::unfollowed_actions(pod) {
            findings.push(Finding::RetroActionNotFollowedThrough {
                pod: *id,
                sprint: u.next_sprint,
                action: u.action,
                person: u.owner,
            });
        }
        let unsettled = pod
            .unsettled_requests
            .keys()
            .filter_map(|id| Some((id, pod.state.service_requests.get(id)?)));
        for (request, r) in unsettled {
            if r.breached_at(now) {
                findings.push(Finding::ServiceSlaBreached {
                    pod: *id,
                    request: *request,
                    service: r.service,
                    hours: (r.closed_at.unwrap_or(now) - r.due_at).num_hours(),
                });
            }
        }
        // Unresolved blockers in raise order, which is time order: the walk stops at the first
        // raised within the last 48 h (the rest are younger), so a pod with many fresh blockers
        // costs only its stale ones.
        for b in pod.unresolved_blockers() {
            let open = now - b.raised_at;
            if open <= crate::tally::STALE_AFTER {
                break;
            }
            findings.push(Finding::BlockerOpenPast48h {
                pod: *id,
                blocker: b.id,
                hours: open.num_hours(),
            });
        }
    }
    findings
}

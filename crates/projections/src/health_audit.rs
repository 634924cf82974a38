//! The health audit of SPEC §9.4: for one pod, at a time, each of the seed's five structural
//! failure patterns with a status (OK, WARN, FAIL), the evidence behind it and the seed's remedy.
//! The sprint-based rows look at the pod's last closed sprint; a pod with no closed sprint is
//! judged on its membership alone (`INCOMPLETE_TEAM`, `SPECIALIST_SILOS`) and OK elsewhere.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use podledger_domain::ids::{BlockerId, ItemId, PersonId, PodId, SprintId};
use podledger_domain::pod::BlockerCategory;
use podledger_domain::roles::Capability;
use serde::{Deserialize, Serialize};

use crate::ledger::owner_at;
use crate::operating::approval_stats;
use crate::org_view::OrgView;
use crate::pod_view::{PodView, SprintView};

/// One of the seed's five structural failure patterns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Pattern {
    /// Roles missing: work cannot flow inside the pod.
    IncompleteTeam,
    /// One person owns too many output categories.
    OverloadedRole,
    /// Approval chains turn the pod back into a task team.
    CentralizedControl,
    /// Ceremonies without the mechanics under them.
    CosmeticRituals,
    /// Specialists grouped by function, not by outcome.
    SpecialistSilos,
}

impl Pattern {
    /// Every pattern, in the seed's order.
    pub const ALL: [Self; 5] = [
        Self::IncompleteTeam,
        Self::OverloadedRole,
        Self::CentralizedControl,
        Self::CosmeticRituals,
        Self::SpecialistSilos,
    ];

    /// The seed's remedy, in one sentence.
    pub const fn remedy(self) -> &'static str {
        match self {
            Self::IncompleteTeam => {
                "Make every sprint item deliverable with the pod's own people: bring the missing capability into the pod instead of borrowing it."
            }
            Self::OverloadedRole => {
                "Separate prioritisation from execution: take strategic ownership away from the person spanning categories and draw role boundaries."
            }
            Self::CentralizedControl => {
                "Codify delegation: say what needs approval, who approves on what timeline, and never intervene mid-sprint."
            }
            Self::CosmeticRituals => {
                "Fix the system under the rituals: no mid-sprint insertions, blockers resolved, and every retro action implemented in the next sprint."
            }
            Self::SpecialistSilos => {
                "Build the pod around outputs, not functions: pair specialists on one shared sprint goal and backlog."
            }
        }
    }
}

/// How a pattern stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PatternStatus {
    /// Not present.
    Ok,
    /// Signs of it.
    Warn,
    /// Present.
    Fail,
}

/// What a pattern's status rests on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// The sprint judged (the last closed one).
    pub sprint: Option<SprintId>,
    /// Items involved.
    pub items: Vec<ItemId>,
    /// People involved.
    pub people: Vec<PersonId>,
    /// Blockers involved.
    pub blockers: Vec<BlockerId>,
    /// Capabilities no member covers, or the ones covered.
    pub capabilities: Vec<Capability>,
    /// The numbers behind the status, named.
    pub numbers: Vec<(String, f64)>,
    /// What was seen, in words.
    pub signals: Vec<String>,
}

/// One pattern's audit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatternAudit {
    /// The pattern.
    pub pattern: Pattern,
    /// How it stands.
    pub status: PatternStatus,
    /// What the status rests on.
    pub evidence: Evidence,
    /// The seed's remedy.
    pub remedy: &'static str,
}

/// The audit of pod `pod_id` at `now`: the five patterns in the seed's order.
pub fn audit(org: &OrgView, pod_id: PodId, pod: &PodView, now: DateTime<Utc>) -> Vec<PatternAudit> {
    let (last, previous) = pod.tally.closed.last_by(now);
    let at =
        |c: Option<&crate::tally::ClosedSprint>| c.and_then(|c| pod.sprint_at(c.index as usize));
    let (last, previous) = (at(last), at(previous));
    let judged = |pattern, (status, evidence)| PatternAudit {
        pattern,
        status,
        evidence,
        remedy: Pattern::remedy(pattern),
    };
    let ok = || (PatternStatus::Ok, Evidence::default());
    vec![
        judged(
            Pattern::IncompleteTeam,
            incomplete_team(org, pod_id, pod, last),
        ),
        judged(
            Pattern::OverloadedRole,
            last.map_or_else(ok, |s| overloaded_role(pod, s)),
        ),
        judged(
            Pattern::CentralizedControl,
            last.map_or_else(ok, |s| centralized_control(pod, s, now)),
        ),
        judged(
            Pattern::CosmeticRituals,
            last.map_or_else(ok, |s| cosmetic_rituals(pod, s, previous, now)),
        ),
        judged(
            Pattern::SpecialistSilos,
            specialist_silos(org, pod_id, pod, last),
        ),
    ]
}

fn in_window(
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    t0: DateTime<Utc>,
    t1: DateTime<Utc>,
) -> bool {
    from < t1 && to.is_none_or(|to| to > t0)
}

fn window(sprint: SprintView<'_>) -> (DateTime<Utc>, DateTime<Utc>) {
    let t1 = sprint.closed_at.unwrap_or(DateTime::<Utc>::MAX_UTC);
    (sprint.started_at.unwrap_or(t1), t1)
}

/// Items in the sprint at t1 (I1).
fn at_close(sprint: SprintView<'_>) -> Vec<ItemId> {
    sprint.history.closing.as_ref().map_or_else(Vec::new, |c| {
        c.done.iter().chain(&c.not_done).map(|(i, _)| *i).collect()
    })
}

fn owner_at_close(pod: &PodView, item: ItemId, t1: DateTime<Utc>) -> Option<PersonId> {
    owner_at(&pod.item(item)?.history.ledger, t1)
}

fn incomplete_team(
    org: &OrgView,
    pod_id: PodId,
    pod: &PodView,
    last: Option<SprintView<'_>>,
) -> (PatternStatus, Evidence) {
    let missing = org.missing_capabilities(pod_id);
    if !missing.is_empty() {
        return (
            PatternStatus::Fail,
            Evidence {
                capabilities: missing,
                sprint: last.map(|s| s.id),
                ..Evidence::default()
            },
        );
    }
    let Some(sprint) = last else {
        return (PatternStatus::Ok, Evidence::default());
    };
    let (t0, t1) = window(sprint);
    let committed: Vec<ItemId> = sprint.history.committed.iter().map(|(i, _)| *i).collect();
    let waited = [
        BlockerCategory::Dependency,
        BlockerCategory::Capacity,
        BlockerCategory::Approval,
    ];
    let mut blocked = BTreeSet::new();
    let mut blockers = Vec::new();
    // The blockers of the committed items, in raise order (as a walk of every blocker finds
    // them), through the view's index by item.
    for b in pod.blockers_of_items(&committed) {
        if let Some(item) = b.item
            && waited.contains(&b.category)
            && in_window(b.raised_at, b.resolved_at, t0, t1)
        {
            blocked.insert(item);
            blockers.push(b.id);
        }
    }
    for item in &committed {
        for history in pod.service_requests_of_item(*item) {
            if let Some(r) = pod.state.service_requests.get(&history.id)
                && in_window(history.opened_at, r.closed_at, t0, t1)
            {
                blocked.insert(*item);
            }
        }
    }
    let share = if committed.is_empty() {
        0.0
    } else {
        blocked.len() as f64 / committed.len() as f64
    };
    let status = if share >= 0.2 {
        PatternStatus::Warn
    } else {
        PatternStatus::Ok
    };
    (
        status,
        Evidence {
            sprint: Some(sprint.id),
            items: blocked.into_iter().collect(),
            blockers,
            numbers: vec![
                ("committedItems".into(), committed.len() as f64),
                ("shareWaitingOnOthers".into(), share),
            ],
            ..Evidence::default()
        },
    )
}

fn overloaded_role(pod: &PodView, sprint: SprintView<'_>) -> (PatternStatus, Evidence) {
    let (_, t1) = window(sprint);
    let mut by_owner: BTreeMap<PersonId, (BTreeSet<String>, Vec<ItemId>)> = BTreeMap::new();
    for item in at_close(sprint) {
        let (Some(owner), Some(record)) =
            (owner_at_close(pod, item, t1), pod.state.items.get(&item))
        else {
            continue;
        };
        let entry = by_owner.entry(owner).or_default();
        entry.0.insert(record.output_category.to_lowercase());
        entry.1.push(item);
    }
    let Some((person, (categories, items))) = by_owner
        .into_iter()
        .max_by_key(|(_, (categories, _))| categories.len())
    else {
        return (
            PatternStatus::Ok,
            Evidence {
                sprint: Some(sprint.id),
                ..Evidence::default()
            },
        );
    };
    let status = match categories.len() {
        n if n > 3 => PatternStatus::Fail,
        3 => PatternStatus::Warn,
        _ => PatternStatus::Ok,
    };
    (
        status,
        Evidence {
            sprint: Some(sprint.id),
            people: vec![person],
            items,
            numbers: vec![("outputCategories".into(), categories.len() as f64)],
            signals: categories.into_iter().collect(),
            ..Evidence::default()
        },
    )
}

fn centralized_control(
    pod: &PodView,
    sprint: SprintView<'_>,
    now: DateTime<Utc>,
) -> (PatternStatus, Evidence) {
    let approvals = approval_stats(pod, Some(sprint.id), now);
    let share = approvals.share_done_needing_approval.unwrap_or(0.0);
    let status = if approvals.late > 0 {
        PatternStatus::Fail
    } else if share > 0.5 {
        PatternStatus::Warn
    } else {
        PatternStatus::Ok
    };
    (
        status,
        Evidence {
            sprint: Some(sprint.id),
            items: approvals.late_items.clone(),
            numbers: vec![
                ("lateApprovals".into(), f64::from(approvals.late)),
                ("shareDoneNeedingApproval".into(), share),
            ],
            ..Evidence::default()
        },
    )
}

fn cosmetic_rituals(
    pod: &PodView,
    sprint: SprintView<'_>,
    previous: Option<SprintView<'_>>,
    now: DateTime<Utc>,
) -> (PatternStatus, Evidence) {
    let (t0, t1) = window(sprint);
    let mut evidence = Evidence {
        sprint: Some(sprint.id),
        ..Evidence::default()
    };
    if !sprint.history.added.is_empty() {
        evidence
            .items
            .extend(sprint.history.added.iter().map(|c| c.item));
        evidence.signals.push(format!(
            "{} item(s) inserted after the sprint started",
            sprint.history.added.len()
        ));
    }
    let (raised, stale) = pod.stale_blockers_raised_between(t0, t1, now);
    if raised == 0 {
        evidence
            .signals
            .push("no blocker raised during the sprint".into());
    }
    if !stale.is_empty() {
        evidence.blockers.extend(&stale);
        evidence.signals.push(format!(
            "{} blocker(s) unresolved 48 h after being raised",
            stale.len()
        ));
    }
    if let Some(previous) = previous {
        match pod.state.retros.get(&previous.id) {
            Some(retro) if retro.recorded_at <= t0 => {}
            _ => evidence.signals.push(format!(
                "no retro recorded for sprint {} before this one started",
                previous.number
            )),
        }
        // Its retro's actions, in id order (as a walk of every action finds them).
        let mut unfollowed: Vec<_> = pod
            .state
            .retros
            .get(&previous.id)
            .into_iter()
            .flat_map(|r| &r.actions)
            .filter_map(|id| Some((id, pod.state.retro_actions.get(id)?)))
            .filter(|(_, a)| a.sprint == previous.id && a.outcome.is_none())
            .collect();
        unfollowed.sort_by_key(|(id, _)| **id);
        if !unfollowed.is_empty() {
            evidence
                .people
                .extend(unfollowed.iter().map(|(_, a)| a.owner));
            evidence.signals.push(format!(
                "{} action(s) of sprint {}'s retro not followed through",
                unfollowed.len(),
                previous.number
            ));
        }
    }
    let signals = evidence.signals.len();
    evidence.numbers.push(("signals".into(), signals as f64));
    let status = match signals {
        0 => PatternStatus::Ok,
        1 => PatternStatus::Warn,
        _ => PatternStatus::Fail,
    };
    (status, evidence)
}

fn specialist_silos(
    org: &OrgView,
    pod_id: PodId,
    pod: &PodView,
    last: Option<SprintView<'_>>,
) -> (PatternStatus, Evidence) {
    let missing = org.missing_capabilities(pod_id);
    let covered: Vec<Capability> = Capability::ALL
        .into_iter()
        .filter(|c| !missing.contains(c))
        .collect();
    let mut evidence = Evidence {
        sprint: last.map(|s| s.id),
        numbers: vec![("capabilitiesCovered".into(), covered.len() as f64)],
        capabilities: covered.clone(),
        ..Evidence::default()
    };
    if covered.len() <= 2 {
        return (PatternStatus::Fail, evidence);
    }
    let Some(sprint) = last else {
        return (PatternStatus::Ok, evidence);
    };
    let (_, t1) = window(sprint);
    let owners: BTreeSet<Option<PersonId>> = sprint
        .goal_items
        .iter()
        .map(|i| owner_at_close(pod, *i, t1))
        .collect();
    if sprint.goal_items.len() >= 2
        && owners.len() == 1
        && let Some(Some(person)) = owners.into_iter().next()
    {
        evidence.people.push(person);
        evidence.items.clone_from(&sprint.goal_items);
        evidence
            .signals
            .push("one person owned every goal item".into());
        return (PatternStatus::Warn, evidence);
    }
    (PatternStatus::Ok, evidence)
}

/// The organisation's pods ranked by how many patterns fail (most first), then warn.
pub fn ranking(audits: &BTreeMap<PodId, Vec<PatternAudit>>) -> Vec<(PodId, u32, u32)> {
    let mut ranked: Vec<(PodId, u32, u32)> = audits
        .iter()
        .map(|(pod, patterns)| {
            let count = |status| patterns.iter().filter(|p| p.status == status).count() as u32;
            (*pod, count(PatternStatus::Fail), count(PatternStatus::Warn))
        })
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    ranked
}

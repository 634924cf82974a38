//! All views of all organisations, folded from the global event feed. Copy-on-write per view:
//! readers hold `Arc`s of the views they read while the runner moves on.

use std::collections::HashMap;
use std::sync::Arc;

use podledger_domain::ids::{KpiId, OrgId, PodId};
use podledger_domain::{Event, StreamCategory, Target};
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::kpi_view::KpiView;
use crate::org_view::OrgView;
use crate::pod_view::PodView;

/// Which view an event changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ViewKey {
    /// An organisation.
    Org(Uuid),
    /// A pod.
    Pod(PodId),
    /// A KPI.
    Kpi(KpiId),
}

impl ViewKey {
    /// The view of a stream name (`org-<id>`, `pod-<id>`, `kpi-<id>`).
    pub fn of_stream(stream: &str) -> Option<Self> {
        let id: Uuid = stream.split_once('-')?.1.parse().ok()?;
        Some(match StreamCategory::of(stream)? {
            StreamCategory::Org => Self::Org(id),
            StreamCategory::Pod => Self::Pod(PodId(id)),
            StreamCategory::Kpi => Self::Kpi(KpiId(id)),
        })
    }

    /// The stream this view folds (named by the domain's [`Target`]).
    pub fn stream(&self) -> String {
        match self {
            Self::Org(id) => Target::Org(OrgId(*id)),
            Self::Pod(id) => Target::Pod(*id),
            Self::Kpi(id) => Target::Kpi(*id),
        }
        .to_string()
    }

    /// `org`, `pod` or `kpi`.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Org(_) => "org",
            Self::Pod(_) => "pod",
            Self::Kpi(_) => "kpi",
        }
    }

    /// The UUID.
    pub const fn id(&self) -> Uuid {
        match self {
            Self::Org(id) => *id,
            Self::Pod(id) => id.0,
            Self::Kpi(id) => id.0,
        }
    }
}

/// Every view, and the global position they reflect.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Views {
    /// Last global position applied.
    pub position: u64,
    /// Organisations by id.
    pub orgs: HashMap<Uuid, Arc<OrgView>>,
    /// Pods by id.
    pub pods: HashMap<PodId, Arc<PodView>>,
    /// KPIs by id.
    pub kpis: HashMap<KpiId, Arc<KpiView>>,
    /// The organisation of each view (tenant isolation: a reader checks it).
    pub owners: HashMap<ViewKey, Uuid>,
    /// For views replayed to a past point: the latest business time among the events folded,
    /// the "now" of that point (`None` for the live views).
    pub occurred_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Views {
    /// Folds one event into its view; returns the view it changed.
    pub fn apply(&mut self, envelope: Envelope) -> Option<ViewKey> {
        self.position = self.position.max(envelope.meta.position);
        let key = ViewKey::of_stream(&envelope.meta.stream)?;
        self.apply_to(key, envelope)
    }

    /// [`Views::apply`] for an event whose view is already known (`key` is the view of its
    /// stream). An event the view already holds (its stream version is not past the view's) is
    /// passed over: views persisted later than the checkpoint see the events between again
    /// when a restart resumes from it ([`crate::runner::ProjectionOptions::persist_growth`]).
    pub fn apply_to(&mut self, key: ViewKey, envelope: Envelope) -> Option<ViewKey> {
        self.apply_run(key, std::iter::once(envelope))
            .then_some(key)
    }

    /// [`Views::apply_to`] for a run of events of one view, in stream order: an organisation's
    /// or a pod's view is looked up and made unique once for the run, not once an event (a
    /// catch-up meets a stream's events in runs). Returns whether any event changed the view.
    pub fn apply_run(&mut self, key: ViewKey, run: impl IntoIterator<Item = Envelope>) -> bool {
        let mut run = run.into_iter().peekable();
        let Some(org) = run.peek().map(|first| first.meta.org_id) else {
            return false;
        };
        let (owners, position) = (&mut self.owners, &mut self.position);
        // A view's organisation is recorded when the view is created.
        let mut created = || {
            owners.insert(key, org);
        };
        let mut changed = false;
        match key {
            ViewKey::Org(id) => {
                let view = Arc::make_mut(self.orgs.entry(id).or_insert_with(|| {
                    created();
                    Arc::default()
                }));
                for Envelope { meta, event } in run {
                    *position = (*position).max(meta.position);
                    if let Event::Org(e) = event
                        && view.version < meta.stream_version
                    {
                        view.apply(&meta, &e);
                        changed = true;
                    }
                }
            }
            ViewKey::Pod(id) => {
                let view = Arc::make_mut(self.pods.entry(id).or_insert_with(|| {
                    created();
                    Arc::default()
                }));
                for Envelope { meta, event } in run {
                    *position = (*position).max(meta.position);
                    if let Event::Pod(e) = event
                        && view.state.version < meta.stream_version
                    {
                        view.apply(&meta, &e);
                        changed = true;
                    }
                }
            }
            ViewKey::Kpi(id) => {
                for Envelope { meta, event } in run {
                    *position = (*position).max(meta.position);
                    let Event::Kpi(e) = event else { continue };
                    match self.kpis.get_mut(&id) {
                        Some(kpi) if kpi.version >= meta.stream_version => {}
                        Some(kpi) => {
                            Arc::make_mut(kpi).apply(&meta, &e);
                            changed = true;
                        }
                        None => {
                            if let Some(kpi) = KpiView::defined(id, &meta, &e) {
                                created();
                                self.kpis.insert(id, Arc::new(kpi));
                                changed = true;
                            }
                        }
                    }
                }
            }
        }
        changed
    }

    /// Takes `base`'s copy of view `key` (if it has one) before folding more events into it.
    pub fn adopt(&mut self, key: ViewKey, base: &Self) {
        let Some(org) = base.org_of(key) else { return };
        self.owners.insert(key, org);
        match key {
            ViewKey::Org(id) => {
                if let Some(v) = base.orgs.get(&id) {
                    self.orgs.insert(id, Arc::clone(v));
                }
            }
            ViewKey::Pod(id) => {
                if let Some(v) = base.pods.get(&id) {
                    self.pods.insert(id, Arc::clone(v));
                }
            }
            ViewKey::Kpi(id) => {
                if let Some(v) = base.kpis.get(&id) {
                    self.kpis.insert(id, Arc::clone(v));
                }
            }
        }
    }

    /// Takes every view of `other` in place of its own copy (views folded apart, joined).
    pub fn absorb(&mut self, other: Self) {
        self.position = self.position.max(other.position);
        self.orgs.extend(other.orgs);
        self.pods.extend(other.pods);
        self.kpis.extend(other.kpis);
        self.owners.extend(other.owners);
    }

    /// The organisation a view belongs to.
    pub fn org_of(&self, key: ViewKey) -> Option<Uuid> {
        self.owners.get(&key).copied()
    }

    /// The KPIs of a pod, by name.
    pub fn kpis_of_pod(&self, pod: PodId) -> Vec<Arc<KpiView>> {
        self.kpis_of_pods(&[pod]).remove(&pod).unwrap_or_default()
    }

    /// The KPIs of each of `pods`, by name, in one pass over the KPIs (what a batch of pods in
    /// one request needs).
    pub fn kpis_of_pods(&self, pods: &[PodId]) -> HashMap<PodId, Vec<Arc<KpiView>>> {
        let mut by_pod: HashMap<PodId, Vec<Arc<KpiView>>> =
            pods.iter().map(|p| (*p, Vec::new())).collect();
        for kpi in self.kpis.values() {
            if let Some(list) = by_pod.get_mut(&kpi.pod_id) {
                list.push(kpi.clone());
            }
        }
        for list in by_pod.values_mut() {
            list.sort_by(|a, b| a.name.cmp(&b.name));
        }
        by_pod
    }

    /// The version of its stream view `key` reflects, if there is such a view.
    pub fn version_of(&self, key: ViewKey) -> Option<u64> {
        match key {
            ViewKey::Org(id) => self.orgs.get(&id).map(|v| v.version),
            ViewKey::Pod(id) => self.pods.get(&id).map(|v| v.state.version),
            ViewKey::Kpi(id) => self.kpis.get(&id).map(|v| v.version),
        }
    }

    /// Every view and the version of its stream it reflects.
    pub fn stream_versions(&self) -> impl Iterator<Item = (ViewKey, u64)> + '_ {
        let orgs = self
            .orgs
            .iter()
            .map(|(id, v)| (ViewKey::Org(*id), v.version));
        let pods = self
            .pods
            .iter()
            .map(|(id, v)| (ViewKey::Pod(*id), v.state.version));
        let kpis = self
            .kpis
            .iter()
            .map(|(id, v)| (ViewKey::Kpi(*id), v.version));
        orgs.chain(pods).chain(kpis)
    }

    /// Writes one view in postcard into `out` (cleared first; a buffer reused across views
    /// grows once, not once per view) and returns its position; `None` if there is no such view.
    pub fn write_body(&self, key: ViewKey, out: &mut Vec<u8>) -> Option<u64> {
        out.clear();
        match key {
            ViewKey::Org(id) => self.orgs.get(&id).map(|v| (v.position, encode(&**v, out))),
            ViewKey::Pod(id) => self.pods.get(&id).map(|v| (v.position, encode(&**v, out))),
            ViewKey::Kpi(id) => self.kpis.get(&id).map(|v| (v.position, encode(&**v, out))),
        }
        .map(|(position, ())| position)
    }

    /// Restores one persisted view.
    pub fn restore(&mut self, key: ViewKey, org: Uuid, body: &[u8]) -> Result<(), postcard::Error> {
        match key {
            ViewKey::Org(id) => {
                self.orgs.insert(id, Arc::new(postcard::from_bytes(body)?));
            }
            ViewKey::Pod(id) => {
                self.pods.insert(id, Arc::new(postcard::from_bytes(body)?));
            }
            ViewKey::Kpi(id) => {
                self.kpis.insert(id, Arc::new(postcard::from_bytes(body)?));
            }
        }
        self.owners.insert(key, org);
        Ok(())
    }
}

fn encode<T: serde::Serialize>(view: &T, out: &mut Vec<u8>) {
    *out = postcard::to_extend(view, std::mem::take(out)).expect("views always serialise");
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use podledger_domain::Event;
    use podledger_domain::ids::{ItemId, PodId};
    use podledger_domain::pod::PodEvent;
    use uuid::Uuid;

    use super::{ViewKey, Views};
    use crate::envelope::{Envelope, Meta};

    fn created(pod: PodId, position: u64, version: u64) -> Envelope {
        Envelope {
            meta: Meta {
                position,
                stream: format!("pod-{pod}").into(),
                stream_version: version,
                occurred_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
                actor: "member:x".into(),
                correlation_id: Uuid::nil(),
                org_id: Uuid::from_u128(1),
            },
            event: Event::Pod(PodEvent::ItemCreated {
                item_id: ItemId(Uuid::from_u128(u128::from(version))),
                title: format!("Item {version}"),
                description: None,
                output_category: "email".into(),
                acceptance_criteria: None,
                estimate: None,
                parent_epic: None,
                requester: None,
            }),
        }
    }

    /// Given a view, when a run of its events starts with some it already holds, then those
    /// are passed over and the rest folded; a run of held events alone changes nothing; the
    /// position follows every event either way.
    #[test]
    fn a_run_passes_over_the_events_its_view_holds_and_folds_the_rest() {
        let pod = PodId(Uuid::from_u128(7));
        let key = ViewKey::Pod(pod);
        let mut views = Views::default();
        assert!(views.apply_run(key, [created(pod, 10, 1), created(pod, 11, 2)]));
        assert!(views.apply_run(key, [created(pod, 11, 2), created(pod, 12, 3)]));
        assert!(!views.apply_run(key, [created(pod, 12, 3)]));
        assert!(!views.apply_run(key, []));
        assert_eq!(views.position, 12);
        let view = &views.pods[&pod];
        assert_eq!(view.state.version, 3);
        assert_eq!(view.state.items.len(), 3);
        assert_eq!(views.org_of(key), Some(Uuid::from_u128(1)));
        assert_eq!(views.apply_to(key, created(pod, 13, 3)), None);
        assert_eq!(views.apply_to(key, created(pod, 14, 4)), Some(key));
    }
}

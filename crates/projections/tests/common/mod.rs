//! A real store, the real command handler and live projections, for projection tests.
#![allow(dead_code, clippy::needless_pass_by_value)]

pub mod random;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use podledger_domain::ids::{ItemId, KpiId, OrgId, PersonId, PodId, SprintId};
use podledger_domain::kpi::KpiCommand;
use podledger_domain::org::OrgCommand;
use podledger_domain::pod::{PodCommand, ScopeChangeReason, WorkStatus};
use podledger_domain::roles::{PodFocus, PodRole};
use podledger_domain::{Actor, Command, Context};
use podledger_eventstore::{
    CommandHandler, Executed, HandleError, RequestMeta, SqliteConfig, SqliteEventStore,
};
use podledger_projections::Projections;
use uuid::Uuid;

pub struct World {
    pub dir: tempfile::TempDir,
    pub store: SqliteEventStore,
    pub handler: Arc<CommandHandler>,
    pub projections: Projections,
    pub org: OrgId,
    pub admin: PersonId,
    pub po: PersonId,
    pub sm: PersonId,
    pub owner: PersonId,
    pub pod: PodId,
}

pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// New ids for an organisation, its admin, a PO, an SM, an owner and a pod.
fn fresh_ids() -> (OrgId, PersonId, PersonId, PersonId, PersonId, PodId) {
    (
        OrgId(new_id()),
        PersonId(new_id()),
        PersonId(new_id()),
        PersonId(new_id()),
        PersonId(new_id()),
        PodId(new_id()),
    )
}

impl World {
    pub async fn new() -> Self {
        Self::with_options(podledger_projections::ProjectionOptions::default()).await
    }

    /// A world whose projections run with `options`.
    pub async fn with_options(options: podledger_projections::ProjectionOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        Self::build_with(dir, &path, fresh_ids(), options).await
    }

    /// A world whose database lives in `path` (kept after the world is dropped); the
    /// organisation is created anew each time.
    pub async fn in_dir(path: &std::path::Path) -> Self {
        Self::build(tempfile::tempdir().unwrap(), path).await
    }

    /// A world with `other`'s ids (organisation, people, pod) in a new store of its own.
    pub async fn like(other: &Self) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        Self::build_with(
            dir,
            &path,
            (
                other.org,
                other.admin,
                other.po,
                other.sm,
                other.owner,
                other.pod,
            ),
            podledger_projections::ProjectionOptions::default(),
        )
        .await
    }

    async fn build(dir: tempfile::TempDir, path: &std::path::Path) -> Self {
        let options = podledger_projections::ProjectionOptions::default();
        Self::build_with(dir, path, fresh_ids(), options).await
    }

    async fn build_with(
        dir: tempfile::TempDir,
        path: &std::path::Path,
        (org, admin, po, sm, owner, pod): (OrgId, PersonId, PersonId, PersonId, PersonId, PodId),
        options: podledger_projections::ProjectionOptions,
    ) -> Self {
        let store = SqliteEventStore::open(SqliteConfig::new(path.join("w.db")))
            .await
            .unwrap();
        let handler = Arc::new(CommandHandler::new(Arc::new(store.clone())));
        let projections = Projections::start_with(store.clone(), options)
            .await
            .unwrap();
        let w = Self {
            dir,
            store,
            handler,
            projections,
            org,
            admin,
            po,
            sm,
            owner,
            pod,
        };
        w.org(OrgCommand::CreateOrganisation {
            name: "Acme".into(),
            sprint_length_days: None,
            founder_name: "Ada".into(),
            founder_email: None,
        })
        .await;
        w.org(OrgCommand::CreatePod {
            pod_id: w.pod,
            name: "Acquisition".into(),
            focus: PodFocus::Acquisition,
        })
        .await;
        // The operating model: video and ads need the admin's approval within a day; the admin
        // operates a legal service open on weekdays.
        for category in ["video", "ad"] {
            w.org(OrgCommand::SetApprovalRule {
                output_category: category.into(),
                approver: w.admin,
                deadline_hours: 24,
            })
            .await;
        }
        w.org(OrgCommand::DefineSharedService {
            service_id: w.legal(),
            name: "Legal".into(),
            function: podledger_domain::org::ServiceFunction::Legal,
            sla: podledger_domain::org::Sla {
                window: podledger_domain::org::RequestWindow {
                    days: (1..=5).collect(),
                    opens_at_hour: 9,
                    closes_at_hour: 17,
                },
                turnaround_hours: 48,
                escalation_contact: w.admin,
                intake: podledger_domain::org::IntakeMethod::Ticket,
            },
        })
        .await;
        w.org(OrgCommand::AppointServiceOperator {
            service_id: w.legal(),
            person_id: w.admin,
        })
        .await;
        for (person, role) in [
            (w.po, PodRole::ProductOwner),
            (w.sm, PodRole::ScrumMaster),
            (w.owner, PodRole::Designer),
        ] {
            w.org(OrgCommand::AddPerson {
                person_id: person,
                name: "p".into(),
                email: None,
            })
            .await;
            w.org(OrgCommand::AssignPodRole {
                person_id: person,
                pod_id: w.pod,
                role,
            })
            .await;
        }
        // Tests read the views right away: the set-up is in them before the world is handed out.
        let head = podledger_eventstore::EventStore::head(&w.store)
            .await
            .unwrap();
        w.projections
            .wait_for(head, Duration::from_secs(10))
            .await
            .unwrap();
        w
    }

    /// The organisation's legal service (its id follows from the organisation's).
    pub fn legal(&self) -> podledger_domain::ids::SharedServiceId {
        podledger_domain::ids::SharedServiceId(Uuid::new_v5(&self.org.as_uuid(), b"legal"))
    }

    pub async fn try_as(
        &self,
        person: PersonId,
        command: Command,
    ) -> Result<Executed, HandleError> {
        let ctx = Context::new(self.org, Actor::member(person), Utc::now());
        self.handler
            .execute(
                &command,
                &ctx,
                RequestMeta {
                    correlation_id: new_id(),
                    ..RequestMeta::default()
                },
            )
            .await
    }

    pub async fn as_(&self, person: PersonId, command: Command) -> Executed {
        self.try_as(person, command).await.unwrap()
    }

    pub async fn org(&self, command: OrgCommand) -> Executed {
        self.as_(self.admin, Command::Org(command)).await
    }

    pub async fn pod_cmd(&self, person: PersonId, command: PodCommand) -> Executed {
        self.as_(
            person,
            Command::Pod {
                pod_id: self.pod,
                command,
            },
        )
        .await
    }

    pub async fn kpi_cmd(&self, person: PersonId, kpi: KpiId, command: KpiCommand) -> Executed {
        self.as_(
            person,
            Command::Kpi {
                kpi_id: kpi,
                command,
            },
        )
        .await
    }

    /// Creates a READY item owned by `self.owner`.
    pub async fn ready_item(&self, estimate: i64) -> ItemId {
        let item = ItemId(new_id());
        self.pod_cmd(
            self.po,
            PodCommand::CreateItem {
                item_id: item,
                title: format!("item {estimate}"),
                description: None,
                output_category: "email".into(),
                acceptance_criteria: Some("shipped".into()),
                estimate: Some(estimate),
                parent_epic: None,
                requester: None,
            },
        )
        .await;
        self.pod_cmd(
            self.po,
            PodCommand::DeclareDeliveryOwner {
                item_id: item,
                person_id: self.owner,
            },
        )
        .await;
        self.pod_cmd(
            self.owner,
            PodCommand::AcceptDeliveryOwnership { item_id: item },
        )
        .await;
        item
    }

    pub async fn settle(&self, executed: &Executed) {
        if let Some(p) = executed.last_position {
            self.projections
                .wait_for(p, Duration::from_secs(10))
                .await
                .unwrap();
        }
    }

    /// SPEC §6's worked example through real commands; returns the sprint and the last result.
    pub async fn worked_example(&self) -> (SprintId, Executed) {
        let (a, b, c, d) = (
            self.ready_item(3).await,
            self.ready_item(5).await,
            self.ready_item(8).await,
            self.ready_item(2).await,
        );
        let sprint = SprintId(new_id());
        self.pod_cmd(
            self.po,
            PodCommand::PlanSprint {
                sprint_id: sprint,
                start_date: chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
                end_date: None,
            },
        )
        .await;
        for item in [a, b, c] {
            self.pod_cmd(
                self.po,
                PodCommand::CommitItem {
                    sprint_id: sprint,
                    item_id: item,
                    reason: None,
                },
            )
            .await;
        }
        self.pod_cmd(
            self.po,
            PodCommand::SetSprintGoal {
                sprint_id: sprint,
                goal: "Launch".into(),
                goal_items: vec![a, b],
            },
        )
        .await;
        self.pod_cmd(self.po, PodCommand::StartSprint { sprint_id: sprint })
            .await;
        self.pod_cmd(
            self.po,
            PodCommand::CommitItem {
                sprint_id: sprint,
                item_id: d,
                reason: Some(ScopeChangeReason::BusinessConditionsChanged),
            },
        )
        .await;
        self.pod_cmd(
            self.po,
            PodCommand::RemoveItemFromSprint {
                sprint_id: sprint,
                item_id: c,
                reason: Some(ScopeChangeReason::TechnicallyImpossible),
            },
        )
        .await;
        self.pod_cmd(
            self.po,
            PodCommand::EstimateItem {
                item_id: b,
                estimate: 8,
            },
        )
        .await;
        for item in [a, b, d] {
            self.pod_cmd(
                self.owner,
                PodCommand::MoveItem {
                    item_id: item,
                    status: WorkStatus::Done,
                },
            )
            .await;
        }
        let closed = self
            .pod_cmd(self.sm, PodCommand::CloseSprint { sprint_id: sprint })
            .await;
        (sprint, closed)
    }
}

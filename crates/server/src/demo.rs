//! `podledger demo`: seeds a realistic growth-stage organisation through the same command
//! handler the API uses — Acquisition, Activation and Retention pods with SPEC roles, six closed
//! sprints of history and one active sprint each, scope changes, re-estimates, blockers, KPIs
//! with readings. Ids are derived from names, so running it again changes nothing.

use chrono::{DateTime, Days, Duration, NaiveDate, TimeZone, Utc};
use podledger_domain::ids::{BlockerId, IntakeId, ItemId, KpiId, OrgId, PersonId, PodId, SprintId};
use podledger_domain::kpi::{Direction, KpiCommand, ReportingCadence};
use podledger_domain::org::OrgCommand;
use podledger_domain::pod::{BlockerCategory, PodCommand, ScopeChangeReason, WorkStatus};
use podledger_domain::roles::{OrgRole, PodFocus, PodRole};
use podledger_domain::{Actor, Command, Context};
use podledger_eventstore::{CommandHandler, HandleError, RequestMeta};
use uuid::Uuid;

const NAMESPACE: Uuid = Uuid::from_u128(0x6f2c_1b7e_4d3a_4e8f_9a51_0c3d_2b1e_7a90);

fn uuid(name: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, name.as_bytes())
}

/// The demo organisation's id.
pub fn org_id() -> OrgId {
    OrgId(uuid("org"))
}

/// People whose tokens `demo` prints: (role, name, id).
pub fn key_people() -> Vec<(&'static str, &'static str, PersonId)> {
    vec![
        ("ORG_ADMIN", "Ada Admin", PersonId(uuid("Ada Admin"))),
        ("VP_MARKETING", "Vera Vance", PersonId(uuid("Vera Vance"))),
        (
            "PO Acquisition",
            "Paula Price",
            PersonId(uuid("Paula Price")),
        ),
        ("SM Acquisition", "Sid Sato", PersonId(uuid("Sid Sato"))),
        (
            "DESIGNER Acquisition",
            "Dana Diaz",
            PersonId(uuid("Dana Diaz")),
        ),
    ]
}

struct PodPlan {
    name: &'static str,
    focus: PodFocus,
    people: [(&'static str, PodRole); 6],
    kpi: (&'static str, &'static str, Direction, f64),
    categories: [&'static str; 4],
}

fn pods() -> Vec<PodPlan> {
    vec![
        PodPlan {
            name: "Acquisition",
            focus: PodFocus::Acquisition,
            people: [
                ("Paula Price", PodRole::ProductOwner),
                ("Sid Sato", PodRole::ScrumMaster),
                ("Dana Diaz", PodRole::Designer),
                ("Pat Park", PodRole::PaidMediaManager),
                ("Cleo Cruz", PodRole::ContentStrategist),
                ("Ari Amari", PodRole::Analyst),
            ],
            kpi: ("Trial signups", "signups", Direction::Increase, 1_200.0),
            categories: ["landing page", "paid social", "search ads", "webinar"],
        },
        PodPlan {
            name: "Activation",
            focus: PodFocus::Activation,
            people: [
                ("Olga Ortiz", PodRole::ProductOwner),
                ("Ben Bauer", PodRole::ScrumMaster),
                ("Gus Gray", PodRole::GrowthPm),
                ("Lena Li", PodRole::CrmLifecycle),
                ("Mo Malik", PodRole::Designer),
                ("Ivy Iqbal", PodRole::SeoAnalytics),
            ],
            kpi: ("Activation rate", "%", Direction::Increase, 40.0),
            categories: ["onboarding email", "in-app guide", "landing page", "video"],
        },
        PodPlan {
            name: "Retention",
            focus: PodFocus::Retention,
            people: [
                ("Rita Ruiz", PodRole::ProductOwner),
                ("Tom Tan", PodRole::ScrumMaster),
                ("Cara Cole", PodRole::CsLiaison),
                ("Eli Epps", PodRole::EmailOps),
                ("Vic Vu", PodRole::VideoLead),
                ("Nia Noor", PodRole::Revops),
            ],
            kpi: ("Monthly churn", "%", Direction::Decrease, 2.5),
            categories: ["lifecycle email", "webinar", "help article", "video"],
        },
    ]
}

struct Seeder<'a> {
    handler: &'a CommandHandler,
    org: OrgId,
    commands: u32,
}

impl Seeder<'_> {
    async fn run(
        &mut self,
        person: PersonId,
        at: DateTime<Utc>,
        command: Command,
    ) -> Result<(), HandleError> {
        let ctx = Context::new(self.org, Actor::member(person), at);
        let key = uuid(&format!("command {}", self.commands));
        self.commands += 1;
        let meta = RequestMeta {
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            idempotency_key: Some(key),
        };
        self.handler.execute(&command, &ctx, meta).await.map(|_| ())
    }

    async fn pod(
        &mut self,
        person: PersonId,
        at: DateTime<Utc>,
        pod: PodId,
        command: PodCommand,
    ) -> Result<(), HandleError> {
        self.run(
            person,
            at,
            Command::Pod {
                pod_id: pod,
                command,
            },
        )
        .await
    }
}

fn day(start: NaiveDate, hour: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&start.and_hms_opt(hour, 0, 0).expect("valid hour"))
}

/// Seeds the demo organisation (idempotent: a second run replays the same commands, which the
/// store answers from their idempotency keys). Returns the number of commands.
#[allow(clippy::too_many_lines)] // the story of six sprints, told in order
pub async fn seed(handler: &CommandHandler) -> Result<u32, HandleError> {
    let mut s = Seeder {
        handler,
        org: org_id(),
        commands: 0,
    };
    let admin = PersonId(uuid("Ada Admin"));
    let first_start = NaiveDate::from_ymd_opt(2026, 8, 3).expect("valid date");
    let t0 = day(first_start, 8) - Duration::days(7);
    s.run(
        admin,
        t0,
        Command::Org(OrgCommand::CreateOrganisation {
            name: "Northwind Growth".into(),
            sprint_length_days: Some(14),
            founder_name: "Ada Admin".into(),
            founder_email: Some("ada@northwind.example".into()),
        }),
    )
    .await?;
    for (name, role) in [
        ("Vera Vance", OrgRole::VpMarketing),
        ("Hugo Hale", OrgRole::HeadOfStrategy),
        ("Sam Sales", OrgRole::Stakeholder),
    ] {
        let person = PersonId(uuid(name));
        s.run(
            admin,
            t0,
            Command::Org(OrgCommand::AddPerson {
                person_id: person,
                name: name.into(),
                email: None,
            }),
        )
        .await?;
        s.run(
            admin,
            t0,
            Command::Org(OrgCommand::GrantOrgRole {
                person_id: person,
                role,
            }),
        )
        .await?;
    }
    for plan in pods() {
        let pod = PodId(uuid(plan.name));
        s.run(
            admin,
            t0,
            Command::Org(OrgCommand::CreatePod {
                pod_id: pod,
                name: plan.name.into(),
                focus: plan.focus.clone(),
            }),
        )
        .await?;
        for (name, role) in &plan.people {
            let person = PersonId(uuid(name));
            s.run(
                admin,
                t0,
                Command::Org(OrgCommand::AddPerson {
                    person_id: person,
                    name: (*name).into(),
                    email: None,
                }),
            )
            .await?;
            s.run(
                admin,
                t0,
                Command::Org(OrgCommand::AssignPodRole {
                    person_id: person,
                    pod_id: pod,
                    role: role.clone(),
                }),
            )
            .await?;
        }
        let po = PersonId(uuid(plan.people[0].0));
        let sm = PersonId(uuid(plan.people[1].0));
        let doers: Vec<PersonId> = plan.people[2..]
            .iter()
            .map(|(n, _)| PersonId(uuid(n)))
            .collect();
        let kpi = KpiId(uuid(&format!("{} kpi", plan.name)));
        let (kpi_name, unit, direction, target) = plan.kpi;
        s.run(
            po,
            t0,
            Command::Kpi {
                kpi_id: kpi,
                command: KpiCommand::DefineKpi {
                    pod_id: pod,
                    name: kpi_name.into(),
                    unit: unit.into(),
                    direction,
                    target,
                    baseline: Some(target * 0.8),
                    cadence: ReportingCadence::Weekly,
                    owner: *doers.last().expect("an analyst"),
                },
            },
        )
        .await?;
        for n in 0..7u32 {
            let start = first_start + Days::new(14 * u64::from(n));
            let (plan_at, start_at, mid, close_at) = (
                day(start, 8) - Duration::days(3),
                day(start, 9),
                day(start, 9) + Duration::days(6),
                day(start + Days::new(13), 17),
            );
            let items: Vec<ItemId> = (0..6)
                .map(|k| ItemId(uuid(&format!("{} s{n} i{k}", plan.name))))
                .collect();
            for (k, item) in items.iter().enumerate() {
                let owner = doers[(k + n as usize) % doers.len()];
                s.pod(
                    po,
                    plan_at,
                    pod,
                    PodCommand::CreateItem {
                        item_id: *item,
                        title: format!(
                            "{} — {} #{}",
                            plan.name,
                            plan.categories[k % 4],
                            n * 6 + k as u32 + 1
                        ),
                        description: Some(format!(
                            "Sprint {} work for the {} pod",
                            n + 1,
                            plan.name
                        )),
                        output_category: plan.categories[k % 4].into(),
                        acceptance_criteria: Some("Live, tracked, and approved by brand".into()),
                        estimate: Some([3, 5, 8, 2, 3, 5][k]),
                        parent_epic: None,
                        requester: (k == 0).then(|| PersonId(uuid("Sam Sales"))),
                    },
                )
                .await?;
                s.pod(
                    po,
                    plan_at,
                    pod,
                    PodCommand::DeclareDeliveryOwner {
                        item_id: *item,
                        person_id: owner,
                    },
                )
                .await?;
                s.pod(
                    owner,
                    plan_at,
                    pod,
                    PodCommand::AcceptDeliveryOwnership { item_id: *item },
                )
                .await?;
            }
            let sprint = SprintId(uuid(&format!("{} sprint {n}", plan.name)));
            s.pod(
                po,
                plan_at,
                pod,
                PodCommand::PlanSprint {
                    sprint_id: sprint,
                    start_date: start,
                    end_date: None,
                },
            )
            .await?;
            for item in &items[..5] {
                s.pod(
                    po,
                    plan_at,
                    pod,
                    PodCommand::CommitItem {
                        sprint_id: sprint,
                        item_id: *item,
                        reason: None,
                    },
                )
                .await?;
            }
            s.pod(
                po,
                plan_at,
                pod,
                PodCommand::SetSprintGoal {
                    sprint_id: sprint,
                    goal: format!(
                        "Ship the {} push for sprint {}",
                        plan.categories[n as usize % 4],
                        n + 1
                    ),
                    goal_items: items[..2].to_vec(),
                },
            )
            .await?;
            s.pod(
                po,
                start_at,
                pod,
                PodCommand::StartSprint { sprint_id: sprint },
            )
            .await?;
            if n % 2 == 0 {
                s.pod(
                    po,
                    mid,
                    pod,
                    PodCommand::CommitItem {
                        sprint_id: sprint,
                        item_id: items[5],
                        reason: Some(ScopeChangeReason::BusinessConditionsChanged),
                    },
                )
                .await?;
            }
            if n % 3 == 1 {
                s.pod(
                    po,
                    mid,
                    pod,
                    PodCommand::RemoveItemFromSprint {
                        sprint_id: sprint,
                        item_id: items[4],
                        reason: Some(ScopeChangeReason::TechnicallyImpossible),
                    },
                )
                .await?;
            }
            if n % 2 == 1 {
                s.pod(
                    po,
                    mid,
                    pod,
                    PodCommand::EstimateItem {
                        item_id: items[1],
                        estimate: 8,
                    },
                )
                .await?;
            }
            let blocker = BlockerId(uuid(&format!("{} blocker {n}", plan.name)));
            let raiser = doers[n as usize % doers.len()];
            s.pod(
                raiser,
                mid,
                pod,
                PodCommand::RaiseBlocker {
                    blocker_id: blocker,
                    item_id: Some(items[2]),
                    category: [
                        BlockerCategory::Approval,
                        BlockerCategory::DataAccess,
                        BlockerCategory::Dependency,
                    ][n as usize % 3],
                    description: "Waiting on legal sign-off for the claims".into(),
                },
            )
            .await?;
            if n % 3 == 2 {
                s.pod(
                    sm,
                    mid + Duration::hours(20),
                    pod,
                    PodCommand::EscalateBlocker {
                        blocker_id: blocker,
                        note: None,
                    },
                )
                .await?;
            }
            if n < 6 {
                s.pod(
                    sm,
                    mid + Duration::hours(6 + 14 * i64::from(n)),
                    pod,
                    PodCommand::ResolveBlocker {
                        blocker_id: blocker,
                        resolution: Some("Approved".into()),
                    },
                )
                .await?;
            }
            let in_sprint: Vec<ItemId> = items
                .iter()
                .copied()
                .filter(|i| {
                    let removed = n % 3 == 1 && *i == items[4];
                    let never_added = n % 2 == 1 && *i == items[5];
                    !(removed || never_added)
                })
                .collect();
            let finished = if n == 6 {
                2
            } else {
                in_sprint.len() - usize::from(n % 2 == 0)
            };
            for (k, item) in in_sprint.iter().enumerate() {
                let owner = doers[(items.iter().position(|i| i == item).unwrap_or(0) + n as usize)
                    % doers.len()];
                s.pod(
                    owner,
                    mid,
                    pod,
                    PodCommand::MoveItem {
                        item_id: *item,
                        status: WorkStatus::InProgress,
                    },
                )
                .await?;
                if k < finished {
                    s.pod(
                        owner,
                        mid,
                        pod,
                        PodCommand::MoveItem {
                            item_id: *item,
                            status: WorkStatus::Done,
                        },
                    )
                    .await?;
                }
            }
            for week in 0..2 {
                let value = target * (0.85 + 0.03 * f64::from(n) + 0.01 * f64::from(week));
                s.run(
                    *doers.last().expect("an analyst"),
                    mid,
                    Command::Kpi {
                        kpi_id: kpi,
                        command: KpiCommand::RecordKpiReading {
                            value: (value * 10.0).round() / 10.0,
                            observed_at: start_at + Duration::days(3 + 7 * i64::from(week)),
                            source: Some("hubspot".into()),
                        },
                    },
                )
                .await?;
            }
            if n < 6 {
                s.pod(
                    sm,
                    close_at,
                    pod,
                    PodCommand::CloseSprint { sprint_id: sprint },
                )
                .await?;
            }
        }
    }
    seed_intake(&mut s, first_start + Days::new(14 * 6 + 2)).await?;
    Ok(s.commands)
}

/// The stakeholder's requests to each pod's intake during the active sprint: one accepted
/// into the backlog, one declined, one still open. (Seeded after everything else, so that the
/// commands before keep their idempotency keys.)
async fn seed_intake(s: &mut Seeder<'_>, on: NaiveDate) -> Result<(), HandleError> {
    let sam = PersonId(uuid("Sam Sales"));
    for plan in pods() {
        let pod = PodId(uuid(plan.name));
        let po = PersonId(uuid(plan.people[0].0));
        let asks = [
            ("Case study for the enterprise deal", "case study"),
            ("Battlecard refresh before QBR", "battlecard"),
            ("Webinar follow-up sequence", "email"),
        ];
        let ids: Vec<IntakeId> = asks
            .iter()
            .map(|(title, _)| IntakeId(uuid(&format!("{} intake {title}", plan.name))))
            .collect();
        for ((title, category), id) in asks.iter().zip(&ids) {
            s.pod(
                sam,
                day(on, 10),
                pod,
                PodCommand::SubmitIntakeRequest {
                    request_id: *id,
                    title: (*title).into(),
                    description: Some(format!("Requested by Sales for the {} pod", plan.name)),
                    output_category: (*category).into(),
                },
            )
            .await?;
        }
        s.pod(
            po,
            day(on, 15),
            pod,
            PodCommand::AcceptIntakeRequest {
                request_id: ids[0],
                item_id: ItemId(uuid(&format!("{} intake item", plan.name))),
            },
        )
        .await?;
        s.pod(
            po,
            day(on, 15),
            pod,
            PodCommand::DeclineIntakeRequest {
                request_id: ids[1],
                reason: "The current battlecards were refreshed last month".into(),
            },
        )
        .await?;
    }
    Ok(())
}

//! `podledger import` and `export`, as users run them: a two-sprint history with its business
//! times brought in through the binary and read back through GraphQL; refusals that stop at
//! their line; a re-run that resumes; export then import into an empty store giving identical
//! views, for the demo organisation and for random command sequences.

#[path = "../crates/projections/tests/common/mod.rs"]
mod common;

use std::process::Command;
use std::sync::Arc;

use podledger_api::AuthConfig;
use podledger_domain::ids::{OrgId, PersonId};
use podledger_eventstore::{EventStore as _, SqliteConfig, SqliteEventStore};
use podledger_server::import::{self, Importer, Options};
use podledger_server::{ServerConfig, start};
use serde_json::{Value, json};

const SECRET: &[u8] = b"import-test-secret-import-test-se";

fn podledger(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_podledger"))
        .args(args)
        .current_dir(dir)
        .env_remove("PODLEDGER_DATABASE_URL")
        .output()
        .unwrap()
}

/// A two-week sprint cycle of the `@Acme` organisation, as JSON Lines: two sprints, blockers
/// resolved 30 h and 50 h after being raised, all in March 2025.
#[allow(clippy::too_many_lines)] // one history, line by line
fn two_sprints() -> Vec<String> {
    let header = json!({"format": "podledger-import", "version": 1, "organisation": "@acme"});
    let mut lines = vec![header.to_string()];
    let mut at = |at: &str, actor: &str, command: &str, fields: Value| {
        let mut line = json!({"at": at, "actor": actor, "command": command});
        line.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        lines.push(line.to_string());
    };
    at(
        "2025-03-01T09:00:00Z",
        "@ada",
        "createOrganisation",
        json!({"name": "Acme", "founderName": "Ada", "sprintLengthDays": 14}),
    );
    at(
        "2025-03-01T09:05:00Z",
        "@ada",
        "createPod",
        json!({"podId": "@growth", "name": "Growth", "focus": "ACQUISITION"}),
    );
    for (who, role) in [
        ("@paula", "PRODUCT_OWNER"),
        ("@sid", "SCRUM_MASTER"),
        ("@dana", "DESIGNER"),
    ] {
        at(
            "2025-03-01T09:10:00Z",
            "@ada",
            "addPerson",
            json!({"personId": who, "name": &who[1..]}),
        );
        at(
            "2025-03-01T09:10:00Z",
            "@ada",
            "assignPodRole",
            json!({"podId": "@growth", "personId": who, "role": role}),
        );
    }
    for sprint in 0..2 {
        let day = |d: u32| format!("2025-03-{:02}", 3 + 14 * sprint + d);
        let sprint_id = format!("@sprint {sprint}");
        let items: Vec<String> = (0..3).map(|k| format!("@s{sprint} item {k}")).collect();
        for (k, item) in items.iter().enumerate() {
            at(
                &format!("{}T08:00:00Z", day(0)),
                "@paula",
                "createItem",
                json!({"podId": "@growth", "itemId": item,
                "title": format!("Asset {sprint}-{k}"), "outputCategory": "email", "acceptanceCriteria": "Live", "estimate": 3 + k}),
            );
            at(
                &format!("{}T08:00:00Z", day(0)),
                "@paula",
                "declareDeliveryOwner",
                json!({"podId": "@growth", "itemId": item, "personId": "@dana"}),
            );
            at(
                &format!("{}T08:00:00Z", day(0)),
                "@dana",
                "acceptDeliveryOwnership",
                json!({"podId": "@growth", "itemId": item}),
            );
        }
        at(
            &format!("{}T08:30:00Z", day(0)),
            "@paula",
            "planSprint",
            json!({"podId": "@growth", "sprintId": sprint_id, "startDate": day(0)}),
        );
        for item in &items {
            at(
                &format!("{}T08:30:00Z", day(0)),
                "@paula",
                "commitItem",
                json!({"podId": "@growth", "sprintId": sprint_id, "itemId": item}),
            );
        }
        at(
            &format!("{}T08:30:00Z", day(0)),
            "@paula",
            "setSprintGoal",
            json!({"podId": "@growth", "sprintId": sprint_id,
            "goal": "Ship the spring emails", "goalItemIds": [items[0]]}),
        );
        at(
            &format!("{}T09:00:00Z", day(0)),
            "@paula",
            "startSprint",
            json!({"podId": "@growth", "sprintId": sprint_id}),
        );
        // Sprint 0's blocker is resolved after 30 hours, sprint 1's after 50.
        let blocker = format!("@blocker {sprint}");
        at(
            &format!("{}T10:00:00Z", day(1)),
            "@dana",
            "raiseBlocker",
            json!({"podId": "@growth", "blockerId": blocker,
            "itemId": items[1], "category": "APPROVAL", "description": "Legal review"}),
        );
        let (resolved_day, hour) = if sprint == 0 {
            (day(2), 16)
        } else {
            (day(3), 12)
        };
        at(
            &format!("{resolved_day}T{hour}:00:00Z"),
            "@sid",
            "resolveBlocker",
            json!({"podId": "@growth", "blockerId": blocker}),
        );
        for (k, item) in items.iter().enumerate().take(2) {
            for status in ["IN_PROGRESS", "IN_REVIEW", "DONE"] {
                at(
                    &format!("{}T1{k}:00:00Z", day(5)),
                    "@dana",
                    "moveItem",
                    json!({"podId": "@growth", "itemId": item, "status": status}),
                );
            }
        }
        at(
            &format!("{}T17:00:00Z", day(13)),
            "@sid",
            "closeSprint",
            json!({"podId": "@growth", "sprintId": sprint_id}),
        );
    }
    lines
}

fn org() -> OrgId {
    import::organisation("@acme").unwrap()
}

fn token(person: &str) -> String {
    AuthConfig::new(SECRET.to_vec(), "podledger", "podledger").mint_member(
        org(),
        PersonId(import::named(org(), person)),
        chrono::Duration::hours(1),
    )
}

/// The server on an imported store, once its read models have the log (as `/readyz` would
/// tell a client); and its GraphQL URL.
async fn serve(db: &std::path::Path) -> (podledger_server::Running, String) {
    let auth = AuthConfig::new(SECRET.to_vec(), "podledger", "podledger");
    let running = start(ServerConfig::new(
        format!("sqlite://{}", db.display()),
        auth,
    ))
    .await
    .unwrap();
    let head = running.projections.store().head().await.unwrap();
    running
        .projections
        .wait_for(head, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let url = format!("http://{}/graphql", running.addr);
    (running, url)
}

async fn graphql(url: &str, person: &str, query: &str, variables: Value) -> Value {
    let body: Value = reqwest::Client::new()
        .post(url)
        .bearer_auth(token(person))
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_history_keeps_its_business_times_in_every_metric_and_as_of() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("history.jsonl"), two_sprints().join("\n")).unwrap();
    let out = podledger(
        dir.path(),
        &["--database-url", "acme.db", "import", "history.jsonl"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("1 organisations, 0 refusals"), "{summary}");

    let db = dir.path().join("acme.db");
    let (running, url) = serve(&db).await;
    let pod = podledger_api::ids::to_id("Pod", import::named(org(), "growth")).0;
    let metrics = graphql(
        &url,
        "paula",
        "query($p: ID!) { pod(id: $p) { metrics { blockerMedianHours blockerP90Hours blockersWithin48H averageVelocity } } }",
        json!({"p": pod}),
    )
    .await;
    let m = &metrics["pod"]["metrics"];
    assert_eq!(m["blockerMedianHours"], 40.0, "{m}");
    assert_eq!(m["blockerP90Hours"], 50.0, "{m}");
    assert_eq!(m["blockersWithin48H"], 0.5, "{m}");
    // Sprint windows and the audit log show the business time beside the commit time.
    let sprints = graphql(
        &url,
        "ada",
        "query($p: ID!) { pod(id: $p) { sprints { nodes { number startedAt closedAt } } } auditLog(first: 1) { nodes { occurredAt recordedAt } } }",
        json!({"p": pod}),
    )
    .await;
    let first = &sprints["pod"]["sprints"]["nodes"][0];
    assert_eq!(first["startedAt"], "2025-03-03T09:00:00+00:00", "{sprints}");
    assert_eq!(first["closedAt"], "2025-03-16T17:00:00+00:00");
    let entry = &sprints["auditLog"]["nodes"][0];
    assert_eq!(entry["occurredAt"], "2025-03-01T09:00:00+00:00");
    assert!(entry["recordedAt"].as_str().unwrap() > "2026", "{entry}");
    // As of a business time in the middle of sprint 1 (after the items moved, before the
    // close): that moment's board.
    let board = graphql(
        &url,
        "paula",
        "query($p: ID!, $t: DateTime!) { pod(id: $p, asOf: {time: $t}) { currentSprint { number status items { nodes { status } } } } }",
        json!({"p": pod, "t": "2025-03-25T12:00:00Z"}),
    )
    .await;
    let sprint = &board["pod"]["currentSprint"];
    assert_eq!(sprint["number"], 2, "{board}");
    assert_eq!(sprint["status"], "ACTIVE");
    let done = sprint["items"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "DONE")
        .count();
    assert_eq!(done, 2, "{board}");
    check_burndowns(&url, &pod).await;
    check_organisation_as_of(&url).await;
    running.handle.stop(true).await;
}

/// The organisation overview as of a business time: the pods and sprints of that moment; none
/// before the organisation was founded.
async fn check_organisation_as_of(url: &str) {
    let query = "query($t: DateTime!) { organisation(asOf: {time: $t}) { name pods { nodes { name currentSprint { number status } metrics { closedSprints } } } } }";
    let at = |t: &'static str| graphql(url, "ada", query, json!({ "t": t }));
    let founded = at("2025-03-01T09:06:00Z").await;
    let pod = &founded["organisation"]["pods"]["nodes"][0];
    assert_eq!(pod["name"], "Growth", "{founded}");
    assert_eq!(
        pod["currentSprint"],
        Value::Null,
        "no sprint planned yet: {founded}"
    );
    let later = at("2025-03-25T12:00:00Z").await;
    let pod = &later["organisation"]["pods"]["nodes"][0];
    assert_eq!(pod["currentSprint"]["number"], 2, "{later}");
    assert_eq!(pod["metrics"]["closedSprints"], 1, "{later}");
    let body = reqwest::Client::new()
        .post(url)
        .bearer_auth(token("ada"))
        .json(&json!({"query": query, "variables": {"t": "2025-02-01T00:00:00Z"}}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "before its founding: {body}"
    );
}

/// The burndowns of the imported history follow its business days: sprint 1 whole (Mar 3–16),
/// sprint 2 up to the day of an `asOf` point (Mar 17–25).
async fn check_burndowns(url: &str, pod: &str) {
    let burndowns = graphql(
        url,
        "paula",
        "query($p: ID!, $t: DateTime!) {
           now: pod(id: $p) { sprints(first: 1) { nodes { burndown { committedPoints days { date remaining scope ideal } } } } }
           past: pod(id: $p, asOf: {time: $t}) { currentSprint { burndown { committedPoints days { date remaining scope } } } } }",
        json!({"p": pod, "t": "2025-03-25T12:00:00Z"}),
    )
    .await;
    let first = &burndowns["now"]["sprints"]["nodes"][0]["burndown"];
    assert_eq!(first["committedPoints"], 12, "{burndowns}");
    let days = first["days"].as_array().unwrap();
    assert_eq!(days.len(), 14, "{first}");
    assert_eq!(days[0]["date"], "2025-03-03");
    assert_eq!(days[13]["date"], "2025-03-16");
    let points = |days: &[Value]| -> Vec<(i64, i64)> {
        days.iter()
            .map(|d| {
                (
                    d["remaining"].as_i64().unwrap(),
                    d["scope"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let expected: Vec<(i64, i64)> = (0..14)
        .map(|d| if d < 5 { (12, 12) } else { (5, 12) })
        .collect();
    assert_eq!(
        points(days),
        expected,
        "items 0 and 1 (3 + 4 points) done on Mar 8"
    );
    assert_eq!(days[0]["ideal"], 12.0);
    assert_eq!(days[13]["ideal"], 0.0);
    let past = burndowns["past"]["currentSprint"]["burndown"]["days"]
        .as_array()
        .unwrap();
    assert_eq!(past.len(), 9, "Mar 17 to the asOf day, Mar 25: {past:?}");
    assert_eq!(past[8]["date"], "2025-03-25");
    assert_eq!(
        points(past)[4..],
        [(12, 12), (5, 12), (5, 12), (5, 12), (5, 12)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_line_stops_the_import_there_and_the_fixed_file_resumes_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = two_sprints();
    // Line 20 asks a designer to plan a sprint: FORBIDDEN. Nothing after it may be applied.
    let bad = 20;
    let good = lines[bad - 1].clone();
    let mut forbidden: Value = serde_json::from_str(&good).unwrap();
    forbidden["actor"] = json!("@dana");
    forbidden["command"] = json!("planSprint");
    forbidden["sprintId"] = json!("@stray sprint");
    forbidden["startDate"] = json!("2025-03-03");
    lines[bad - 1] = forbidden.to_string();
    std::fs::write(dir.path().join("h.jsonl"), lines.join("\n")).unwrap();
    let out = podledger(dir.path(), &["--database-url", "a.db", "import", "h.jsonl"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("line {bad}: FORBIDDEN")),
        "{stderr}"
    );
    let head_after_refusal = head(&dir.path().join("a.db")).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{} commands applied", bad - 2)),
        "{stdout}"
    );

    // Fixed: the run skips what was applied and goes on from the fixed line.
    lines[bad - 1] = good;
    std::fs::write(dir.path().join("h.jsonl"), lines.join("\n")).unwrap();
    let out = podledger(dir.path(), &["--database-url", "a.db", "import", "h.jsonl"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{} already applied", bad - 2)),
        "{stdout}"
    );
    assert!(head(&dir.path().join("a.db")).await > head_after_refusal);

    // A third run changes nothing.
    let before = head(&dir.path().join("a.db")).await;
    let out = podledger(dir.path(), &["--database-url", "a.db", "import", "h.jsonl"]);
    assert!(out.status.success());
    assert_eq!(head(&dir.path().join("a.db")).await, before);
}

async fn head(db: &std::path::Path) -> u64 {
    let store = SqliteEventStore::open(SqliteConfig::new(db)).await.unwrap();
    store.head().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_going_backwards_a_future_time_and_a_live_organisation_are_refused() {
    let store: Arc<dyn podledger_eventstore::EventStore> = Arc::new(
        SqliteEventStore::open(SqliteConfig::new(
            tempfile::tempdir().unwrap().keep().join("t.db"),
        ))
        .await
        .unwrap(),
    );
    let mut lines = two_sprints();
    lines.truncate(4);
    let mut back: Value = serde_json::from_str(&lines[3]).unwrap();
    back["at"] = json!("2025-02-28T09:00:00Z");
    lines.push(back.to_string());
    let stopped = Importer::new(store.clone(), Options::default())
        .import(&lines.join("\n"), |_| {})
        .await
        .unwrap_err();
    assert_eq!((stopped.line, stopped.refusal.code()), (5, "BAD_TIME"));
    let mut future: Value = serde_json::from_str(&lines[3]).unwrap();
    future["at"] = json!((chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339());
    lines[4] = future.to_string();
    let stopped = Importer::new(store.clone(), Options::default())
        .import(&lines.join("\n"), |_| {})
        .await
        .unwrap_err();
    assert_eq!((stopped.line, stopped.refusal.code()), (5, "BAD_TIME"));

    // An organisation created live (not by an import) is never imported into.
    let live = OrgId(uuid::Uuid::now_v7());
    let handler = podledger_eventstore::CommandHandler::new(store.clone());
    let admin = PersonId(uuid::Uuid::now_v7());
    handler
        .execute(
            &podledger_domain::Command::Org(
                podledger_domain::org::OrgCommand::CreateOrganisation {
                    name: "Live".into(),
                    sprint_length_days: None,
                    founder_name: "Live admin".into(),
                    founder_email: None,
                },
            ),
            &podledger_domain::Context::new(
                live,
                podledger_domain::Actor::member(admin),
                chrono::Utc::now(),
            ),
            podledger_eventstore::RequestMeta {
                correlation_id: uuid::Uuid::now_v7(),
                causation_id: None,
                idempotency_key: None,
            },
        )
        .await
        .unwrap();
    let header = json!({"format": "podledger-import", "version": 1, "organisation": live.as_uuid().to_string()});
    let stopped = Importer::new(store.clone(), Options::default())
        .import(&format!("{header}\n{}", lines[2]), |_| {})
        .await
        .unwrap_err();
    assert_eq!(
        (stopped.line, stopped.refusal.code()),
        (1, "ORGANISATION_HAS_LIVE_HISTORY")
    );
    // Unknown commands and versions name their line.
    let stopped = Importer::new(store.clone(), Options::default())
        .import(&format!("{}\n{{\"at\":\"2025-03-01T10:00:00Z\",\"actor\":\"@ada\",\"command\":\"launchRocket\"}}", two_sprints()[0]), |_| {})
        .await
        .unwrap_err();
    assert_eq!((stopped.line, stopped.refusal.code()), (2, "BAD_LINE"));
    let stopped = Importer::new(store, Options::default())
        .import(
            r#"{"format":"podledger-import","version":2,"organisation":"@x"}"#,
            |_| {},
        )
        .await
        .unwrap_err();
    assert_eq!((stopped.line, stopped.refusal.code()), (1, "BAD_HEADER"));
}

/// Every view of `org` in `db`, as JSON, without commit times (which an import cannot keep).
async fn views_of(db: &std::path::Path, org: OrgId) -> Value {
    let store = SqliteEventStore::open(SqliteConfig::new(db)).await.unwrap();
    let projections = podledger_projections::Projections::rebuild(store)
        .await
        .unwrap();
    let views = projections.snapshot();
    let mut out = serde_json::Map::new();
    let org_view = views.orgs.get(&org.as_uuid()).expect("the organisation");
    out.insert(
        "org".into(),
        strip(serde_json::to_value(&**org_view).unwrap()),
    );
    let mut pods: Vec<_> = org_view.state.pods.keys().collect();
    pods.sort();
    for pod in pods {
        let view = projections
            .pod(org.as_uuid(), *pod)
            .expect("the pod's view");
        out.insert(
            format!("pod {pod:?}"),
            strip(serde_json::to_value(&*view).unwrap()),
        );
        for kpi in projections.kpis_of_pod(org.as_uuid(), *pod) {
            out.insert(
                format!("kpi {:?}", kpi.id),
                strip(serde_json::to_value(&*kpi).unwrap()),
            );
        }
    }
    Value::Object(out)
}

fn strip(mut value: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(fields) => {
                fields.remove("recordedAt");
                fields.remove("recorded_at");
                fields.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

async fn export_then_import(dir: &std::path::Path, source: &str, org: OrgId) {
    let org_arg = org.as_uuid().to_string();
    let out = podledger(
        dir,
        &[
            "--database-url",
            source,
            "export",
            "--org",
            &org_arg,
            "--output",
            "export.jsonl",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = podledger(
        dir,
        &["--database-url", "copy.db", "import", "export.jsonl"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        views_of(&dir.join(source), org).await,
        views_of(&dir.join("copy.db"), org).await,
        "the imported copy's views differ from the source's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_import_into_an_empty_store_gives_identical_views_of_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let out = podledger(dir.path(), &["--database-url", "demo.db", "demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    export_then_import(dir.path(), "demo.db", podledger_server::demo::org_id()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_import_gives_identical_views_for_random_command_sequences() {
    use common::random::{Known, Rng, random_command};
    for seed in [0x5EED_u64, 0xBEEF, 0x00C0_FFEE] {
        let dir = tempfile::tempdir().unwrap();
        let w = common::World::in_dir(dir.path()).await;
        let mut rng = Rng(seed);
        let mut known = Known::new();
        let mut accepted = 0;
        for _ in 0..400 {
            let view = w.projections.pod(w.org.as_uuid(), w.pod).unwrap();
            let (person, command) = random_command(&mut rng, &w, &mut known, &view);
            if let Ok(done) = w.try_as(person, command).await {
                accepted += 1;
                if let Some(p) = done.last_position {
                    w.projections
                        .wait_for(p, std::time::Duration::from_secs(10))
                        .await
                        .unwrap();
                }
            }
        }
        assert!(accepted > 100, "seed {seed:x}: {accepted} accepted");
        let org = w.org;
        drop(w);
        export_then_import(dir.path(), "w.db", org).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jira_export_converts_into_a_file_that_imports_with_its_sprints_and_velocity() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/jira/issues.csv");
    let out = podledger(
        dir.path(),
        &[
            "convert-jira",
            fixture.to_str().unwrap(),
            "--organisation",
            "acme",
            "--pod-name",
            "Growth",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(dir.path().join("jira.jsonl"), &out.stdout).unwrap();
    let out = podledger(
        dir.path(),
        &["--database-url", "j.db", "import", "jira.jsonl"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (running, url) = serve(&dir.path().join("j.db")).await;
    let pod = podledger_api::ids::to_id("Pod", import::named(org(), "pod")).0;
    let data = graphql(
        &url,
        "Jira PO",
        "query($p: ID!) { pod(id: $p) { name metrics { averageVelocity } sprints { nodes { status startedAt } }
           backlog { totalCount } } }",
        json!({"p": pod}),
    )
    .await;
    let pod = &data["pod"];
    assert_eq!(pod["name"], "Growth");
    // Sprint 1 finished GROW-1 (5) and GROW-2 (8); sprint 2 GROW-4 (2) and GROW-5 (no points: 1).
    assert_eq!(pod["metrics"]["averageVelocity"], 8.0, "{data}");
    let sprints = pod["sprints"]["nodes"].as_array().unwrap();
    assert_eq!(sprints.len(), 2);
    assert!(sprints.iter().all(|s| s["status"] == "CLOSED"), "{data}");
    assert_eq!(sprints[0]["startedAt"], "2025-03-03T09:00:00+00:00");
    assert_eq!(sprints[1]["startedAt"], "2025-03-17T09:00:00+00:00");
    running.handle.stop(true).await;
}

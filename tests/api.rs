//! End-to-end: the real server on port 0 with a fresh database, driven over HTTP with GraphQL
//! only (zero2prod's `spawn_app`).
#![allow(clippy::many_single_char_names)] // items a, b, c, d and sprint s are the SPEC worked example's names

#[path = "common/node.rs"]
mod node;
use node::node_script;

use std::time::Duration;

use podledger_api::AuthConfig;
use podledger_api::ids::from_id;
use podledger_domain::ids::{OrgId, PersonId};
use podledger_server::{ServerConfig, start};
use serde_json::{Value, json};
use uuid::Uuid;

struct TestApp {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    url: String,
    client: reqwest::Client,
    auth: AuthConfig,
    org: OrgId,
    running: podledger_server::Running,
}

async fn spawn_app() -> TestApp {
    spawn_app_with(false).await
}

async fn spawn_app_with(demo: bool) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("podledger.db");
    let auth = AuthConfig::new(
        b"e2e-secret-e2e-secret-e2e-secret".to_vec(),
        "podledger",
        "podledger",
    );
    let running = start(ServerConfig {
        demo,
        workers: 2,
        ..ServerConfig::new(format!("sqlite://{}", db.display()), auth.clone())
    })
    .await
    .unwrap();
    TestApp {
        _dir: dir,
        db,
        url: format!("http://{}/graphql", running.addr),
        client: reqwest::Client::new(),
        auth,
        org: OrgId(Uuid::now_v7()),
        running,
    }
}

impl TestApp {
    fn token(&self, person: PersonId) -> String {
        self.auth
            .mint_member(self.org, person, chrono::Duration::minutes(10))
    }

    async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut request = self
            .client
            .post(&self.url)
            .json(&json!({"query": query, "variables": variables}));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Runs a GraphQL request as `person`, expecting no error.
    async fn ok(&self, person: PersonId, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(Some(&self.token(person)), query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Runs a GraphQL request as `person`, expecting one error; returns it.
    async fn err(&self, person: PersonId, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(Some(&self.token(person)), query, variables).await;
        assert_eq!(status, 200, "{body}");
        body["errors"][0].clone()
    }
}

fn person_uuid(id: &Value) -> PersonId {
    PersonId(
        from_id(
            "Person",
            &async_graphql::ID(id.as_str().unwrap().into()),
            "id",
        )
        .unwrap(),
    )
}

const ITEM_FIELDS: &str = "id title estimate status ownerId version";

struct Org {
    admin: PersonId,
    po: PersonId,
    sm: PersonId,
    designer: PersonId,
    pod: Value,
}

async fn org_with_pod(app: &TestApp) -> Org {
    let admin = PersonId(Uuid::now_v7());
    app.ok(
        admin,
        "mutation { createOrganisation(name: \"Acme\", founderName: \"Ada\") { position } }",
        json!({}),
    )
    .await;
    let mut people = Vec::new();
    for name in ["Paula", "Sid", "Dana"] {
        let data = app
            .ok(
                admin,
                "mutation($n: String!) { addPerson(name: $n) { person { id } } }",
                json!({"n": name}),
            )
            .await;
        people.push(data["addPerson"]["person"]["id"].clone());
    }
    let pod = app
        .ok(
            admin,
            "mutation { createPod(name: \"Acquisition\", focus: \"ACQUISITION\") { pod { id } } }",
            json!({}),
        )
        .await["createPod"]["pod"]["id"]
        .clone();
    for (person, role) in people
        .iter()
        .zip(["PRODUCT_OWNER", "SCRUM_MASTER", "DESIGNER"])
    {
        app.ok(
            admin,
            "mutation($p: ID!, $pod: ID!, $r: String!) { assignPodRole(personId: $p, podId: $pod, role: $r) { pod { id } } }",
            json!({"p": person, "pod": pod, "r": role}),
        )
        .await;
    }
    Org {
        admin,
        po: person_uuid(&people[0]),
        sm: person_uuid(&people[1]),
        designer: person_uuid(&people[2]),
        pod,
    }
}

async fn ready_item(app: &TestApp, o: &Org, estimate: i32, designer_id: &Value) -> Value {
    let created = app
        .ok(
            o.po,
            &format!(
                "mutation($i: CreateItemInput!) {{ createItem(input: $i) {{ position item {{ {ITEM_FIELDS} }} }} }}"
            ),
            json!({"i": {"podId": o.pod, "title": format!("Asset {estimate}"), "outputCategory": "email",
                         "acceptanceCriteria": "Live and tracked", "estimate": estimate}}),
        )
        .await;
    let item = created["createItem"]["item"]["id"].clone();
    app.ok(
        o.po,
        "mutation($pod: ID!, $i: ID!, $p: ID!) { declareDeliveryOwner(podId: $pod, itemId: $i, personId: $p) { item { pendingOwnerId } } }",
        json!({"pod": o.pod, "i": item, "p": designer_id}),
    )
    .await;
    let accepted = app
        .ok(
            o.designer,
            "mutation($pod: ID!, $i: ID!) { acceptDeliveryOwnership(podId: $pod, itemId: $i) { item { status ownerId } } }",
            json!({"pod": o.pod, "i": item}),
        )
        .await;
    assert_eq!(
        accepted["acceptDeliveryOwnership"]["item"]["status"], "READY",
        "read-your-writes"
    );
    item
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_a_bad_token_is_401_unauthenticated() {
    let app = spawn_app().await;
    let (status, body) = app.post(None, "{ organisation { name } }", json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let (status, _) = app
        .post(Some("not-a-token"), "{ organisation { name } }", json!({}))
        .await;
    assert_eq!(status, 401);
    let expired = app.auth.mint_member(
        app.org,
        PersonId(Uuid::now_v7()),
        chrono::Duration::seconds(-120),
    );
    let (status, _) = app
        .post(Some(&expired), "{ organisation { name } }", json!({}))
        .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one sprint cycle, step by step
async fn a_full_sprint_cycle_through_graphql_gives_the_spec_worked_example() {
    let app = spawn_app().await;
    let o = org_with_pod(&app).await;
    let designer_id = json!(podledger_api::ids::to_id("Person", o.designer.as_uuid()).0);
    let (a, b, c, d) = (
        ready_item(&app, &o, 3, &designer_id).await,
        ready_item(&app, &o, 5, &designer_id).await,
        ready_item(&app, &o, 8, &designer_id).await,
        ready_item(&app, &o, 2, &designer_id).await,
    );
    let sprint = app
        .ok(o.po, "mutation($pod: ID!) { planSprint(podId: $pod, startDate: \"2026-01-05\") { sprint { id endDate status } } }", json!({"pod": o.pod}))
        .await["planSprint"]["sprint"]
        .clone();
    assert_eq!(sprint["endDate"], "2026-01-18");
    let s = sprint["id"].clone();
    for item in [&a, &b, &c] {
        app.ok(o.po, "mutation($pod: ID!, $s: ID!, $i: ID!) { commitItem(podId: $pod, sprintId: $s, itemId: $i) { sprint { id } } }", json!({"pod": o.pod, "s": s, "i": item})).await;
    }
    app.ok(o.po, "mutation($pod: ID!, $s: ID!, $g: [ID!]!) { setSprintGoal(podId: $pod, sprintId: $s, goal: \"Launch\", goalItemIds: $g) { sprint { goal } } }", json!({"pod": o.pod, "s": s, "g": [a, b]})).await;
    let started = app
        .ok(o.po, "mutation($pod: ID!, $s: ID!) { startSprint(podId: $pod, sprintId: $s) { position sprint { status metrics { committedPoints } } } }", json!({"pod": o.pod, "s": s}))
        .await;
    assert_eq!(started["startSprint"]["sprint"]["status"], "ACTIVE");
    assert_eq!(
        started["startSprint"]["sprint"]["metrics"]["committedPoints"],
        16
    );
    let mid_sprint = started["startSprint"]["position"]
        .as_str()
        .unwrap()
        .to_owned();

    // A scope change without a reason is refused with its SPEC code.
    let refused = app.err(o.po, "mutation($pod: ID!, $s: ID!, $i: ID!) { commitItem(podId: $pod, sprintId: $s, itemId: $i) { sprint { id } } }", json!({"pod": o.pod, "s": s, "i": d})).await;
    assert_eq!(
        refused["extensions"]["code"],
        "SCOPE_CHANGE_REASON_REQUIRED"
    );
    app.ok(o.po, "mutation($pod: ID!, $s: ID!, $i: ID!) { commitItem(podId: $pod, sprintId: $s, itemId: $i, reason: {kind: BUSINESS_CONDITIONS_CHANGED}) { sprint { id } } }", json!({"pod": o.pod, "s": s, "i": d})).await;
    app.ok(o.po, "mutation($pod: ID!, $s: ID!, $i: ID!) { removeItemFromSprint(podId: $pod, sprintId: $s, itemId: $i, reason: {kind: TECHNICALLY_IMPOSSIBLE}) { sprint { id } } }", json!({"pod": o.pod, "s": s, "i": c})).await;
    app.ok(o.po, "mutation($pod: ID!, $i: ID!) { estimateItem(podId: $pod, itemId: $i, estimate: 8) { item { estimate } } }", json!({"pod": o.pod, "i": b})).await;
    for item in [&a, &b, &d] {
        app.ok(o.designer, "mutation($pod: ID!, $i: ID!) { moveItem(podId: $pod, itemId: $i, status: DONE) { item { status } } }", json!({"pod": o.pod, "i": item})).await;
    }
    let closed = app
        .ok(o.sm, "mutation($pod: ID!, $s: ID!) { closeSprint(podId: $pod, sprintId: $s) { sprint { status metrics {
            committedPoints velocity commitmentReliability scopeChurn taskCompletion goalMet
            velocityByCause { committedDone reestimatedDone addedDone removed notDone } } } } }", json!({"pod": o.pod, "s": s}))
        .await;
    let m = &closed["closeSprint"]["sprint"]["metrics"];
    assert_eq!(closed["closeSprint"]["sprint"]["status"], "CLOSED");
    assert_eq!(m["committedPoints"], 16);
    assert_eq!(m["velocity"], 13);
    assert_eq!(m["commitmentReliability"], 0.5);
    assert_eq!(m["scopeChurn"], 0.8125);
    assert_eq!(m["taskCompletion"], 1.0);
    assert_eq!(m["goalMet"], true);
    assert_eq!(
        m["velocityByCause"],
        json!({"committedDone": 8, "reestimatedDone": 3, "addedDone": 2, "removed": 8, "notDone": 0})
    );

    // The pod as of a position mid-sprint: the sprint was ACTIVE with 16 committed points.
    let then = app
        .ok(o.admin, "query($pod: ID!, $p: String!) { pod(id: $pod, asOf: {position: $p}) { currentSprint { status metrics { committedPoints velocity } } } }", json!({"pod": o.pod, "p": mid_sprint}))
        .await;
    assert_eq!(then["pod"]["currentSprint"]["status"], "ACTIVE");
    assert_eq!(
        then["pod"]["currentSprint"]["metrics"]["velocity"],
        Value::Null
    );
    let now = app
        .ok(
            o.admin,
            "query($pod: ID!) { pod(id: $pod) { metrics { averageVelocity goalCompletionRate } } }",
            json!({"pod": o.pod}),
        )
        .await;
    assert_eq!(now["pod"]["metrics"]["averageVelocity"], 13.0);

    // Item and sprint views, now and as of mid-sprint.
    let item_query = "query($pod: ID!, $i: ID!, $at: AsOfInput) { item(podId: $pod, id: $i, asOf: $at) { estimate status ownership { nodes { kind personId actor { __typename ... on Person { id } } } } } }";
    let b_now = app
        .ok(
            o.admin,
            item_query,
            json!({"pod": o.pod, "i": b, "at": null}),
        )
        .await;
    assert_eq!(b_now["item"]["estimate"], 8);
    assert_eq!(b_now["item"]["status"], "DONE");
    let kinds: Vec<&str> = b_now["item"]["ownership"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["DECLARED", "ACCEPTED"]);
    // Who did each is a Person the client can join to the people it holds.
    for entry in b_now["item"]["ownership"]["nodes"].as_array().unwrap() {
        assert_eq!(entry["actor"]["__typename"], "Person", "{entry}");
        assert!(entry["actor"]["id"].as_str().unwrap().len() > 20, "{entry}");
    }
    let b_then = app
        .ok(
            o.admin,
            item_query,
            json!({"pod": o.pod, "i": b, "at": {"position": mid_sprint}}),
        )
        .await;
    assert_eq!(b_then["item"]["estimate"], 5, "before the re-estimate");
    assert_eq!(b_then["item"]["status"], "COMMITTED");
    let sprint_query = "query($pod: ID!, $s: ID!, $at: AsOfInput) { sprint(podId: $pod, id: $s, asOf: $at) { status items { totalCount nodes { id } } } }";
    let s_then = app
        .ok(
            o.admin,
            sprint_query,
            json!({"pod": o.pod, "s": s, "at": {"position": mid_sprint}}),
        )
        .await;
    assert_eq!(s_then["sprint"]["status"], "ACTIVE");
    assert_eq!(
        s_then["sprint"]["items"]["nodes"].as_array().unwrap().len(),
        3,
        "a, b, c committed; d not yet added"
    );
    let both = app
        .err(
            o.admin,
            sprint_query,
            json!({"pod": o.pod, "s": s, "at": {"position": "1", "time": "2026-01-01T00:00:00Z"}}),
        )
        .await;
    assert_eq!(both["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_carry_their_codes_and_bad_input_names_its_fields() {
    let app = spawn_app().await;
    let o = org_with_pod(&app).await;
    let create = "mutation($i: CreateItemInput!) { createItem(input: $i) { item { id } } }";
    let forbidden = app
        .err(
            o.designer,
            create,
            json!({"i": {"podId": o.pod, "title": "x", "outputCategory": "ad"}}),
        )
        .await;
    assert_eq!(forbidden["extensions"]["code"], "FORBIDDEN");
    let invalid = app
        .err(
            o.po,
            create,
            json!({"i": {"podId": o.pod, "title": " ", "outputCategory": "ad", "estimate": -3}}),
        )
        .await;
    assert_eq!(invalid["extensions"]["code"], "VALIDATION_FAILED");
    let fields: Vec<&str> = invalid["extensions"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["input.title", "input.estimate"],
        "paths as the client sent them"
    );
    let bad_id = app
        .err(
            o.po,
            create,
            json!({"i": {"podId": "nonsense", "title": "x", "outputCategory": "ad"}}),
        )
        .await;
    assert_eq!(bad_id["extensions"]["code"], "BAD_USER_INPUT");
    let stranger = app
        .err(
            PersonId(Uuid::now_v7()),
            "{ organisation { name } }",
            json!({}),
        )
        .await;
    assert_eq!(stranger["extensions"]["code"], "FORBIDDEN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mutation_over_get_is_405() {
    let app = spawn_app().await;
    let token = app.token(PersonId(Uuid::now_v7()));
    let response = app
        .client
        .get(&app.url)
        .query(&[(
            "query",
            "mutation { createOrganisation(name: \"x\", founderName: \"y\") { position } }",
        )])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "POST");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_internal_failure_never_shows_sql_or_driver_text() {
    let app = spawn_app().await;
    let o = org_with_pod(&app).await;
    // Sabotage the database behind the server's back.
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        app.db.display()
    ))
    .await
    .unwrap();
    sqlx::query("CREATE TRIGGER sabotage BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'secret sql detail'); END")
        .execute(&mut conn)
        .await
        .unwrap();
    let (status, body) = app
        .post(
            Some(&app.token(o.po)),
            "mutation($i: CreateItemInput!) { createItem(input: $i) { item { id } } }",
            json!({"i": {"podId": o.pod, "title": "x", "outputCategory": "ad"}}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "INTERNAL_SERVER_ERROR"
    );
    let text = body.to_string();
    assert!(
        !text.contains("secret")
            && !text.to_lowercase().contains("sqlite")
            && !text.contains("INSERT"),
        "{text}"
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blockers_and_kpis_follow_their_permission_rows() {
    let app = spawn_app().await;
    let o = org_with_pod(&app).await;
    let designer_id = json!(podledger_api::ids::to_id("Person", o.designer.as_uuid()).0);

    let raised = app
        .ok(o.designer, "mutation($pod: ID!) { raiseBlocker(podId: $pod, category: DATA_ACCESS, description: \"No CRM export\") { blocker { id category resolvedAt } } }", json!({"pod": o.pod}))
        .await;
    let blocker = raised["raiseBlocker"]["blocker"]["id"].clone();
    let refused = app.err(o.designer, "mutation($pod: ID!, $b: ID!) { resolveBlocker(podId: $pod, blockerId: $b) { blocker { id } } }", json!({"pod": o.pod, "b": blocker})).await;
    assert_eq!(refused["extensions"]["code"], "FORBIDDEN");
    app.ok(o.sm, "mutation($pod: ID!, $b: ID!) { escalateBlocker(podId: $pod, blockerId: $b) { blocker { escalatedAt } } }", json!({"pod": o.pod, "b": blocker})).await;
    let resolved = app
        .ok(o.sm, "mutation($pod: ID!, $b: ID!) { resolveBlocker(podId: $pod, blockerId: $b, resolution: \"Access granted\") { blocker { resolvedAt resolution } } }", json!({"pod": o.pod, "b": blocker}))
        .await;
    assert_eq!(
        resolved["resolveBlocker"]["blocker"]["resolution"],
        "Access granted"
    );

    let defined = app
        .ok(o.po, "mutation($pod: ID!, $owner: ID!) { defineKpi(podId: $pod, name: \"Trial signups\", unit: \"signups\", direction: INCREASE, target: 1000, cadence: WEEKLY, ownerId: $owner) { kpi { id ownerId latest { value } } } }", json!({"pod": o.pod, "owner": designer_id}))
        .await;
    let kpi = defined["defineKpi"]["kpi"]["id"].clone();
    assert_eq!(defined["defineKpi"]["kpi"]["latest"], Value::Null);
    let record = "mutation($k: ID!, $v: Float!) { recordKpiReading(kpiId: $k, value: $v, observedAt: \"2026-01-10T12:00:00Z\") { kpi { latest { value attainment status } } } }";
    let by_po = app.err(o.po, record, json!({"k": kpi, "v": 950.0})).await;
    assert_eq!(by_po["extensions"]["code"], "FORBIDDEN");
    let by_owner = app
        .ok(o.designer, record, json!({"k": kpi, "v": 950.0}))
        .await;
    assert_eq!(
        by_owner["recordKpiReading"]["kpi"]["latest"],
        json!({"value": 950.0, "attainment": 0.95, "status": "AT_RISK"})
    );

    let pod_uuid = from_id(
        "Pod",
        &async_graphql::ID(o.pod.as_str().unwrap().into()),
        "pod",
    )
    .unwrap();
    let service = app.auth.mint_service(
        app.org,
        podledger_domain::ids::ServiceId(Uuid::now_v7()),
        &[podledger_domain::ids::PodId(pod_uuid)],
        chrono::Duration::minutes(5),
    );
    let (status, body) = app
        .post(Some(&service), record, json!({"k": kpi, "v": 1200.0}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"]["recordKpiReading"]["kpi"]["latest"]["status"], "ON_TRACK",
        "{body}"
    );
    let (_, body) = app
        .post(
            Some(&service),
            "mutation($i: CreateItemInput!) { createItem(input: $i) { item { id } } }",
            json!({"i": {"podId": o.pod, "title": "x", "outputCategory": "ad"}}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "a service token only records readings"
    );

    let pod = app.ok(o.admin, "query($pod: ID!) { pod(id: $pod) { kpis { nodes { name latest { value } } } blockers { nodes { resolution } } } }", json!({"pod": o.pod})).await;
    assert_eq!(pod["pod"]["kpis"]["nodes"][0]["latest"]["value"], 1200.0);
    assert_eq!(
        pod["pod"]["blockers"]["nodes"][0]["resolution"],
        "Access granted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_organisation_has_three_pods_with_history_an_active_sprint_and_kpis() {
    let mut app = spawn_app_with(true).await;
    app.org = podledger_server::demo::org_id();
    let (_, _, admin) = podledger_server::demo::key_people()[0];
    let data = app
        .ok(admin, "{ organisation { name pods { totalCount nodes { name members { totalCount } currentSprint { number status goal }
            sprints { nodes { status metrics { velocity commitmentReliability scopeChurn goalMet } } }
            metrics { averageVelocity goalCompletionRate goalsWithoutEscalation blockerMedianHours }
            intake { nodes { status } }
            kpis { nodes { name latest { value status } } } } } } }", json!({}))
        .await;
    let org = &data["organisation"];
    assert_eq!(org["name"], "Northwind Growth");
    let pods = org["pods"]["nodes"].as_array().unwrap();
    assert_eq!(org["pods"]["totalCount"], 3);
    assert_eq!(pods.len(), 3);
    for pod in pods {
        assert_eq!(pod["members"]["totalCount"], 6, "{}", pod["name"]);
        assert_eq!(pod["currentSprint"]["status"], "ACTIVE");
        assert_eq!(pod["currentSprint"]["number"], 7);
        let sprints = pod["sprints"]["nodes"].as_array().unwrap();
        assert_eq!(
            sprints.iter().filter(|s| s["status"] == "CLOSED").count(),
            6
        );
        assert!(
            sprints
                .iter()
                .any(|s| s["metrics"]["scopeChurn"].as_f64().unwrap_or(0.0) > 0.0),
            "scope changes happened"
        );
        assert!(pod["metrics"]["averageVelocity"].as_f64().unwrap() > 0.0);
        assert!(pod["metrics"]["goalCompletionRate"].as_f64().is_some());
        assert!(pod["metrics"]["blockerMedianHours"].as_f64().is_some());
        assert!(
            pod["kpis"]["nodes"][0]["latest"]["value"]
                .as_f64()
                .is_some()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sprints_show_their_window_and_kpis_their_performance_per_sprint() {
    let mut app = spawn_app_with(true).await;
    app.org = podledger_server::demo::org_id();
    let (_, _, admin) = podledger_server::demo::key_people()[0];
    let performance = "nodes { sprint { number } reading { value } attainment status delta }";
    let data = app
        .ok(
            admin,
            &format!(
                "{{ organisation {{ pods(first: 3) {{ nodes {{ name
                kpis(first: 1) {{ nodes {{ name target sprints(first: 10) {{ {performance} }} }} }}
                sprints(first: 10) {{ nodes {{ number status startedAt closedAt kpis {{ nodes {{ kpi {{ name }} attainment delta }} }} }} }}
            }} }} }} }}"
            ),
            json!({}),
        )
        .await;
    let pod = data["organisation"]["pods"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Acquisition")
        .unwrap();
    // The demo's Acquisition KPI: target 1,200 signups; sprint k's last reading is
    // 1,200 × (0.86 + 0.03 (k − 1)).
    let kpi = &pod["kpis"]["nodes"][0];
    assert_eq!(kpi["name"], "Trial signups");
    let per_sprint = kpi["sprints"]["nodes"].as_array().unwrap();
    assert_eq!(per_sprint.len(), 7, "six closed sprints and the active one");
    for (k, p) in per_sprint.iter().enumerate() {
        let expected = 1_200.0 * (0.86 + 0.03 * k as f64);
        assert_eq!(p["sprint"]["number"], k + 1);
        assert!(
            (p["reading"]["value"].as_f64().unwrap() - expected).abs() < 0.06,
            "{p}"
        );
        assert!(
            (p["attainment"].as_f64().unwrap() - expected / 1_200.0).abs() < 1e-4,
            "{p}"
        );
        assert!(p["status"].is_string(), "{p}");
        if k == 0 {
            assert!(p["delta"].is_null(), "no previous sprint: {p}");
        } else {
            assert!((p["delta"].as_f64().unwrap() - 36.0).abs() < 0.11, "{p}");
        }
    }
    let sprints = pod["sprints"]["nodes"].as_array().unwrap();
    for sprint in sprints {
        let started = sprint["startedAt"]
            .as_str()
            .map(|t| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap());
        let closed = sprint["closedAt"]
            .as_str()
            .map(|t| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap());
        match sprint["status"].as_str().unwrap() {
            "CLOSED" => assert!(started.unwrap() < closed.unwrap(), "{sprint}"),
            "ACTIVE" => assert!(started.is_some() && closed.is_none(), "{sprint}"),
            _ => assert!(started.is_none() && closed.is_none(), "{sprint}"),
        }
        // The sprint's view of the same numbers.
        let on_sprint = &sprint["kpis"]["nodes"][0];
        let on_kpi = per_sprint
            .iter()
            .find(|p| p["sprint"]["number"] == sprint["number"])
            .unwrap();
        assert_eq!(on_sprint["kpi"]["name"], "Trial signups");
        assert_eq!(on_sprint["attainment"], on_kpi["attainment"]);
        assert_eq!(on_sprint["delta"], on_kpi["delta"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_is_for_admins_oversight_and_the_pods_po_and_sm() {
    let mut app = spawn_app_with(true).await;
    app.org = podledger_server::demo::org_id();
    let people = podledger_server::demo::key_people();
    let (admin, vp, po, sm, designer) = (
        people[0].2,
        people[1].2,
        people[2].2,
        people[3].2,
        people[4].2,
    );
    let pod = json!(podledger_api::ids::to_id("Pod", podledger_server::demo::id("Acquisition")).0);
    let query = "query($pod: ID, $after: String) { auditLog(podId: $pod, first: 5, after: $after, eventType: \"SprintClosed\") { nodes { position subjectId eventType actor { __typename ... on Person { id name } } payload } pageInfo { endCursor hasNextPage } } }";
    for person in [admin, vp] {
        let page = app.ok(person, query, json!({"pod": null})).await;
        assert_eq!(page["auditLog"]["nodes"].as_array().unwrap().len(), 5);
        assert_eq!(
            page["auditLog"]["pageInfo"]["hasNextPage"], true,
            "18 sprints closed across three pods"
        );
    }
    for person in [po, sm] {
        let first = app.ok(person, query, json!({"pod": pod})).await;
        let entries = first["auditLog"]["nodes"].as_array().unwrap();
        assert!(
            entries.iter().all(|e| e["eventType"] == "SprintClosed"
                && e["subjectId"] == pod
                && e["actor"]["__typename"] == "Person"
                && e["actor"]["id"].is_string()),
            "the pod's own id and the person who closed it: {entries:?}"
        );
        let next = app
            .ok(
                person,
                query,
                json!({"pod": pod, "after": first["auditLog"]["pageInfo"]["endCursor"]}),
            )
            .await;
        assert_eq!(
            next["auditLog"]["nodes"].as_array().unwrap().len(),
            1,
            "six closed sprints: 5 + 1"
        );
        assert_eq!(next["auditLog"]["pageInfo"]["hasNextPage"], false);
        let whole_org = app.err(person, query, json!({"pod": null})).await;
        assert_eq!(whole_org["extensions"]["code"], "FORBIDDEN");
    }
    let designer_try = app.err(designer, query, json!({"pod": pod})).await;
    assert_eq!(designer_try["extensions"]["code"], "FORBIDDEN");

    let health = app
        .ok(
            admin,
            "{ organisation { healthFindings { nodes { kind count capability } } } }",
            json!({}),
        )
        .await;
    let findings = health["organisation"]["healthFindings"]["nodes"]
        .as_array()
        .unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["kind"] == "MID_SPRINT_INSERTIONS"),
        "the demo adds items mid-sprint"
    );
    assert!(
        findings
            .iter()
            .any(|f| f["kind"] == "BLOCKER_OPEN_PAST_48H"),
        "sprint 7's blockers are still open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_over_http_media_types_status_codes_and_body_limit() {
    let app = spawn_app().await;
    let token = app.token(PersonId(Uuid::now_v7()));
    let send = |accept: &'static str, body: String| {
        app.client
            .post(&app.url)
            .bearer_auth(&token)
            .header("Content-Type", "application/json")
            .header("Accept", accept)
            .body(body)
            .send()
    };
    let broken = json!({"query": "{ organisation { name "}).to_string();
    let modern = send("application/graphql-response+json", broken.clone())
        .await
        .unwrap();
    assert_eq!(
        modern.status().as_u16(),
        400,
        "a request error is a 400 with the modern media type"
    );
    assert_eq!(
        modern.headers()["content-type"],
        "application/graphql-response+json"
    );
    let legacy = send("application/json", broken).await.unwrap();
    assert_eq!(
        legacy.status().as_u16(),
        200,
        "and a 200 with application/json"
    );
    assert_eq!(legacy.headers()["content-type"], "application/json");
    let body: Value = legacy.json().await.unwrap();
    assert!(body["errors"][0]["message"].is_string());

    let unknown = send("text/html", json!({"query": "{ __typename }"}).to_string())
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 406);

    let huge =
        json!({"query": format!("{{ __typename }} # {}", "x".repeat(300 * 1024))}).to_string();
    let too_big = send("application/json", huge).await.unwrap();
    assert_eq!(too_big.status().as_u16(), 413);

    let fine = send(
        "application/graphql-response+json",
        json!({"query": "{ __typename }"}).to_string(),
    )
    .await
    .unwrap();
    assert_eq!(fine.status().as_u16(), 200);

    let not_json = send("application/json", "{ organisation".to_owned())
        .await
        .unwrap();
    assert_eq!(not_json.status().as_u16(), 400, "a body that is not JSON");
    let body: Value = not_json.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");

    let form = app
        .client
        .post(&app.url)
        .bearer_auth(&token)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("query=%7B__typename%7D")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 415, "only application/json bodies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_has_a_code_and_a_request_error_has_no_data_entry() {
    let app = spawn_app().await;
    let token = app.token(PersonId(Uuid::now_v7()));
    let send = |accept: &'static str, query: &str, variables: Value| {
        app.client
            .post(&app.url)
            .bearer_auth(&token)
            .header("Accept", accept)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
    };
    let cases = [
        ("{ organisation { name ", json!({}), "GRAPHQL_PARSE_FAILED"),
        (
            "{ organisation { nmae } }",
            json!({}),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "query($x: Int) { organisation { name } }",
            json!({}),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "mutation { recordKpiReading(kpiId: \"x\", value: NaN, observedAt: \"2026-01-01T00:00:00Z\") { position } }",
            json!({}),
            "BAD_USER_INPUT",
        ),
        (
            "mutation($v: Float!) { recordKpiReading(kpiId: \"x\", value: $v, observedAt: \"2026-01-01T00:00:00Z\") { position } }",
            json!({ "v": null }),
            "BAD_USER_INPUT",
        ),
    ];
    for (query, variables, code) in cases {
        for accept in ["application/graphql-response+json", "application/json"] {
            let response = send(accept, query, variables.clone()).await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body["errors"][0]["extensions"]["code"], code,
                "{query}: {body}"
            );
            assert!(
                body.get("data").is_none(),
                "a request error has no data entry: {body}"
            );
            let expected = if accept == "application/json" {
                200
            } else {
                400
            };
            assert_eq!(status, expected, "{query} as {accept}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_are_relay_connections_with_opaque_cursors() {
    let mut app = spawn_app_with(true).await;
    app.org = podledger_server::demo::org_id();
    let (_, _, admin) = podledger_server::demo::key_people()[0];
    let pods = app
        .ok(
            admin,
            "{ organisation { pods(first: 1) { nodes { id } } } }",
            json!({}),
        )
        .await["organisation"]["pods"]["nodes"][0]["id"]
        .clone();
    let query = "query($pod: ID!, $first: Int, $after: String, $last: Int, $before: String) {
        pod(id: $pod) { backlog(first: $first, after: $after, last: $last, before: $before) {
            totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            edges { cursor node { id } } nodes { id } } } }";
    let all = app.ok(admin, query, json!({"pod": pods})).await["pod"]["backlog"].clone();
    let total = all["totalCount"].as_u64().unwrap() as usize;
    let ids: Vec<Value> = all["nodes"].as_array().unwrap().clone();
    assert!(total >= 5, "the demo backlog has items: {total}");
    assert_eq!(ids.len(), total);
    assert_eq!(all["pageInfo"]["hasNextPage"], false);

    // Forward, two at a time, through the whole list: every id once, in order.
    let mut after = Value::Null;
    let mut seen = Vec::new();
    loop {
        let page = app
            .ok(
                admin,
                query,
                json!({"pod": pods, "first": 2, "after": after}),
            )
            .await["pod"]["backlog"]
            .clone();
        let edges = page["edges"].as_array().unwrap();
        assert!(edges.len() <= 2);
        seen.extend(edges.iter().map(|e| e["node"].clone()));
        assert_eq!(
            page["pageInfo"]["endCursor"],
            edges.last().unwrap()["cursor"]
        );
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, ids);

    // Backward: the last two, then the two before them.
    let tail =
        app.ok(admin, query, json!({"pod": pods, "last": 2})).await["pod"]["backlog"].clone();
    assert_eq!(tail["nodes"].as_array().unwrap(), &ids[total - 2..]);
    assert_eq!(tail["pageInfo"]["hasPreviousPage"], true);
    let before = app
        .ok(
            admin,
            query,
            json!({"pod": pods, "last": 2, "before": tail["pageInfo"]["startCursor"]}),
        )
        .await["pod"]["backlog"]
        .clone();
    assert_eq!(
        before["nodes"].as_array().unwrap(),
        &ids[total - 4..total - 2]
    );

    // Cursors are opaque and checked; sizes are bounded.
    let bad = app
        .err(admin, query, json!({"pod": pods, "after": ids[0]["id"]}))
        .await;
    assert_eq!(bad["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(bad["extensions"]["field"], "after");
    let huge = app
        .err(admin, query, json!({"pod": pods, "first": 100_000}))
        .await;
    assert_eq!(huge["extensions"]["field"], "first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_object_is_a_node_found_again_by_its_id_and_never_across_organisations() {
    let mut app = spawn_app_with(true).await;
    app.org = podledger_server::demo::org_id();
    let (_, _, admin) = podledger_server::demo::key_people()[0];
    let data = app
        .ok(
            admin,
            "{ organisation { id pods(first: 1) { nodes { id productOwner { id }
            backlog(first: 1) { nodes { id } } currentSprint { id }
            blockers(first: 1) { nodes { id } } kpis(first: 1) { nodes { id } } } } } }",
            json!({}),
        )
        .await["organisation"]
        .clone();
    let pod = &data["pods"]["nodes"][0];
    let ids = [
        ("Organisation", data["id"].clone()),
        ("Pod", pod["id"].clone()),
        ("Person", pod["productOwner"]["id"].clone()),
        ("Item", pod["backlog"]["nodes"][0]["id"].clone()),
        ("Sprint", pod["currentSprint"]["id"].clone()),
        ("Blocker", pod["blockers"]["nodes"][0]["id"].clone()),
        ("Kpi", pod["kpis"]["nodes"][0]["id"].clone()),
    ];
    let node = "query($id: ID!) { node(id: $id) { __typename id } }";
    for (kind, id) in &ids {
        assert!(id.is_string(), "{kind} id missing in {data}");
        let found = app.ok(admin, node, json!({"id": id})).await;
        assert_eq!(found["node"]["__typename"], *kind);
        assert_eq!(found["node"]["id"], *id);
    }
    // The admin of another organisation on the same server sees none of them: each is
    // NOT_FOUND exactly as an id that never existed is.
    app.org = OrgId(Uuid::now_v7());
    let other = org_with_pod(&app).await;
    for (kind, id) in &ids {
        let (_, found) = app
            .post(Some(&app.token(other.admin)), node, json!({"id": id}))
            .await;
        assert!(found["data"]["node"].is_null(), "{kind} leaked: {found}");
        let never = podledger_api::ids::to_id(kind, Uuid::now_v7());
        let (_, missing) = app
            .post(Some(&app.token(other.admin)), node, json!({"id": never}))
            .await;
        assert_eq!(
            found["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{found}"
        );
        assert_eq!(found["errors"][0]["extensions"]["field"], "id");
        assert_eq!(
            found["errors"][0]["extensions"]["id"], *id,
            "the id as sent"
        );
        assert_eq!(
            found["errors"][0]["message"]
                .as_str()
                .unwrap()
                .replace(id.as_str().unwrap(), "ID"),
            missing["errors"][0]["message"]
                .as_str()
                .unwrap()
                .replace(never.as_str(), "ID"),
            "another organisation's {kind} reads like one that never existed"
        );
    }
    // The same on the other surfaces: a typed query, the audit log, a mutation.
    let foreign_pod = ids[1].1.clone();
    for (query, variables) in [
        (
            "query($p: ID!) { pod(id: $p) { name } }",
            json!({"p": foreign_pod}),
        ),
        (
            "query($p: ID) { auditLog(podId: $p) { nodes { position } } }",
            json!({"p": foreign_pod}),
        ),
        (
            "mutation($p: ID!) { submitIntakeRequest(podId: $p, title: \"t\", outputCategory: \"c\") { position } }",
            json!({"p": foreign_pod}),
        ),
    ] {
        let error = app.err(other.admin, query, variables).await;
        assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{query}: {error}");
        assert_eq!(error["extensions"]["id"], foreign_pod, "{query}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_of_fields_of_one_request_share_one_replay_per_point() {
    let mut app = spawn_app_with(true).await;
    app.org = podledger_server::demo::org_id();
    let (_, _, admin) = podledger_server::demo::key_people()[0];
    let pods = app
        .ok(admin, "{ organisation { pods { nodes { id currentSprint { id } backlog(first: 1) { nodes { id } } } } } }", json!({}))
        .await["organisation"]["pods"]["nodes"]
        .clone();
    let (pod, sprint, item) = (
        pods[0]["id"].clone(),
        pods[0]["currentSprint"]["id"].clone(),
        pods[0]["backlog"]["nodes"][0]["id"].clone(),
    );
    let query = "query($pod: ID!, $other: ID!, $s: ID!, $i: ID!, $at: AsOfInput!) {
        p: pod(id: $pod, asOf: $at) { name kpis { totalCount } }
        s: sprint(podId: $pod, id: $s, asOf: $at) { number }
        i: item(podId: $pod, id: $i, asOf: $at) { title }
        o: pod(id: $other, asOf: $at) { name } }";
    let replays = || app.running.projections.replays();
    let before = replays();
    let data = app
        .ok(admin, query, json!({"pod": pod, "other": pods[1]["id"], "s": sprint, "i": item, "at": {"position": "100000000"}}))
        .await;
    assert_eq!(
        replays() - before,
        1,
        "four asOf fields at one point: one replay"
    );
    assert_eq!(data["s"]["number"], 7);
    assert!(data["i"]["title"].is_string() && data["o"]["name"].is_string());
    let two_points = "query($pod: ID!, $a: AsOfInput!, $b: AsOfInput!) {
        a: pod(id: $pod, asOf: $a) { name } b: pod(id: $pod, asOf: $b) { name } }";
    let before = replays();
    app.ok(
        admin,
        two_points,
        json!({"pod": pod, "a": {"position": "500"}, "b": {"position": "900"}}),
    )
    .await;
    assert_eq!(replays() - before, 2, "two points: two replays");
}

/// Runs each `(who, mutation, variables)` and expects `FORBIDDEN`, naming the row on failure.
async fn all_forbidden(app: &TestApp, row: &str, cases: &[(PersonId, &str, Value)]) {
    for (who, query, variables) in cases {
        let e = app.err(*who, query, variables.clone()).await;
        assert_eq!(
            e["extensions"]["code"], "FORBIDDEN",
            "row \"{row}\": {query} should be refused, got {e}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one block per row of SPEC §5
async fn every_permission_row_of_the_spec_refuses_the_wrong_caller_through_the_api() {
    let app = spawn_app().await;
    let o = org_with_pod(&app).await;
    let person_id = |p: PersonId| json!(podledger_api::ids::to_id("Person", p.as_uuid()).0);
    let add = |name: &'static str| {
        let app = &app;
        async move {
            person_uuid(
                &app.ok(
                    o.admin,
                    "mutation($n: String!) { addPerson(name: $n) { person { id } } }",
                    json!({"n": name}),
                )
                .await["addPerson"]["person"]["id"],
            )
        }
    };
    let (stakeholder, other_po) = (add("Stella").await, add("Otto").await);
    app.ok(o.admin, "mutation($p: ID!) { grantOrgRole(personId: $p, role: STAKEHOLDER) { person { orgRoles } } }", json!({"p": person_id(stakeholder)})).await;
    let other_pod = app
        .ok(
            o.admin,
            "mutation { createPod(name: \"Retention\", focus: \"RETENTION\") { pod { id } } }",
            json!({}),
        )
        .await["createPod"]["pod"]["id"]
        .clone();
    app.ok(o.admin, "mutation($p: ID!, $pod: ID!) { assignPodRole(personId: $p, podId: $pod, role: \"PRODUCT_OWNER\") { pod { id } } }", json!({"p": person_id(other_po), "pod": other_pod})).await;
    let designer = person_id(o.designer);
    let pod = &o.pod;

    // set up org, pods, people, roles, cadence: ORG_ADMIN.
    all_forbidden(&app, "set up", &[
        (o.po, "mutation { addPerson(name: \"x\") { position } }", json!({})),
        (o.po, "mutation { createPod(name: \"x\", focus: \"BRAND_AND_CREATIVE\") { pod { id } } }", json!({})),
        (o.po, "mutation($p: ID!, $pod: ID!) { assignPodRole(personId: $p, podId: $pod, role: \"ANALYST\") { pod { id } } }", json!({"p": person_id(stakeholder), "pod": pod})),
        (o.po, "mutation($p: ID!, $pod: ID!) { removePodRole(personId: $p, podId: $pod, role: \"DESIGNER\") { pod { id } } }", json!({"p": designer, "pod": pod})),
        (o.po, "mutation($p: ID!) { grantOrgRole(personId: $p, role: VP_MARKETING) { person { id } } }", json!({"p": designer})),
        (o.sm, "mutation { setSprintCadence(sprintLengthDays: 7) { position } }", json!({})),
    ]).await;

    // submit an intake request: any org member or STAKEHOLDER (not a service, not a stranger).
    let submit = "mutation($pod: ID!) { submitIntakeRequest(podId: $pod, title: \"Webinar page\", outputCategory: \"landing page\") { request { id status requester { name } } } }";
    let by_stakeholder = app.ok(stakeholder, submit, json!({"pod": pod})).await;
    assert_eq!(
        by_stakeholder["submitIntakeRequest"]["request"]["requester"]["name"],
        "Stella"
    );
    let request = by_stakeholder["submitIntakeRequest"]["request"]["id"].clone();
    let second =
        app.ok(other_po, submit, json!({"pod": pod})).await["submitIntakeRequest"]["request"]["id"]
            .clone();
    all_forbidden(
        &app,
        "submit intake",
        &[(PersonId(Uuid::now_v7()), submit, json!({"pod": pod}))],
    )
    .await;

    // The PO's rows, tried by the SM (and by another pod's PO).
    let item = ready_item(&app, &o, 3, &designer).await;
    let sprint = app
        .ok(o.po, "mutation($pod: ID!) { planSprint(podId: $pod, startDate: \"2026-03-02\") { sprint { id } } }", json!({"pod": pod}))
        .await["planSprint"]["sprint"]["id"]
        .clone();
    let v = json!({"pod": pod, "i": item, "s": sprint, "r": request, "p": designer});
    all_forbidden(&app, "the pod's PO", &[
        (o.sm, "mutation($pod: ID!, $r: ID!) { acceptIntakeRequest(podId: $pod, requestId: $r) { item { id } } }", v.clone()),
        (o.sm, "mutation($pod: ID!, $r: ID!) { declineIntakeRequest(podId: $pod, requestId: $r, reason: \"no\") { request { id } } }", v.clone()),
        (o.sm, "mutation($pod: ID!) { createItem(input: {podId: $pod, title: \"x\", outputCategory: \"ad\"}) { item { id } } }", v.clone()),
        (o.sm, "mutation($pod: ID!, $i: ID!) { editItem(podId: $pod, itemId: $i, title: \"y\") { item { id } } }", v.clone()),
        (o.sm, "mutation($pod: ID!, $i: ID!) { estimateItem(podId: $pod, itemId: $i, estimate: 5) { item { id } } }", v.clone()),
        (o.sm, "mutation($pod: ID!, $i: ID!) { rankItem(podId: $pod, itemId: $i) { item { id } } }", v.clone()),
        (o.sm, "mutation($pod: ID!, $i: ID!) { dropItem(podId: $pod, itemId: $i) { item { id } } }", v.clone()),
        (o.sm, "mutation($pod: ID!) { planSprint(podId: $pod, startDate: \"2026-04-06\") { sprint { id } } }", v.clone()),
        (o.sm, "mutation($pod: ID!, $s: ID!, $i: ID!) { commitItem(podId: $pod, sprintId: $s, itemId: $i) { sprint { id } } }", v.clone()),
        (o.sm, "mutation($pod: ID!, $s: ID!, $i: ID!) { setSprintGoal(podId: $pod, sprintId: $s, goal: \"g\", goalItemIds: [$i]) { sprint { id } } }", v.clone()),
        (o.sm, "mutation($pod: ID!, $i: ID!, $p: ID!) { declareDeliveryOwner(podId: $pod, itemId: $i, personId: $p) { item { id } } }", v.clone()),
        (other_po, "mutation($pod: ID!, $p: ID!) { defineKpi(podId: $pod, name: \"k\", unit: \"u\", direction: INCREASE, target: 1, cadence: WEEKLY, ownerId: $p) { kpi { id } } }", v.clone()),
    ]).await;
    // The PO does these; then the sprint runs with the item committed.
    app.ok(o.po, "mutation($pod: ID!, $r: ID!) { acceptIntakeRequest(podId: $pod, requestId: $r) { item { id title } request { status } } }", v.clone()).await;
    let declined = app.ok(o.po, "mutation($pod: ID!, $r: ID!) { declineIntakeRequest(podId: $pod, requestId: $r, reason: \"Duplicate\") { request { status declineReason } } }", json!({"pod": pod, "r": second})).await;
    assert_eq!(
        declined["declineIntakeRequest"]["request"]["status"],
        "DECLINED"
    );
    app.ok(o.po, "mutation($pod: ID!, $s: ID!, $i: ID!) { commitItem(podId: $pod, sprintId: $s, itemId: $i) { sprint { id } } }", v.clone()).await;
    app.ok(o.po, "mutation($pod: ID!, $s: ID!, $i: ID!) { setSprintGoal(podId: $pod, sprintId: $s, goal: \"g\", goalItemIds: [$i]) { sprint { id } } }", v.clone()).await;
    all_forbidden(&app, "start a sprint; scope change", &[
        (o.sm, "mutation($pod: ID!, $s: ID!) { startSprint(podId: $pod, sprintId: $s) { sprint { id } } }", v.clone()),
    ]).await;
    app.ok(o.po, "mutation($pod: ID!, $s: ID!) { startSprint(podId: $pod, sprintId: $s) { sprint { status } } }", v.clone()).await;
    all_forbidden(&app, "scope change", &[
        (o.sm, "mutation($pod: ID!, $s: ID!, $i: ID!) { removeItemFromSprint(podId: $pod, sprintId: $s, itemId: $i, reason: {kind: TECHNICALLY_IMPOSSIBLE}) { sprint { id } } }", v.clone()),
    ]).await;

    // accept/decline delivery ownership; move own item: the named owner.
    let other_item = app
        .ok(o.po, "mutation($pod: ID!) { createItem(input: {podId: $pod, title: \"z\", outputCategory: \"ad\"}) { item { id } } }", v.clone())
        .await["createItem"]["item"]["id"]
        .clone();
    app.ok(o.po, "mutation($pod: ID!, $i: ID!, $p: ID!) { declareDeliveryOwner(podId: $pod, itemId: $i, personId: $p) { item { id } } }", json!({"pod": pod, "i": other_item, "p": designer})).await;
    let w = json!({"pod": pod, "i": other_item});
    all_forbidden(&app, "the named owner", &[
        (o.sm, "mutation($pod: ID!, $i: ID!) { acceptDeliveryOwnership(podId: $pod, itemId: $i) { item { id } } }", w.clone()),
        (o.po, "mutation($pod: ID!, $i: ID!) { declineDeliveryOwnership(podId: $pod, itemId: $i) { item { id } } }", w.clone()),
        (o.po, "mutation($pod: ID!, $i: ID!) { moveItem(podId: $pod, itemId: $i, status: IN_PROGRESS) { item { id } } }", v.clone()),
    ]).await;
    app.ok(o.designer, "mutation($pod: ID!, $i: ID!) { moveItem(podId: $pod, itemId: $i, status: IN_PROGRESS) { item { status } } }", v.clone()).await;

    // raise a blocker: any pod member (not a stakeholder, not another pod's PO, not the admin).
    let raise = "mutation($pod: ID!) { raiseBlocker(podId: $pod, category: APPROVAL, description: \"Legal review\") { blocker { id } } }";
    all_forbidden(
        &app,
        "raise a blocker",
        &[
            (stakeholder, raise, v.clone()),
            (other_po, raise, v.clone()),
            (o.admin, raise, v.clone()),
        ],
    )
    .await;
    let blocker =
        app.ok(o.designer, raise, v.clone()).await["raiseBlocker"]["blocker"]["id"].clone();

    // escalate, resolve blockers; close sprint: the SM (the PO only when there is no SM).
    let b = json!({"pod": pod, "b": blocker, "s": sprint});
    all_forbidden(&app, "the pod's SM", &[
        (o.designer, "mutation($pod: ID!, $b: ID!) { escalateBlocker(podId: $pod, blockerId: $b) { blocker { id } } }", b.clone()),
        (o.po, "mutation($pod: ID!, $b: ID!) { resolveBlocker(podId: $pod, blockerId: $b) { blocker { id } } }", b.clone()),
        (o.po, "mutation($pod: ID!, $s: ID!) { closeSprint(podId: $pod, sprintId: $s) { sprint { id } } }", b.clone()),
    ]).await;

    // record a KPI reading: the KPI's owner or a service token for that pod — not another pod's.
    let kpi = app
        .ok(o.po, "mutation($pod: ID!, $p: ID!) { defineKpi(podId: $pod, name: \"Signups\", unit: \"n\", direction: INCREASE, target: 10, cadence: WEEKLY, ownerId: $p) { kpi { id } } }", v.clone())
        .await["defineKpi"]["kpi"]["id"]
        .clone();
    let other_pod_uuid = from_id(
        "Pod",
        &async_graphql::ID(other_pod.as_str().unwrap().into()),
        "pod",
    )
    .unwrap();
    let foreign_service = app.auth.mint_service(
        app.org,
        podledger_domain::ids::ServiceId(Uuid::now_v7()),
        &[podledger_domain::ids::PodId(other_pod_uuid)],
        chrono::Duration::minutes(5),
    );
    let (_, body) = app
        .post(Some(&foreign_service), "mutation($k: ID!) { recordKpiReading(kpiId: $k, value: 3, observedAt: \"2026-03-03T10:00:00Z\") { position } }", json!({"k": kpi}))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    all_forbidden(
        &app,
        "KPI owner",
        &[(
            o.sm,
            "mutation($k: ID!, $p: ID!) { assignKpiOwner(kpiId: $k, ownerId: $p) { kpi { id } } }",
            json!({"k": kpi, "p": person_id(o.sm)}),
        )],
    )
    .await;

    // read pods, boards, metrics: any member (stakeholders included); the audit log: not them.
    let read = app
        .ok(stakeholder, "query($pod: ID!) { pod(id: $pod) { currentSprint { items { nodes { title } } } intake { totalCount nodes { status itemId } } } }", v.clone())
        .await;
    let intake = &read["pod"]["intake"];
    assert_eq!(intake["totalCount"], 2);
    assert_eq!(intake["nodes"][0]["status"], "ACCEPTED");
    assert!(intake["nodes"][0]["itemId"].is_string());
    let audit = app
        .err(
            stakeholder,
            "{ auditLog { nodes { position } } }",
            json!({}),
        )
        .await;
    assert_eq!(audit["extensions"]["code"], "FORBIDDEN");
}

#[test]
fn the_schema_breaks_nothing_the_changelog_does_not_name() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = std::process::Command::new("node")
        .arg(node_script("schema-diff.mjs"))
        .arg(root.join("schema/released.graphql"))
        .arg(root.join("schema/schema.graphql"))
        .output()
        .expect("node is needed to diff the schema");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let breaking: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let changelog = std::fs::read_to_string(root.join("CHANGELOG.md")).unwrap();
    let unreleased = changelog
        .split("\n## ")
        .find(|section| section.starts_with("Unreleased"))
        .expect("CHANGELOG.md has an Unreleased section");
    let unnamed: Vec<&Value> = breaking
        .iter()
        .filter(|c| !unreleased.contains(&format!("`{}`", c["path"].as_str().unwrap())))
        .collect();
    assert!(
        unnamed.is_empty(),
        "breaking schema changes not named in CHANGELOG.md's Unreleased section: {unnamed:#?}"
    );
    println!(
        "{} breaking change(s), each in the CHANGELOG",
        breaking.len()
    );
}

/// The value of the sample `name{labels}` in a Prometheus text exposition (labels as written,
/// in the order the registry writes them), if present.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_see_liveness_readiness_and_metrics_that_count_what_happened() {
    let app = spawn_app().await;
    let base = app.url.trim_end_matches("/graphql").to_owned();
    let get = |path: &str| app.client.get(format!("{base}{path}")).send();
    let alive = get("/healthz").await.unwrap();
    assert_eq!(alive.status().as_u16(), 200);
    let ready = get("/readyz").await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "ready", "{ready}");

    let o = org_with_pod(&app).await;
    let refused = app
        .err(
            o.admin,
            &format!(
                "{{ pod(id: {}\"x\"{}) {{ name }} }}",
                "[".repeat(100),
                "]".repeat(100)
            ),
            json!({}),
        )
        .await;
    assert_eq!(refused["extensions"]["code"], "QUERY_TOO_NESTED");
    let forbidden = app
        .err(
            o.designer,
            "mutation { addPerson(name: \"x\") { position } }",
            json!({}),
        )
        .await;
    assert_eq!(forbidden["extensions"]["code"], "FORBIDDEN");

    let metrics = get("/metrics").await.unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let metrics = metrics.text().await.unwrap();
    let at_least = |series: &str, n: f64| {
        let value =
            sample(&metrics, series).unwrap_or_else(|| panic!("{series} missing:\n{metrics}"));
        assert!(value >= n, "{series} = {value}, expected at least {n}");
    };
    for (series, n) in [
        (
            r#"podledger_http_requests_total{operation="mutation",status="200"}"#,
            5.0,
        ),
        (
            r#"podledger_http_requests_total{operation="none",status="200"}"#,
            1.0,
        ),
        (
            r#"podledger_http_request_duration_seconds_count{operation="mutation",status="200"}"#,
            5.0,
        ),
        (
            r#"podledger_commands_total{mutation="createOrganisation",outcome="ok"}"#,
            1.0,
        ),
        (
            r#"podledger_commands_total{mutation="addPerson",outcome="ok"}"#,
            3.0,
        ),
        (
            r#"podledger_commands_total{mutation="addPerson",outcome="FORBIDDEN"}"#,
            1.0,
        ),
        (
            r#"podledger_graphql_errors_total{code="QUERY_TOO_NESTED"}"#,
            1.0,
        ),
        (r#"podledger_graphql_errors_total{code="FORBIDDEN"}"#, 1.0),
        ("podledger_store_head_position", 5.0),
    ] {
        at_least(series, n);
    }
    assert_eq!(
        sample(&metrics, "podledger_projection_lag_events"),
        Some(0.0),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "podledger_store_head_position"),
        sample(&metrics, "podledger_projection_applied_position")
    );
    assert_eq!(
        sample(&metrics, "podledger_websocket_connections"),
        Some(0.0)
    );
    assert_eq!(
        sample(&metrics, "podledger_websocket_operations"),
        Some(0.0)
    );
    store_and_refusal_metrics_agree(&metrics);
}

/// The store's own figures (every event appended; the latency and size of its commits) and the
/// refusals by limit, in a scrape taken after a refusal by `max-nesting`.
fn store_and_refusal_metrics_agree(metrics: &str) {
    let at_least = |series: &str, n: f64| {
        let value =
            sample(metrics, series).unwrap_or_else(|| panic!("{series} missing:\n{metrics}"));
        assert!(value >= n, "{series} = {value}, expected at least {n}");
    };
    for (series, n) in [
        ("podledger_store_append_duration_seconds_count", 5.0),
        ("podledger_store_group_commit_duration_seconds_count", 1.0),
        ("podledger_store_group_commit_appends_sum", 5.0),
        (
            r#"podledger_request_refusals_total{limit="max-nesting"}"#,
            1.0,
        ),
    ] {
        at_least(series, n);
    }
    assert!(
        metrics.contains("# TYPE podledger_projection_catch_up_events counter"),
        "{metrics}"
    );
    assert_eq!(
        sample(metrics, "podledger_store_events_appended_total"),
        sample(metrics, "podledger_store_head_position")
    );
    assert_eq!(
        sample(
            metrics,
            r#"podledger_request_refusals_total{limit="max-cost"}"#
        ),
        None,
        "only limits that refused are listed"
    );
}

#[tokio::test]
async fn the_grafana_dashboard_queries_only_metrics_the_server_exposes() {
    let app = spawn_app().await;
    let base = app.url.trim_end_matches("/graphql").to_owned();
    // Label families appear with their first sample: a mutation, and a refusal by a limit.
    let o = org_with_pod(&app).await;
    let nested = format!(
        "{{ pod(id: {}\"x\"{}) {{ name }} }}",
        "[".repeat(100),
        "]".repeat(100)
    );
    app.err(o.admin, &nested, json!({})).await;
    let exposed = app
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../deploy/grafana/dashboards/podledger.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut queried = std::collections::BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let mut rest = expr;
            while let Some(at) = rest.find("podledger_") {
                let name: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[at + name.len()..];
                queried.insert(name);
            }
        }
    }
    assert!(queried.len() >= 15, "{queried:?}");
    for name in &queried {
        // A counter `x` is sampled as `x_total`, a histogram as `x_bucket`, `x_sum`, `x_count`;
        // the family is declared by `# TYPE x …` even before its first sample.
        let family = ["_total", "_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        assert!(
            exposed.contains(&format!("# TYPE {family} ")),
            "the dashboard queries {name}, which /metrics does not expose:\n{exposed}"
        );
    }
}

#[tokio::test]
async fn a_mutation_retried_with_its_idempotency_key_answers_with_what_the_first_attempt_created() {
    let app = spawn_app().await;
    let o = org_with_pod(&app).await;
    let create = "mutation($i: CreateItemInput!, $o: CommandOptions) { createItem(input: $i, options: $o) { position item { id title } } }";
    let key = Uuid::now_v7().to_string();
    let variables = json!({"i": {"podId": o.pod, "title": "Retried", "outputCategory": "email"},
                           "o": {"idempotencyKey": key}});
    let first = app.ok(o.po, create, variables.clone()).await;
    let again = app.ok(o.po, create, variables).await;
    assert_eq!(
        first["createItem"]["item"]["id"],
        again["createItem"]["item"]["id"]
    );
    assert_eq!(again["createItem"]["item"]["title"], "Retried", "{again}");
    assert_eq!(
        again["createItem"]["position"], first["createItem"]["position"],
        "a retry answers with the first attempt's position"
    );
    let backlog = app
        .ok(
            o.po,
            "query($p: ID!) { pod(id: $p) { backlog { nodes { title } } } }",
            json!({"p": o.pod}),
        )
        .await;
    let retried = backlog["pod"]["backlog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["title"] == "Retried")
        .count();
    assert_eq!(retried, 1);
    // Another key: another item.
    let other = app
        .ok(
            o.po,
            create,
            json!({"i": {"podId": o.pod, "title": "Retried", "outputCategory": "email"},
                   "o": {"idempotencyKey": Uuid::now_v7().to_string()}}),
        )
        .await;
    assert_ne!(
        other["createItem"]["item"]["id"],
        first["createItem"]["item"]["id"]
    );
}

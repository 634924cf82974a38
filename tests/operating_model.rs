//! SPEC §9 end to end: a history with shared services, approvals and retros brought in with its
//! business times through `podledger import` (a request opened on a Saturday is received on
//! Monday at 09:00), every figure read back through GraphQL — now and `asOf` — and the same
//! commands live through the API: permissions, `RETRO_ALREADY_RECORDED`, `APPROVAL_REQUIRED`,
//! and a `podMetrics` subscriber that sees a new request wait.

use std::process::Command;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use podledger_api::AuthConfig;
use podledger_domain::ids::{OrgId, PersonId};

use podledger_server::import;
use podledger_server::{ServerConfig, start};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

const SECRET: &[u8] = b"operating-model-secret-operating-";

fn org() -> OrgId {
    import::organisation("@acme").unwrap()
}

fn id(name: &str) -> uuid::Uuid {
    import::named(org(), name)
}

fn api_id(kind: &str, name: &str) -> String {
    podledger_api::ids::to_id(kind, id(name)).0
}

fn token(person: &str) -> String {
    AuthConfig::new(SECRET.to_vec(), "podledger", "podledger").mint_member(
        org(),
        PersonId(id(person)),
        chrono::Duration::hours(1),
    )
}

/// Two sprints of the Growth pod in March 2025 (the 3rd is a Monday) with a legal service
/// (weekdays 09–17 UTC, 48 h turnaround), an approval rule for `email` (Vera, 24 h) and a retro
/// whose action is never implemented.
#[allow(clippy::too_many_lines)] // one history, line by line
fn history() -> String {
    let mut lines =
        vec![json!({"format": "podledger-import", "version": 1, "organisation": "@acme"})];
    let mut at = |at: &str, actor: &str, command: &str, fields: Value| {
        let mut line = json!({"at": at, "actor": actor, "command": command});
        line.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        lines.push(line);
    };
    let setup = "2025-03-01T09:00:00Z";
    at(
        setup,
        "@ada",
        "createOrganisation",
        json!({"name": "Acme", "founderName": "Ada"}),
    );
    at(
        setup,
        "@ada",
        "createPod",
        json!({"podId": "@growth", "name": "Growth", "focus": "ACQUISITION"}),
    );
    for (who, role) in [
        ("@paula", Some("PRODUCT_OWNER")),
        ("@sid", Some("SCRUM_MASTER")),
        ("@dana", Some("DESIGNER")),
        ("@cora", Some("CONTENT_STRATEGIST")),
        ("@sam", Some("SEO_ANALYTICS")),
        ("@lee", None),
        ("@vera", None),
    ] {
        at(
            setup,
            "@ada",
            "addPerson",
            json!({"personId": who, "name": &who[1..]}),
        );
        if let Some(role) = role {
            at(
                setup,
                "@ada",
                "assignPodRole",
                json!({"podId": "@growth", "personId": who, "role": role}),
            );
        }
    }
    at(
        setup,
        "@ada",
        "setApprovalRule",
        json!({"outputCategory": "Email", "approver": "@vera", "deadlineHours": 24}),
    );
    at(
        setup,
        "@ada",
        "defineSharedService",
        json!({
        "serviceId": "@legal", "name": "Legal review", "function": "LEGAL",
        "sla": {"window": {"days": [1, 2, 3, 4, 5], "opensAtHour": 9, "closesAtHour": 17},
                "turnaroundHours": 48, "escalationContact": "@ada", "intake": "TICKET"}}),
    );
    at(
        setup,
        "@ada",
        "appointServiceOperator",
        json!({"serviceId": "@legal", "personId": "@lee"}),
    );
    // Sprint 1, March 3–16: i1 (email, needs approval) and i2 (page).
    for (item, category) in [("@i1", "email"), ("@i2", "page"), ("@i3", "page")] {
        at(
            "2025-03-03T08:00:00Z",
            "@paula",
            "createItem",
            json!({"podId": "@growth", "itemId": item,
            "title": item, "outputCategory": category, "acceptanceCriteria": "Live", "estimate": 3}),
        );
        at(
            "2025-03-03T08:00:00Z",
            "@paula",
            "declareDeliveryOwner",
            json!({"podId": "@growth", "itemId": item, "personId": "@dana"}),
        );
        at(
            "2025-03-03T08:00:00Z",
            "@dana",
            "acceptDeliveryOwnership",
            json!({"podId": "@growth", "itemId": item}),
        );
    }
    at(
        "2025-03-03T08:30:00Z",
        "@paula",
        "planSprint",
        json!({"podId": "@growth", "sprintId": "@s1", "startDate": "2025-03-03"}),
    );
    for item in ["@i1", "@i2"] {
        at(
            "2025-03-03T08:30:00Z",
            "@paula",
            "commitItem",
            json!({"podId": "@growth", "sprintId": "@s1", "itemId": item}),
        );
    }
    at(
        "2025-03-03T08:30:00Z",
        "@paula",
        "setSprintGoal",
        json!({"podId": "@growth", "sprintId": "@s1", "goal": "Launch", "goalItemIds": ["@i1"]}),
    );
    at(
        "2025-03-03T09:00:00Z",
        "@paula",
        "startSprint",
        json!({"podId": "@growth", "sprintId": "@s1"}),
    );
    at(
        "2025-03-04T10:00:00Z",
        "@dana",
        "raiseBlocker",
        json!({"podId": "@growth", "blockerId": "@b1", "itemId": "@i2", "category": "TOOLING", "description": "CMS down"}),
    );
    at(
        "2025-03-04T12:00:00Z",
        "@sid",
        "resolveBlocker",
        json!({"podId": "@growth", "blockerId": "@b1"}),
    );
    for status in ["IN_PROGRESS", "IN_REVIEW"] {
        at(
            "2025-03-05T10:00:00Z",
            "@dana",
            "moveItem",
            json!({"podId": "@growth", "itemId": "@i1", "status": status}),
        );
    }
    // Asked at 11:00 on the 5th, due 24 h later, decided 48 h later: late.
    at(
        "2025-03-05T11:00:00Z",
        "@dana",
        "requestApproval",
        json!({"podId": "@growth", "approvalId": "@a1", "itemId": "@i1"}),
    );
    at(
        "2025-03-07T11:00:00Z",
        "@vera",
        "decideApproval",
        json!({"podId": "@growth", "approvalId": "@a1", "approved": true}),
    );
    at(
        "2025-03-07T12:00:00Z",
        "@dana",
        "moveItem",
        json!({"podId": "@growth", "itemId": "@i1", "status": "DONE"}),
    );
    // Saturday 10:00: received Monday 09:00, due Wednesday 09:00, delivered Thursday 09:00.
    at(
        "2025-03-08T10:00:00Z",
        "@paula",
        "openServiceRequest",
        json!({"podId": "@growth", "requestId": "@r1", "serviceId": "@legal", "title": "Review claims"}),
    );
    at(
        "2025-03-10T10:00:00Z",
        "@lee",
        "acceptServiceRequest",
        json!({"podId": "@growth", "requestId": "@r1"}),
    );
    // Tuesday 10:00, received at once, delivered a day later.
    at(
        "2025-03-11T10:00:00Z",
        "@dana",
        "openServiceRequest",
        json!({"podId": "@growth", "requestId": "@r2", "serviceId": "@legal", "itemId": "@i2", "title": "Check the offer"}),
    );
    at(
        "2025-03-11T11:00:00Z",
        "@lee",
        "acceptServiceRequest",
        json!({"podId": "@growth", "requestId": "@r2"}),
    );
    at(
        "2025-03-12T10:00:00Z",
        "@lee",
        "deliverServiceRequest",
        json!({"podId": "@growth", "requestId": "@r2"}),
    );
    at(
        "2025-03-13T09:00:00Z",
        "@lee",
        "deliverServiceRequest",
        json!({"podId": "@growth", "requestId": "@r1"}),
    );
    for status in ["IN_PROGRESS", "IN_REVIEW", "DONE"] {
        at(
            "2025-03-13T10:00:00Z",
            "@dana",
            "moveItem",
            json!({"podId": "@growth", "itemId": "@i2", "status": status}),
        );
    }
    at(
        "2025-03-16T17:00:00Z",
        "@sid",
        "closeSprint",
        json!({"podId": "@growth", "sprintId": "@s1"}),
    );
    at(
        "2025-03-17T08:00:00Z",
        "@sid",
        "recordRetro",
        json!({"podId": "@growth", "sprintId": "@s1",
        "wentWell": "Shipped", "friction": "Late approval",
        "actions": [{"actionId": "@x1", "description": "Brief Vera before the sprint", "owner": "@dana", "kind": "PRE_SPRINT_RULE"}]}),
    );
    // Sprint 2, March 17–30: i3; the retro action is never marked; no blocker is raised.
    at(
        "2025-03-17T08:30:00Z",
        "@paula",
        "planSprint",
        json!({"podId": "@growth", "sprintId": "@s2", "startDate": "2025-03-17"}),
    );
    at(
        "2025-03-17T08:30:00Z",
        "@paula",
        "commitItem",
        json!({"podId": "@growth", "sprintId": "@s2", "itemId": "@i3"}),
    );
    at(
        "2025-03-17T08:30:00Z",
        "@paula",
        "setSprintGoal",
        json!({"podId": "@growth", "sprintId": "@s2", "goal": "Page", "goalItemIds": ["@i3"]}),
    );
    at(
        "2025-03-17T09:00:00Z",
        "@paula",
        "startSprint",
        json!({"podId": "@growth", "sprintId": "@s2"}),
    );
    for status in ["IN_PROGRESS", "IN_REVIEW", "DONE"] {
        at(
            "2025-03-20T10:00:00Z",
            "@dana",
            "moveItem",
            json!({"podId": "@growth", "itemId": "@i3", "status": status}),
        );
    }
    at(
        "2025-03-30T17:00:00Z",
        "@sid",
        "closeSprint",
        json!({"podId": "@growth", "sprintId": "@s2"}),
    );
    lines
        .into_iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn imported() -> (tempfile::TempDir, podledger_server::Running, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("history.jsonl"), history()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_podledger"))
        .args(["--database-url", "acme.db", "import", "history.jsonl"])
        .current_dir(dir.path())
        .env_remove("PODLEDGER_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let auth = AuthConfig::new(SECRET.to_vec(), "podledger", "podledger");
    let running = start(ServerConfig::new(
        format!("sqlite://{}", dir.path().join("acme.db").display()),
        auth,
    ))
    .await
    .unwrap();
    let head = running.projections.store().head().await.unwrap();
    running
        .projections
        .wait_for(head, Duration::from_secs(30))
        .await
        .unwrap();
    let url = format!("http://{}/graphql", running.addr);
    (dir, running, url)
}

async fn post(url: &str, person: &str, query: &str, variables: Value) -> Value {
    reqwest::Client::new()
        .post(url)
        .bearer_auth(token(person))
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn data(url: &str, person: &str, query: &str, variables: Value) -> Value {
    let body = post(url, person, query, variables).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

async fn code(url: &str, person: &str, query: &str, variables: Value) -> String {
    let body = post(url, person, query, variables).await;
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error: {body}"))
        .to_owned()
}

/// A graphql-transport-ws connection, past `connection_ack`.
struct Feed {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Feed {
    async fn open(addr: std::net::SocketAddr, person: &str) -> Self {
        let mut request = format!("ws://{addr}/graphql")
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let mut feed = Self { ws };
        feed.send(json!({"type": "connection_init", "payload": {"token": token(person)}}))
            .await;
        assert_eq!(feed.next().await["type"], "connection_ack");
        feed
    }

    async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    /// The next protocol message (within 10 s).
    async fn next(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("a message within 10 s")
                .unwrap()
                .unwrap();
            if let Message::Text(text) = frame {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }
}

/// Now (sprint 2 judged): rituals fail on two signals — an action of sprint 1's retro not
/// followed through, no blocker raised; the team is complete; breaches and the unfollowed
/// action are health findings.
fn check_the_audit_now(o: &Value, p: &Value) {
    let audit = p["healthAudit"].as_array().unwrap();
    let row = |pattern: &str| {
        audit
            .iter()
            .find(|r| r["pattern"] == pattern)
            .unwrap()
            .clone()
    };
    assert_eq!(row("COSMETIC_RITUALS")["status"], "FAIL", "{audit:?}");
    assert_eq!(
        row("COSMETIC_RITUALS")["evidence"]["signals"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(row("INCOMPLETE_TEAM")["status"], "OK");
    assert_eq!(
        row("CENTRALIZED_CONTROL")["status"],
        "OK",
        "sprint 2 needed no approval"
    );
    assert!(
        row("CENTRALIZED_CONTROL")["remedy"]
            .as_str()
            .unwrap()
            .contains("delegation")
    );
    let findings: Vec<&Value> = o["healthFindings"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert!(
        findings
            .iter()
            .any(|f| f["kind"] == "SERVICE_SLA_BREACHED" && f["hoursLate"] == 24),
        "{findings:?}"
    );
    assert!(
        findings
            .iter()
            .any(|f| f["kind"] == "RETRO_ACTION_NOT_FOLLOWED_THROUGH"
                && f["retroActionId"] == api_id("RetroAction", "x1")
                && f["sprintId"] == api_id("Sprint", "s2"))
    );
    assert_eq!(o["healthAudit"][0]["podName"], "Growth");
}

/// As of the day after sprint 1 closed, it is the sprint judged, and its approval was late.
async fn check_the_audit_as_of_sprint_1(url: &str, pod: &str) {
    let past = data(
        url,
        "paula",
        "query($p: ID!) { pod(id: $p, asOf: {time: \"2025-03-17T00:00:00Z\"}) { healthAudit { pattern status evidence { itemIds } } metrics { retroActionsJudged } } }",
        json!({"p": pod}),
    )
    .await;
    let audit = past["pod"]["healthAudit"].as_array().unwrap();
    let control = audit
        .iter()
        .find(|r| r["pattern"] == "CENTRALIZED_CONTROL")
        .unwrap();
    assert_eq!(control["status"], "FAIL", "{audit:?}");
    assert_eq!(
        control["evidence"]["itemIds"],
        json!([api_id("Item", "i1")])
    );
    assert_eq!(
        past["pod"]["metrics"]["retroActionsJudged"], 0,
        "no retro yet then"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_history_gives_the_hand_computed_sla_approval_retro_and_audit_figures() {
    let (_dir, running, url) = imported().await;
    let pod = api_id("Pod", "growth");
    let d = data(
        &url,
        "paula",
        "query($p: ID!) {
           organisation {
             approvalRules { outputCategory deadlineHours }
             sharedServices { nodes { name function sla { turnaroundHours window { days opensAtHour closesAtHour } intakeMethod }
               metrics { requests delivered breached slaAttainment turnaroundMedianHours turnaroundP90Hours openBreaches } } }
             healthFindings(first: 100) { nodes { kind hoursLate retroActionId sprintId } }
             healthAudit { podName failing warning }
           }
           pod(id: $p) {
             serviceRequests { nodes { title status openedAt receivedAt dueAt closedAt breached } }
             approvals { nodes { late approved requestedAt decidedAt } }
             retros { nodes { wentWell actions { description kind status } } }
             metrics { retroFollowThrough retroActionsJudged retroActionsNotFollowedThrough
                       approvalWaitMedianHours lateApprovals serviceRequestsWaiting podDaysWaiting openServiceBreaches }
             healthAudit { pattern status evidence { signals numbers { name value } } remedy }
           }
         }",
        json!({"p": pod}),
    )
    .await;
    let o = &d["organisation"];
    assert_eq!(
        o["approvalRules"],
        json!([{"outputCategory": "email", "deadlineHours": 24}])
    );
    let legal = &o["sharedServices"]["nodes"][0];
    assert_eq!(legal["function"], "LEGAL");
    assert_eq!(legal["sla"]["window"]["days"], json!([1, 2, 3, 4, 5]));
    let m = &legal["metrics"];
    // r1 received Monday 09:00, delivered Thursday 09:00 (72 h, a day late); r2 in 24 h.
    assert_eq!(
        (
            m["requests"].as_i64(),
            m["delivered"].as_i64(),
            m["breached"].as_i64()
        ),
        (Some(2), Some(2), Some(1)),
        "{m}"
    );
    assert_eq!(m["slaAttainment"], 0.5);
    assert_eq!(m["turnaroundMedianHours"], 48.0);
    assert_eq!(m["turnaroundP90Hours"], 72.0);
    assert_eq!(m["openBreaches"], 0);

    let p = &d["pod"];
    let r1 = &p["serviceRequests"]["nodes"][0];
    assert_eq!(r1["openedAt"], "2025-03-08T10:00:00+00:00", "a Saturday");
    assert_eq!(
        r1["receivedAt"], "2025-03-10T09:00:00+00:00",
        "the window's next opening"
    );
    assert_eq!(r1["dueAt"], "2025-03-12T09:00:00+00:00");
    assert_eq!(r1["breached"], true);
    assert_eq!(p["serviceRequests"]["nodes"][1]["breached"], false);
    assert_eq!(p["approvals"]["nodes"][0]["late"], true);
    assert_eq!(
        p["retros"]["nodes"][0]["actions"][0]["status"], "NOT_FOLLOWED_THROUGH",
        "{}",
        p["retros"]
    );
    let metrics = &p["metrics"];
    assert_eq!(metrics["retroFollowThrough"], 0.0);
    assert_eq!(metrics["retroActionsJudged"], 1);
    assert_eq!(metrics["retroActionsNotFollowedThrough"], 1);
    assert_eq!(metrics["approvalWaitMedianHours"], 48.0);
    assert_eq!(metrics["lateApprovals"], 1);
    assert_eq!(metrics["serviceRequestsWaiting"], 0);
    assert_eq!(metrics["podDaysWaiting"], 4.0, "3 days for r1, 1 for r2");

    check_the_audit_now(o, p);
    check_the_audit_as_of_sprint_1(&url, &pod).await;
    running.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_commands_live_keep_their_permissions_and_a_metrics_subscriber_sees_a_request_wait()
{
    let (_dir, running, url) = imported().await;
    let pod = api_id("Pod", "growth");
    // Only an admin sets rules; only the SM records a retro, once.
    let rule = "mutation { setApprovalRule(outputCategory: \"page\", approverId: \"%V\", deadlineHours: 8) { position } }"
        .replace("%V", &api_id("Person", "vera"));
    assert_eq!(code(&url, "paula", &rule, json!({})).await, "FORBIDDEN");
    data(&url, "ada", &rule, json!({})).await;
    let retro = "mutation($p: ID!, $s: ID!, $o: ID!) { recordRetro(podId: $p, sprintId: $s, wentWell: \"w\", friction: \"f\",
                 actions: [{description: \"Pair on copy\", ownerId: $o, kind: HANDOFF}]) { retro { actions { status } } } }";
    let vars = json!({"p": pod, "s": api_id("Sprint", "s2"), "o": api_id("Person", "cora")});
    assert_eq!(code(&url, "dana", retro, vars.clone()).await, "FORBIDDEN");
    let recorded = data(&url, "sid", retro, vars.clone()).await;
    assert_eq!(
        recorded["recordRetro"]["retro"]["actions"][0]["status"],
        "OPEN"
    );
    assert_eq!(
        code(&url, "sid", retro, vars).await,
        "RETRO_ALREADY_RECORDED"
    );
    // An operator cannot join a pod.
    let join = "mutation($p: ID!, $x: ID!) { assignPodRole(personId: $x, podId: $p, role: \"DESIGNER\") { position } }";
    assert_eq!(
        code(
            &url,
            "ada",
            join,
            json!({"p": pod, "x": api_id("Person", "lee")})
        )
        .await,
        "MEMBER_ALREADY_IN_POD"
    );

    // A podMetrics subscriber sees the request the PO opens now wait.
    let mut feed = Feed::open(running.addr, "paula").await;
    feed.send(json!({"id": "m", "type": "subscribe", "payload": {
        "query": "subscription($p: ID!) { podMetrics(podId: $p) { serviceRequestsWaiting failingPatterns } }",
        "variables": {"p": pod}}}))
        .await;
    let first = feed.next().await;
    assert_eq!(
        first["payload"]["data"]["podMetrics"]["serviceRequestsWaiting"], 0,
        "{first}"
    );
    let opened = data(
        &url,
        "paula",
        "mutation($p: ID!, $s: ID!) { openServiceRequest(input: {podId: $p, sharedServiceId: $s, title: \"Check the terms\"}) { request { status dueAt } } }",
        json!({"p": pod, "s": api_id("SharedService", "legal")}),
    )
    .await;
    assert_eq!(opened["openServiceRequest"]["request"]["status"], "OPEN");
    let changed = feed.next().await;
    assert_eq!(
        changed["payload"]["data"]["podMetrics"]["serviceRequestsWaiting"], 1,
        "{changed}"
    );
    // The designer may not accept it: only the service's operators.
    let request_id = post(
        &url,
        "paula",
        "query($p: ID!) { pod(id: $p) { serviceRequests(status: OPEN) { nodes { id } } } }",
        json!({"p": pod}),
    )
    .await["data"]["pod"]["serviceRequests"]["nodes"][0]["id"]
        .clone();
    let accept = "mutation($p: ID!, $r: ID!) { acceptServiceRequest(podId: $p, requestId: $r) { request { status } } }";
    let vars = json!({"p": pod, "r": request_id});
    assert_eq!(code(&url, "dana", accept, vars.clone()).await, "FORBIDDEN");
    let accepted = data(&url, "lee", accept, vars).await;
    assert_eq!(
        accepted["acceptServiceRequest"]["request"]["status"],
        "ACCEPTED"
    );
    feed.ws.close(None).await.unwrap();
    running.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_a_healthy_pod_and_one_that_trips_the_audit() {
    let dir = tempfile::tempdir().unwrap();
    let auth = AuthConfig::new(SECRET.to_vec(), "podledger", "podledger");
    let running = start(ServerConfig {
        demo: true,
        ..ServerConfig::new(
            format!("sqlite://{}", dir.path().join("demo.db").display()),
            auth.clone(),
        )
    })
    .await
    .unwrap();
    let admin = podledger_server::demo::key_people()[0].2;
    let token = auth.mint_member(
        podledger_server::demo::org_id(),
        admin,
        chrono::Duration::hours(1),
    );
    let body: Value = reqwest::Client::new()
        .post(format!("http://{}/graphql", running.addr))
        .bearer_auth(token)
        .json(&json!({"query": "{ organisation {
            healthAudit { podName failing warning patterns { pattern status } }
            sharedServices { nodes { name metrics { breached openBreaches } } }
            approvalRules { outputCategory } } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let o = &body["data"]["organisation"];
    let audit = o["healthAudit"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    let pod = |name: &str| audit.iter().find(|a| a["podName"] == name).unwrap().clone();
    assert_eq!(audit[0]["podName"], "Activation", "ranked first: {audit:?}");
    let troubled = pod("Activation");
    for failing in [
        "INCOMPLETE_TEAM",
        "OVERLOADED_ROLE",
        "CENTRALIZED_CONTROL",
        "COSMETIC_RITUALS",
    ] {
        assert!(
            troubled["patterns"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["pattern"] == failing && p["status"] == "FAIL"),
            "{failing}: {troubled}"
        );
    }
    let healthy = pod("Acquisition");
    assert_eq!(
        (healthy["failing"].as_i64(), healthy["warning"].as_i64()),
        (Some(0), Some(0)),
        "{healthy}"
    );
    assert_eq!(
        o["sharedServices"]["nodes"][0]["metrics"]["openBreaches"],
        1
    );
    assert_eq!(o["approvalRules"][0]["outputCategory"], "legal copy");
    running.handle.stop(true).await;
}

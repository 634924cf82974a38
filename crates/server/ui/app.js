// The podledger dashboard: a client of /graphql like any other. Queries over HTTP with the
// signed-in person's bearer token; the open board and the pod's metrics stay live over
// graphql-transport-ws (the vendored graphql-ws client, reconnecting with back-off). Every
// page can be seen as of a past time or position (the `asOf` arguments), then nothing is live.
//
// The DOM is built with `h()` (text nodes, never HTML strings): titles and names are user input.

import { burndownChart, velocityChart, trendChart, kpiChart } from "./charts.js";

const TOKEN_KEY = "podledger.token";
const main = document.getElementById("main");
const statusEl = document.getElementById("status");
const travel = document.getElementById("time-travel");
const signOutButton = document.getElementById("sign-out");
const orgName = document.getElementById("org-name");

let token = localStorage.getItem(TOKEN_KEY);
/** What the current page holds open (subscriptions, charts): released on navigation. */
let held = [];
/** Bumped on every navigation, so a late answer never paints over a newer page. */
let generation = 0;
let socket = null;

// ---------------------------------------------------------------- DOM

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value == null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const fmt = {
  num: (v, digits = 1) => (v == null ? "—" : Number(v).toFixed(digits).replace(/\.0+$/, "")),
  pct: (v) => (v == null ? "—" : `${Math.round(v * 100)}%`),
  time: (t) => (t ? new Date(t).toISOString().slice(0, 16).replace("T", " ") + " UTC" : "—"),
  label: (s) => (s ?? "").toLowerCase().replaceAll("_", " "),
};

function table(caption, head, rows, attrs = {}) {
  return h(
    "table",
    attrs,
    h("caption", { class: "muted" }, caption),
    h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => (i === 0 ? h("th", { scope: "row" }, c) : h("td", {}, c)))))),
  );
}

function setStatus(kind, text) {
  statusEl.className = `status ${kind}`;
  statusEl.textContent = text;
}

// ---------------------------------------------------------------- GraphQL

class ApiError extends Error {}

async function gql(query, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/graphql-response+json, application/json",
      Authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`the server answered ${response.status}`);
  }
  const errors = body.errors ?? [];
  if (response.status === 401 || errors.some((e) => e.extensions?.code === "UNAUTHENTICATED")) {
    signOut("Your token was refused (expired or not valid): sign in again.");
    throw new ApiError("signed out");
  }
  if (errors.length) throw new ApiError(errors.map((e) => e.message).join("; "));
  return body.data;
}

function live() {
  if (!socket) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = graphqlWs.createClient({
      url: `${scheme}://${location.host}/graphql`,
      connectionParams: () => ({ token }),
      lazy: true,
      retryAttempts: Infinity,
      // Refused tokens (4403) and bad requests (4400) do not heal by retrying.
      shouldRetry: (event) => !(event && (event.code === 4403 || event.code === 4400)),
      retryWait: (retries) =>
        new Promise((resolve) => setTimeout(resolve, Math.min(15000, 300 * 2 ** retries) * (0.5 + Math.random() / 2))),
      on: {
        connecting: () => setStatus("down", "connecting…"),
        connected: () => setStatus("live", "live"),
        closed: (event) => {
          if (event?.code === 4403) signOut("Your token was refused: sign in again.");
          else if (!asOf()) setStatus("down", "reconnecting…");
        },
      },
    });
  }
  return socket;
}

/** Subscribes for as long as the current page is shown. */
function subscribe(query, variables, next) {
  const stop = live().subscribe(
    { query, variables },
    {
      next: (message) => {
        if (message.errors?.length) showError(new ApiError(message.errors.map((e) => e.message).join("; ")));
        else next(message.data);
      },
      error: (e) => {
        if (e instanceof Error) showError(e);
      },
      complete: () => {},
    },
  );
  held.push({ destroy: stop });
}

// ---------------------------------------------------------------- routing and time travel

function route() {
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query);
  return { parts: path.split("/").filter(Boolean), params };
}

/** The page's `asOf` input, from the address (`?at=<RFC 3339>` or `?position=<n>`). */
function asOf() {
  const { params } = route();
  if (params.get("position")) return { position: params.get("position") };
  if (params.get("at")) return { time: params.get("at") };
  return null;
}

function link(path) {
  const { params } = route();
  const keep = new URLSearchParams();
  for (const key of ["at", "position"]) if (params.get(key)) keep.set(key, params.get(key));
  const query = keep.toString();
  return `#${path}${query ? `?${query}` : ""}`;
}

/** An RFC 3339 time as a `datetime-local` value (the browser's time zone). */
function localInput(time) {
  const t = new Date(time);
  return new Date(t.getTime() - t.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
}

function travelTo(point) {
  const { parts } = route();
  const params = new URLSearchParams();
  if (point?.position) params.set("position", point.position);
  else if (point?.time) params.set("at", point.time);
  const query = params.toString();
  location.hash = `#/${parts.join("/")}${query ? `?${query}` : ""}`;
}

travel.addEventListener("submit", (event) => {
  event.preventDefault();
  const position = travel.elements.position.value.trim();
  const local = travel.elements.time.value;
  if (position) travelTo({ position });
  else if (local) travelTo({ time: new Date(local).toISOString() });
});
document.getElementById("as-of-now").addEventListener("click", () => {
  travel.reset();
  travelTo(null);
});

function release() {
  for (const item of held) item.destroy();
  held = [];
}

async function render() {
  release();
  const mine = ++generation;
  // Another tab may have signed in or out since.
  token = localStorage.getItem(TOKEN_KEY);
  if (!token) return showSignIn();
  travel.hidden = false;
  signOutButton.hidden = false;
  const point = asOf();
  travel.elements.position.value = point?.position ?? "";
  travel.elements.time.value = point?.time ? localInput(point.time) : "";
  if (point) setStatus("past", `as of ${point.position ? `position ${point.position}` : fmt.time(point.time)}`);
  else setStatus("", "");
  const { parts } = route();
  try {
    let page;
    if (parts[0] === "pod" && parts[2] === "item") page = await itemPage(parts[1], parts[3], point);
    else if (parts[0] === "pod") page = await podPage(parts[1], point, mine);
    else page = await overviewPage(point);
    if (mine !== generation) return;
    main.replaceChildren(page.node);
    page.after?.();
    if (!point && page.live) page.live(mine);
    else if (!point) setStatus("", "");
    main.focus({ preventScroll: true });
  } catch (e) {
    if (mine === generation) showError(e);
  }
}

function showError(e) {
  if (e.message === "signed out") return;
  main.replaceChildren(h("p", { class: "error", role: "alert" }, `Could not load this page: ${e.message}`));
}

// ---------------------------------------------------------------- sign-in

function signOut(message) {
  release();
  token = null;
  localStorage.removeItem(TOKEN_KEY);
  socket?.dispose();
  socket = null;
  orgName.textContent = "";
  showSignIn(message);
}
signOutButton.addEventListener("click", () => signOut());

async function showSignIn(message) {
  travel.hidden = true;
  signOutButton.hidden = true;
  setStatus("", "");
  const use = (value) => {
    token = value.trim();
    localStorage.setItem(TOKEN_KEY, token);
    render();
  };
  const pasted = h("textarea", { id: "token", rows: 4, autocomplete: "off", spellcheck: "false" });
  const form = h(
    "form",
    { onsubmit: (e) => { e.preventDefault(); if (pasted.value.trim()) use(pasted.value); } },
    h("label", { for: "token" }, "Paste a bearer token (from ", h("code", {}, "podledger token"), " or your identity provider)"),
    pasted,
    h("p", {}, h("button", { type: "submit", class: "primary" }, "Sign in")),
  );
  const page = h(
    "section",
    { class: "panel", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in"),
    message ? h("p", { class: "error", role: "alert" }, message) : null,
    form,
  );
  main.replaceChildren(page);
  // With `serve --demo`, the demo's people sign in with one click.
  try {
    const response = await fetch("/ui/demo-people");
    if (!response.ok) return;
    const people = await response.json();
    page.append(
      h("h2", {}, "Demo organisation"),
      h("p", { class: "muted" }, "Served with --demo: sign in as one of its people."),
      h(
        "ul",
        { class: "people" },
        people.map((p) =>
          h("li", {}, h("button", { type: "button", class: "demo-person", onclick: () => use(p.token) }, p.name, h("span", { class: "role" }, p.role))),
        ),
      ),
    );
  } catch {
    // No demo: the token form is the way in.
  }
}

// ---------------------------------------------------------------- overview

const OVERVIEW = `query Overview($asOf: AsOfInput) {
  organisation(asOf: $asOf) {
    name
    pods(first: 100) { nodes {
      id name focus
      productOwner { name } scrumMaster { name }
      members(first: 100) { totalCount nodes { name podRoles } }
      currentSprint { number status goal startDate endDate }
      metrics { closedSprints averageVelocity goalCompletionRate blockersOpen }
    } }
    healthFindings(first: 500) { nodes { kind podId capability members outputCategories insertions hoursOpen hoursLate } }
    healthAudit { podId failing warning patterns { pattern status } }
  }
}`;

function findingText(f) {
  switch (f.kind) {
    case "POD_SIZE": return `Pod size: ${f.members} members`;
    case "CAPABILITY_NOT_COVERED": return `Capability not covered: ${fmt.label(f.capability)}`;
    case "OWNER_SPREAD_THIN": return `An owner spread over ${f.outputCategories} output categories`;
    case "MID_SPRINT_INSERTIONS": return `${f.insertions} item${f.insertions === 1 ? "" : "s"} inserted mid-sprint`;
    case "BLOCKER_OPEN_PAST_48H": return `A blocker open for ${f.hoursOpen} h`;
    case "RETRO_ACTION_NOT_FOLLOWED_THROUGH": return "A retro action not followed through";
    case "SERVICE_SLA_BREACHED": return `A shared-service request ${f.hoursLate} h past its due time`;
    default: return fmt.label(f.kind);
  }
}

/** The pod's five failure patterns (SPEC §9.4), failing and warning ones first. */
function auditChips(audit) {
  if (!audit) return null;
  const order = { FAIL: 0, WARN: 1, OK: 2 };
  const patterns = [...audit.patterns].sort((a, b) => order[a.status] - order[b.status]);
  return h(
    "div",
    { class: "audit", "data-audit": `${audit.failing}/${audit.warning}` },
    h("h3", {}, `Health audit: ${audit.failing} failing, ${audit.warning} warning`),
    h(
      "ul",
      { class: "chips", "aria-label": "failure patterns" },
      patterns.map((p) => h("li", { class: `pattern-${p.status}` }, `${fmt.label(p.pattern)}: ${p.status.toLowerCase()}`)),
    ),
  );
}

/** A pod's findings, one line per distinct text, with how many sprints or blockers share it. */
function grouped(findings) {
  const counts = new Map();
  for (const f of findings) {
    const text = findingText(f);
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  return [...counts].map(([text, n]) => (n > 1 ? `${text} (×${n})` : text));
}

async function overviewPage(point) {
  const data = await gql(OVERVIEW, { asOf: point });
  const org = data.organisation;
  orgName.textContent = org.name;
  document.title = `${org.name} — podledger`;
  const findings = org.healthFindings.nodes;
  const pods = [...org.pods.nodes].sort((a, b) => a.name.localeCompare(b.name));
  const cards = pods.map((pod) => {
    const sprint = pod.currentSprint;
    const mine = findings.filter((f) => f.podId === pod.id);
    return h(
      "article",
      { class: "panel pod-card", "data-pod": pod.id },
      h("h2", {}, h("a", { href: link(`/pod/${encodeURIComponent(pod.id)}`) }, pod.name)),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Focus"), h("dd", {}, fmt.label(pod.focus)),
        h("dt", {}, "PO / SM"), h("dd", {}, `${pod.productOwner?.name ?? "—"} / ${pod.scrumMaster?.name ?? "—"}`),
        h("dt", {}, "Sprint"),
        h("dd", {}, sprint ? `${sprint.number} (${fmt.label(sprint.status)}, ${sprint.startDate} – ${sprint.endDate})` : "none"),
        h("dt", {}, "Goal"), h("dd", {}, sprint?.goal ?? "—"),
        h("dt", {}, "Avg velocity"), h("dd", { class: "velocity" }, fmt.num(pod.metrics.averageVelocity)),
        h("dt", {}, "Goals met"), h("dd", {}, `${fmt.pct(pod.metrics.goalCompletionRate)} of ${pod.metrics.closedSprints}`),
        h("dt", {}, "Open blockers"), h("dd", {}, pod.metrics.blockersOpen),
        h("dt", {}, "Members"), h("dd", {}, pod.members.totalCount),
      ),
      h("ul", { class: "chips", "aria-label": "members" }, pod.members.nodes.map((m) => h("li", {}, m.name))),
      auditChips(org.healthAudit.find((a) => a.podId === pod.id)),
      mine.length
        ? h("ul", { class: "findings", "aria-label": "health findings" }, grouped(mine).map((text) => h("li", {}, text)))
        : h("p", { class: "muted" }, "No health findings."),
    );
  });
  const node = h(
    "div",
    {},
    h("h1", {}, org.name),
    h("p", { class: "muted" }, `${org.pods.nodes.length} pods · ${findings.length} health findings`),
    h("section", { class: "grid", "aria-label": "pods" }, cards),
  );
  return { node };
}

// ---------------------------------------------------------------- a pod

const BOARD = `fragment Board on Sprint {
  id number status goal goalItemIds startDate endDate
  items(first: 500) { nodes { id title estimate status owner { name } pendingOwner { name } } }
  burndown {
    committedPoints
    days { date remaining scope ideal }
    scopeChanges { at itemId title direction points }
  }
}`;

const HISTORY = `fragment History on Pod {
  metrics { closedSprints averageVelocity goalCompletionRate blockerMedianHours blockersOpen
            retroFollowThrough lateApprovals serviceRequestsWaiting podDaysWaiting openServiceBreaches }
  healthAudit { pattern status remedy evidence { signals numbers { name value } } }
  sprints(last: 8) { nodes {
    id number status
    metrics {
      committedPoints velocity commitmentReliability taskCompletion scopeChurn goalMet
      velocityByCause { committedDone reestimatedDone addedDone removed notDone }
    }
  } }
  blockers(last: 30) { nodes { id itemId category description raisedAt escalatedAt resolvedAt } }
  kpis(first: 20) { nodes {
    id name unit direction target
    latest { value observedAt attainment status }
    readings(last: 60) { nodes { value observedAt } }
  } }
}`;

const POD = `query Pod($id: ID!, $asOf: AsOfInput) {
  organisation(asOf: $asOf) { name }
  pod(id: $id, asOf: $asOf) {
    id name focus productOwner { name } scrumMaster { name }
    currentSprint { ...Board }
    ...History
  }
}
${BOARD}
${HISTORY}`;

const POD_HISTORY = `query PodHistory($id: ID!) { pod(id: $id) { ...History } }
${HISTORY}`;

const BOARD_FEED = `subscription BoardFeed($id: ID!) { sprintBoard(podId: $id) { ...Board } }
${BOARD}`;

const METRICS_FEED = `subscription MetricsFeed($id: ID!) { podMetrics(podId: $id) { closedSprints averageVelocity blockersOpen blockersResolved } }`;

const KPI_FEED = `subscription KpiFeed($id: ID!) { kpiReadings(podId: $id) { kpi { id } } }`;

const COLUMNS = ["COMMITTED", "IN_PROGRESS", "IN_REVIEW", "DONE"];

function boardSection(podId, sprint, blockers) {
  if (!sprint) return h("section", { class: "panel", id: "board" }, h("h2", {}, "Board"), h("p", { class: "muted" }, "No active or planned sprint."));
  const openBlockers = new Map();
  for (const b of blockers) if (!b.resolvedAt && b.itemId) openBlockers.set(b.itemId, b);
  const goal = new Set(sprint.goalItemIds);
  const statuses = [...COLUMNS];
  for (const item of sprint.items.nodes) if (!statuses.includes(item.status)) statuses.push(item.status);
  const card = (item) =>
    h(
      "li",
      { class: "card", "data-item": item.id, "data-status": item.status },
      h("a", { href: link(`/pod/${encodeURIComponent(podId)}/item/${encodeURIComponent(item.id)}`) }, item.title),
      h(
        "div",
        { class: "meta" },
        h("span", { class: "points", title: "estimate" }, item.estimate == null ? "?" : `${item.estimate} pt`),
        h("span", {}, item.owner?.name ?? (item.pendingOwner ? `${item.pendingOwner.name} (pending)` : "no owner")),
        goal.has(item.id) ? h("span", { class: "goal" }, "goal") : null,
        openBlockers.has(item.id) ? h("span", { class: "blocked" }, `blocked: ${openBlockers.get(item.id).description}`) : null,
      ),
    );
  return h(
    "section",
    { class: "panel", id: "board", "aria-labelledby": "board-title", "data-sprint": sprint.id },
    h("h2", { id: "board-title" }, `Sprint ${sprint.number} board · ${fmt.label(sprint.status)} · ${sprint.startDate} – ${sprint.endDate}`),
    sprint.goal ? h("p", {}, h("strong", {}, "Goal: "), sprint.goal) : null,
    h(
      "div",
      { class: "board" },
      statuses.map((status) => {
        const items = sprint.items.nodes.filter((i) => i.status === status);
        const points = items.reduce((sum, i) => sum + (i.estimate ?? 0), 0);
        return h(
          "section",
          { class: "column", "data-column": status, "aria-label": `${fmt.label(status)}: ${items.length} items` },
          h("h3", {}, h("span", {}, fmt.label(status)), h("span", {}, `${items.length} · ${points} pt`)),
          h("ul", { class: "cards" }, items.map(card)),
        );
      }),
    ),
  );
}

function burndownSection(sprint) {
  const section = h("section", { class: "panel", id: "burndown", "aria-labelledby": "burndown-title" });
  section.append(h("h2", { id: "burndown-title" }, "Burndown"));
  if (!sprint || sprint.burndown.days.length === 0) {
    section.append(h("p", { class: "muted" }, "The sprint has not reached its first day."));
    return { node: section, draw: () => {} };
  }
  const b = sprint.burndown;
  const chart = h("div", { class: "chart", role: "img", "aria-label": "Burndown chart: remaining and scope points per day, with the ideal line; the table below has the numbers" });
  section.append(
    h("p", { class: "legend-note" }, `Committed ${b.committedPoints ?? "—"} pt. Dots mark days whose scope changed after the start.`),
    chart,
    b.scopeChanges.length
      ? h("ul", { class: "chips", "aria-label": "scope changes" }, b.scopeChanges.map((c) => h("li", {}, `${c.direction === "ADDED" ? "+" : "−"} ${c.title ?? "item"} (${c.points} pt) ${c.at.slice(0, 10)}`)))
      : null,
    h(
      "details",
      {},
      h("summary", {}, "Numbers"),
      table("Burndown by day", ["Day", "Remaining", "Scope", "Ideal"], b.days.map((d) => [d.date, d.remaining, d.scope, fmt.num(d.ideal)]), { id: "burndown-table" }),
    ),
  );
  return { node: section, draw: () => held.push(burndownChart(chart, b)) };
}

function historySection(pod) {
  const closed = pod.sprints.nodes.filter((s) => s.status === "CLOSED").slice(-6);
  const section = h("div", { id: "history" });
  const velocity = h("div", { class: "chart", role: "img", "aria-label": "Velocity chart: committed and completed points per closed sprint; the table below has the numbers" });
  const trends = h("div", { class: "chart", role: "img", "aria-label": "Trend chart of commitment reliability, task completion and scope churn per sprint" });
  const m = pod.metrics;
  section.append(
    h(
      "div",
      { class: "two" },
      h(
        "section",
        { class: "panel", id: "velocity", "aria-labelledby": "velocity-title" },
        h("h2", { id: "velocity-title" }, "Velocity"),
        h("p", { class: "legend-note" }, `Average of the last 3: ${fmt.num(m.averageVelocity)} pt · goals met ${fmt.pct(m.goalCompletionRate)} of ${m.closedSprints} sprints`),
        closed.length ? velocity : h("p", { class: "muted" }, "No closed sprint yet."),
        h(
          "details",
          {},
          h("summary", {}, "Numbers, by cause"),
          table(
            "Velocity by sprint and cause",
            ["Sprint", "Committed", "Completed", "Committed done", "Re-estimated", "Added done", "Removed", "Not done"],
            closed.map((s) => {
              const c = s.metrics.velocityByCause ?? {};
              return [`Sprint ${s.number}`, s.metrics.committedPoints ?? "—", s.metrics.velocity ?? "—", c.committedDone ?? "—", c.reestimatedDone ?? "—", c.addedDone ?? "—", c.removed ?? "—", c.notDone ?? "—"];
            }),
            { id: "velocity-table" },
          ),
        ),
      ),
      h(
        "section",
        { class: "panel", id: "trends", "aria-labelledby": "trends-title" },
        h("h2", { id: "trends-title" }, "Metric trends"),
        h("p", { class: "legend-note" }, `Blocker median ${fmt.num(m.blockerMedianHours)} h · ${m.blockersOpen} open`),
        closed.length ? trends : h("p", { class: "muted" }, "No closed sprint yet."),
        h(
          "details",
          {},
          h("summary", {}, "Numbers"),
          table(
            "Ratios by sprint",
            ["Sprint", "Reliability", "Completion", "Scope churn", "Goal met"],
            closed.map((s) => [`Sprint ${s.number}`, fmt.pct(s.metrics.commitmentReliability), fmt.pct(s.metrics.taskCompletion), fmt.pct(s.metrics.scopeChurn), s.metrics.goalMet ? "yes" : "no"]),
          ),
        ),
      ),
    ),
    kpiSection(pod.kpis.nodes),
    auditSection(pod),
  );
  const draw = () => {
    if (closed.length) {
      held.push(velocityChart(velocity, closed));
      held.push(trendChart(trends, closed));
    }
    for (const kpi of pod.kpis.nodes) {
      const el = section.querySelector(`[data-kpi-chart="${CSS.escape(kpi.id)}"]`);
      if (el && kpi.readings.nodes.length) held.push(kpiChart(el, kpi, kpi.readings.nodes));
    }
  };
  return { node: section, draw };
}

function auditSection(pod) {
  const m = pod.metrics;
  return h(
    "section",
    { class: "panel", id: "audit", "aria-labelledby": "audit-title" },
    h("h2", { id: "audit-title" }, "Health audit"),
    h(
      "p",
      { class: "legend-note" },
      `Retro follow-through ${fmt.pct(m.retroFollowThrough)} · late approvals ${m.lateApprovals} · ` +
        `requests to shared services waiting ${m.serviceRequestsWaiting} (${fmt.num(m.podDaysWaiting)} pod-days, ${m.openServiceBreaches} breached)`,
    ),
    table(
      "The five failure patterns over the last closed sprint",
      ["Pattern", "Status", "Evidence", "Remedy"],
      pod.healthAudit.map((a) => [
        fmt.label(a.pattern),
        h("span", { class: `pattern-${a.status}` }, a.status),
        [...a.evidence.signals, ...a.evidence.numbers.map((n) => `${n.name} ${fmt.num(n.value, 2)}`)].join("; ") || "—",
        a.remedy,
      ]),
      { id: "audit-table" },
    ),
  );
}

function kpiSection(kpis) {
  return h(
    "section",
    { class: "panel", id: "kpis", "aria-labelledby": "kpis-title" },
    h("h2", { id: "kpis-title" }, "KPIs"),
    kpis.length === 0 ? h("p", { class: "muted" }, "No KPIs.") : null,
    h(
      "div",
      { class: "two" },
      kpis.map((k) =>
        h(
          "article",
          { "data-kpi": k.id },
          h("h3", {}, `${k.name} (${k.unit})`),
          h(
            "p",
            {},
            `Target ${fmt.num(k.target, 2)} ${k.direction === "INCREASE" ? "or more" : "or less"} · latest `,
            k.latest ? `${fmt.num(k.latest.value, 2)} on ${k.latest.observedAt.slice(0, 10)} · ` : "none",
            k.latest?.status ? h("span", { class: `status-${k.latest.status}` }, fmt.label(k.latest.status)) : null,
            k.latest?.attainment != null ? ` (${fmt.pct(k.latest.attainment)} of target)` : null,
          ),
          h("div", { class: "chart", "data-kpi-chart": k.id, role: "img", "aria-label": `${k.name}: readings against the target line` }),
        ),
      ),
    ),
  );
}

async function podPage(podId, point, mine) {
  const data = await gql(POD, { id: podId, asOf: point });
  const pod = data.pod;
  if (!pod) throw new ApiError("no such pod (at this point)");
  orgName.textContent = data.organisation.name;
  document.title = `${pod.name} — podledger`;
  let blockers = pod.blockers.nodes;
  let sprint = pod.currentSprint;
  let board = boardSection(pod.id, sprint, blockers);
  let burndown = burndownSection(sprint);
  let history = historySection(pod);
  const node = h(
    "div",
    {},
    h("p", {}, h("a", { href: link("/") }, "← Organisation")),
    h("h1", {}, pod.name),
    h("p", { class: "muted" }, `${fmt.label(pod.focus)} · PO ${pod.productOwner?.name ?? "—"} · SM ${pod.scrumMaster?.name ?? "—"}`),
    board,
    burndown.node,
    history.node,
    openBlockersSection(blockers),
  );
  const replace = (old, fresh) => {
    old.replaceWith(fresh);
    return fresh;
  };
  const redrawSprint = (next) => {
    sprint = next;
    board = replace(board, boardSection(pod.id, sprint, blockers));
    const fresh = burndownSection(sprint);
    burndown.node.replaceWith(fresh.node);
    burndown = fresh;
    burndown.draw();
  };
  let refreshing = null;
  const refreshHistory = () => {
    refreshing ??= setTimeout(async () => {
      refreshing = null;
      try {
        const fresh = await gql(POD_HISTORY, { id: pod.id });
        if (mine !== generation) return;
        blockers = fresh.pod.blockers.nodes;
        const next = historySection(fresh.pod);
        history.node.replaceWith(next.node);
        history = next;
        history.draw();
        node.querySelector("#blockers").replaceWith(openBlockersSection(blockers));
        board = replace(board, boardSection(pod.id, sprint, blockers));
      } catch (e) {
        showError(e);
      }
    }, 150);
  };
  return {
    node,
    after: () => {
      burndown.draw();
      history.draw();
    },
    live: () => {
      let first = true;
      subscribe(BOARD_FEED, { id: pod.id }, (d) => {
        // The feed starts with the board as it is: the page already shows it.
        if (first) { first = false; return; }
        redrawSprint(d.sprintBoard);
        node.dataset.updates = String(Number(node.dataset.updates ?? 0) + 1);
      });
      let firstMetrics = true;
      subscribe(METRICS_FEED, { id: pod.id }, () => {
        if (firstMetrics) { firstMetrics = false; return; }
        refreshHistory();
      });
      subscribe(KPI_FEED, { id: pod.id }, () => refreshHistory());
    },
  };
}

function openBlockersSection(blockers) {
  const open = blockers.filter((b) => !b.resolvedAt);
  return h(
    "section",
    { class: "panel", id: "blockers", "aria-labelledby": "blockers-title" },
    h("h2", { id: "blockers-title" }, `Open blockers (${open.length})`),
    open.length
      ? h("ul", {}, open.map((b) => h("li", {}, `${fmt.label(b.category)}: ${b.description} — raised ${fmt.time(b.raisedAt)}${b.escalatedAt ? ", escalated" : ""}`)))
      : h("p", { class: "muted" }, "None."),
  );
}

// ---------------------------------------------------------------- an item

const ITEM = `query Item($pod: ID!, $id: ID!, $asOf: AsOfInput) {
  organisation(asOf: $asOf) { name people(first: 500) { nodes { id name } } }
  pod(id: $pod, asOf: $asOf) { name }
  item(podId: $pod, id: $id, asOf: $asOf) {
    id title description outputCategory acceptanceCriteria estimate status
    owner { name } pendingOwner { name }
    ownership(first: 200) { nodes { kind personId at position correlationId actor { __typename ... on Person { name } ... on Service { id } } } }
  }
}`;

const CHANGE = {
  DECLARED: "declared owner",
  ACCEPTED: "accepted ownership",
  DECLINED: "declined ownership",
  ASSIGNED: "assigned owner",
  REMOVED: "removed as owner",
};

async function itemPage(podId, itemId, point) {
  const data = await gql(ITEM, { pod: podId, id: itemId, asOf: point });
  const item = data.item;
  if (!item) throw new ApiError("no such item (at this point)");
  orgName.textContent = data.organisation.name;
  document.title = `${item.title} — podledger`;
  const names = new Map(data.organisation.people.nodes.map((p) => [p.id, p.name]));
  const who = (change) =>
    change.actor?.__typename === "Person" ? change.actor.name : change.actor?.__typename === "Service" ? "an integration" : "someone";
  const node = h(
    "div",
    {},
    h("p", {}, h("a", { href: link(`/pod/${encodeURIComponent(podId)}`) }, `← ${data.pod?.name ?? "Pod"}`)),
    h("h1", {}, item.title),
    h(
      "section",
      { class: "panel" },
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Status"), h("dd", {}, fmt.label(item.status)),
        h("dt", {}, "Estimate"), h("dd", {}, item.estimate ?? "—"),
        h("dt", {}, "Output"), h("dd", {}, item.outputCategory),
        h("dt", {}, "Owner"), h("dd", {}, item.owner?.name ?? "—"),
        h("dt", {}, "Pending"), h("dd", {}, item.pendingOwner?.name ?? "—"),
        h("dt", {}, "Acceptance"), h("dd", {}, item.acceptanceCriteria ?? "—"),
      ),
      item.description ? h("p", {}, item.description) : null,
    ),
    h(
      "section",
      { class: "panel", id: "ownership", "aria-labelledby": "ownership-title" },
      h("h2", { id: "ownership-title" }, "Who owned it when, and who said so"),
      item.ownership.nodes.length
        ? h(
            "ol",
            { class: "timeline" },
            item.ownership.nodes.map((c) =>
              h(
                "li",
                { "data-position": c.position },
                h("time", { datetime: c.at }, fmt.time(c.at)),
                h("strong", {}, names.get(c.personId) ?? "a former member"),
                ` ${CHANGE[c.kind] ?? fmt.label(c.kind)} — recorded by ${who(c)} (position ${c.position})`,
              ),
            ),
          )
        : h("p", { class: "muted" }, "No ownership changes."),
    ),
  );
  return { node };
}

// ---------------------------------------------------------------- start

window.addEventListener("hashchange", render);
render();

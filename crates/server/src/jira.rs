//! `podledger convert-jira`: a Jira issue export (CSV) turned into the import format — a worked
//! example of bringing another tool's history in (docs/import-format.md, "From Jira").
//!
//! One pod; a Jira PO and SM who plan, start and close its sprints; each assignee a member who
//! owns their issues. A sprint (the `Sprint` column) lasts `sprint_days` from the Monday of the
//! week its first issue was created, shifted to start after the previous one ended. Each issue
//! becomes an item with its story points (1 when it has none), committed to its sprint when
//! it has one; resolved issues go through `IN_PROGRESS` and `IN_REVIEW` to `DONE` at their
//! resolution time when that falls inside their sprint; other started issues stay in progress.
//! Sprints that have ended are closed. The lines come out sorted by time.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike as _, Duration, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use serde_json::{Value, json};

/// How the conversion is made.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The organisation's `@name` and display name.
    pub organisation: String,
    /// The pod's name.
    pub pod: String,
    /// The pod role of assignees (`CONTENT_STRATEGIST`, `DESIGNER`, …).
    pub role: String,
    /// Sprint length in days.
    pub sprint_days: i64,
    /// Conversion time: sprints ending after it stay open; nothing is dated after it.
    pub now: DateTime<Utc>,
}

/// One issue of the export.
#[derive(Clone, Debug)]
struct Issue {
    key: String,
    summary: String,
    status: String,
    sprint: Option<String>,
    points: u32,
    assignee: Option<String>,
    created: DateTime<Utc>,
    resolved: Option<DateTime<Utc>>,
}

/// Jira's CSV dates: `12/Mar/25 9:30 AM` (the default export), ISO forms, RFC 3339.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in [
        "%d/%b/%y %I:%M %p",
        "%d/%b/%Y %I:%M %p",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .map(|t| Utc.from_utc_datetime(&t))
}

fn read(csv: &str) -> anyhow::Result<Vec<Issue>> {
    let mut reader = ::csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers()?.clone();
    let column = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim()));
    let required = |names: &[&str]| {
        column(names).ok_or_else(|| anyhow::anyhow!("the export has no {:?} column", names[0]))
    };
    let (key, summary, status, created) = (
        required(&["Issue key"])?,
        required(&["Summary"])?,
        required(&["Status"])?,
        required(&["Created"])?,
    );
    let sprint = column(&["Sprint"]);
    let points = column(&[
        "Story Points",
        "Custom field (Story Points)",
        "Story points",
    ]);
    let assignee = column(&["Assignee"]);
    let resolved = column(&["Resolved"]);
    let mut issues = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record?;
        let field = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let created_text = field(Some(created)).unwrap_or_default();
        issues.push(Issue {
            key: field(Some(key))
                .ok_or_else(|| anyhow::anyhow!("row {}: no issue key", row + 2))?,
            summary: field(Some(summary)).unwrap_or_else(|| "(no summary)".into()),
            status: field(Some(status)).unwrap_or_default(),
            sprint: field(sprint),
            points: field(points)
                .and_then(|p| p.parse::<f64>().ok())
                .map_or(1, |p| p.round().clamp(1.0, 100.0) as u32),
            assignee: field(assignee),
            created: parse_time(&created_text).ok_or_else(|| {
                anyhow::anyhow!("row {}: Created {created_text:?} is not a date", row + 2)
            })?,
            resolved: field(resolved).and_then(|t| parse_time(&t)),
        });
    }
    Ok(issues)
}

fn is_done(status: &str) -> bool {
    matches!(
        status.to_ascii_lowercase().as_str(),
        "done" | "closed" | "resolved" | "complete" | "completed"
    )
}

fn is_started(status: &str) -> bool {
    !is_done(status)
        && !matches!(
            status.to_ascii_lowercase().as_str(),
            "to do" | "todo" | "open" | "backlog" | "selected for development"
        )
}

type Windows<'a> = BTreeMap<&'a str, (NaiveDate, DateTime<Utc>, DateTime<Utc>)>;

/// When an issue's item is created: its creation, or the day before its sprint starts if that
/// is earlier (a sprint's items exist by its planning).
fn created_at(issue: &Issue, windows: &Windows<'_>) -> DateTime<Utc> {
    issue
        .sprint
        .as_deref()
        .and_then(|s| windows.get(s))
        .map_or(issue.created, |(_, start, _)| {
            issue.created.min(*start - Duration::days(1))
        })
}

/// The converted lines, each with its time (sorted at the end).
#[derive(Default)]
struct Lines(Vec<(DateTime<Utc>, Value)>);

impl Lines {
    fn push(&mut self, at: DateTime<Utc>, actor: &str, command: &str, fields: Value) {
        let mut line = json!({
            "at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "actor": actor,
            "command": command,
        });
        if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
            line.extend(fields);
        }
        self.0.push((at, line));
    }
}

const PO: &str = "@Jira PO";
const SM: &str = "@Jira SM";
const POD: &str = "@pod";

/// Each sprint's window — in the order their first issue was created, each after the one
/// before: (start date, start, end).
fn windows<'a>(issues: &'a [Issue], settings: &Settings) -> Windows<'a> {
    let mut sprints: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    for issue in issues {
        if let Some(s) = &issue.sprint {
            let first = sprints.entry(s).or_insert(issue.created);
            *first = (*first).min(issue.created);
        }
    }
    let mut order: Vec<(&str, DateTime<Utc>)> = sprints.into_iter().collect();
    order.sort_by_key(|(_, t)| *t);
    let mut windows: Windows<'_> = BTreeMap::new();
    let mut next_free: Option<NaiveDate> = None;
    for (name, first) in order {
        let created = first.date_naive();
        let monday = created - Duration::days(i64::from(created.weekday().num_days_from_monday()));
        let start = next_free.map_or(monday, |free| monday.max(free));
        let end = start + Duration::days(settings.sprint_days - 1);
        next_free = Some(end + Duration::days(1));
        let at =
            |d: NaiveDate, h: u32| Utc.from_utc_datetime(&d.and_hms_opt(h, 0, 0).expect("hour"));
        windows.insert(name, (start, at(start, 9), at(end, 17)));
    }
    windows
}

/// The organisation, the pod, the PO and SM, and every assignee as a member.
fn organisation(lines: &mut Lines, issues: &[Issue], windows: &Windows<'_>, settings: &Settings) {
    // The organisation exists an hour before its first item.
    let first = issues
        .iter()
        .map(|i| created_at(i, windows))
        .min()
        .expect("issues");
    let t0 = first - Duration::hours(1);
    lines.push(t0, PO, "createOrganisation", json!({
        "name": settings.organisation, "founderName": "Jira PO", "sprintLengthDays": settings.sprint_days}));
    lines.push(
        t0,
        PO,
        "createPod",
        json!({"podId": POD, "name": settings.pod, "focus": "ACQUISITION"}),
    );
    lines.push(
        t0,
        PO,
        "addPerson",
        json!({"personId": SM, "name": "Jira SM"}),
    );
    lines.push(
        t0,
        PO,
        "assignPodRole",
        json!({"podId": POD, "personId": PO, "role": "PRODUCT_OWNER"}),
    );
    lines.push(
        t0,
        PO,
        "assignPodRole",
        json!({"podId": POD, "personId": SM, "role": "SCRUM_MASTER"}),
    );
    let mut people: Vec<&str> = issues
        .iter()
        .filter_map(|i| i.assignee.as_deref())
        .collect();
    people.sort_unstable();
    people.dedup();
    for person in &people {
        let id = format!("@{person}");
        lines.push(t0, PO, "addPerson", json!({"personId": id, "name": person}));
        lines.push(
            t0,
            PO,
            "assignPodRole",
            json!({"podId": POD, "personId": id, "role": settings.role}),
        );
    }
}

/// An issue's item: created, owned, committed to its sprint, moved as far as it got.
fn item(lines: &mut Lines, issue: &Issue, windows: &Windows<'_>, settings: &Settings) {
    let item = format!("@{}", issue.key);
    let owner = issue
        .assignee
        .as_ref()
        .map_or_else(|| PO.to_owned(), |a| format!("@{a}"));
    let created = created_at(issue, windows);
    lines.push(
        created,
        PO,
        "createItem",
        json!({"podId": POD, "itemId": item,
        "title": format!("{} {}", issue.key, issue.summary), "outputCategory": "jira",
        "acceptanceCriteria": "As resolved in Jira", "estimate": issue.points}),
    );
    lines.push(
        created,
        PO,
        "declareDeliveryOwner",
        json!({"podId": POD, "itemId": item, "personId": owner}),
    );
    lines.push(
        created,
        &owner,
        "acceptDeliveryOwnership",
        json!({"podId": POD, "itemId": item}),
    );
    let Some((_, start, end)) = issue.sprint.as_deref().and_then(|s| windows.get(s)) else {
        return;
    };
    let sprint = format!("@sprint {}", issue.sprint.as_deref().unwrap_or_default());
    lines.push(
        *start - Duration::hours(1),
        PO,
        "commitItem",
        json!({"podId": POD, "sprintId": sprint, "itemId": item}),
    );
    let began = *start + Duration::hours(1);
    let resolved = issue
        .resolved
        .filter(|r| is_done(&issue.status) && *r > began && *r <= *end && *r <= settings.now);
    let moved = |status: &str| json!({"podId": POD, "itemId": item, "status": status});
    match resolved {
        Some(resolved) => {
            lines.push(began, &owner, "moveItem", moved("IN_PROGRESS"));
            lines.push(resolved, &owner, "moveItem", moved("IN_REVIEW"));
            lines.push(resolved, &owner, "moveItem", moved("DONE"));
        }
        None if is_started(&issue.status) || is_done(&issue.status) => {
            lines.push(began, &owner, "moveItem", moved("IN_PROGRESS"));
        }
        None => {}
    }
}

/// Each sprint planned with a goal (its first issue), started, and closed once it has ended.
fn sprints(lines: &mut Lines, issues: &[Issue], windows: &Windows<'_>, settings: &Settings) {
    for (name, (start_date, start, end)) in windows {
        let sprint = format!("@sprint {name}");
        lines.push(
            *start - Duration::hours(2),
            PO,
            "planSprint",
            json!({"podId": POD, "sprintId": sprint,
            "startDate": start_date.format("%Y-%m-%d").to_string()}),
        );
        if let Some(first) = issues.iter().find(|i| i.sprint.as_deref() == Some(*name)) {
            lines.push(
                *start - Duration::minutes(30),
                PO,
                "setSprintGoal",
                json!({"podId": POD, "sprintId": sprint,
                "goal": format!("Sprint {name}"), "goalItemIds": [format!("@{}", first.key)]}),
            );
        }
        if *start <= settings.now {
            lines.push(
                *start,
                PO,
                "startSprint",
                json!({"podId": POD, "sprintId": sprint}),
            );
        }
        if *end <= settings.now {
            lines.push(
                *end,
                SM,
                "closeSprint",
                json!({"podId": POD, "sprintId": sprint}),
            );
        }
    }
}

/// Converts a Jira CSV export into import lines (the header first).
pub fn convert(csv: &str, settings: &Settings) -> anyhow::Result<Vec<String>> {
    let issues = read(csv)?;
    anyhow::ensure!(!issues.is_empty(), "the export has no issues");
    let windows = windows(&issues, settings);
    let mut lines = Lines::default();
    organisation(&mut lines, &issues, &windows, settings);
    for issue in &issues {
        item(&mut lines, issue, &windows, settings);
    }
    sprints(&mut lines, &issues, &windows, settings);
    let mut lines = lines.0;
    lines.retain(|(at, _)| *at <= settings.now);
    // Stable: lines of one moment keep the order they were made in (create, own, commit).
    lines.sort_by_key(|(at, _)| *at);
    let header = json!({"format": crate::import::FORMAT, "version": crate::import::VERSION,
        "organisation": format!("@{}", settings.organisation)});
    Ok(std::iter::once(header.to_string())
        .chain(lines.into_iter().map(|(_, l)| l.to_string()))
        .collect())
}

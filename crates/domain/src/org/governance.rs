//! What the organisation sets up to keep pods honest (SPEC §9): shared services with their SLA
//! and operators (§9.1), and approval rules for output categories (§9.3).

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::ids::PersonId;

/// What a shared service does.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceFunction {
    /// Legal review.
    Legal,
    /// Brand and compliance review.
    BrandCompliance,
    /// Engineering.
    Dev,
    /// Analytics.
    Analytics,
    /// Anything else, named.
    Other(String),
}

/// How a service takes requests in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IntakeMethod {
    /// A ticket.
    Ticket,
    /// A meeting.
    Meeting,
    /// An asynchronous form.
    AsyncForm,
}

/// When a service takes requests in: some weekdays, between two hours (UTC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestWindow {
    /// The weekdays it is open (Monday = 1 … Sunday = 7).
    pub days: BTreeSet<u8>,
    /// Opening hour, 0–23 (UTC).
    pub opens_at_hour: u8,
    /// Closing hour, 1–24 (UTC), after the opening hour.
    pub closes_at_hour: u8,
}

impl RequestWindow {
    fn open_on(&self, day: Weekday) -> bool {
        self.days.contains(&(day.number_from_monday() as u8))
    }

    /// When a request opened at `opened` is received: then, if the window is open at that
    /// moment, else at the window's next opening (SPEC §9.1).
    pub fn received_at(&self, opened: DateTime<Utc>) -> DateTime<Utc> {
        let hour = |h: u8| NaiveTime::from_hms_opt(u32::from(h.min(23)), 0, 0).unwrap_or_default();
        for ahead in 0..=7 {
            let date = opened.date_naive() + Duration::days(ahead);
            if !self.open_on(date.weekday()) {
                continue;
            }
            let opens = Utc.from_utc_datetime(&date.and_time(hour(self.opens_at_hour)));
            let closes = if self.closes_at_hour >= 24 {
                Utc.from_utc_datetime(&(date + Duration::days(1)).and_time(NaiveTime::MIN))
            } else {
                Utc.from_utc_datetime(&date.and_time(hour(self.closes_at_hour)))
            };
            if opened < opens {
                return opens;
            }
            if opened < closes {
                return opened;
            }
        }
        // A window with no day never opens: the request is received as it is opened.
        opened
    }
}

/// A shared service's service-level agreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sla {
    /// When requests are taken in.
    pub window: RequestWindow,
    /// Hours from receipt to the due time.
    pub turnaround_hours: u32,
    /// Who an escalated request goes to.
    pub escalation_contact: PersonId,
    /// How requests are taken in.
    pub intake: IntakeMethod,
}

impl Sla {
    /// When a request received at `received` is due.
    pub fn due_at(&self, received: DateTime<Utc>) -> DateTime<Utc> {
        received + Duration::hours(i64::from(self.turnaround_hours))
    }
}

/// A shared service as the organisation knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedService {
    /// Name.
    pub name: String,
    /// What it does.
    pub function: ServiceFunction,
    /// Its SLA now (requests keep the one they were received under).
    pub sla: Sla,
    /// Its operators: org-level people, never pod members.
    pub operators: BTreeSet<PersonId>,
}

/// An output category that needs approval before its items are DONE (SPEC §9.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRule {
    /// Who approves.
    pub approver: PersonId,
    /// Hours the approver has before a decision is late.
    pub deadline_hours: u32,
}

/// Longest turnaround or approval deadline, in hours (a year).
pub const MAX_HOURS: i64 = 24 * 366;

#[cfg(test)]
mod tests {
    use super::*;

    fn office_hours() -> RequestWindow {
        RequestWindow {
            days: (1..=5).collect(),
            opens_at_hour: 9,
            closes_at_hour: 17,
        }
    }

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        // January 2026: the 5th is a Monday, the 10th a Saturday.
        Utc.with_ymd_and_hms(2026, 1, day, hour, 0, 0).unwrap()
    }

    #[test]
    fn given_a_request_inside_the_window_then_it_is_received_as_opened() {
        assert_eq!(office_hours().received_at(at(6, 10)), at(6, 10));
    }

    #[test]
    fn given_a_request_before_opening_or_after_closing_then_it_is_received_at_the_next_opening() {
        assert_eq!(office_hours().received_at(at(6, 7)), at(6, 9));
        assert_eq!(office_hours().received_at(at(6, 17)), at(7, 9));
    }

    #[test]
    fn given_a_request_on_saturday_then_it_is_received_on_monday_at_opening() {
        assert_eq!(office_hours().received_at(at(10, 11)), at(12, 9));
        let sla = Sla {
            window: office_hours(),
            turnaround_hours: 48,
            escalation_contact: PersonId(uuid::Uuid::nil()),
            intake: IntakeMethod::Ticket,
        };
        assert_eq!(sla.due_at(at(12, 9)), at(14, 9));
    }

    #[test]
    fn given_a_window_to_midnight_then_a_late_request_is_received_as_opened() {
        let window = RequestWindow {
            days: (1..=7).collect(),
            opens_at_hour: 0,
            closes_at_hour: 24,
        };
        assert_eq!(window.received_at(at(10, 23)), at(10, 23));
    }
}

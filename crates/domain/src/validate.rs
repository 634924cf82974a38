//! Field-level input checks (R13), collected so that one refusal names every bad field.

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::{DomainError, FieldError};

/// Longest name (organisation, pod, person, KPI).
pub const MAX_NAME: usize = 120;
/// Longest item title.
pub const MAX_TITLE: usize = 200;
/// Longest long text (description, acceptance criteria).
pub const MAX_TEXT: usize = 10_000;
/// Longest short text (labels, categories, units, sources, reasons).
pub const MAX_LABEL: usize = 200;
/// Largest estimate, in story points.
pub const MAX_ESTIMATE: i64 = 1_000;
/// Most goal items of one sprint.
pub const MAX_GOAL_ITEMS: usize = 100;
/// First year a date may fall in (sprint dates, KPI observations, `asOf`).
pub const EARLIEST_YEAR: i32 = 1970;
/// Last year a date may fall in.
pub const LATEST_YEAR: i32 = 2100;

/// Whether `date` falls in [`EARLIEST_YEAR`]..=[`LATEST_YEAR`].
pub fn date_in_range(date: NaiveDate) -> bool {
    use chrono::Datelike as _;
    (EARLIEST_YEAR..=LATEST_YEAR).contains(&date.year())
}

/// Collects field errors; `finish` turns them into one [`DomainError::Validation`].
#[derive(Debug, Default)]
pub struct Checks {
    errors: Vec<FieldError>,
}

impl Checks {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error on `field`.
    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Records an error when `ok` is false.
    pub fn check(&mut self, ok: bool, field: &str, message: impl Into<String>) {
        if !ok {
            self.fail(field, message);
        }
    }

    /// A required text: not blank, at most `max` characters.
    pub fn required_text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.fail(field, "must not be empty");
        } else {
            self.max_len(field, value, max);
        }
    }

    /// An optional text: at most `max` characters.
    pub fn optional_text(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(value) = value {
            self.max_len(field, value, max);
        }
    }

    fn max_len(&mut self, field: &str, value: &str, max: usize) {
        let len = value.chars().count();
        if len > max {
            self.fail(
                field,
                format!("must be at most {max} characters (got {len})"),
            );
        }
    }

    /// A story-point estimate: an integer in `0..=MAX_ESTIMATE`.
    pub fn estimate(&mut self, field: &str, value: i64) {
        if value < 0 {
            self.fail(field, "must not be negative");
        } else if value > MAX_ESTIMATE {
            self.fail(field, format!("must be at most {MAX_ESTIMATE}"));
        }
    }

    /// A date in [`EARLIEST_YEAR`]..=[`LATEST_YEAR`].
    pub fn date(&mut self, field: &str, value: NaiveDate) {
        if !date_in_range(value) {
            self.fail(
                field,
                format!("must be between {EARLIEST_YEAR}-01-01 and {LATEST_YEAR}-12-31"),
            );
        }
    }

    /// A time in [`EARLIEST_YEAR`]..=[`LATEST_YEAR`] (UTC).
    pub fn time(&mut self, field: &str, value: DateTime<Utc>) {
        self.date(field, value.date_naive());
    }

    /// A list of at most `max` elements.
    pub fn max_items(&mut self, field: &str, len: usize, max: usize) {
        if len > max {
            self.fail(
                field,
                format!("must have at most {max} elements (got {len})"),
            );
        }
    }

    /// A finite number (no NaN, no infinity).
    pub fn finite(&mut self, field: &str, value: f64) {
        if !value.is_finite() {
            self.fail(field, "must be a finite number");
        }
    }

    /// `Ok(())` if nothing failed.
    pub fn finish(self) -> Result<(), DomainError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Validation(self.errors))
        }
    }
}

/// Trims surrounding whitespace, the canonical form of every stored text.
pub fn clean(value: &str) -> String {
    value.trim().to_owned()
}

/// Trims an optional text; blank becomes `None`.
pub fn clean_opt(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Estimates pass [`Checks::estimate`] first; this narrows them.
pub fn points(value: i64) -> u32 {
    u32::try_from(value.clamp(0, MAX_ESTIMATE)).unwrap_or(0)
}

//! Reference data: the geography (regions, systems, organisations) and the data standard
//! (metrics). These are events in the log like any return.

use serde::{Deserialize, Serialize};

use crate::calendar::{Date, Period};
use crate::value::{Value, ValueKind};

/// One of the seven NHS England regions, by ODS code (`Y56` London ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    pub code: String,
    pub name: String,
}

/// A sustainability and transformation partnership / integrated care system, inside one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct System {
    pub code: String,
    pub name: String,
    pub region: String,
}

/// Whether an organisation provides care (a trust) or commissions it (a CCG).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    Provider,
    Commissioner,
}

/// A trust or CCG, with the dates it existed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub code: String,
    pub name: String,
    pub role: OrgRole,
    pub system: String,
    pub region: String,
    pub opened: Date,
    /// The last day it existed; `None` while open.
    pub closed: Option<Date>,
}

impl Organisation {
    /// Whether the organisation existed on any day of `period`.
    pub fn existed_during(&self, period: Period) -> bool {
        let after_opening = period.last_day() >= self.opened;
        let before_closing = self
            .closed
            .is_none_or(|closed| period.first_day() <= closed);
        after_opening && before_closing
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    Operational,
    Quality,
    Finance,
    Workforce,
}

/// Which kind of organisation submits a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportedBy {
    Provider,
    Commissioner,
    Both,
}

impl ReportedBy {
    pub fn includes(self, role: OrgRole) -> bool {
        matches!(
            (self, role),
            (ReportedBy::Both, _)
                | (ReportedBy::Provider, OrgRole::Provider)
                | (ReportedBy::Commissioner, OrgRole::Commissioner)
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Polarity {
    HigherIsBetter,
    LowerIsBetter,
    /// Neither direction is good in itself (activity counts).
    Neutral,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    AtLeast,
    AtMost,
}

/// A national standard. For ratios `target` is in basis points (95% = 9500, 66.7% = 6670); for
/// the other kinds it is in the value's own unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standard {
    pub comparison: Comparison,
    pub target: i64,
}

impl Standard {
    /// Whether `value` meets the standard, compared exactly (ratios without rounding); `None`
    /// for a ratio with nothing in its denominator.
    pub fn is_met_by(&self, value: &Value) -> Option<bool> {
        let (lhs, rhs) = match *value {
            Value::Ratio {
                numerator,
                denominator,
            } if denominator.0 > 0 => (
                i128::from(numerator.0) * 10_000,
                i128::from(self.target) * i128::from(denominator.0),
            ),
            Value::Ratio { .. } => return None,
            Value::Count(n) => (i128::from(n), i128::from(self.target)),
            Value::Money { pence } => (i128::from(pence), i128::from(self.target)),
            Value::Duration { seconds, .. } => (i128::from(seconds), i128::from(self.target)),
        };
        Some(match self.comparison {
            Comparison::AtLeast => lhs >= rhs,
            Comparison::AtMost => lhs <= rhs,
        })
    }
}

/// The kind of period a collection's returns are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// `2019-01`
    Month,
    /// `2019-W05`
    Week,
    /// `2019-01-31`
    Day,
}

impl PeriodKind {
    pub fn of(period: Period) -> PeriodKind {
        match period {
            Period::Month { .. } => PeriodKind::Month,
            Period::Week { .. } => PeriodKind::Week,
            Period::Day(_) => PeriodKind::Day,
        }
    }

    /// How a period of this kind is written, for messages.
    pub fn example(self) -> &'static str {
        match self {
            PeriodKind::Month => "a month such as 2019-01",
            PeriodKind::Week => "an ISO week such as 2019-W05",
            PeriodKind::Day => "a day such as 2019-01-31",
        }
    }
}

/// A collection of the data standard, defined once: the metrics its returns carry, the kind of
/// period they are for, and when they are due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    /// Lower-case letters, digits, `-` and `_`, such as `ae-monthly`.
    pub id: String,
    pub name: String,
    pub period_kind: PeriodKind,
    /// The metric ids a return of this collection may carry.
    pub metrics: Vec<String>,
    /// Due by the end of this many working days after the period ends.
    pub due_working_days: u32,
}

/// A metric of the data standard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metric {
    pub id: String,
    pub name: String,
    pub domain: Domain,
    pub reported_by: ReportedBy,
    /// `value_kind` in JSON: `kind` there names the event.
    #[serde(rename = "value_kind")]
    pub kind: ValueKind,
    pub polarity: Polarity,
    pub standard: Option<Standard>,
}

//! Oversight methodologies as data: which metrics are scored and how, which organisations are
//! compared with which, how the average score becomes a segment, and the finance adjustment.
//! NHS England's NHS Oversight Framework changes year by year (2025/26 cut segments by quartile;
//! 2026/27 by fixed thresholds), so each year's rules are a value the data-standards role defines,
//! not code, and the same log can be read under any of them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::calendar::Period;
use crate::reference::Comparison;

/// One methodology, as the data-standards role defines it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Methodology {
    /// Lower-case letters, digits and `-`, such as `nof-2025-26`.
    pub id: String,
    pub name: String,
    /// Raised by each redefinition, like the data standard's.
    pub version: u32,
    /// The scored metrics; an organisation is scored on those its peer group is scored on and
    /// it reported.
    pub metrics: Vec<ScoredMetric>,
    pub segmentation: Segmentation,
    pub finance: Option<FinanceAdjustment>,
    /// The quarters it is published for, oldest first.
    pub quarters: Vec<Quarter>,
}

/// Every number in a methodology is checked finite before it is defined
/// ([`Methodology::numbers_are_finite`]), so equality is total over every methodology the log
/// can hold.
impl Eq for Methodology {}

impl Methodology {
    /// Whether every bound, score and threshold is a finite number.
    pub fn numbers_are_finite(&self) -> bool {
        let methods = self.metrics.iter().all(|m| match &m.method {
            ScoringMethod::Bands { bands, otherwise } => {
                otherwise.is_finite()
                    && bands
                        .iter()
                        .all(|b| b.bound.is_finite() && b.score.is_finite())
            }
            ScoringMethod::RankedValue | ScoringMethod::RankedImprovement { .. } => true,
        });
        let thresholds = match &self.segmentation {
            Segmentation::Thresholds { upper } => upper.iter().all(|u| u.is_finite()),
            Segmentation::Quartiles | Segmentation::Triggers => true,
        };
        methods && thresholds
    }

    /// Whether `id` is well formed: 1 to 40 lower-case letters, digits and `-`.
    pub fn is_valid_id(id: &str) -> bool {
        (1..=40).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    }
}

/// A metric of the data standard as a methodology scores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredMetric {
    /// The framework's own id for it, such as `OF0023`, where known.
    pub framework_id: Option<String>,
    /// The data standard's metric id, such as `rtt_18wk`.
    pub metric: String,
    pub method: ScoringMethod,
    /// The trust types scored on it; each is ranked among its own type only.
    pub peer_groups: Vec<TrustType>,
}

/// How figures become scores, from 1.00 (best) to 4.00 (worst).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoringMethod {
    /// The figure itself, ranked best first by the metric's polarity ("absolute % value ranked
    /// high to low"): the best scores 1.00, the worst 4.00, the rest evenly between by rank; tied
    /// figures share the best rank among them.
    RankedValue,
    /// The change since the basis period, `periods_back` periods before the one scored, ranked
    /// the same way with the most improved first.
    RankedImprovement { periods_back: u32 },
    /// Discrete scores: the first band whose bound the figure meets gives the score, else
    /// `otherwise`.
    Bands { bands: Vec<Band>, otherwise: f64 },
}

/// A figure at least (or at most) `bound` scores `score`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub comparison: Comparison,
    pub bound: f64,
    pub score: f64,
}

/// The kinds of organisation compared with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustType {
    Acute,
    NonAcute,
    Ambulance,
    /// Integrated care boards (and the CCGs before them).
    Commissioner,
}

/// How an organisation's average metric score becomes its segment, 1 (best) to 4, within its
/// trust type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segmentation {
    /// The averages cut into four equal groups: the best quarter segment 1, the worst segment 4.
    Quartiles,
    /// Fixed thresholds: an average at most `upper[0]` is segment 1, at most `upper[1]` segment 2,
    /// at most `upper[2]` segment 3, and above it segment 4.
    Thresholds { upper: [f64; 3] },
    /// The trigger points this service has segmented by since 2019 (a standard missed 1 point,
    /// a finance metric off plan 2, ...): each organisation's suggested segment, scoring no
    /// metrics.
    Triggers,
}

/// An organisation's trust type, the peer group it is ranked in, as the data-standards role set
/// it (the shipped defaults are in `deploy/reference/trust_types.csv`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustTypeSet {
    pub org: String,
    pub trust_type: TrustType,
}

impl TrustType {
    pub const ALL: [TrustType; 4] = [
        TrustType::Acute,
        TrustType::NonAcute,
        TrustType::Ambulance,
        TrustType::Commissioner,
    ];

    /// As JSON writes it: `acute`, `non_acute`, `ambulance`, `commissioner`.
    pub fn id(self) -> &'static str {
        match self {
            TrustType::Acute => "acute",
            TrustType::NonAcute => "non_acute",
            TrustType::Ambulance => "ambulance",
            TrustType::Commissioner => "commissioner",
        }
    }

    pub fn parse(text: &str) -> Option<TrustType> {
        TrustType::ALL.into_iter().find(|t| t.id() == text)
    }

    /// As a page names the league table of its kind.
    pub fn plural(self) -> &'static str {
        match self {
            TrustType::Acute => "Acute trusts",
            TrustType::NonAcute => "Non-acute trusts",
            TrustType::Ambulance => "Ambulance trusts",
            TrustType::Commissioner => "Integrated care boards",
        }
    }
}

/// A provider in deficit (its figure for `metric` below zero) is placed no higher than segment
/// `no_better_than`, whatever its scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinanceAdjustment {
    pub metric: String,
    pub no_better_than: u8,
}

/// A quarter of the NHS financial year, which starts in April: 2025/26 Q1 is April to June 2025.
/// Written `2025-26-q1` in subjects, URLs and JSON; `2025/26 Q1` is read too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    /// The calendar year the financial year starts in.
    pub year: i32,
    /// 1 to 4.
    pub quarter: u8,
}

/// Why a quarter could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarterError {
    pub input: String,
}

impl fmt::Display for QuarterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a financial quarter: expected a year and quarter such as 2025-26-q1",
            self.input
        )
    }
}

impl std::error::Error for QuarterError {}

impl Quarter {
    pub fn parse(input: &str) -> Result<Quarter, QuarterError> {
        let err = || QuarterError {
            input: input.chars().take(40).collect(),
        };
        let normal = input.trim().to_ascii_lowercase().replace(['/', ' '], "-");
        let (years, quarter) = normal.split_once("-q").ok_or_else(err)?;
        let (first, second) = years.split_once('-').ok_or_else(err)?;
        let year: i32 = first.parse().map_err(|_| err())?;
        let follows = first.len() == 4
            && second.len() == 2
            && second.parse::<i32>().ok() == Some((year + 1) % 100);
        let quarter: u8 = quarter.parse().map_err(|_| err())?;
        if !follows || !(1..=4).contains(&quarter) || !(1900..9999).contains(&year) {
            return Err(err());
        }
        Ok(Quarter { year, quarter })
    }

    /// The quarter holding `period`'s last day.
    pub fn of(period: Period) -> Quarter {
        let day = period.last_day();
        let (year, month) = (day.year(), i32::from(day.month()));
        let from_april = (month - 4).rem_euclid(12);
        Quarter {
            year: if month >= 4 { year } else { year - 1 },
            quarter: 1 + (from_april / 3) as u8,
        }
    }

    /// Its three months, in order.
    pub fn months(self) -> [Period; 3] {
        let first = 4 + 3 * (i32::from(self.quarter) - 1);
        [0, 1, 2].map(|i| {
            let month = first + i;
            let (year, month) = if month > 12 {
                (self.year + 1, month - 12)
            } else {
                (self.year, month)
            };
            Period::Month {
                year,
                month: month as u8,
            }
        })
    }

    /// Whether `period` lies within it.
    pub fn holds(self, period: Period) -> bool {
        let [first, _, last] = self.months();
        period.first_day() >= first.first_day() && period.last_day() <= last.last_day()
    }

    /// The quarter `n` quarters before this one.
    pub fn back(self, n: u32) -> Quarter {
        let index = i64::from(self.year) * 4 + i64::from(self.quarter) - 1 - i64::from(n);
        Quarter {
            year: index.div_euclid(4) as i32,
            quarter: 1 + index.rem_euclid(4) as u8,
        }
    }

    /// `2025-26-q1`.
    pub fn id(self) -> String {
        format!(
            "{}-{:02}-q{}",
            self.year,
            (self.year + 1) % 100,
            self.quarter
        )
    }
}

impl fmt::Display for Quarter {
    /// `2025/26 Q1`, as NHS England writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{:02} Q{}",
            self.year,
            (self.year + 1) % 100,
            self.quarter
        )
    }
}

impl Serialize for Quarter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.id())
    }
}

impl<'de> Deserialize<'de> for Quarter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Quarter, D::Error> {
        let text = String::deserialize(d)?;
        Quarter::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_follow_the_financial_year() {
        let q1 = Quarter::parse("2025-26-q1").expect("a quarter");
        assert_eq!(
            q1,
            Quarter {
                year: 2025,
                quarter: 1
            }
        );
        assert_eq!(Quarter::parse("2025/26 Q1"), Ok(q1));
        assert_eq!(q1.to_string(), "2025/26 Q1");
        assert_eq!(
            q1.months().map(|p| p.to_string()),
            ["2025-04", "2025-05", "2025-06"]
        );
        let q4 = Quarter::parse("2025-26-q4").expect("a quarter");
        assert_eq!(
            q4.months().map(|p| p.to_string()),
            ["2026-01", "2026-02", "2026-03"]
        );
        assert_eq!(Quarter::of(Period::parse("2026-03").expect("a month")), q4);
        assert_eq!(Quarter::of(Period::parse("2025-04-01").expect("a day")), q1);
        assert_eq!(q1.back(1).id(), "2024-25-q4");
        assert_eq!(q1.back(4).id(), "2024-25-q1");
        assert!(q1.holds(Period::parse("2025-06").expect("a month")));
        assert!(!q1.holds(Period::parse("2025-07").expect("a month")));
        // A week across the quarter's end is in neither.
        assert!(!q1.holds(Period::parse("2025-W27").expect("a week")));
        for bad in ["2025-27-q1", "2025-26-q5", "2025-26", "q1", "25-26-q1", ""] {
            assert!(Quarter::parse(bad).is_err(), "{bad}");
        }
        let json = serde_json::to_string(&q1).expect("json");
        assert_eq!(json, "\"2025-26-q1\"");
    }
}

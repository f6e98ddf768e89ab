//! Exact running totals. Every field is an integer and add and subtract are exact inverses
//! (wrapping, so they cannot panic), so a revision that replaces a contribution leaves precisely
//! what a rebuild without the old one would. Wrapping arithmetic is exact whenever the true total
//! fits, and validation's bounds (`MAX_COUNT` and the others) make every total fit: a million
//! organisations at the bound sum inside an `i64` (`tests/views.rs`,
//! `the_largest_figures_from_every_provider_of_england_add_up_exactly`).

use proto_schema::{Halves, Standard, Summary, Value, ValueKind};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sum {
    /// Contributions counted; zero means the cell is empty.
    pub contributions: i64,
    pub numerator: i64,
    pub denominator: i64,
    pub count: i64,
    pub pence: i64,
    /// Σ seconds × cases, so the roll-up is the case-weighted mean.
    pub case_seconds: i128,
    pub cases: i64,
}

impl Sum {
    pub fn add(&mut self, value: &Value) {
        self.apply(value, 1);
    }

    pub fn subtract(&mut self, value: &Value) {
        self.apply(value, -1);
    }

    fn apply(&mut self, value: &Value, sign: i64) {
        self.contributions = self.contributions.wrapping_add(sign);
        match *value {
            Value::Ratio {
                numerator,
                denominator,
            } => {
                self.numerator = self.numerator.wrapping_add(sign.wrapping_mul(numerator.0));
                self.denominator = self
                    .denominator
                    .wrapping_add(sign.wrapping_mul(denominator.0));
            }
            Value::Count(n) => self.count = self.count.wrapping_add(sign.wrapping_mul(n)),
            Value::Money { pence } => {
                self.pence = self.pence.wrapping_add(sign.wrapping_mul(pence))
            }
            Value::Duration { seconds, cases } => {
                let weighted = i128::from(seconds).wrapping_mul(i128::from(cases));
                self.case_seconds = self
                    .case_seconds
                    .wrapping_add(i128::from(sign).wrapping_mul(weighted));
                self.cases = self.cases.wrapping_add(sign.wrapping_mul(cases));
            }
        }
    }

    /// Adds another total to this one.
    pub fn merge(&mut self, other: &Sum) {
        self.contributions = self.contributions.wrapping_add(other.contributions);
        self.numerator = self.numerator.wrapping_add(other.numerator);
        self.denominator = self.denominator.wrapping_add(other.denominator);
        self.count = self.count.wrapping_add(other.count);
        self.pence = self.pence.wrapping_add(other.pence);
        self.case_seconds = self.case_seconds.wrapping_add(other.case_seconds);
        self.cases = self.cases.wrapping_add(other.cases);
    }

    pub fn is_empty(&self) -> bool {
        self.contributions == 0
    }

    /// The total as a value of `kind`.
    pub fn total(&self, kind: ValueKind) -> Value {
        match kind {
            ValueKind::Ratio => Value::Ratio {
                numerator: Halves(self.numerator),
                denominator: Halves(self.denominator),
            },
            ValueKind::Count => Value::Count(self.count),
            ValueKind::Money => Value::Money { pence: self.pence },
            ValueKind::Duration => Value::Duration {
                seconds: self.mean_seconds(),
                cases: self.cases,
            },
        }
    }

    fn mean_seconds(&self) -> i64 {
        if self.cases == 0 {
            return 0;
        }
        let cases = i128::from(self.cases);
        let rounded = (2 * self.case_seconds + cases).div_euclid(2 * cases);
        i64::try_from(rounded).unwrap_or(i64::MAX)
    }

    /// The headline figure: a ratio as a percentage, a duration as its case-weighted mean.
    pub fn value(&self, kind: ValueKind) -> f64 {
        match kind {
            ValueKind::Ratio if self.denominator != 0 => {
                100.0 * self.numerator as f64 / self.denominator as f64
            }
            ValueKind::Ratio => 0.0,
            ValueKind::Count => self.count as f64,
            ValueKind::Money => self.pence as f64,
            ValueKind::Duration => self.mean_seconds() as f64,
        }
    }

    /// The headline figure, the standard and whether it is met.
    pub fn summary(&self, kind: ValueKind, standard: Option<Standard>) -> Summary {
        Summary {
            total: self.total(kind),
            value: self.value(kind),
            standard,
            met: standard.and_then(|standard| standard.is_met_by(&self.total(kind))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_schema::Comparison;

    fn ratio(n: i64, d: i64) -> Value {
        Value::Ratio {
            numerator: Halves(n),
            denominator: Halves(d),
        }
    }

    #[test]
    fn ratios_roll_up_as_sums_not_means_of_percentages() {
        let mut sum = Sum::default();
        sum.add(&ratio(2 * 90, 2 * 100));
        sum.add(&ratio(2 * 10, 2 * 900));
        let standard = Standard {
            comparison: Comparison::AtLeast,
            target: 9500,
        };
        let summary = sum.summary(ValueKind::Ratio, Some(standard));
        assert_eq!(summary.total, ratio(200, 2000));
        assert!((summary.value - 10.0).abs() < 1e-9, "{}", summary.value);
        assert_eq!(summary.met, Some(false));
    }

    #[test]
    fn the_standard_is_compared_exactly_at_the_boundary() {
        let mut sum = Sum::default();
        sum.add(&ratio(2 * 95, 2 * 100));
        let at_least = |target| Standard {
            comparison: Comparison::AtLeast,
            target,
        };
        assert_eq!(
            sum.summary(ValueKind::Ratio, Some(at_least(9500))).met,
            Some(true)
        );
        assert_eq!(
            sum.summary(ValueKind::Ratio, Some(at_least(9501))).met,
            Some(false)
        );
    }

    #[test]
    fn durations_are_case_weighted() {
        let mut sum = Sum::default();
        sum.add(&Value::Duration {
            seconds: 100,
            cases: 1,
        });
        sum.add(&Value::Duration {
            seconds: 400,
            cases: 3,
        });
        assert_eq!(
            sum.total(ValueKind::Duration),
            Value::Duration {
                seconds: 325,
                cases: 4
            }
        );
    }

    #[test]
    fn subtracting_undoes_adding_exactly() {
        let mut sum = Sum::default();
        sum.add(&ratio(3, 7));
        let before = sum;
        sum.add(&ratio(1, 5));
        sum.subtract(&ratio(1, 5));
        assert_eq!(sum, before);
        sum.subtract(&ratio(3, 7));
        assert!(sum.is_empty());
        assert_eq!(sum, Sum::default());
    }
}

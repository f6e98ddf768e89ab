//! Figures as people read them, written one way wherever they are shown: the terminal table,
//! segment triggers and alert messages.

use crate::reference::{Comparison, Standard};
use crate::value::{Value, ValueKind};

/// An amount of money: the sign before the pound sign, thousands separated, pence shown only
/// when there are some (`-£60,000`, `£1,234.50`, `£0.05`).
pub fn show_pence(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let (pounds, pence) = (pence.unsigned_abs() / 100, pence.unsigned_abs() % 100);
    let pence = if pence == 0 {
        String::new()
    } else {
        format!(".{pence:02}")
    };
    format!("{sign}£{}{pence}", group_thousands(pounds))
}

/// A whole number with commas between its thousands, as NHS pages write numbers: `21,289`.
pub fn group_thousands(n: u64) -> String {
    let mut digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    while digits.len() > 3 {
        let tail = digits.split_off(digits.len() - 3);
        grouped = format!(",{tail}{grouped}");
    }
    digits + &grouped
}

/// A signed whole number grouped the same way: `-1,200`.
fn group_signed(n: i64) -> String {
    let sign = if n < 0 { "-" } else { "" };
    format!("{sign}{}", group_thousands(n.unsigned_abs()))
}

/// A headline figure: a ratio as a percentage with two decimals, money in pounds, a duration in
/// seconds, a count in thousands (`21,289`).
pub fn show_headline(total: &Value, value: f64) -> String {
    match total {
        Value::Ratio { .. } => format!("{value:.2}%"),
        Value::Count(n) => group_signed(*n),
        Value::Money { pence } => show_pence(*pence),
        Value::Duration { .. } if value.is_finite() => {
            format!("{} s", group_signed(value.round() as i64))
        }
        Value::Duration { .. } => format!("{value:.0} s"),
    }
}

/// A standard in the unit of the headline figure: `at least 95%`, `at most 0`.
pub fn show_standard(standard: Standard, kind: ValueKind) -> String {
    let sign = match standard.comparison {
        Comparison::AtLeast => "at least",
        Comparison::AtMost => "at most",
    };
    match kind {
        // Ratio standards are held in basis points.
        ValueKind::Ratio => format!("{sign} {}%", standard.target as f64 / 100.0),
        ValueKind::Money => format!("{sign} {}", show_pence(standard.target)),
        _ => format!("{sign} {}", group_signed(standard.target)),
    }
}

/// Actual minus plan: percentage points for ratios, else the figure's own unit, signed.
pub fn show_variance(kind: ValueKind, variance: f64) -> String {
    match kind {
        ValueKind::Ratio => format!("{variance:+.2}pp"),
        ValueKind::Money => {
            let shown = show_pence(variance.round() as i64);
            if variance >= 0.0 {
                format!("+{shown}")
            } else {
                shown
            }
        }
        ValueKind::Duration => format!("{variance:+.0} s"),
        ValueKind::Count => format!("{variance:+.0}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_as_people_write_it() {
        for (pence, shown) in [
            (-6_000_000, "-£60,000"),
            (-1_000_000, "-£10,000"),
            (5, "£0.05"),
            (0, "£0"),
            (123_450, "£1,234.50"),
            (-120_000_000, "-£1,200,000"),
            (99_900, "£999"),
            (i64::MIN, "-£92,233,720,368,547,758.08"),
        ] {
            assert_eq!(show_pence(pence), shown, "{pence}");
        }
        assert_eq!(show_variance(ValueKind::Money, 250_000.0), "+£2,500");
        assert_eq!(show_variance(ValueKind::Money, -5.0), "-£0.05");
        assert_eq!(show_variance(ValueKind::Ratio, -1.234), "-1.23pp");
    }

    #[test]
    fn counts_and_durations_read_in_thousands() {
        for (count, shown) in [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (21_289, "21,289"),
            (-1_200, "-1,200"),
            (1_234_567, "1,234,567"),
            (i64::MIN, "-9,223,372,036,854,775,808"),
        ] {
            assert_eq!(show_headline(&Value::Count(count), count as f64), shown);
        }
        let duration = Value::Duration {
            seconds: 0,
            cases: 0,
        };
        assert_eq!(show_headline(&duration, 4_321.4), "4,321 s");
    }

    #[test]
    fn standards_read_in_the_headline_unit() {
        let at_least = |target| Standard {
            comparison: Comparison::AtLeast,
            target,
        };
        assert_eq!(
            show_standard(at_least(9500), ValueKind::Ratio),
            "at least 95%"
        );
        assert_eq!(
            show_standard(at_least(6670), ValueKind::Ratio),
            "at least 66.7%"
        );
        let none = Standard {
            comparison: Comparison::AtMost,
            target: 0,
        };
        assert_eq!(show_standard(none, ValueKind::Count), "at most 0");
    }
}

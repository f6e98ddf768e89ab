//! Dates and reporting periods: month (`2019-01`), ISO week (`2019-W05`) and day (`2019-01-31`).
//!
//! Civil-date arithmetic uses Howard Hinnant's days-from-civil algorithms, so a period's first and
//! last day, leap years and 53-week ISO years are exact without a date library.

use std::fmt;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

/// Why a period or date string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodError {
    pub input: String,
    pub reason: &'static str,
}

impl fmt::Display for PeriodError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a period: {}", self.input, self.reason)
    }
}

impl std::error::Error for PeriodError {}

/// Years outside this range are typing mistakes, not NHS returns.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

impl Date {
    /// A date, if it exists in the calendar.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        let valid = YEARS.contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        valid.then_some(Date { year, month, day })
    }

    pub fn year(self) -> i32 {
        self.year
    }
    pub fn month(self) -> u8 {
        self.month
    }
    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01 (clamped to the supported years).
    pub fn from_days_since_epoch(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)).clamp(1900, 9999) as i32;
        Date { year, month, day }
    }

    /// ISO weekday, Monday = 1 .. Sunday = 7.
    pub fn iso_weekday(self) -> u8 {
        ((self.days_since_epoch() + 3).rem_euclid(7) + 1) as u8
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(input: &str) -> Result<Date, PeriodError> {
        let err = |reason| PeriodError {
            input: input.to_owned(),
            reason,
        };
        let b = input.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err("expected a date as YYYY-MM-DD"));
        }
        let year = digits(&input[0..4]).ok_or_else(|| err("year is not a number"))?;
        let month = digits(&input[5..7]).ok_or_else(|| err("month is not a number"))?;
        let day = digits(&input[8..10]).ok_or_else(|| err("day is not a number"))?;
        Date::new(year as i32, month as u8, day as u8).ok_or_else(|| err("no such date"))
    }
}

/// Parses a field of ASCII digits only (no sign, no spaces).
fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_i32(self.days_since_epoch() as i32)
        }
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            Date::parse(&text).map_err(de::Error::custom)
        } else {
            let days = i32::deserialize(d)?;
            let date = Date::from_days_since_epoch(i64::from(days));
            if date.days_since_epoch() != i64::from(days) {
                return Err(de::Error::custom("date outside the years 1900 to 9999"));
            }
            Ok(date)
        }
    }
}

/// The period a return reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub enum Period {
    /// A calendar month, `2019-01`.
    Month { year: i32, month: u8 },
    /// An ISO 8601 week, `2019-W05`.
    Week { year: i32, week: u8 },
    /// A single day (daily sitreps), `2019-01-31`.
    Day(Date),
}

/// Monday of ISO week 1 of `year`: the week holding 4 January.
fn iso_week_one_monday(year: i32) -> i64 {
    let jan4 = Date {
        year,
        month: 1,
        day: 4,
    };
    jan4.days_since_epoch() - i64::from(jan4.iso_weekday() - 1)
}

fn iso_weeks_in_year(year: i32) -> u8 {
    ((iso_week_one_monday(year + 1) - iso_week_one_monday(year)) / 7) as u8
}

impl Period {
    /// Parses `YYYY-MM`, `YYYY-Www` or `YYYY-MM-DD`.
    pub fn parse(input: &str) -> Result<Period, PeriodError> {
        let err = |reason| PeriodError {
            input: input.to_owned(),
            reason,
        };
        let b = input.as_bytes();
        if b.len() < 7 || b[4] != b'-' {
            return Err(err(
                "expected a month (2019-01), an ISO week (2019-W05) or a day (2019-01-31)",
            ));
        }
        let year = digits(&input[0..4]).ok_or_else(|| err("year is not a number"))? as i32;
        if !YEARS.contains(&year) {
            return Err(err("year outside 1900 to 9999"));
        }
        match b.len() {
            7 => {
                let month = digits(&input[5..7]).ok_or_else(|| err("month is not a number"))?;
                if !(1..=12).contains(&month) {
                    return Err(err("month must be 01 to 12"));
                }
                Ok(Period::Month {
                    year,
                    month: month as u8,
                })
            }
            8 if b[5] == b'W' => {
                let week = digits(&input[6..8]).ok_or_else(|| err("week is not a number"))?;
                if week < 1 || week > u32::from(iso_weeks_in_year(year)) {
                    return Err(err("no such ISO week in that year"));
                }
                Ok(Period::Week {
                    year,
                    week: week as u8,
                })
            }
            10 => Date::parse(input).map(Period::Day),
            _ => Err(err(
                "expected a month (2019-01), an ISO week (2019-W05) or a day (2019-01-31)",
            )),
        }
    }

    /// The first day the period covers.
    pub fn first_day(self) -> Date {
        match self {
            Period::Month { year, month } => Date {
                year,
                month,
                day: 1,
            },
            Period::Week { year, week } => {
                Date::from_days_since_epoch(iso_week_one_monday(year) + 7 * (i64::from(week) - 1))
            }
            Period::Day(date) => date,
        }
    }

    /// Orders periods by when they end (then by when they start), so the latest sorts last
    /// whether months, weeks or days are mixed.
    pub fn end_order(self) -> (Date, Date) {
        (self.last_day(), self.first_day())
    }

    /// The last day the period covers.
    pub fn last_day(self) -> Date {
        match self {
            Period::Month { year, month } => Date {
                year,
                month,
                day: days_in_month(year, month),
            },
            Period::Week { .. } => {
                Date::from_days_since_epoch(self.first_day().days_since_epoch() + 6)
            }
            Period::Day(date) => date,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            Period::Week { year, week } => write!(f, "{year:04}-W{week:02}"),
            Period::Day(date) => date.fmt(f),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            Period::serialize(self, s)
        }
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Period, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            Period::parse(&text).map_err(de::Error::custom)
        } else {
            // Re-parse what the binary form claims, so a corrupt log cannot hold `2019-13`.
            let period = Period::deserialize(d)?;
            Period::parse(&period.to_string()).map_err(de::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints_each_form() {
        for text in [
            "2019-01",
            "2019-W05",
            "2019-01-31",
            "2020-02-29",
            "2020-W53",
        ] {
            assert_eq!(
                Period::parse(text).map(|p| p.to_string()),
                Ok(text.to_owned())
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_period() {
        for text in [
            "2019-13",
            "2019-00",
            "2019-W54",
            "2019-W53",
            "2019-02-29",
            "19-01",
            "2019-1",
            "2019/01",
            "2019-01-32",
            "+019-01",
            "2019-W0a",
            "",
            "1899-12",
        ] {
            assert!(Period::parse(text).is_err(), "{text} should be refused");
        }
    }

    #[test]
    fn knows_the_span_of_each_period() {
        let week = Period::parse("2019-W01").expect("valid");
        assert_eq!(week.first_day().to_string(), "2018-12-31");
        assert_eq!(week.last_day().to_string(), "2019-01-06");
        let feb = Period::parse("2020-02").expect("valid");
        assert_eq!(feb.last_day().to_string(), "2020-02-29");
        assert_eq!(Date::parse("2026-11-22").map(Date::iso_weekday), Ok(7));
    }

    proptest! {
        #[test]
        fn days_round_trip(days in -25_567i64..2_932_896) {
            let date = Date::from_days_since_epoch(days);
            prop_assert_eq!(date.days_since_epoch(), days);
            prop_assert_eq!(Date::parse(&date.to_string()), Ok(date));
        }
    }
}

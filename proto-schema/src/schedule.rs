//! When returns are due: each collection's schedule, in working days after the end of the period,
//! and the working-day calendar of England (weekdays that are not bank holidays).

use crate::calendar::{Date, Period};

/// A collection's deadline: due by the end of this many working days after the period ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub collection: &'static str,
    pub due_working_days: u32,
}

/// The schedules of data standard v1. A collection not listed here is due by the rule for its
/// kind of period: [`MONTHLY_DEFAULT`], [`WEEKLY_DEFAULT`] or [`DAILY_DEFAULT`] working days.
pub const SCHEDULES: [Schedule; 3] = [
    Schedule {
        collection: "ae-monthly",
        due_working_days: 10,
    },
    Schedule {
        collection: "rtt-monthly",
        due_working_days: 17,
    },
    Schedule {
        collection: "cancer-monthly",
        due_working_days: 25,
    },
];

pub const MONTHLY_DEFAULT: u32 = 15;
pub const WEEKLY_DEFAULT: u32 = 5;
/// Daily sitreps: by the next working day.
pub const DAILY_DEFAULT: u32 = 1;

/// The last day a return for `period` of `collection` is on time; from the day after it is
/// overdue. For a collection the log defines, see [`due_date_after`] with its own schedule.
pub fn due_date(collection: &str, period: Period) -> Date {
    let days = SCHEDULES
        .iter()
        .find(|s| s.collection == collection)
        .map_or(default_due_working_days(period), |s| s.due_working_days);
    due_date_after(days, period)
}

/// The working days a return is given when its collection names no schedule, by its kind of
/// period.
pub fn default_due_working_days(period: Period) -> u32 {
    match period {
        Period::Month { .. } => MONTHLY_DEFAULT,
        Period::Week { .. } => WEEKLY_DEFAULT,
        Period::Day(_) => DAILY_DEFAULT,
    }
}

/// The last day a return for `period` is on time when it is due `due_working_days` after the
/// period ends.
pub fn due_date_after(due_working_days: u32, period: Period) -> Date {
    add_working_days(period.last_day(), due_working_days)
}

/// The `n`th working day after `date`.
pub fn add_working_days(date: Date, n: u32) -> Date {
    let mut day = date.days_since_epoch();
    let mut left = n;
    while left > 0 {
        day += 1;
        if is_working_day(Date::from_days_since_epoch(day)) {
            left -= 1;
        }
    }
    Date::from_days_since_epoch(day)
}

/// Monday to Friday, except bank holidays in England.
pub fn is_working_day(date: Date) -> bool {
    date.iso_weekday() <= 5 && !bank_holidays(date.year()).contains(&date)
}

/// Bank holidays in England and Wales in `year`: the eight regular ones with their substitute
/// days, the moves of 1995, 2002, 2012, 2020 and 2022, and the one-off holidays since 1999.
pub fn bank_holidays(year: i32) -> Vec<Date> {
    let date = |m: u8, d: u8| Date::new(year, m, d).unwrap_or(Date::from_days_since_epoch(0));
    let shift = |d: Date, days: i64| Date::from_days_since_epoch(d.days_since_epoch() + days);
    // The first weekday on or after `d`.
    let weekday_from = |d: Date| match d.iso_weekday() {
        6 => shift(d, 2),
        7 => shift(d, 1),
        _ => d,
    };
    let first_monday = |m: u8| {
        let first = date(m, 1);
        shift(first, i64::from((8 - first.iso_weekday()) % 7))
    };
    let last_monday = |m: u8, days: u8| {
        let last = date(m, days);
        shift(last, -i64::from(last.iso_weekday() - 1))
    };
    let easter = easter_sunday(year);
    let mut days = vec![
        weekday_from(date(1, 1)),
        shift(easter, -2),
        shift(easter, 1),
        match year {
            1995 => date(5, 8),
            2020 => date(5, 8),
            _ => first_monday(5),
        },
        match year {
            2002 => date(6, 4),
            2012 => date(6, 4),
            2022 => date(6, 2),
            _ => last_monday(5, 31),
        },
        last_monday(8, 31),
    ];
    let christmas = date(12, 25);
    match christmas.iso_weekday() {
        // Saturday: Monday and Tuesday; Sunday: Boxing Day Monday, Christmas on Tuesday;
        // Friday: Boxing Day on Monday.
        6 => days.extend([shift(christmas, 2), shift(christmas, 3)]),
        7 => days.extend([shift(christmas, 1), shift(christmas, 2)]),
        5 => days.extend([christmas, shift(christmas, 3)]),
        _ => days.extend([christmas, shift(christmas, 1)]),
    }
    days.extend(match year {
        1999 => vec![date(12, 31)],
        2002 => vec![date(6, 3)],
        2011 => vec![date(4, 29)],
        2012 => vec![date(6, 5)],
        2022 => vec![date(6, 3), date(9, 19)],
        2023 => vec![date(5, 8)],
        _ => vec![],
    });
    days
}

/// Easter Sunday in the Gregorian calendar (the anonymous algorithm, Meeus/Jones/Butcher).
fn easter_sunday(year: i32) -> Date {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Date::new(year, month as u8, day as u8).unwrap_or(Date::from_days_since_epoch(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Date {
        Date::parse(text).expect("date")
    }

    #[test]
    fn bank_holidays_match_the_published_lists() {
        // gov.uk/bank-holidays, England and Wales.
        let published: [(i32, [&str; 8]); 3] = [
            (
                2019,
                [
                    "2019-01-01",
                    "2019-04-19",
                    "2019-04-22",
                    "2019-05-06",
                    "2019-05-27",
                    "2019-08-26",
                    "2019-12-25",
                    "2019-12-26",
                ],
            ),
            (
                2020,
                [
                    "2020-01-01",
                    "2020-04-10",
                    "2020-04-13",
                    "2020-05-08",
                    "2020-05-25",
                    "2020-08-31",
                    "2020-12-25",
                    "2020-12-28",
                ],
            ),
            (
                2021,
                [
                    "2021-01-01",
                    "2021-04-02",
                    "2021-04-05",
                    "2021-05-03",
                    "2021-05-31",
                    "2021-08-30",
                    "2021-12-27",
                    "2021-12-28",
                ],
            ),
        ];
        for (year, days) in published {
            let mut expected: Vec<Date> = days.iter().map(|t| d(t)).collect();
            let mut computed = bank_holidays(year);
            expected.sort();
            computed.sort();
            assert_eq!(computed, expected, "{year}");
        }
        let twenty_two = bank_holidays(2022);
        for day in [
            "2022-01-03",
            "2022-06-02",
            "2022-06-03",
            "2022-09-19",
            "2022-12-26",
            "2022-12-27",
        ] {
            assert!(twenty_two.contains(&d(day)), "{day}");
        }
        assert!(bank_holidays(2023).contains(&d("2023-05-08")));
        assert_eq!(easter_sunday(2025), d("2025-04-20"));
        assert_eq!(easter_sunday(2016), d("2016-03-27"));
    }

    #[test]
    fn due_dates_count_working_days_after_the_period() {
        // March 2019 ends on a Sunday; ten working days later is Friday 12 April.
        let march = Period::parse("2019-03").expect("period");
        assert_eq!(due_date("ae-monthly", march), d("2019-04-12"));
        // April 2019 ends on Tuesday 30th; the early May bank holiday falls in the next fifteen
        // working days of an unlisted monthly collection.
        let april = Period::parse("2019-04").expect("period");
        assert_eq!(due_date("community-monthly", april), d("2019-05-22"));
        // A daily sitrep for Christmas Eve 2020 (Thursday) is due on Tuesday 29th.
        let christmas_eve = Period::parse("2020-12-24").expect("period");
        assert_eq!(due_date("sitrep-daily", christmas_eve), d("2020-12-29"));
    }
}

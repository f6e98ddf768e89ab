//! Collection windows: a period's returns are collected from the day after the period ends to its
//! deadline; the figures as they stood at the deadline are the published ones, and how many of
//! the organisations expected are in tells a consumer whether a figure is final.

use serde::{Deserialize, Serialize};

use crate::calendar::{Date, Period};

/// Where a scope's collection window for one period stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowState {
    /// The window is open and some organisations expected have not returned: figures will move.
    Provisional,
    /// The window is open and every organisation expected has returned: figures move only by
    /// revision.
    Complete,
    /// The deadline has passed: the published figure is fixed; a return after it is a refresh.
    Closed,
}

impl WindowState {
    /// The state as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowState::Provisional => "provisional",
            WindowState::Complete => "complete",
            WindowState::Closed => "closed",
        }
    }

    /// From the counts and whether the log's date has passed the deadline.
    pub fn of(expected: u32, received: u32, past_deadline: bool) -> WindowState {
        if past_deadline {
            WindowState::Closed
        } else if received >= expected && expected > 0 {
            WindowState::Complete
        } else {
            WindowState::Provisional
        }
    }
}

/// One scope's completeness for one collection and period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completeness {
    /// The organisations expected to return the period: those on the collection from an earlier
    /// or the same period, and not closed before it.
    pub expected: u32,
    /// The organisations whose return is in.
    pub received: u32,
    /// Of those, the organisations whose counted return arrived after the deadline: a refresh
    /// of the published figure (or, for a period first returned after its deadline, a backfill).
    pub after_close: u32,
    pub state: WindowState,
    /// The first day returns are collected: the day after the period ends.
    pub opens: Date,
    /// The deadline: the last day a return is on time.
    pub closes: Date,
    /// The log entry after which the window closed: the view as of this seq holds exactly the
    /// published figures. Absent while the window is open, and for a period first returned after
    /// its deadline (nothing was in by then to publish).
    pub published_seq: Option<u64>,
}

impl Completeness {
    /// The first day of `period`'s window: the day after it ends.
    pub fn opens(period: Period) -> Date {
        Date::from_days_since_epoch(period.last_day().days_since_epoch() + 1)
    }
}

/// A scope's completeness for one collection and period, as a delta carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletenessChange {
    pub collection: String,
    pub period: Period,
    /// Absent when no organisation is expected or in here any more (one moved away).
    pub completeness: Option<Completeness>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_needs_every_expected_return_and_closed_wins() {
        assert_eq!(WindowState::of(3, 2, false), WindowState::Provisional);
        assert_eq!(WindowState::of(3, 3, false), WindowState::Complete);
        assert_eq!(WindowState::of(0, 0, false), WindowState::Provisional);
        assert_eq!(WindowState::of(3, 2, true), WindowState::Closed);
        assert_eq!(WindowState::of(3, 3, true), WindowState::Closed);
    }

    #[test]
    fn a_window_opens_the_day_after_its_period() {
        assert_eq!(
            Completeness::opens(Period::parse("2025-02").expect("period")),
            Date::parse("2025-03-01").expect("date")
        );
    }

    #[test]
    fn states_are_named_as_serde_names_them() {
        for state in [
            WindowState::Provisional,
            WindowState::Complete,
            WindowState::Closed,
        ] {
            assert_eq!(
                serde_json::to_string(&state).expect("encodes"),
                format!("\"{}\"", state.as_str())
            );
        }
    }
}

//! A scope's running totals by metric and then by period. Drawing a chart reads one metric's
//! periods in order, for every scope a batch of entries touched: held this way, a series is a
//! slice already in order, where a map keyed by (metric, period) had to be walked whole and
//! sorted for each chart.

use proto_schema::{Period, Value, ValueKind};
use serde::{Deserialize, Serialize};

use crate::names::Id;
use crate::sum::Sum;

/// A scope's running total for one metric and period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CellState {
    pub(crate) kind: ValueKind,
    pub(crate) sum: Sum,
}

/// One metric's cells in period order, held column by column: each period's key (see
/// [`period_key`]) to find it by, the periods, the headline values (NaN for an empty cell) and
/// the totals. A chart reads only the periods and values: two short runs of memory rather than
/// a stride through every total.
#[derive(Debug, Clone, Default)]
struct Series {
    keys: Vec<u64>,
    periods: Vec<Period>,
    values: Vec<f64>,
    cells: Vec<CellState>,
}

/// Saved as its periods and totals only: the keys and values follow from them.
impl Serialize for Series {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (&self.periods, &self.cells).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Series {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Series, D::Error> {
        let (periods, cells): (Vec<Period>, Vec<CellState>) =
            Deserialize::deserialize(deserializer)?;
        let keys: Vec<u64> = periods.iter().copied().map(period_key).collect();
        if periods.len() != cells.len() || !keys.is_sorted_by(|a, b| a < b) {
            return Err(serde::de::Error::custom(
                "a series' periods must be in order, one per total",
            ));
        }
        let values = cells.iter().map(headline_value).collect();
        Ok(Series {
            keys,
            periods,
            values,
            cells,
        })
    }
}

/// A cell's headline value as a series holds it: NaN when the cell is empty.
fn headline_value(cell: &CellState) -> f64 {
    if cell.sum.is_empty() {
        f64::NAN
    } else {
        cell.sum.value(cell.kind)
    }
}

/// The values follow from the totals (and are NaN where empty, which equals nothing).
impl PartialEq for Series {
    fn eq(&self, other: &Series) -> bool {
        (&self.keys, &self.periods, &self.cells) == (&other.keys, &other.periods, &other.cells)
    }
}

impl Eq for Series {}

/// A metric's cells in period order, as [`Cells::by_metric`] lends them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeriesCells<'a> {
    pub(crate) periods: &'a [Period],
    /// Each cell's headline value ([`Sum::value`]); NaN where the cell is empty.
    pub(crate) values: &'a [f64],
    pub(crate) cells: &'a [CellState],
}

impl<'a> SeriesCells<'a> {
    /// The cells that are not empty, in period order, each with its headline value.
    pub(crate) fn points(&self) -> impl Iterator<Item = (Period, f64, &'a CellState)> + use<'a> {
        (self.periods.iter().zip(self.values))
            .zip(self.cells)
            .filter(|((_, value), _)| !value.is_nan())
            .map(|((period, value), cell)| (*period, *value, cell))
    }
}

impl Series {
    /// Where `key` is, or where it would go.
    fn position(&self, key: u64) -> Result<usize, usize> {
        // Keys count periods, so in a series without gaps the nth period is at first key + n.
        if let Some(guess) = self.keys.first().and_then(|first| key.checked_sub(*first)) {
            if self.keys.get(guess as usize) == Some(&key) {
                return Ok(guess as usize);
            }
        }
        self.keys.binary_search(&key)
    }

    /// The position of `period`'s cell, made empty with `kind` if there is none.
    fn position_or_insert(&mut self, period: Period, kind: ValueKind) -> usize {
        let key = period_key(period);
        let empty = CellState {
            kind,
            sum: Sum::default(),
        };
        // Returns mostly arrive for the latest period: look there before searching.
        let at = if self.keys.last().is_none_or(|last| *last < key) {
            self.keys.len()
        } else {
            match self.position(key) {
                Ok(at) => {
                    // An emptied cell takes the kind of what fills it again, as a new one would:
                    // whether it lingered empty or was never made does not show.
                    let cell = &mut self.cells[at];
                    if cell.sum.is_empty() {
                        cell.kind = kind;
                    }
                    return at;
                }
                Err(at) => at,
            }
        };
        self.keys.insert(at, key);
        self.periods.insert(at, period);
        self.values.insert(at, f64::NAN);
        self.cells.insert(at, empty);
        at
    }

    /// Changes the cell at `at` and keeps its headline value in step.
    fn change(&mut self, at: usize, change: impl FnOnce(&mut Sum)) {
        let cell = &mut self.cells[at];
        change(&mut cell.sum);
        self.values[at] = headline_value(cell);
    }
}

/// A number per period that orders periods as `Period`'s own ordering does (months, then weeks,
/// then days; each by date) and, within each kind, counts them: consecutive months have
/// consecutive keys.
pub(crate) fn period_key(period: Period) -> u64 {
    // Keeps every year and day of any `i32` year positive.
    const BASE: i64 = 1 << 40;
    match period {
        Period::Month { year, month } => (BASE + i64::from(year) * 12 + i64::from(month)) as u64,
        Period::Week { year, week } => {
            1 << 62 | (BASE + i64::from(year) * 64 + i64::from(week)) as u64
        }
        Period::Day(date) => 2 << 62 | (BASE + date.days_since_epoch()) as u64,
    }
}

/// Running totals by (metric, period). A total that empties stays, as empty, and is skipped
/// wherever totals are read: removing and re-adding on every revision would shift the series.
/// Two are equal when they hold the same totals that are not empty, whatever order their metrics
/// were first seen in: a fold that counts a run of returns at once leaves no emptied cells.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Cells {
    /// Each metric in the order first seen, with its periods. A scope has tens of metrics at
    /// most, so a list is quicker to search than a map is to hash.
    metrics: Vec<(Id, Series)>,
}

impl PartialEq for Cells {
    fn eq(&self, other: &Cells) -> bool {
        let filled = |cells: &Cells| cells.iter().filter(|(_, c)| !c.sum.is_empty()).count();
        filled(self) == filled(other)
            && self
                .iter()
                .filter(|(_, cell)| !cell.sum.is_empty())
                .all(|((metric, period), cell)| other.get(metric, period) == Some(cell))
    }
}

impl Eq for Cells {}

impl Cells {
    pub(crate) fn get(&self, metric: Id, period: Period) -> Option<&CellState> {
        let (_, series) = self.metrics.iter().find(|(m, _)| *m == metric)?;
        let at = series.position(period_key(period)).ok()?;
        Some(&series.cells[at])
    }

    /// The series of `metric`, made empty if there is none.
    fn series_mut(&mut self, metric: Id) -> &mut Series {
        let at = match self.metrics.iter().position(|(m, _)| *m == metric) {
            Some(at) => at,
            None => {
                self.metrics.push((metric, Series::default()));
                self.metrics.len() - 1
            }
        };
        &mut self.metrics[at].1
    }

    /// Adds or takes back one value.
    pub(crate) fn update(
        &mut self,
        (metric, period): (Id, Period),
        kind: ValueKind,
        value: &Value,
        add: bool,
    ) {
        let series = self.series_mut(metric);
        let at = series.position_or_insert(period, kind);
        series.change(at, |sum| {
            if add {
                sum.add(value);
            } else {
                sum.subtract(value);
            }
        });
    }

    /// Adds a total to the cell of (metric, period), made with `kind` if there is none.
    pub(crate) fn merge(&mut self, (metric, period): (Id, Period), kind: ValueKind, total: &Sum) {
        let series = self.series_mut(metric);
        let at = series.position_or_insert(period, kind);
        series.change(at, |sum| sum.merge(total));
    }

    /// Every metric with its cells in period order.
    pub(crate) fn by_metric(&self) -> impl Iterator<Item = (Id, SeriesCells<'_>)> {
        self.metrics.iter().map(|(metric, series)| {
            let cells = SeriesCells {
                periods: &series.periods,
                values: &series.values,
                cells: &series.cells,
            };
            (*metric, cells)
        })
    }

    /// Every cell, empty ones included: by metric, each metric's in period order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = ((Id, Period), &CellState)> {
        self.by_metric().flat_map(|(metric, series)| {
            series
                .periods
                .iter()
                .zip(series.cells)
                .map(move |(period, cell)| ((metric, *period), cell))
        })
    }

    /// Drops the cells that are empty.
    pub(crate) fn remove_empty(&mut self) {
        for (_, series) in &mut self.metrics {
            let Series {
                keys,
                periods,
                values,
                cells,
            } = series;
            let kept: Vec<bool> = cells.iter().map(|cell| !cell.sum.is_empty()).collect();
            for column in [keys as &mut dyn Retain, periods, values, cells] {
                column.retain_where(&kept);
            }
        }
        self.metrics.retain(|(_, series)| !series.cells.is_empty());
    }
}

/// Keeping the same rows of each column of a [`Series`].
trait Retain {
    fn retain_where(&mut self, kept: &[bool]);
}

impl<T> Retain for Vec<T> {
    fn retain_where(&mut self, kept: &[bool]) {
        let mut row = kept.iter();
        self.retain(|_| row.next().copied().unwrap_or(false));
    }
}

/// Any period, of each kind, for property tests here and in the projection.
#[cfg(test)]
pub(crate) fn any_period() -> impl proptest::strategy::Strategy<Value = Period> {
    use proptest::strategy::Strategy;
    (0u8..3, 1900i32..2100, 1u32..13, 1u32..29).prop_map(|(kind, year, a, b)| {
        let text = match kind {
            0 => format!("{year:04}-{a:02}"),
            1 => format!("{year:04}-W{:02}", a * 4),
            _ => format!("{year:04}-{a:02}-{b:02}"),
        };
        Period::parse(&text).unwrap_or(Period::Month { year, month: 1 })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn period() -> impl Strategy<Value = Period> {
        prop_oneof![
            (2015..2025i32, 1..=12u8).prop_map(|(year, month)| Period::Month { year, month }),
            (2015..2025i32, 1..=52u8).prop_map(|(year, week)| Period::Week { year, week }),
        ]
    }

    proptest! {
        #[test]
        fn period_keys_sort_as_periods_do(a in any_period(), b in any_period()) {
            prop_assert_eq!(period_key(a).cmp(&period_key(b)), a.cmp(&b));
        }

        /// Whatever order cells are added in, they read back as a map keyed by (metric, period)
        /// would hold them, each metric's series in period order.
        #[test]
        fn cells_hold_what_a_map_would(
            additions in prop::collection::vec((0..4u32, period(), -50..50i64), 0..200),
        ) {
            let mut cells = Cells::default();
            let mut expected: BTreeMap<(Id, Period), i64> = BTreeMap::new();
            for (metric, period, count) in &additions {
                cells.update((*metric, *period), ValueKind::Count, &Value::Count(*count), true);
                *expected.entry((*metric, *period)).or_default() += count;
            }
            let total = |cell: &CellState| cell.sum.total(cell.kind);
            for (&(metric, period), count) in &expected {
                let cell = cells.get(metric, period);
                prop_assert_eq!(cell.map(total), Some(Value::Count(*count)));
            }
            prop_assert_eq!(cells.iter().count(), expected.len());
            for (metric, series) in cells.by_metric() {
                let wanted: Vec<Period> = expected
                    .keys()
                    .filter(|(m, _)| *m == metric)
                    .map(|(_, p)| *p)
                    .collect();
                prop_assert_eq!(series.periods, wanted.as_slice());
                for (value, cell) in series.values.iter().zip(series.cells) {
                    let expected = if cell.sum.is_empty() { f64::NAN } else { cell.sum.value(cell.kind) };
                    prop_assert!(value.total_cmp(&expected).is_eq());
                }
            }
            prop_assert_eq!(cells.get(9, Period::Month { year: 2020, month: 1 }), None);
            // Saved without its keys and values, a series comes back with them.
            let bytes = postcard::to_stdvec(&cells).expect("cells encode");
            let restored: Cells = postcard::from_bytes(&bytes).expect("cells decode");
            prop_assert_eq!(&restored, &cells);
            for ((_, held), (_, back)) in cells.by_metric().zip(restored.by_metric()) {
                prop_assert_eq!(held.values.len(), back.values.len());
                for (a, b) in held.values.iter().zip(back.values) {
                    prop_assert!(a.total_cmp(b).is_eq());
                }
            }
        }
    }
}

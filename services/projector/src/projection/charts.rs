//! What a view's and a delta's SPC charts are drawn from: each metric's months and figures.

use super::*;

impl Projection {
    /// One metric's chart from its figures by period: months only, oldest first.
    pub(super) fn chart(
        &self,
        metric: Id,
        figures: impl Iterator<Item = (Period, f64)>,
    ) -> Option<Spc> {
        let (months, values): (Vec<Period>, Vec<f64>) = figures
            .filter(|(period, _)| matches!(period, Period::Month { .. }))
            .unzip();
        drawing::draw(&self.chart_input(metric, Months::Listed(months), values)?)
    }

    /// What one metric's chart is drawn from: its months and figures, oldest first, and how the
    /// metric reads. `None` without months or for a metric not defined.
    pub(super) fn chart_input(
        &self,
        metric: Id,
        months: Months,
        values: Vec<f64>,
    ) -> Option<ChartInput> {
        if values.is_empty() {
            return None;
        }
        let (kind, standard, polarity) = self.metrics.get(&metric).copied()?;
        let direction = match polarity {
            Polarity::HigherIsBetter => Direction::Increase,
            Polarity::LowerIsBetter => Direction::Decrease,
            Polarity::Neutral => Direction::Neutral,
        };
        // The standard in the unit of the headline figure: ratios are percentages there.
        let target = standard.map(|s| match kind {
            ValueKind::Ratio => s.target as f64 / 100.0,
            _ => s.target as f64,
        });
        Some(ChartInput {
            direction,
            target,
            months,
            values,
        })
    }

    /// [`Projection::chart_input`] from a scope's series.
    pub(super) fn series_chart_input(
        &self,
        metric: Id,
        series: &SeriesCells<'_>,
    ) -> Option<ChartInput> {
        let is_month = |period: &Period| matches!(period, Period::Month { .. });
        // Months sort before weeks and days: a chart's months are where a series starts, and
        // most series are months alone.
        let months = match series.periods.last() {
            Some(last) if is_month(last) => series.periods.len(),
            _ => series.periods.partition_point(is_month),
        };
        let (periods, values) = (&series.periods[..months], &series.values[..months]);
        // Keys count periods: the months run without a gap when the last is `months - 1` on.
        let without_gaps = |first: &Period| {
            periods.last().is_some_and(|last| {
                period_key(*last).checked_sub(period_key(*first)) == Some(months as u64 - 1)
            })
        };
        // Most series are consecutive months without an empty cell (NaN): their figures are
        // copied whole, their months not at all.
        let (months, values) = match periods.first() {
            Some(first @ &Period::Month { year, month })
                if without_gaps(first) && !values.iter().any(|value| value.is_nan()) =>
            {
                (Months::From { year, month }, values.to_vec())
            }
            _ => {
                let mut filled = (Vec::with_capacity(months), Vec::with_capacity(months));
                for (period, value) in periods.iter().zip(values) {
                    if !value.is_nan() {
                        filled.0.push(*period);
                        filled.1.push(*value);
                    }
                }
                (Months::Listed(filled.0), filled.1)
            }
        };
        self.chart_input(metric, months, values)
    }

    /// Puts into each delta the chart now of every metric it changes. Charts are whole-series
    /// values, so filling them once for deltas merged over many entries gives what filling
    /// them per entry and merging would.
    pub fn complete_charts(&self, delta: &mut Delta) {
        self.chart_work(delta).draw(delta);
    }

    /// What [`Projection::complete_charts`] reads of the state now, to draw later or elsewhere
    /// with [`ChartWork::draw`]: the series of the metrics the delta changes and, for an
    /// organisation, all its segment reads.
    pub fn chart_work(&self, delta: &Delta) -> ChartWork {
        let Some(scope) = self.names.get(&delta.scope) else {
            return ChartWork::default();
        };
        let changed = changed_metrics(&delta.changes);
        let changed_ids: Vec<Option<Id>> = changed.iter().map(|m| self.names.get(m)).collect();
        let segmented = self.has_segment(scope);
        // One pass over the scope's metrics for every series wanted: a segment reads them all.
        let series = self
            .cells_as_reported(scope)
            .map(|cells| {
                series_of(cells, |metric| {
                    (segmented && self.segment_reads(metric)) || changed_ids.contains(&Some(metric))
                })
            })
            .unwrap_or_default();
        let mut work = ChartWork::default();
        for (name, metric) in changed.into_iter().zip(changed_ids) {
            let input =
                metric.and_then(|metric| self.series_chart_input(metric, series.get(&metric)?));
            work.charts.push(ChartSlot {
                name: name.to_owned(),
                metric,
                input,
                in_delta: true,
            });
        }
        if segmented {
            work.segment = Some(self.segment_work(scope, &series, &mut work.charts));
        }
        work
    }
}

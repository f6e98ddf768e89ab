//! Drawing a delta's charts and its organisation's segment from what they read of the state,
//! taken when the delta was made ([`crate::Projection::chart_work`]). The work owns its inputs,
//! so it can be drawn on another thread while the fold goes on with the next entries: drawing
//! is most of the cost of analytics, and the fold cannot use a second core.

use proto_schema::{
    Assurance, Delta, Period, PointType, Segment, SegmentDecision, Spc, Standard, Summary, Trigger,
    TriggerKind, ValueKind,
};

use crate::names::Id;
use crate::spc::{self, Direction};

/// Points at which each segment starts: 1 with none, 2 from 1, 3 from 3, 4 from 6.
const SEGMENT_FROM_POINTS: [u32; 3] = [1, 3, 6];

/// A delta's charts and segment, ready to draw.
#[derive(Debug, Default)]
pub struct ChartWork {
    /// The charts the delta carries, then those only its segment reads.
    pub(crate) charts: Vec<ChartSlot>,
    pub(crate) segment: Option<SegmentWork>,
}

/// One chart to draw.
#[derive(Debug)]
pub(crate) struct ChartSlot {
    pub(crate) name: String,
    pub(crate) metric: Option<Id>,
    /// `None` where there is nothing to chart (no months, or a metric not defined).
    pub(crate) input: Option<ChartInput>,
    /// Whether the delta carries it (it changes the metric), or only its segment reads it.
    pub(crate) in_delta: bool,
}

/// A series' months and figures, oldest first, and how to read them.
#[derive(Debug)]
pub(crate) struct ChartInput {
    pub(crate) direction: Direction,
    /// The standard in the unit of the figures.
    pub(crate) target: Option<f64>,
    pub(crate) months: Months,
    pub(crate) values: Vec<f64>,
}

/// The months of a chart's figures, one per figure.
#[derive(Debug)]
pub(crate) enum Months {
    /// Consecutive months from this one: most series, taken without copying their periods.
    From { year: i32, month: u8 },
    /// Months with gaps between them.
    Listed(Vec<Period>),
}

impl Months {
    /// The first `count` months, in order.
    fn take(&self, count: usize) -> impl Iterator<Item = Period> + '_ {
        let (consecutive, listed) = match self {
            Months::From { year, month } => (
                MonthsFrom {
                    year: *year,
                    month: *month,
                    left: count,
                },
                &[][..],
            ),
            Months::Listed(months) => (
                MonthsFrom {
                    year: 0,
                    month: 1,
                    left: 0,
                },
                months.as_slice(),
            ),
        };
        consecutive.chain(listed.iter().copied()).take(count)
    }
}

/// `left` consecutive months from `year`-`month`, counted exactly, so that the points drawn
/// from them are allocated once.
struct MonthsFrom {
    year: i32,
    month: u8,
    left: usize,
}

impl Iterator for MonthsFrom {
    type Item = Period;

    fn next(&mut self) -> Option<Period> {
        self.left = self.left.checked_sub(1)?;
        let this = Period::Month {
            year: self.year,
            month: self.month,
        };
        (self.year, self.month) = match self.month {
            12 => (self.year + 1, 1),
            month => (self.year, month + 1),
        };
        Some(this)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// An organisation's segment, but for the triggers its charts add.
#[derive(Debug)]
pub(crate) struct SegmentWork {
    /// Each metric the segment reads, in the order its triggers are listed.
    pub(crate) metrics: Vec<SegmentMetric>,
    pub(crate) decided: Option<SegmentDecision>,
}

/// One metric's triggers: those from the state before those from its chart, then the rest.
#[derive(Debug)]
pub(crate) struct SegmentMetric {
    /// The metric's latest period, for a chart trigger when the chart has no months.
    pub(crate) latest: Period,
    pub(crate) before_chart: Vec<Trigger>,
    /// The latest period's standard missed, put in words with the chart's triggers.
    pub(crate) standard_missed: Option<MissedStandard>,
    /// Which of the work's charts is this metric's (it names the metric).
    pub(crate) chart: Option<usize>,
    pub(crate) after_chart: Vec<Trigger>,
}

/// A metric's latest period against its standard, missed.
#[derive(Debug)]
pub(crate) struct MissedStandard {
    pub(crate) period: Period,
    pub(crate) summary: Summary,
    pub(crate) standard: Standard,
    pub(crate) kind: ValueKind,
}

impl ChartWork {
    /// Draws the charts and segment into `delta`.
    pub fn draw(self, delta: &mut Delta) {
        let charts = draw_all(&self.charts);
        if let Some(segment) = self.segment {
            delta.segment = Some(segment.assemble(&self.charts, &charts));
        }
        for (slot, chart) in self.charts.into_iter().zip(charts) {
            if slot.in_delta {
                delta.spc.insert(slot.name, chart);
            }
        }
    }
}

/// Each slot's chart.
pub(crate) fn draw_all(slots: &[ChartSlot]) -> Vec<Option<Spc>> {
    slots
        .iter()
        .map(|slot| slot.input.as_ref().and_then(draw))
        .collect()
}

/// One chart: SPC over the figures, each month with its point type.
pub(crate) fn draw(input: &ChartInput) -> Option<Spc> {
    let chart = spc::outline(&input.values, input.direction, input.target)?;
    let finite = |x: f64| x.is_finite().then_some(x);
    Some(Spc {
        mean: chart.mean,
        lower_limit: finite(chart.lower_limit),
        upper_limit: finite(chart.upper_limit),
        variation: *chart.point_types.last()?,
        assurance: chart.assurance,
        points: input
            .months
            .take(chart.point_types.len())
            .zip(&chart.point_types)
            .map(|(period, point_type)| (period, *point_type))
            .collect(),
    })
}

impl SegmentWork {
    /// The segment, with the charts drawn for `slots`.
    pub(crate) fn assemble(self, slots: &[ChartSlot], charts: &[Option<Spc>]) -> Segment {
        let mut triggers = Vec::new();
        for metric in self.metrics {
            triggers.extend(metric.before_chart);
            let name = metric
                .chart
                .and_then(|at| slots.get(at))
                .map_or("", |slot| slot.name.as_str());
            if let Some(missed) = metric.standard_missed {
                let detail = format!(
                    "{name} {}: {} against the standard {}",
                    missed.period,
                    headline(&missed.summary),
                    show_standard(missed.standard, missed.kind)
                );
                triggers.push(Trigger {
                    kind: TriggerKind::StandardMissed,
                    subject: name.to_owned(),
                    period: missed.period,
                    points: 1,
                    detail,
                });
            }
            let chart = metric
                .chart
                .and_then(|at| charts.get(at))
                .and_then(Option::as_ref);
            if let Some(chart) = chart {
                let month = chart
                    .points
                    .last()
                    .map_or(metric.latest, |(month, _)| *month);
                let trigger = |kind, detail| Trigger {
                    kind,
                    subject: name.to_owned(),
                    period: month,
                    points: 1,
                    detail,
                };
                if chart.variation == PointType::SpecialCauseConcern {
                    let detail = format!("{name} {month}: special cause of concern");
                    triggers.push(trigger(TriggerKind::SpcConcern, detail));
                }
                if chart.assurance == Some(Assurance::ConsistentFail) {
                    let detail = format!(
                        "{name}: the process limits lie beyond the standard; it will not be met without change"
                    );
                    triggers.push(trigger(TriggerKind::ConsistentFail, detail));
                }
            }
            triggers.extend(metric.after_chart);
        }
        let points: u32 = triggers.iter().map(|t| u32::from(t.points)).sum();
        let suggested = 1 + SEGMENT_FROM_POINTS
            .iter()
            .filter(|from| points >= **from)
            .count() as u8;
        Segment {
            suggested,
            triggers,
            decided: self.decided,
        }
    }
}

/// A summary's headline figure as people read it.
pub(crate) fn headline(summary: &Summary) -> String {
    proto_schema::show_headline(&summary.total, summary.value)
}

pub(crate) use proto_schema::show_standard;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Months taken from the first are those a list of consecutive months holds, across
        /// the turn of a year.
        #[test]
        fn months_from_the_first_are_the_consecutive_months(
            year in 2000i32..2030,
            month in 1u8..=12,
            count in 0usize..40,
        ) {
            let listed: Vec<Period> = (0..count)
                .map(|n| {
                    let index = year * 12 + i32::from(month) - 1 + n as i32;
                    Period::Month { year: index / 12, month: (index % 12) as u8 + 1 }
                })
                .collect();
            let from = Months::From { year, month };
            prop_assert_eq!(from.take(count).collect::<Vec<_>>(), listed.clone());
            let listed = Months::Listed(listed);
            prop_assert_eq!(listed.take(count).count(), count);
        }
    }
}

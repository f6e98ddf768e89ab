//! An organisation's suggested segment and the triggers behind it, beside its region's decision.

use super::*;

impl Projection {
    /// An organisation has a segment once it has returned, planned or been decided on: each of
    /// those sends a delta to its scope, so a consumer learns of the segment as it appears.
    pub(super) fn has_segment(&self, scope: Id) -> bool {
        self.geography.is_organisation(scope)
            && (self.leaves.contains_key(&scope) || self.decisions.contains_key(&scope))
    }

    /// Whether a segment reads a metric's series: actual figures and missing returns, not the
    /// plans (read by period where an actual is), the returns received or expected, or the
    /// published figures.
    pub(super) fn segment_reads(&self, metric: Id) -> bool {
        matches!(
            self.derived.get(&metric),
            None | Some((Derived::Missing, _))
        )
    }

    /// An organisation's segment now.
    pub(super) fn segment(&self, org: Id) -> Segment {
        let series = self
            .leaves
            .get(&org)
            .map(|cells| series_of(cells, |metric| self.segment_reads(metric)))
            .unwrap_or_default();
        let mut slots = Vec::new();
        let work = self.segment_work(org, &series, &mut slots);
        work.assemble(&slots, &drawing::draw_all(&slots))
    }

    /// An organisation's segment from its series, but for the triggers its charts add: each
    /// trigger from its own figures, plans and missing returns, and its region's decision.
    /// Charts not among `charts` already (those a delta carries) are added there to be drawn.
    pub(super) fn segment_work(
        &self,
        org: Id,
        series: &Series<'_>,
        charts: &mut Vec<ChartSlot>,
    ) -> SegmentWork {
        let mut metrics = Vec::new();
        for (&metric, periods) in series {
            let Some(((first, ..), (period, _, latest))) = first_and_latest(periods) else {
                continue;
            };
            let trigger = |kind, subject: Id, period, points, detail: String| Trigger {
                kind,
                subject: self.names.name(subject).to_owned(),
                period,
                points,
                detail,
            };
            if let Some((Derived::Missing, collection)) = self.derived.get(&metric) {
                let overdue = periods.points().count();
                let detail = if overdue == 1 {
                    format!(
                        "{} return for {period} overdue",
                        self.names.name(*collection)
                    )
                } else {
                    format!(
                        "{} {} returns overdue, {first} to {period}",
                        overdue,
                        self.names.name(*collection)
                    )
                };
                metrics.push(SegmentMetric {
                    latest: period,
                    standard_missed: None,
                    before_chart: vec![trigger(
                        TriggerKind::MissingReturn,
                        *collection,
                        period,
                        1,
                        detail,
                    )],
                    chart: None,
                    after_chart: Vec::new(),
                });
                continue;
            }
            if self.derived.contains_key(&metric) {
                continue;
            }
            let standard_missed = self.standard(metric).and_then(|standard| {
                let summary = latest.sum.summary(latest.kind, Some(standard));
                (summary.met == Some(false)).then_some(MissedStandard {
                    period,
                    summary,
                    standard,
                    kind: latest.kind,
                })
            });
            let chart = match charts.iter().position(|slot| slot.metric == Some(metric)) {
                Some(at) => at,
                None => {
                    charts.push(ChartSlot {
                        name: self.names.name(metric).to_owned(),
                        metric: Some(metric),
                        input: self.series_chart_input(metric, periods),
                        in_delta: false,
                    });
                    charts.len() - 1
                }
            };
            let mut after_chart = Vec::new();
            if self.finance.contains(&metric) {
                if let Some(off) = self.off_plan(org, metric, periods) {
                    after_chart.push(trigger(TriggerKind::OffPlan, metric, off.0, 2, off.1));
                }
            }
            metrics.push(SegmentMetric {
                latest: period,
                before_chart: Vec::new(),
                standard_missed,
                chart: Some(chart),
                after_chart,
            });
        }
        SegmentWork {
            metrics,
            decided: self.decisions.get(&org).cloned(),
        }
    }

    /// The latest period with both an actual and a plan, when the actual is worse.
    pub(super) fn off_plan(
        &self,
        org: Id,
        metric: Id,
        actuals: &SeriesCells<'_>,
    ) -> Option<(Period, String)> {
        let planned = *self.derived_ids.get(&(Derived::Plan, metric))?;
        let leaves = self.leaves.get(&org)?;
        let polarity = self.metrics.get(&metric).map(|(_, _, p)| *p)?;
        let (period, actual, plan) = actuals
            .points()
            .filter_map(|(period, _, actual)| {
                let plan = leaves.get(planned, period).filter(|p| !p.sum.is_empty())?;
                Some((period, actual, plan))
            })
            .max_by_key(|(period, ..)| period.end_order())?;
        let actual = actual.sum.summary(actual.kind, None);
        let plan = plan.sum.summary(plan.kind, None);
        let worse = match polarity {
            Polarity::HigherIsBetter => actual.value < plan.value,
            Polarity::LowerIsBetter => actual.value > plan.value,
            Polarity::Neutral => false,
        };
        worse.then(|| {
            (
                period,
                format!(
                    "{} {period}: {} against a plan of {}",
                    self.names.name(metric),
                    headline(&actual),
                    headline(&plan)
                ),
            )
        })
    }
}

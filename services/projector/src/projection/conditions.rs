//! The alert conditions holding in a scope (the pure part of alerting; which are news is
//! `crate::alerts::AlertTracker`'s).

use super::*;

impl Projection {
    /// The alert conditions that hold in `scope` now, over all its metrics and returns: what a
    /// service starting up already knows of, so it does not announce them again.
    pub fn alert_conditions_now(&self, scope: &str) -> Vec<Alert> {
        let view = self.view_without_charts(scope, GeographyMode::AsReported);
        let mut delta = Delta::empty(scope, view.last_change_seq, self.seq);
        for (metric, periods) in &view.metrics {
            if let Some((period, cell)) = periods.iter().next_back() {
                delta.changes.push(Change {
                    metric: metric.clone(),
                    period: *period,
                    organisation: String::new(),
                    value: None,
                    summary: Some(cell.summary.clone()),
                });
            }
        }
        for (collection, periods) in &view.missing {
            for (period, cell) in periods {
                for org in cell.organisations.keys() {
                    delta.missing.push(Change {
                        metric: collection.clone(),
                        period: *period,
                        organisation: org.clone(),
                        value: Some(Value::Count(1)),
                        summary: None,
                    });
                }
            }
        }
        self.complete_charts(&mut delta);
        self.alert_conditions(&delta)
    }

    /// The conditions that raise alerts in `scope` now, for the metrics and collections a delta
    /// changed: the latest month missing its standard, the latest month a special cause of
    /// concern (from the delta's charts), and each return overdue.
    pub fn alert_conditions(&self, delta: &Delta) -> Vec<Alert> {
        let mut alerts = self.standard_alerts(delta);
        alerts.extend(self.alert_clock().alerts_in(delta));
        alerts
    }

    /// The part of [`Projection::alert_conditions`] that reads the state: the latest month of
    /// each metric the delta changes missing its standard.
    pub fn standard_alerts(&self, delta: &Delta) -> Vec<Alert> {
        let Some(scope) = self.names.get(&delta.scope) else {
            return Vec::new();
        };
        let cells = self.cells_as_reported(scope);
        let mut alerts = Vec::new();
        let alert = |kind, subject: &str, period, organisation, message| {
            crate::alerts::alert_at(
                self.seq,
                delta,
                kind,
                subject,
                period,
                organisation,
                message,
            )
        };
        // The metrics changed that have a standard, and the latest period of each.
        let changed = changed_metrics(&delta.changes);
        let standards: BTreeMap<&str, (Id, Standard)> = changed
            .into_iter()
            .filter_map(|name| {
                let metric = self.names.get(name)?;
                Some((name, (metric, self.standard(metric)?)))
            })
            .collect();
        // A few metrics: a list is quicker to ask than a hash set.
        let wanted: Vec<Id> = standards.values().map(|(metric, _)| *metric).collect();
        let series = match cells {
            Some(cells) if !wanted.is_empty() => series_of(cells, |m| wanted.contains(&m)),
            _ => Series::new(),
        };
        for (name, (metric, standard)) in standards {
            let latest = series.get(&metric).and_then(|p| first_and_latest(p));
            if let Some((_, (period, _, cell))) = latest {
                let summary = cell.sum.summary(cell.kind, Some(standard));
                if summary.met == Some(false) {
                    let message = format!(
                        "{} in {}, {period}: {} misses the standard {}",
                        name,
                        delta.scope,
                        headline(&summary),
                        show_standard(standard, cell.kind)
                    );
                    alerts.push(alert(
                        AlertKind::StandardMissed,
                        name,
                        period,
                        None,
                        message,
                    ));
                }
            }
        }
        alerts
    }

    /// What [`AlertClock::alerts_in`] needs of the state now.
    pub fn alert_clock(&self) -> AlertClock {
        AlertClock::new(self.seq, self.today, &self.schedules)
    }
}

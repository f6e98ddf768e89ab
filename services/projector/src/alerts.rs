//! Alerts: the conditions a delta raises (a standard missed, a special cause of concern, a
//! return overdue) and which of them are news. An alert is announced once per occurrence: when
//! its condition starts to hold, not again while it holds, and again only after it has ended.

use std::collections::{BTreeMap, HashMap, HashSet};

use proto_schema::{Alert, AlertKind, Change, Delta, Period, PointType};

use crate::projection::{schedule_due_date, Projection};

/// How long after its due date an overdue return is still announced as news.
const OVERDUE_NEWS_DAYS: i64 = 35;

/// The seq and the log's date when a delta was made: with the delta alone they give the alerts
/// its charts and missing returns raise, wherever and whenever the charts are drawn.
#[derive(Debug, Clone)]
pub struct AlertClock {
    seq: u64,
    today: i64,
    /// The collections' schedules, to tell an overdue return that is news from an old gap.
    schedules: BTreeMap<String, u32>,
}

impl AlertClock {
    pub(crate) fn new(seq: u64, today: i64, schedules: &BTreeMap<String, u32>) -> AlertClock {
        AlertClock {
            seq,
            today,
            schedules: schedules.clone(),
        }
    }

    /// The part of [`Projection::alert_conditions`] read from the delta: the latest month of
    /// each of its charts a special cause of concern, and each return it finds overdue lately.
    pub fn alerts_in(&self, delta: &Delta) -> Vec<Alert> {
        let mut alerts = Vec::new();
        let alert = |kind, subject: &str, period, organisation, message| {
            alert_at(
                self.seq,
                delta,
                kind,
                subject,
                period,
                organisation,
                message,
            )
        };
        for (name, chart) in &delta.spc {
            let Some(chart) = chart else { continue };
            let Some((month, _)) = chart.points.last() else {
                continue;
            };
            if chart.variation == PointType::SpecialCauseConcern {
                let message = format!(
                    "{name} in {}, {month}: a special cause of concern",
                    delta.scope
                );
                alerts.push(alert(AlertKind::SpcConcern, name, *month, None, message));
            }
        }
        // Only returns fallen due lately: a backfill's old gaps are in the view, not news.
        let recent = |change: &&Change| {
            self.today
                - schedule_due_date(&self.schedules, &change.metric, change.period)
                    .days_since_epoch()
                <= OVERDUE_NEWS_DAYS
        };
        for change in delta
            .missing
            .iter()
            .filter(|c| c.value.is_some())
            .filter(recent)
        {
            let message = format!(
                "{}'s {} return for {} is overdue",
                change.organisation, change.metric, change.period
            );
            alerts.push(alert(
                AlertKind::ReturnOverdue,
                &change.metric,
                change.period,
                Some(change.organisation.clone()),
                message,
            ));
        }
        alerts
    }
}

/// An alert in `delta`'s scope, at `seq`.
pub(crate) fn alert_at(
    seq: u64,
    delta: &Delta,
    kind: AlertKind,
    subject: &str,
    period: Period,
    organisation: Option<String>,
    message: String,
) -> Alert {
    Alert {
        scope: delta.scope.clone(),
        seq,
        kind,
        subject: subject.to_owned(),
        period,
        organisation,
        message,
    }
}

/// What makes two alerts the same occurrence: a metric's standard missed or concern lasts
/// while it holds, whatever month is latest; an overdue return is one organisation's period.
type AlertKey = (AlertKind, String, Option<String>, Option<Period>);

fn alert_key(alert: &Alert) -> AlertKey {
    let period = (alert.kind == AlertKind::ReturnOverdue).then_some(alert.period);
    (
        alert.kind,
        alert.subject.clone(),
        alert.organisation.clone(),
        period,
    )
}

/// The alert conditions holding in each scope, so that each is announced once. Started from the
/// projection the views resume or catch up to, before anything more is folded, so conditions
/// that already held are not announced again and those the next entry starts are.
#[derive(Debug, Default)]
pub struct AlertTracker {
    holding: HashMap<String, HashSet<AlertKey>>,
}

impl AlertTracker {
    pub fn start(projection: &Projection) -> AlertTracker {
        let mut tracker = AlertTracker::default();
        for scope in projection.scopes() {
            let keys = projection
                .alert_conditions_now(&scope)
                .iter()
                .map(alert_key)
                .collect();
            tracker.holding.insert(scope, keys);
        }
        tracker
    }

    /// The alerts a delta starts: of the conditions `now` holding for the metrics and returns
    /// the delta changed, those that did not hold before. Conditions of those that no longer hold
    /// end. Deltas must come in seq order.
    pub fn started(&mut self, now: Vec<Alert>, delta: &Delta) -> Vec<Alert> {
        let now_keys: HashSet<AlertKey> = now.iter().map(alert_key).collect();
        let holding = self.holding.entry(delta.scope.clone()).or_default();
        let standards: HashSet<&str> = delta.changes.iter().map(|c| c.metric.as_str()).collect();
        // Returns no longer missing: (collection, organisation, period).
        let returned: HashSet<(&str, &str, Period)> = delta
            .missing
            .iter()
            .filter(|c| c.value.is_none())
            .map(|c| (c.metric.as_str(), c.organisation.as_str(), c.period))
            .collect();
        holding.retain(|key| {
            let (kind, subject, org, period) = key;
            let looked_at = match (kind, org, period) {
                (AlertKind::StandardMissed, ..) => standards.contains(subject.as_str()),
                (AlertKind::SpcConcern, ..) => delta.spc.contains_key(subject),
                (AlertKind::ReturnOverdue, Some(org), Some(period)) => {
                    returned.contains(&(subject.as_str(), org.as_str(), *period))
                }
                (AlertKind::ReturnOverdue, ..) => false,
            };
            !looked_at || now_keys.contains(key)
        });
        now.into_iter()
            .filter(|alert| holding.insert(alert_key(alert)))
            .collect()
    }
}

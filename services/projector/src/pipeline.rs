//! The views' pipeline, in one direction: a batch of log entries is folded into the projection
//! ([`Views::fold_batch`]), its charts are drawn from what the fold left ([`Folded::draw`], on
//! any thread, while the next batch folds), and its alerts are decided in seq order
//! ([`Views::announce`]). What comes out ([`Ready`]) is for the runner to publish; nothing here
//! does I/O.

use std::collections::HashMap;

use proto_schema::{Alert, Delta, Envelope};

use crate::alerts::{AlertClock, AlertTracker};
use crate::drawing::ChartWork;
use crate::projection::Projection;

/// Whether views and deltas carry SPC charts, and so segments and alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Analytics {
    On,
    Off,
}

/// The live views: the projection, and the alert conditions already announced.
#[derive(Debug)]
pub struct Views {
    projection: Projection,
    analytics: Analytics,
    /// With analytics; started from the projection as handed over, before anything more is
    /// folded, so that the first batch's alerts are announced like any other's.
    alerts: Option<AlertTracker>,
}

impl Views {
    /// Live views from a projection resumed or rebuilt up to some seq.
    pub fn start(projection: Projection, analytics: Analytics) -> Views {
        let alerts = (analytics == Analytics::On).then(|| AlertTracker::start(&projection));
        Views {
            projection,
            analytics,
            alerts,
        }
    }

    pub fn projection(&self) -> &Projection {
        &self.projection
    }

    pub fn analytics(&self) -> Analytics {
        self.analytics
    }

    /// Folds entries in seq order (those already in are skipped) and merges their deltas, one
    /// per scope, with what drawing their charts needs taken from the state at the batch's end.
    pub fn fold_batch(&mut self, entries: &[Envelope]) -> Folded {
        let mut by_scope: HashMap<String, Delta> = HashMap::new();
        for envelope in entries {
            for delta in self.projection.apply_without_charts(envelope) {
                match by_scope.get_mut(&delta.scope) {
                    Some(pending) => pending.append(delta),
                    None => {
                        by_scope.insert(delta.scope.clone(), delta);
                    }
                }
            }
        }
        let mut deltas: Vec<Delta> = by_scope.into_values().collect();
        deltas.sort_unstable_by(|a, b| a.scope.cmp(&b.scope));
        for delta in &mut deltas {
            delta.compact();
        }
        let projection = &self.projection;
        let work = (self.analytics == Analytics::On).then(|| {
            deltas
                .iter()
                .map(|delta| {
                    (
                        projection.chart_work(delta),
                        projection.standard_alerts(delta),
                    )
                })
                .collect()
        });
        Folded {
            deltas,
            work,
            clock: projection.alert_clock(),
        }
    }

    /// A drawn batch's alerts, decided against those already holding. Batches must come in the
    /// order they were folded.
    pub fn announce(&mut self, drawn: Drawn) -> Ready {
        let Drawn { deltas, conditions } = drawn;
        let mut alerts = Vec::new();
        if let (Some(tracker), Some(conditions)) = (self.alerts.as_mut(), conditions) {
            for (delta, now) in deltas.iter().zip(conditions) {
                alerts.extend(tracker.started(now, delta));
            }
        }
        Ready { deltas, alerts }
    }
}

/// A batch folded: its merged deltas without charts, and what drawing them needs.
#[derive(Debug)]
pub struct Folded {
    deltas: Vec<Delta>,
    /// With analytics: each delta's chart work and the standards it finds missed.
    work: Option<Vec<(ChartWork, Vec<Alert>)>>,
    clock: AlertClock,
}

impl Folded {
    /// Whether drawing has charts to draw (worth a thread of its own).
    pub fn has_charts(&self) -> bool {
        self.work.is_some()
    }

    /// Draws the charts into the deltas and finds their alert conditions. Reads nothing of the
    /// projection, so it runs beside the fold of the next batch.
    pub fn draw(self) -> Drawn {
        let Folded {
            mut deltas,
            work,
            clock,
        } = self;
        let conditions = work.map(|work| {
            deltas
                .iter_mut()
                .zip(work)
                .map(|(delta, (charts, mut conditions))| {
                    charts.draw(delta);
                    conditions.extend(clock.alerts_in(delta));
                    conditions
                })
                .collect()
        });
        Drawn { deltas, conditions }
    }
}

/// A batch's deltas with their charts, each with the alert conditions holding (with analytics).
#[derive(Debug)]
pub struct Drawn {
    deltas: Vec<Delta>,
    conditions: Option<Vec<Vec<Alert>>>,
}

/// What a batch publishes: its deltas, in scope order, and the alerts it starts.
#[derive(Debug)]
pub struct Ready {
    pub deltas: Vec<Delta>,
    pub alerts: Vec<Alert>,
}

//! The fold itself and the views it maintains.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use proto_schema::{
    Cell, Change, Delta, Envelope, Event, GeographyMode, Period, Standard, Value, ValueKind, View,
    NATIONAL, UNASSIGNED,
};

use serde::{Deserialize, Serialize};

use crate::geography::Geography;
use crate::sum::Sum;

/// Identifies a return whose latest revision counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
struct ReturnKey {
    org: String,
    collection: String,
    period: Period,
}

/// One scope's cells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct ScopeState {
    last_change_seq: u64,
    cells: BTreeMap<String, BTreeMap<Period, CellState>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CellState {
    kind: ValueKind,
    sum: Sum,
    organisations: BTreeMap<String, Sum>,
}

/// The views of every scope under one geography mode.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Views {
    scopes: HashMap<String, ScopeState>,
}

/// Everything one log entry changed in one scope, for the delta of that scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeChanges {
    pub scope: String,
    pub cells: BTreeSet<(String, Period, String)>,
}

/// The state of the fold after log entries `1..=seq`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    seq: u64,
    geography: Geography,
    /// Scope codes that exist: regions, systems and organisations defined so far.
    known_scopes: HashSet<String>,
    metrics: HashMap<String, (ValueKind, Option<Standard>)>,
    returns: HashMap<ReturnKey, Vec<(String, Value)>>,
    returns_of: HashMap<String, BTreeSet<ReturnKey>>,
    as_reported: Views,
    current: Views,
}

/// The layout of checkpoint bytes; a checkpoint of another layout is ignored and the views are
/// rebuilt from the log.
const CHECKPOINT_FORMAT: u16 = 1;

impl Projection {
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The whole state as bytes, to resume from without replaying the log.
    pub fn to_checkpoint(&self) -> Vec<u8> {
        postcard::to_stdvec(&(CHECKPOINT_FORMAT, self)).unwrap_or_default()
    }

    /// The state saved by [`Projection::to_checkpoint`]; `None` when the bytes are of another
    /// layout or damaged, and the caller rebuilds from the log.
    pub fn from_checkpoint(bytes: &[u8]) -> Option<Projection> {
        match postcard::from_bytes::<(u16, Projection)>(bytes) {
            Ok((CHECKPOINT_FORMAT, projection)) => Some(projection),
            _ => None,
        }
    }

    /// Folds one log entry in and returns the deltas it makes, under the geography as reported,
    /// one per scope it touched. Entries must come in seq order; one at or below the current seq
    /// is ignored (it is already in).
    pub fn apply(&mut self, envelope: &Envelope) -> Vec<Delta> {
        if envelope.seq <= self.seq {
            return Vec::new();
        }
        self.seq = envelope.seq;
        let mut touched = BTreeMap::<String, BTreeSet<(String, Period, String)>>::new();
        match &envelope.event {
            Event::ReturnSubmitted(submitted) => {
                let ret = &submitted.ret;
                let key = ReturnKey {
                    org: ret.org.clone(),
                    collection: ret.collection.clone(),
                    period: ret.period,
                };
                if let Some(old) = self.returns.remove(&key) {
                    self.contribute(&key, &old, -1, &mut touched);
                }
                self.contribute(&key, &ret.values, 1, &mut touched);
                self.returns_of
                    .entry(key.org.clone())
                    .or_default()
                    .insert(key.clone());
                self.returns.insert(key, ret.values.clone());
            }
            Event::RegionDefined(region) => {
                self.known_scopes.insert(region.code.clone());
            }
            Event::SystemDefined(system) => {
                self.known_scopes.insert(system.code.clone());
            }
            Event::MetricDefined(metric) => {
                self.metrics
                    .insert(metric.id.clone(), (metric.kind, metric.standard));
            }
            Event::OrganisationRegistered(_) | Event::OrganisationMoved(_) => {
                self.move_organisation(&envelope.event, &mut touched);
            }
        }
        let seq = self.seq;
        touched
            .into_iter()
            .map(|(scope, cells)| {
                let state = self.as_reported.scopes.entry(scope.clone()).or_default();
                let prev_seq = state.last_change_seq;
                state.last_change_seq = seq;
                let changes = cells
                    .into_iter()
                    .map(|(metric, period, org)| self.change(&scope, metric, period, org))
                    .collect();
                Delta {
                    scope,
                    prev_seq,
                    seq,
                    changes,
                }
            })
            .collect()
    }

    /// A reference event that may place an organisation elsewhere: its returns leave the scopes
    /// they counted in and join the new ones, in both geographies.
    fn move_organisation(
        &mut self,
        event: &Event,
        touched: &mut BTreeMap<String, BTreeSet<(String, Period, String)>>,
    ) {
        let org = match event {
            Event::OrganisationRegistered(o) => o.code.clone(),
            Event::OrganisationMoved(m) => m.code.clone(),
            _ => return,
        };
        let keys: Vec<ReturnKey> = self
            .returns_of
            .get(&org)
            .map(|keys| keys.iter().cloned().collect())
            .unwrap_or_default();
        for key in &keys {
            if let Some(values) = self.returns.get(key).cloned() {
                self.contribute(key, &values, -1, touched);
            }
        }
        self.geography.apply(event);
        self.known_scopes.insert(org);
        for key in &keys {
            if let Some(values) = self.returns.get(key).cloned() {
                self.contribute(key, &values, 1, touched);
            }
        }
    }

    /// Adds (`sign` 1) or removes (-1) a return's values in every scope it counts in.
    fn contribute(
        &mut self,
        key: &ReturnKey,
        values: &[(String, Value)],
        sign: i8,
        touched: &mut BTreeMap<String, BTreeSet<(String, Period, String)>>,
    ) {
        for mode in [GeographyMode::AsReported, GeographyMode::Current] {
            let scopes = self.geography.scopes(&key.org, key.period, mode);
            let views = match mode {
                GeographyMode::AsReported => &mut self.as_reported,
                GeographyMode::Current => &mut self.current,
            };
            for scope in scopes {
                let state = views.scopes.entry(scope.clone()).or_default();
                for (metric, value) in values {
                    let periods = state.cells.entry(metric.clone()).or_default();
                    let cell = periods.entry(key.period).or_insert_with(|| CellState {
                        kind: value.kind(),
                        sum: Sum::default(),
                        organisations: BTreeMap::new(),
                    });
                    let own = cell.organisations.entry(key.org.clone()).or_default();
                    if sign > 0 {
                        cell.sum.add(value);
                        own.add(value);
                    } else {
                        cell.sum.subtract(value);
                        own.subtract(value);
                    }
                    if own.is_empty() {
                        cell.organisations.remove(&key.org);
                    }
                    if cell.sum.is_empty() {
                        periods.remove(&key.period);
                    }
                    if periods.is_empty() {
                        state.cells.remove(metric);
                    }
                    if mode == GeographyMode::AsReported {
                        touched.entry(scope.clone()).or_default().insert((
                            metric.clone(),
                            key.period,
                            key.org.clone(),
                        ));
                    }
                }
            }
        }
    }

    fn change(&self, scope: &str, metric: String, period: Period, org: String) -> Change {
        let cell = self
            .as_reported
            .scopes
            .get(scope)
            .and_then(|s| s.cells.get(&metric))
            .and_then(|periods| periods.get(&period));
        let standard = self.standard(&metric);
        Change {
            value: cell.and_then(|c| c.organisations.get(&org).map(|own| own.total(c.kind))),
            summary: cell.map(|c| c.sum.summary(c.kind, standard)),
            metric,
            period,
            organisation: org,
        }
    }

    fn standard(&self, metric: &str) -> Option<Standard> {
        self.metrics.get(metric).and_then(|(_, standard)| *standard)
    }

    /// Whether `scope` names England, `unassigned`, or a region, system or organisation defined
    /// in the log.
    pub fn knows_scope(&self, scope: &str) -> bool {
        scope == NATIONAL || scope == UNASSIGNED || self.known_scopes.contains(scope)
    }

    /// The whole view of one scope now.
    pub fn view(&self, scope: &str, mode: GeographyMode) -> View {
        let views = match mode {
            GeographyMode::AsReported => &self.as_reported,
            GeographyMode::Current => &self.current,
        };
        let state = views.scopes.get(scope);
        let metrics = state
            .map(|state| {
                state
                    .cells
                    .iter()
                    .map(|(metric, periods)| {
                        let standard = self.standard(metric);
                        let periods = periods
                            .iter()
                            .map(|(period, cell)| {
                                let organisations = cell
                                    .organisations
                                    .iter()
                                    .map(|(org, own)| (org.clone(), own.total(cell.kind)))
                                    .collect();
                                let summary = cell.sum.summary(cell.kind, standard);
                                (
                                    *period,
                                    Cell {
                                        summary,
                                        organisations,
                                    },
                                )
                            })
                            .collect();
                        (metric.clone(), periods)
                    })
                    .collect()
            })
            .unwrap_or_default();
        View {
            scope: scope.to_owned(),
            geography: mode,
            seq: self.seq,
            last_change_seq: match mode {
                GeographyMode::AsReported => state.map_or(0, |s| s.last_change_seq),
                // Deltas are published under the geography as reported only.
                GeographyMode::Current => self.seq,
            },
            metrics,
        }
    }

    /// Every scope with figures, under `mode`.
    pub fn scopes(&self, mode: GeographyMode) -> Vec<String> {
        let views = match mode {
            GeographyMode::AsReported => &self.as_reported,
            GeographyMode::Current => &self.current,
        };
        let mut scopes: Vec<String> = views
            .scopes
            .iter()
            .filter(|(_, state)| !state.cells.is_empty())
            .map(|(scope, _)| scope.clone())
            .collect();
        scopes.sort();
        scopes
    }

    /// The views recomputed from scratch from the latest revisions and the geography now, without
    /// any incremental bookkeeping: what the incremental views must always equal.
    pub fn recomputed(&self) -> Projection {
        let mut fresh = Projection {
            seq: self.seq,
            geography: self.geography.clone(),
            known_scopes: self.known_scopes.clone(),
            metrics: self.metrics.clone(),
            returns: HashMap::new(),
            returns_of: HashMap::new(),
            as_reported: Views::default(),
            current: Views::default(),
        };
        let mut keys: Vec<&ReturnKey> = self.returns.keys().collect();
        keys.sort();
        let mut ignored = BTreeMap::new();
        for key in keys {
            let values = &self.returns[key];
            fresh.contribute(key, values, 1, &mut ignored);
            fresh
                .returns_of
                .entry(key.org.clone())
                .or_default()
                .insert(key.clone());
            fresh.returns.insert(key.clone(), values.clone());
        }
        fresh
    }

    /// Whether two projections hold the same figures in every scope, under both geographies
    /// (the change bookkeeping aside).
    pub fn same_figures(&self, other: &Projection) -> bool {
        let figures =
            |views: &Views| -> BTreeMap<String, BTreeMap<String, BTreeMap<Period, CellState>>> {
                views
                    .scopes
                    .iter()
                    .filter(|(_, s)| !s.cells.is_empty())
                    .map(|(scope, s)| (scope.clone(), s.cells.clone()))
                    .collect()
            };
        figures(&self.as_reported) == figures(&other.as_reported)
            && figures(&self.current) == figures(&other.current)
    }
}

//! The fold itself and the views it maintains.
//!
//! Figures are held twice: each organisation's own figure per metric and period (`leaves`), and
//! each scope's running total per metric and period (`cells`). A snapshot lists a cell's
//! organisations from the leaves, so the per-organisation rows are stored once rather than in
//! every scope they count in; an organisation's own scope is its leaves. Today's geography is
//! kept as corrections for the organisations that moved.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use proto_schema::{
    due_date, due_date_after, keep_periods, Alert, AlertKind, Cell, Change, Date, Delta, Domain,
    Envelope, Event, GeographyMode, Period, Polarity, Segment, SegmentDecision, SnapshotRequest,
    Spc, Standard, Summary, Trigger, TriggerKind, Value, ValueKind, View, NATIONAL, UNASSIGNED,
};
use serde::{Deserialize, Serialize};

use crate::alerts::AlertClock;

mod charts;
mod conditions;
mod deltas;
mod figures;
mod missing;
mod oracle;
mod oversight;
mod plans;
mod segments;
mod views;
mod windows;

use crate::cells::{period_key, CellState, Cells, SeriesCells};
use crate::drawing::{
    self, headline, show_standard, ChartInput, ChartSlot, ChartWork, MissedStandard, Months,
    SegmentMetric, SegmentWork,
};
use crate::geography::{Geography, NATIONAL_ID, UNASSIGNED_ID};
use crate::names::{Id, Names};
use crate::spc::Direction;

/// (organisation, collection, period): the return whose latest revision counts.
type ReturnKey = (Id, Id, Period);

/// One scope's cells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct ScopeState {
    last_change_seq: u64,
    cells: Cells,
}

/// The views of every scope under one geography mode.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Views {
    scopes: HashMap<Id, ScopeState>,
}

/// A scope held with nothing in it and never changed is the same as one not held.
impl PartialEq for Views {
    fn eq(&self, other: &Views) -> bool {
        let blank = ScopeState::default();
        let same = |a: &Views, b: &Views| {
            a.scopes
                .iter()
                .all(|(id, state)| b.scopes.get(id).unwrap_or(&blank) == state)
        };
        same(self, other) && same(other, self)
    }
}

impl Eq for Views {}

/// Returns replaced during a silent run of entries whose figures are not yet counted in the
/// leaves and scopes: each return's counted values (as they were before the run), and the last
/// seq that replaced it. A return revised many times in a run is counted once, at its end.
#[derive(Debug, Clone, Default, PartialEq)]
struct Uncounted {
    returns: HashMap<ReturnKey, (Option<ReturnValues>, u64)>,
}

/// A return's values as counted: (metric, value).
type ReturnValues = Vec<(Id, Value)>;

/// The state of the fold after log entries `1..=seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    seq: u64,
    names: Names,
    geography: Geography,
    /// Scopes that exist: regions, systems and organisations defined so far.
    known_scopes: HashSet<Id>,
    metrics: HashMap<Id, (ValueKind, Option<Standard>, Polarity)>,
    /// The values of the latest revision of each return, to take back when it is replaced.
    returns: HashMap<ReturnKey, Vec<(Id, Value)>>,
    /// Each organisation's returns, for moves.
    returns_of: HashMap<Id, BTreeSet<(Id, Period)>>,
    /// Each organisation's own figures.
    leaves: HashMap<Id, Cells>,
    as_reported: Views,
    /// Today's geography as corrections to the as-reported totals: for each organisation that
    /// ever moved, its figures where it is now minus where it was. Organisations that never moved
    /// count in the same scopes under both, so they cost nothing here.
    current_adjust: Views,
    /// The latest revision of each (organisation, plan).
    plans: HashMap<(Id, Id), PlanFigures>,
    /// Each organisation's plans, in the order first seen.
    plans_of: HashMap<Id, Vec<Id>>,
    /// Derived metric id -> what it holds, and the metric or collection it is derived from.
    derived: HashMap<Id, (Derived, Id)>,
    /// The other way round.
    derived_ids: HashMap<(Derived, Id), Id>,
    /// The log's date: the latest day an entry was recorded on (days since 1970). Returns fall
    /// due by it, so the views stay a function of the log alone.
    today: i64,
    /// Each collection's organisations, with the first period each returned: an organisation is
    /// expected to return every later period that any organisation has returned.
    on_collection: HashMap<Id, HashMap<Id, Period>>,
    /// The periods of each collection that some organisation returned, with their due dates
    /// (days since 1970).
    periods_reported: HashMap<Id, BTreeMap<Period, i64>>,
    /// Reported periods not yet due: (due date, collection, period).
    awaiting: BTreeSet<(i64, Id, Period)>,
    /// Windows closed with returns in: (collection, period) -> the last entry before the close,
    /// the seq the published figures are as of.
    published_at: HashMap<(Id, Period), u64>,
    /// Organisations' closing dates: nothing is expected of them after.
    closed: HashMap<Id, Date>,
    /// Metrics of the finance domain: off plan is a segment trigger for them.
    finance: HashSet<Id>,
    /// Each organisation's segment as its regional team decided it.
    decisions: HashMap<Id, SegmentDecision>,
    /// Each defined collection's schedule: due this many working days after a period ends. A
    /// collection the log does not define is due by the rule for its kind of period.
    schedules: BTreeMap<String, u32>,
    /// The oversight methodologies defined, by id: the latest definition of each.
    methodologies: BTreeMap<String, proto_schema::Methodology>,
    /// Trust types as set in the log: the peer group each organisation is ranked in.
    trust_types: HashMap<Id, proto_schema::TrustType>,
    /// Organisations registered as commissioners: ranked as such unless set otherwise.
    commissioners: HashSet<Id>,
    /// During [`Projection::apply_all_silently`] only: the returns whose figures it counts at
    /// its end. Never saved: a checkpoint is taken between runs.
    #[serde(skip)]
    uncounted: Option<Uncounted>,
}

/// Whether a return's values are being counted or taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    Add,
    TakeBack,
}

/// Figures the fold derives and keeps as metrics of their own, so that they roll up, move and
/// revise exactly as returned figures do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
enum Derived {
    /// An organisation's planned figure for a metric.
    Plan,
    /// 1 for each organisation whose return for a collection and period is in.
    Received,
    /// 1 for each organisation whose return for a collection and period is due and absent.
    Missing,
    /// 1 for each organisation expected to return a collection's period, due yet or not.
    Expected,
    /// 1 for each organisation whose counted return for a collection's period arrived after
    /// its window closed.
    Late,
    /// An organisation's figure for a metric as it stood when its period's window closed.
    Published,
    /// The collection under which a return's published figures are kept, as a return of their
    /// own (never a cell).
    PublishedReturn,
}

impl Default for Projection {
    fn default() -> Projection {
        let mut names = Names::default();
        // Fixed ids, so geography can name these scopes without a lookup.
        let national = names.id(NATIONAL);
        let unassigned = names.id(UNASSIGNED);
        let plan = names.unnamed();
        debug_assert_eq!(
            (national, unassigned, plan),
            (NATIONAL_ID, UNASSIGNED_ID, PLAN_COLLECTION_ID)
        );
        Projection {
            seq: 0,
            names,
            geography: Geography::default(),
            known_scopes: HashSet::default(),
            metrics: HashMap::default(),
            returns: HashMap::default(),
            returns_of: HashMap::default(),
            leaves: HashMap::default(),
            as_reported: Views::default(),
            current_adjust: Views::default(),
            plans: HashMap::default(),
            plans_of: HashMap::default(),
            derived: HashMap::default(),
            derived_ids: HashMap::default(),
            today: i64::MIN,
            on_collection: HashMap::default(),
            periods_reported: HashMap::default(),
            awaiting: BTreeSet::new(),
            published_at: HashMap::default(),
            closed: HashMap::default(),
            finance: HashSet::default(),
            decisions: HashMap::default(),
            schedules: BTreeMap::new(),
            methodologies: BTreeMap::new(),
            trust_types: HashMap::default(),
            commissioners: HashSet::default(),
            uncounted: None,
        }
    }
}

/// The collection under which each organisation's plan figures in force are kept, as if they were
/// a return, so that they roll up, move and revise exactly as returns do. It has an id and no
/// name, so no collection a return names can be it.
const PLAN_COLLECTION_ID: Id = 2;

/// The latest revision of one plan: the seq it was recorded at, and (plan metric, period, figure).
type PlanFigures = (u64, Vec<(Id, Period, Value)>);

/// Marks a scope touched without a figure changing (a segment decision).
const NO_METRIC: Id = Id::MAX;
const NO_PERIOD: Period = Period::Month { year: 0, month: 1 };

/// What one entry touched, under the geography as reported: (scope, metric, period, organisation).
type Touched = Vec<(Id, Id, Period, Id)>;

/// Room for what a return usually touches (each metric and returns received, in four scopes), so
/// that the list is allocated once per entry rather than grown four times.
const TOUCHED_CAPACITY: usize = 32;

/// The layout of checkpoint bytes; a checkpoint of another layout is ignored and the views are
/// rebuilt from the log.
const CHECKPOINT_FORMAT: u16 = 10;

impl Projection {
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The whole state as bytes, to resume from without replaying the log.
    pub fn to_checkpoint(&self) -> Result<Vec<u8>, proto_schema::EncodeError> {
        proto_schema::to_postcard("the views checkpoint", &(CHECKPOINT_FORMAT, self))
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
        let mut deltas = self.apply_without_charts(envelope);
        for delta in &mut deltas {
            self.complete_charts(delta);
        }
        deltas
    }

    /// [`Projection::apply`] without the charts in the deltas: for a caller that merges the
    /// deltas of several entries and then calls [`Projection::complete_charts`] once per scope,
    /// or runs without analytics.
    pub fn apply_without_charts(&mut self, envelope: &Envelope) -> Vec<Delta> {
        let mut touched = Touched::with_capacity(TOUCHED_CAPACITY);
        if !self.fold(envelope, &mut touched) {
            return Vec::new();
        }
        self.deltas(touched)
    }

    /// Folds one log entry in without building its deltas, for rebuilding when nobody is
    /// listening: the state is exactly what [`Projection::apply`] leaves.
    pub fn apply_silently(&mut self, envelope: &Envelope) {
        self.apply_all_silently(std::iter::once(envelope));
    }

    /// Folds a run of log entries in without building deltas, for rebuilding or replaying when
    /// nobody is listening: the state is exactly what [`Projection::apply`] of each leaves. The
    /// returns are kept as they go and their figures counted in the leaves and scopes once, at
    /// the end of the run, so a return revised within it costs one count rather than one per
    /// revision, and no entry lists what it touched.
    pub fn apply_all_silently<E: std::borrow::Borrow<Envelope>>(
        &mut self,
        entries: impl IntoIterator<Item = E>,
    ) {
        self.uncounted = Some(Uncounted::default());
        let mut touched = Touched::with_capacity(TOUCHED_CAPACITY);
        for envelope in entries {
            touched.clear();
            if self.fold(envelope.borrow(), &mut touched) {
                self.mark_changed(&touched, self.seq);
            }
        }
        self.count_uncounted();
        self.uncounted = None;
    }

    /// Records that the scopes `touched` lists changed at `seq`, as a delta would.
    fn mark_changed(&mut self, touched: &Touched, seq: u64) {
        let mut last = None;
        for (scope, ..) in touched {
            if last != Some(*scope) {
                let state = self.as_reported.scopes.entry(*scope).or_default();
                state.last_change_seq = state.last_change_seq.max(seq);
                last = Some(*scope);
            }
        }
    }

    /// Applies the entry's effect; false when it was already in.
    fn fold(&mut self, envelope: &Envelope, touched: &mut Touched) -> bool {
        if envelope.seq <= self.seq {
            return false;
        }
        self.seq = envelope.seq;
        let today = envelope.recorded_at.date().days_since_epoch();
        if today > self.today {
            self.today = today;
            self.fall_due(touched);
        }
        match &envelope.event {
            Event::ReturnSubmitted(submitted) => {
                let ret = &submitted.ret;
                let org = self.names.id(&ret.org);
                let collection = self.names.id(&ret.collection);
                let key = (org, collection, ret.period);
                let mut values: Vec<(Id, Value)> = ret
                    .values
                    .iter()
                    .map(|(metric, value)| (self.names.id(metric), *value))
                    .collect();
                let received = self.derived_of(Derived::Received, collection);
                values.push((received, Value::Count(1)));
                if self.past_deadline(collection, ret.period) {
                    let late = self.derived_of(Derived::Late, collection);
                    values.push((late, Value::Count(1)));
                }
                let revised = self.replace_return(key, values, touched);
                self.returned(org, collection, ret.period, revised, touched);
            }
            Event::PlanSubmitted(submitted) => self.plan_submitted(&submitted.plan, touched),
            Event::SegmentDecided(decided) => {
                let org = self.names.id(&decided.org);
                self.decisions.insert(
                    org,
                    SegmentDecision {
                        segment: decided.segment,
                        rationale: decided.rationale.clone(),
                        by: envelope.sender.clone(),
                        seq: envelope.seq,
                    },
                );
                // No figure changes, but the organisation's view does.
                touched.push((org, NO_METRIC, NO_PERIOD, org));
            }
            Event::RegionDefined(region) => {
                let id = self.names.id(&region.code);
                self.known_scopes.insert(id);
            }
            Event::SystemDefined(system) => {
                let id = self.names.id(&system.code);
                self.known_scopes.insert(id);
            }
            Event::CollectionDefined(collection) => {
                // Periods already returned keep the due date they were given.
                self.schedules
                    .insert(collection.id.clone(), collection.due_working_days);
            }
            Event::MetricDefined(metric) => {
                // Figures not yet counted take their kind from the definition they came under.
                self.count_uncounted();
                let id = self.names.id(&metric.id);
                self.metrics
                    .insert(id, (metric.kind, metric.standard, metric.polarity));
                if metric.domain == Domain::Finance {
                    self.finance.insert(id);
                } else {
                    self.finance.remove(&id);
                }
            }
            Event::OrganisationRegistered(registered) => {
                self.move_organisation(&envelope.event, touched);
                let org = self.names.id(&registered.code);
                if registered.role == proto_schema::OrgRole::Commissioner {
                    self.commissioners.insert(org);
                } else {
                    self.commissioners.remove(&org);
                }
                self.reclose(org, registered.closed, touched);
            }
            Event::OrganisationMoved(_) => {
                self.move_organisation(&envelope.event, touched);
            }
            // Assessments are made when a snapshot asks, from the figures: no cell changes.
            Event::MethodologyDefined(methodology) => {
                self.methodologies
                    .insert(methodology.id.clone(), methodology.clone());
            }
            Event::TrustTypeSet(set) => {
                let org = self.names.id(&set.org);
                self.trust_types.insert(org, set.trust_type);
            }
        }
        true
    }

    /// The id of a derived metric of `base` (a metric or a collection).
    fn derived_id(&mut self, derived: Derived, base: &str) -> Id {
        let base = self.names.id(base);
        self.derived_of(derived, base)
    }

    fn derived_of(&mut self, derived: Derived, base: Id) -> Id {
        if let Some(id) = self.derived_ids.get(&(derived, base)) {
            return *id;
        }
        // An id with no name: what it holds is kept in `derived`, never spelled in a string.
        let id = self.names.unnamed();
        self.derived.insert(id, (derived, base));
        self.derived_ids.insert((derived, base), id);
        id
    }

    /// The kind a metric's totals take: as defined, or else as first reported.
    fn kind_of(&self, metric: Id, value: &Value) -> ValueKind {
        self.metrics
            .get(&self.defined_as(metric))
            .map_or(value.kind(), |(kind, _, _)| *kind)
    }

    fn standard(&self, metric: Id) -> Option<Standard> {
        self.metrics
            .get(&self.defined_as(metric))
            .and_then(|(_, standard, _)| *standard)
    }

    /// The metric whose definition a figure follows: a published figure is its metric's.
    fn defined_as(&self, metric: Id) -> Id {
        match self.derived.get(&metric) {
            Some((Derived::Published, base)) => *base,
            _ => metric,
        }
    }
}

/// When a return for `period` of `collection` is due: by its schedule in the log, or else by the
/// rule for its kind of period.
pub(crate) fn schedule_due_date(
    schedules: &BTreeMap<String, u32>,
    collection: &str,
    period: Period,
) -> Date {
    match schedules.get(collection) {
        Some(days) => due_date_after(*days, period),
        None => due_date(collection, period),
    }
}

/// The metrics of a delta's changes, each once. A merged delta holds many changes of few metrics,
/// each metric's in runs: a short list, searched only where a run starts, beats hashing every name.
fn changed_metrics(changes: &[Change]) -> Vec<&str> {
    let mut changed: Vec<&str> = Vec::new();
    for change in changes {
        let metric = change.metric.as_str();
        if changed.last() != Some(&metric) && !changed.contains(&metric) {
            changed.push(metric);
        }
    }
    changed
}

/// Each metric's cells in period order: the metrics of a scope that something reads.
type Series<'a> = BTreeMap<Id, SeriesCells<'a>>;
/// One period of a series: its headline value and its cell.
type SeriesPoint<'a> = (Period, f64, &'a CellState);

/// The series of the metrics `wanted` in `cells`, lent where they are.
fn series_of(cells: &Cells, wanted: impl Fn(Id) -> bool) -> Series<'_> {
    cells
        .by_metric()
        .filter(|(metric, _)| wanted(*metric))
        .collect()
}

/// The first and latest non-empty periods of a series, by when they end. Months sort before
/// weeks and weeks before days, each kind in date order, so the first and latest are among the
/// ends of each kind's run.
fn first_and_latest<'c>(series: &SeriesCells<'c>) -> Option<(SeriesPoint<'c>, SeriesPoint<'c>)> {
    let kind = |period: &Period| std::mem::discriminant(period);
    let point = |at: usize| (series.periods[at], series.values[at], &series.cells[at]);
    let filled = |at: &usize| !series.values[*at].is_nan();
    // At most one run of each kind of period: no list to allocate.
    let mut ends: [Option<(SeriesPoint<'c>, SeriesPoint<'c>)>; 3] = [None; 3];
    let mut runs = 0;
    let mut start = 0;
    while let Some(period) = series.periods.get(start) {
        // Kinds sort together: a run of the last period's kind runs to the end. Most series are
        // one kind, found so without searching periods that a chart will not read.
        let end = match series.periods.last() {
            Some(last) if kind(last) == kind(period) => series.periods.len(),
            _ => start + series.periods[start..].partition_point(|p| kind(p) == kind(period)),
        };
        if let Some(first) = (start..end).find(filled) {
            let last = (start..end).rev().find(filled).unwrap_or(first);
            if let Some(slot) = ends.get_mut(runs) {
                *slot = Some((point(first), point(last)));
                runs += 1;
            }
        }
        start = end;
    }
    let mut found = ends.into_iter().flatten();
    if runs == 1 {
        return found.next();
    }
    let found: Vec<_> = found.collect();
    Some((
        found
            .iter()
            .map(|(first, _)| *first)
            .min_by_key(|(period, ..)| period.end_order())?,
        found
            .iter()
            .map(|(_, last)| *last)
            .max_by_key(|(period, ..)| period.end_order())?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cells::any_period;
    use crate::sum::Sum;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_first_and_latest_are_those_by_the_end_order(
            mut periods in prop::collection::vec((any_period(), any::<bool>()), 1..30),
        ) {
            periods.sort_unstable_by_key(|(period, _)| *period);
            periods.dedup_by_key(|(period, _)| *period);
            let cell = CellState { kind: ValueKind::Count, sum: Sum::default() };
            // An empty cell's value is NaN; only the others count.
            let (periods, values): (Vec<Period>, Vec<f64>) = periods
                .into_iter()
                .map(|(period, filled)| (period, if filled { 1.0 } else { f64::NAN }))
                .unzip();
            let cells = vec![cell; periods.len()];
            let series = SeriesCells { periods: &periods, values: &values, cells: &cells };
            let filled = || periods.iter().zip(&values).filter(|(_, v)| !v.is_nan()).map(|(p, _)| *p);
            let found = first_and_latest(&series);
            prop_assert_eq!(found.map(|(first, _)| first.0), filled().min_by_key(|p| p.end_order()));
            prop_assert_eq!(found.map(|(_, latest)| latest.0), filled().max_by_key(|p| p.end_order()));
        }
    }
}

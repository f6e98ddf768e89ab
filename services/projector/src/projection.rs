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
    due_date, due_date_after, Alert, AlertKind, Cell, Change, Date, Delta, Domain, Envelope, Event,
    GeographyMode, Period, Polarity, Segment, SegmentDecision, Spc, Standard, Summary, Trigger,
    TriggerKind, Value, ValueKind, View, NATIONAL, UNASSIGNED,
};
use serde::{Deserialize, Serialize};

use crate::alerts::AlertClock;

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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Views {
    scopes: HashMap<Id, ScopeState>,
}

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
    /// Organisations' closing dates: nothing is expected of them after.
    closed: HashMap<Id, Date>,
    /// Metrics of the finance domain: off plan is a segment trigger for them.
    finance: HashSet<Id>,
    /// Each organisation's segment as its regional team decided it.
    decisions: HashMap<Id, SegmentDecision>,
    /// Each defined collection's schedule: due this many working days after a period ends. A
    /// collection the log does not define is due by the rule for its kind of period.
    schedules: BTreeMap<String, u32>,
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
            closed: HashMap::default(),
            finance: HashSet::default(),
            decisions: HashMap::default(),
            schedules: BTreeMap::new(),
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
const CHECKPOINT_FORMAT: u16 = 8;

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
        let mut touched = Touched::with_capacity(TOUCHED_CAPACITY);
        if !self.fold(envelope, &mut touched) {
            return;
        }
        let seq = self.seq;
        let mut last = None;
        for (scope, ..) in touched {
            if last != Some(scope) {
                self.as_reported
                    .scopes
                    .entry(scope)
                    .or_default()
                    .last_change_seq = seq;
                last = Some(scope);
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
                self.replace_return(key, values, touched);
                self.returned(org, collection, ret.period, touched);
            }
            Event::PlanSubmitted(submitted) => {
                let plan = &submitted.plan;
                let org = self.names.id(&plan.org);
                let name = self.names.id(&plan.plan);
                let mut figures = Vec::new();
                for (metric, points) in &plan.trajectories {
                    let planned = self.derived_id(Derived::Plan, metric);
                    figures.extend(points.iter().map(|(p, v)| (planned, *p, *v)));
                }
                let mut periods: BTreeSet<Period> = figures.iter().map(|(_, p, _)| *p).collect();
                if let Some((_, old)) = self.plans.insert((org, name), (self.seq, figures)) {
                    periods.extend(old.iter().map(|(_, p, _)| *p));
                }
                let of = self.plans_of.entry(org).or_default();
                if !of.contains(&name) {
                    of.push(name);
                }
                for period in periods {
                    let values = self.plan_in_force(org, period);
                    self.replace_return((org, PLAN_COLLECTION_ID, period), values, touched);
                }
            }
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
                self.reclose(org, registered.closed, touched);
            }
            Event::OrganisationMoved(_) => {
                self.move_organisation(&envelope.event, touched);
            }
        }
        true
    }

    /// Replaces the figures counted for one return (or one period of a plan) with `values`: the
    /// earlier figures are taken back from every scope and the new ones added.
    fn replace_return(&mut self, key: ReturnKey, values: Vec<(Id, Value)>, touched: &mut Touched) {
        let (org, collection, period) = key;
        if let Some(old) = self.returns.remove(&key) {
            self.take_from_scopes(key, &old, touched);
            self.leaf(key, &old, Sign::TakeBack);
        }
        if values.is_empty() {
            if let Some(keys) = self.returns_of.get_mut(&org) {
                keys.remove(&(collection, period));
            }
            return;
        }
        self.add_to_scopes(key, &values, touched);
        self.leaf(key, &values, Sign::Add);
        self.returns_of
            .entry(org)
            .or_default()
            .insert((collection, period));
        self.returns.insert(key, values);
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

    /// A return for (organisation, collection, period) is in: the organisation is expected from
    /// its first period on, a period returned for the first time is due for everyone on the
    /// collection, and this return is no longer missing.
    fn returned(&mut self, org: Id, collection: Id, period: Period, touched: &mut Touched) {
        let members = self.on_collection.entry(collection).or_default();
        let earlier_first = match members.get(&org) {
            Some(first) if *first <= period => None,
            Some(first) => Some(Some(*first)),
            None => Some(None),
        };
        if let Some(until) = earlier_first {
            members.insert(org, period);
            // Periods already returned by others are now expected of this organisation too.
            let newly: Vec<Period> = self
                .periods_reported
                .get(&collection)
                .map(|periods| {
                    periods
                        .range(period..)
                        .map(|(p, _)| *p)
                        .take_while(|p| until.is_none_or(|until| *p < until))
                        .collect()
                })
                .unwrap_or_default();
            for p in newly {
                self.refresh_missing(org, collection, p, touched);
            }
        }
        let name = self.names.name(collection);
        let periods = self.periods_reported.entry(collection).or_default();
        if let std::collections::btree_map::Entry::Vacant(entry) = periods.entry(period) {
            // A period first returned after its due date (a backfill, an import of history) is
            // overdue for the others at once; those arriving later in the same load clear it.
            let due = schedule_due_date(&self.schedules, name, period).days_since_epoch();
            entry.insert(due);
            if due < self.today {
                self.refresh_everyone(collection, period, touched);
            } else {
                self.awaiting.insert((due, collection, period));
            }
        }
        self.refresh_missing(org, collection, period, touched);
    }

    /// Periods whose due date the log's date has passed: whoever has not returned is missing.
    fn fall_due(&mut self, touched: &mut Touched) {
        while let Some(&(due, collection, period)) = self.awaiting.first() {
            if due >= self.today {
                break;
            }
            self.awaiting.pop_first();
            self.refresh_everyone(collection, period, touched);
        }
    }

    fn refresh_everyone(&mut self, collection: Id, period: Period, touched: &mut Touched) {
        let mut members: Vec<Id> = self
            .on_collection
            .get(&collection)
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        members.sort_unstable();
        for org in members {
            self.refresh_missing(org, collection, period, touched);
        }
    }

    /// Whether an organisation's return is due and absent, brought up to date.
    fn refresh_missing(&mut self, org: Id, collection: Id, period: Period, touched: &mut Touched) {
        let due = self
            .periods_reported
            .get(&collection)
            .and_then(|periods| periods.get(&period));
        let expected = self
            .on_collection
            .get(&collection)
            .and_then(|members| members.get(&org))
            .is_some_and(|first| *first <= period);
        let open = self
            .closed
            .get(&org)
            .is_none_or(|closed| period.first_day() <= *closed);
        let should = due.is_some_and(|due| *due < self.today)
            && expected
            && open
            && !self.returns.contains_key(&(org, collection, period));
        let missing = self.derived_of(Derived::Missing, collection);
        let key = (org, missing, period);
        if should != self.returns.contains_key(&key) {
            let values = if should {
                vec![(missing, Value::Count(1))]
            } else {
                Vec::new()
            };
            self.replace_return(key, values, touched);
        }
    }

    /// An organisation's closing date changed: what is expected of it changes with it.
    fn reclose(&mut self, org: Id, closed: Option<Date>, touched: &mut Touched) {
        if self.closed.get(&org).copied() == closed {
            return;
        }
        match closed {
            Some(date) => self.closed.insert(org, date),
            None => self.closed.remove(&org),
        };
        let mut due: Vec<(Id, Period)> = Vec::new();
        for (collection, members) in &self.on_collection {
            let Some(first) = members.get(&org) else {
                continue;
            };
            if let Some(periods) = self.periods_reported.get(collection) {
                due.extend(periods.range(*first..).map(|(p, _)| (*collection, *p)));
            }
        }
        due.sort_unstable();
        for (collection, period) in due {
            self.refresh_missing(org, collection, period, touched);
        }
    }

    /// An organisation's planned figures for one period: for each metric, from the plan recorded
    /// last among those that plan it, so overlapping planning rounds never add up.
    fn plan_in_force(&self, org: Id, period: Period) -> Vec<(Id, Value)> {
        let mut best: BTreeMap<Id, (u64, Value)> = BTreeMap::new();
        for name in self.plans_of.get(&org).into_iter().flatten() {
            let Some((seq, figures)) = self.plans.get(&(org, *name)) else {
                continue;
            };
            for (metric, _, value) in figures.iter().filter(|(_, p, _)| *p == period) {
                if best.get(metric).is_none_or(|(held, _)| held < seq) {
                    best.insert(*metric, (*seq, *value));
                }
            }
        }
        best.into_iter().map(|(m, (_, v))| (m, v)).collect()
    }

    /// A reference event that may place an organisation elsewhere: its returns leave the scopes
    /// they counted in and join the new ones, in both geographies.
    fn move_organisation(&mut self, event: &Event, touched: &mut Touched) {
        let code = match event {
            Event::OrganisationRegistered(o) => &o.code,
            Event::OrganisationMoved(m) => &m.code,
            _ => return,
        };
        let org = self.names.id(code);
        let keys: Vec<ReturnKey> = self
            .returns_of
            .get(&org)
            .map(|keys| keys.iter().map(|(c, p)| (org, *c, *p)).collect())
            .unwrap_or_default();
        for key in &keys {
            if let Some(values) = self.returns.get(key).cloned() {
                self.take_from_scopes(*key, &values, touched);
            }
        }
        self.geography.apply(event, &mut self.names);
        self.known_scopes.insert(org);
        for key in &keys {
            if let Some(values) = self.returns.get(key).cloned() {
                self.add_to_scopes(*key, &values, touched);
            }
        }
    }

    /// The kind a metric's totals take: as defined, or else as first reported.
    fn kind_of(&self, metric: Id, value: &Value) -> ValueKind {
        self.metrics
            .get(&metric)
            .map_or(value.kind(), |(kind, _, _)| *kind)
    }

    /// Adds (or takes back) a return's values in the organisation's own figures.
    fn leaf(&mut self, (org, _, period): ReturnKey, values: &[(Id, Value)], sign: Sign) {
        let kinds: Vec<ValueKind> = values.iter().map(|(m, v)| self.kind_of(*m, v)).collect();
        let leaves = self.leaves.entry(org).or_default();
        for ((metric, value), kind) in values.iter().zip(kinds) {
            leaves.update((*metric, period), kind, value, sign == Sign::Add);
        }
    }

    /// Adds (or takes back) a return's values in every scope it counts in, under both geographies.
    /// An organisation's own scope is its leaves, so it is not kept again here.
    fn contribute(
        &mut self,
        (org, _, period): ReturnKey,
        values: &[(Id, Value)],
        sign: Sign,
        touched: &mut Touched,
    ) {
        let add = sign == Sign::Add;
        let kinds: Vec<ValueKind> = values.iter().map(|(m, v)| self.kind_of(*m, v)).collect();
        let reported = self
            .geography
            .scopes(org, period, GeographyMode::AsReported);
        let apply = |views: &mut Views, scope: Id, add: bool| {
            let state = views.scopes.entry(scope).or_default();
            for ((metric, value), kind) in values.iter().zip(&kinds) {
                state.cells.update((*metric, period), *kind, value, add);
            }
        };
        for scope in reported.iter().filter(|s| *s != org) {
            apply(&mut self.as_reported, scope, add);
        }
        if self.geography.has_moved(org) {
            let current = self.geography.scopes(org, period, GeographyMode::Current);
            for scope in current
                .iter()
                .filter(|s| *s != org && !reported.contains(*s))
            {
                apply(&mut self.current_adjust, scope, add);
            }
            for scope in reported
                .iter()
                .filter(|s| *s != org && !current.contains(*s))
            {
                apply(&mut self.current_adjust, scope, !add);
            }
        }
        for scope in reported.iter() {
            for (metric, _) in values {
                touched.push((scope, *metric, period, org));
            }
        }
    }

    /// Counts a return's values in every scope it counts in, under both geographies.
    fn add_to_scopes(&mut self, key: ReturnKey, values: &[(Id, Value)], touched: &mut Touched) {
        self.contribute(key, values, Sign::Add, touched);
    }

    /// Takes a return's values back from every scope it counted in (a revision, or a move).
    fn take_from_scopes(&mut self, key: ReturnKey, values: &[(Id, Value)], touched: &mut Touched) {
        self.contribute(key, values, Sign::TakeBack, touched);
    }

    fn deltas(&mut self, mut touched: Touched) -> Vec<Delta> {
        touched.sort_unstable();
        touched.dedup();
        let seq = self.seq;
        let mut deltas: Vec<Delta> = Vec::new();
        for (scope, metric, period, org) in touched {
            if deltas.last().map(|d| d.scope.as_str()) != Some(self.names.name(scope)) {
                let state = self.as_reported.scopes.entry(scope).or_default();
                let prev_seq = state.last_change_seq;
                state.last_change_seq = seq;
                deltas.push(Delta {
                    scope: self.names.name(scope).to_owned(),
                    prev_seq,
                    seq,
                    changes: Vec::new(),
                    spc: BTreeMap::new(),
                    plans: Vec::new(),
                    received: Vec::new(),
                    missing: Vec::new(),
                    segment: None,
                });
            }
            if metric == NO_METRIC {
                continue;
            }
            let mut change = self.change(scope, metric, period, org);
            let Some(delta) = deltas.last_mut() else {
                continue;
            };
            match self.derived.get(&metric) {
                Some((derived, base)) => {
                    change.metric = self.names.name(*base).to_owned();
                    match derived {
                        Derived::Plan => delta.plans.push(change),
                        Derived::Received => delta.received.push(change),
                        Derived::Missing => delta.missing.push(change),
                    }
                }
                None => delta.changes.push(change),
            }
        }
        deltas
    }

    fn change(&self, scope: Id, metric: Id, period: Period, org: Id) -> Change {
        let standard = self.standard(metric);
        let cells = if scope == org {
            self.leaves.get(&org)
        } else {
            self.as_reported.scopes.get(&scope).map(|s| &s.cells)
        };
        let summary = cells
            .and_then(|cells| cells.get(metric, period))
            .filter(|cell| !cell.sum.is_empty())
            .map(|cell| cell.sum.summary(cell.kind, standard));
        let counts_here = self
            .geography
            .scopes(org, period, GeographyMode::AsReported)
            .contains(scope);
        let value = counts_here
            .then(|| self.leaves.get(&org)?.get(metric, period))
            .flatten()
            .filter(|leaf| !leaf.sum.is_empty())
            .map(|leaf| leaf.sum.total(leaf.kind));
        Change {
            metric: self.names.name(metric).to_owned(),
            period,
            organisation: self.names.name(org).to_owned(),
            value,
            summary,
        }
    }

    fn standard(&self, metric: Id) -> Option<Standard> {
        self.metrics
            .get(&metric)
            .and_then(|(_, standard, _)| *standard)
    }

    /// One metric's chart from its figures by period: months only, oldest first.
    fn chart(&self, metric: Id, figures: impl Iterator<Item = (Period, f64)>) -> Option<Spc> {
        let (months, values): (Vec<Period>, Vec<f64>) = figures
            .filter(|(period, _)| matches!(period, Period::Month { .. }))
            .unzip();
        drawing::draw(&self.chart_input(metric, Months::Listed(months), values)?)
    }

    /// What one metric's chart is drawn from: its months and figures, oldest first, and how the
    /// metric reads. `None` without months or for a metric not defined.
    fn chart_input(&self, metric: Id, months: Months, values: Vec<f64>) -> Option<ChartInput> {
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
    fn series_chart_input(&self, metric: Id, series: &SeriesCells<'_>) -> Option<ChartInput> {
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

    /// A scope's running totals under the geography as reported: an organisation's own figures,
    /// or the scope's cells.
    fn cells_as_reported(&self, scope: Id) -> Option<&Cells> {
        if self.geography.is_organisation(scope) {
            self.leaves.get(&scope)
        } else {
            self.as_reported.scopes.get(&scope).map(|s| &s.cells)
        }
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

    /// An organisation has a segment once it has returned, planned or been decided on: each of
    /// those sends a delta to its scope, so a consumer learns of the segment as it appears.
    fn has_segment(&self, scope: Id) -> bool {
        self.geography.is_organisation(scope)
            && (self.leaves.contains_key(&scope) || self.decisions.contains_key(&scope))
    }

    /// Whether a segment reads a metric's series: actual figures and missing returns, not the
    /// plans (read by period where an actual is) or the returns received.
    fn segment_reads(&self, metric: Id) -> bool {
        !matches!(
            self.derived.get(&metric),
            Some((Derived::Plan | Derived::Received, _))
        )
    }

    /// An organisation's segment now.
    fn segment(&self, org: Id) -> Segment {
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
    fn segment_work(
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
    fn off_plan(&self, org: Id, metric: Id, actuals: &SeriesCells<'_>) -> Option<(Period, String)> {
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

    /// Every scope that has a view: England, `unassigned`, and each region, system and
    /// organisation defined.
    pub fn scopes(&self) -> Vec<String> {
        let mut scopes: Vec<String> = self
            .known_scopes
            .iter()
            .map(|id| self.names.name(*id).to_owned())
            .chain([NATIONAL.to_owned(), UNASSIGNED.to_owned()])
            .collect();
        scopes.sort_unstable();
        scopes.dedup();
        scopes
    }

    /// The alert conditions that hold in `scope` now, over all its metrics and returns: what a
    /// service starting up already knows of, so it does not announce them again.
    pub fn alert_conditions_now(&self, scope: &str) -> Vec<Alert> {
        let view = self.view_without_charts(scope, GeographyMode::AsReported);
        let mut delta = Delta {
            scope: scope.to_owned(),
            prev_seq: view.last_change_seq,
            seq: self.seq,
            changes: Vec::new(),
            spc: BTreeMap::new(),
            plans: Vec::new(),
            received: Vec::new(),
            missing: Vec::new(),
            segment: None,
        };
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
        let cells = if self.geography.is_organisation(scope) {
            self.leaves.get(&scope)
        } else {
            self.as_reported.scopes.get(&scope).map(|s| &s.cells)
        };
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

    /// Whether `scope` names England, `unassigned`, or a region, system or organisation defined
    /// in the log.
    pub fn knows_scope(&self, scope: &str) -> bool {
        scope == NATIONAL
            || scope == UNASSIGNED
            || self
                .names
                .get(scope)
                .is_some_and(|id| self.known_scopes.contains(&id))
    }

    /// A scope's totals under `mode`: an organisation's own figures, or the scope's as-reported
    /// totals with today's corrections added for the current geography.
    fn cells_of(&self, scope: Id, mode: GeographyMode) -> Cells {
        let mut cells = if self.geography.is_organisation(scope) {
            self.leaves.get(&scope).cloned().unwrap_or_default()
        } else {
            self.as_reported_with(scope, mode)
        };
        cells.remove_empty();
        cells
    }

    fn as_reported_with(&self, scope: Id, mode: GeographyMode) -> Cells {
        let mut cells = self
            .as_reported
            .scopes
            .get(&scope)
            .map(|s| s.cells.clone())
            .unwrap_or_default();
        if mode == GeographyMode::Current {
            if let Some(adjust) = self.current_adjust.scopes.get(&scope) {
                for (key, correction) in adjust.cells.iter() {
                    cells.merge(key, correction.kind, &correction.sum);
                }
            }
        }
        cells
    }

    /// The whole view of one scope now, with the chart of each metric and, for an
    /// organisation, its segment.
    pub fn view(&self, scope: &str, mode: GeographyMode) -> View {
        let mut view = self.view_without_charts(scope, mode);
        view.segment = self
            .names
            .get(scope)
            .filter(|id| self.has_segment(*id))
            .map(|id| self.segment(id));
        view.spc = view
            .metrics
            .iter()
            .filter_map(|(name, periods)| {
                let metric = self.names.get(name)?;
                let figures = periods.iter().map(|(p, cell)| (*p, cell.summary.value));
                Some((name.clone(), self.chart(metric, figures)?))
            })
            .collect();
        view
    }

    /// The view of one scope without charts (analytics off).
    pub fn view_without_charts(&self, scope: &str, mode: GeographyMode) -> View {
        let id = self.names.get(scope);
        let mut by_id: BTreeMap<Id, BTreeMap<Period, Cell>> = BTreeMap::new();
        if let Some(id) = id {
            for ((metric, period), cell) in self.cells_of(id, mode).iter() {
                let summary: Summary = cell.sum.summary(cell.kind, self.standard(metric));
                by_id.entry(metric).or_default().insert(
                    period,
                    Cell {
                        summary,
                        organisations: BTreeMap::new(),
                    },
                );
            }
            self.fill_organisations(id, mode, &mut by_id);
        }
        let (mut metrics, mut plans, mut received, mut missing) = (
            BTreeMap::new(),
            BTreeMap::new(),
            BTreeMap::new(),
            BTreeMap::new(),
        );
        for (metric, periods) in by_id {
            let (into, name) = match self.derived.get(&metric) {
                None => (&mut metrics, metric),
                Some((Derived::Plan, base)) => (&mut plans, *base),
                Some((Derived::Received, base)) => (&mut received, *base),
                Some((Derived::Missing, base)) => (&mut missing, *base),
            };
            into.insert(self.names.name(name).to_owned(), periods);
        }
        let last_change = id
            .and_then(|id| self.as_reported.scopes.get(&id))
            .map_or(0, |s| s.last_change_seq);
        let mut view = View {
            scope: scope.to_owned(),
            geography: mode,
            seq: self.seq,
            last_change_seq: match mode {
                GeographyMode::AsReported => last_change,
                // Deltas are published under the geography as reported only.
                GeographyMode::Current => self.seq,
            },
            metrics,
            spc: BTreeMap::new(),
            plans,
            variance: BTreeMap::new(),
            received,
            missing,
            segment: None,
        };
        let planned: Vec<(String, Period)> = view
            .plans
            .iter()
            .flat_map(|(m, periods)| periods.keys().map(move |p| (m.clone(), *p)))
            .collect();
        for (metric, period) in planned {
            view.refresh_variance(&metric, period);
        }
        view
    }

    /// Each cell's organisations, from their own figures.
    fn fill_organisations(
        &self,
        scope: Id,
        mode: GeographyMode,
        metrics: &mut BTreeMap<Id, BTreeMap<Period, Cell>>,
    ) {
        let orgs: Vec<Id> = if scope != NATIONAL_ID && self.leaves.contains_key(&scope) {
            vec![scope]
        } else {
            self.leaves.keys().copied().collect()
        };
        for org in orgs {
            let Some(leaves) = self.leaves.get(&org) else {
                continue;
            };
            // An organisation that never moved counts in the same scopes for every period.
            let fixed = (!self.geography.has_moved(org)).then(|| {
                leaves.iter().next().map(|((_, period), _)| {
                    self.geography.scopes(org, period, mode).contains(scope)
                })
            });
            if fixed.flatten() == Some(false) {
                continue;
            }
            for ((metric, period), leaf) in leaves.iter().filter(|(_, l)| !l.sum.is_empty()) {
                if fixed.is_none() && !self.geography.scopes(org, period, mode).contains(scope) {
                    continue;
                }
                if let Some(cell) = metrics
                    .get_mut(&metric)
                    .and_then(|periods| periods.get_mut(&period))
                {
                    cell.organisations
                        .insert(self.names.name(org).to_owned(), leaf.sum.total(leaf.kind));
                }
            }
        }
    }

    /// The views recomputed from scratch from the latest revisions and the geography now, without
    /// any incremental bookkeeping: what the incremental views must always equal.
    pub fn recomputed(&self) -> Projection {
        let mut fresh = Projection {
            seq: self.seq,
            names: self.names.clone(),
            geography: self.geography.clone(),
            known_scopes: self.known_scopes.clone(),
            metrics: self.metrics.clone(),
            plans: self.plans.clone(),
            plans_of: self.plans_of.clone(),
            derived: self.derived.clone(),
            derived_ids: self.derived_ids.clone(),
            today: self.today,
            on_collection: self.on_collection.clone(),
            periods_reported: self.periods_reported.clone(),
            awaiting: self.awaiting.clone(),
            closed: self.closed.clone(),
            finance: self.finance.clone(),
            decisions: self.decisions.clone(),
            schedules: self.schedules.clone(),
            ..Projection::default()
        };
        let mut keys: Vec<&ReturnKey> = self.returns.keys().collect();
        keys.sort();
        for key in keys {
            let values = &self.returns[key];
            fresh.add_to_scopes(*key, values, &mut Touched::new());
            fresh.leaf(*key, values, Sign::Add);
            fresh
                .returns_of
                .entry(key.0)
                .or_default()
                .insert((key.1, key.2));
            fresh.returns.insert(*key, values.clone());
        }
        fresh
    }

    /// Whether two projections hold the same figures in every scope, under both geographies
    /// (the change bookkeeping aside).
    pub fn same_figures(&self, other: &Projection) -> bool {
        if self.names != other.names {
            return false;
        }
        (0..self.names.len()).all(|id| {
            let name = self.names.name(id as Id);
            [GeographyMode::AsReported, GeographyMode::Current]
                .into_iter()
                .all(|mode| {
                    let (mine, theirs) = (
                        self.view_without_charts(name, mode),
                        other.view_without_charts(name, mode),
                    );
                    (mine.metrics, mine.plans, mine.received, mine.missing)
                        == (
                            theirs.metrics,
                            theirs.plans,
                            theirs.received,
                            theirs.missing,
                        )
                })
        })
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

//! Views on the wire: a snapshot of one scope (`oversight.view.<scope>.snapshot`) and the deltas
//! that keep a copy of it current (`oversight.view.<scope>.delta`), with the rule a consumer
//! follows to apply them and to notice a gap.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::assessment::Oversight;
use crate::calendar::{Date, Period};
use crate::methodology::Quarter;
use crate::reference::Standard;
use crate::timestamp::Timestamp;
use crate::value::{Value, ValueKind};
use crate::window::{Completeness, CompletenessChange};

/// The scope that covers all of England.
pub const NATIONAL: &str = "national";
/// The scope of organisations whose region no reference file names: counted in England, shown
/// here, never dropped and never guessed.
pub const UNASSIGNED: &str = "unassigned";

/// Which geography a view counts each return under.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeographyMode {
    /// Where the organisation was in the period the return is for.
    #[default]
    AsReported,
    /// Where the organisation is now (the latest placement in the log).
    Current,
}

/// A snapshot request. `{}` asks for the view now, under the geography as reported. A field it
/// does not know (`as_of_seqq`) is refused, not ignored into the live view. (No field is ever
/// skipped when writing: postcard is not self-describing.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotRequest {
    /// The view as it stood after this seq.
    #[serde(default)]
    pub as_of_seq: Option<u64>,
    /// The view as it stood at this time (the last entry recorded at or before it).
    #[serde(default)]
    pub as_of: Option<Timestamp>,
    #[serde(default)]
    pub geography: GeographyMode,
    /// Only these metrics (and their plans, variance and charts); empty: every metric.
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Only periods that start on or after this one's first day.
    #[serde(default)]
    pub from: Option<Period>,
    /// Only periods that end on or before this one's last day.
    #[serde(default)]
    pub to: Option<Period>,
    /// Only each metric's (and collection's) latest this many periods, after `from` and `to`.
    #[serde(default)]
    pub last: Option<u32>,
    /// The next page of a view too large for one message: the metrics after this one only (a
    /// view's `more_after`), without the returns and segment its first page carried.
    #[serde(default)]
    pub after_metric: Option<String>,
    /// Assess the scope's organisations under this methodology (`nof-2025-26`, `nof-2026-27`,
    /// `triggers-2019`): the view's `oversight`.
    #[serde(default)]
    pub methodology: Option<String>,
    /// The quarter assessed; by default the methodology's latest quarter with figures.
    #[serde(default)]
    pub quarter: Option<Quarter>,
}

/// A snapshot request as clients built before `metrics`, `from`, `to` and `last` send it in
/// postcard (which is not self-describing, so their shorter layout would not decode as today's).
#[derive(Deserialize)]
struct SnapshotRequestBeforeNarrowing {
    as_of_seq: Option<u64>,
    as_of: Option<Timestamp>,
    geography: GeographyMode,
}

/// A snapshot request as clients built before methodologies send it in postcard.
#[derive(Deserialize)]
struct SnapshotRequestBeforeMethodologies {
    as_of_seq: Option<u64>,
    as_of: Option<Timestamp>,
    geography: GeographyMode,
    metrics: Vec<String>,
    from: Option<Period>,
    to: Option<Period>,
    last: Option<u32>,
    after_metric: Option<String>,
}

/// A snapshot request as clients built before paging send it in postcard.
#[derive(Deserialize)]
struct SnapshotRequestBeforePaging {
    as_of_seq: Option<u64>,
    as_of: Option<Timestamp>,
    geography: GeographyMode,
    metrics: Vec<String>,
    from: Option<Period>,
    to: Option<Period>,
    last: Option<u32>,
}

impl SnapshotRequest {
    /// Reads a postcard request in today's layout or, from an older client, the layout before
    /// paging or before narrowing (which narrows nothing); the error is today's layout's.
    pub fn from_postcard(bytes: &[u8]) -> Result<SnapshotRequest, postcard::Error> {
        match postcard::take_from_bytes::<SnapshotRequest>(bytes) {
            Ok((request, [])) => return Ok(request),
            Ok(_) => return Err(postcard::Error::DeserializeBadEncoding),
            Err(_) => {}
        }
        if let Ok((older, [])) =
            postcard::take_from_bytes::<SnapshotRequestBeforeMethodologies>(bytes)
        {
            return Ok(SnapshotRequest {
                as_of_seq: older.as_of_seq,
                as_of: older.as_of,
                geography: older.geography,
                metrics: older.metrics,
                from: older.from,
                to: older.to,
                last: older.last,
                after_metric: older.after_metric,
                methodology: None,
                quarter: None,
            });
        }
        if let Ok((older, [])) = postcard::take_from_bytes::<SnapshotRequestBeforePaging>(bytes) {
            return Ok(SnapshotRequest {
                as_of_seq: older.as_of_seq,
                as_of: older.as_of,
                geography: older.geography,
                metrics: older.metrics,
                from: older.from,
                to: older.to,
                last: older.last,
                ..SnapshotRequest::default()
            });
        }
        postcard::from_bytes(bytes).or_else(|error| {
            match postcard::take_from_bytes::<SnapshotRequestBeforeNarrowing>(bytes) {
                Ok((older, [])) => Ok(SnapshotRequest {
                    as_of_seq: older.as_of_seq,
                    as_of: older.as_of,
                    geography: older.geography,
                    ..SnapshotRequest::default()
                }),
                _ => Err(error),
            }
        })
    }

    /// Whether the request narrows the view at all.
    pub fn filters(&self) -> bool {
        !self.metrics.is_empty() || self.from.is_some() || self.to.is_some() || self.last.is_some()
    }
}

/// One scope's view at a seq.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct View {
    pub scope: String,
    pub geography: GeographyMode,
    /// The log entries 1..=seq are in this view.
    pub seq: u64,
    /// The last seq that changed this scope: the `prev_seq` of the next delta for it.
    pub last_change_seq: u64,
    /// metric id -> period -> the scope's figure.
    pub metrics: BTreeMap<String, BTreeMap<Period, Cell>>,
    /// metric id -> its statistical process control over the months held (empty with analytics
    /// off).
    pub spc: BTreeMap<String, Spc>,
    /// metric id -> period -> the scope's plan: the organisations' planned figures rolled up
    /// like actuals.
    pub plans: BTreeMap<String, BTreeMap<Period, Cell>>,
    /// metric id -> period -> actual minus plan, in the headline unit (percentage points for
    /// ratios), over the organisations that have both, where the scope has both.
    pub variance: BTreeMap<String, BTreeMap<Period, Variance>>,
    /// collection id -> period -> how many organisations' returns are in (`count`), and which.
    pub received: BTreeMap<String, BTreeMap<Period, Cell>>,
    /// collection id -> period -> the organisations whose return is due and absent: expected
    /// (they returned an earlier period of the collection), the period returned by someone, and
    /// its due date passed by the log's date.
    pub missing: BTreeMap<String, BTreeMap<Period, Cell>>,
    /// metric id -> period -> the scope's figure as published: as it stood when the period's
    /// collection window closed, from the returns in by the deadline. Only periods whose window
    /// has closed with something in; where it differs from `metrics`, a refresh came after.
    pub published: BTreeMap<String, BTreeMap<Period, Cell>>,
    /// collection id -> period -> how many organisations are expected and in, and whether the
    /// window is `provisional`, `complete` or `closed`.
    pub completeness: BTreeMap<String, BTreeMap<Period, Completeness>>,
    /// An organisation's oversight segment: suggested from its triggers, and the regional
    /// team's decision beside it (organisation views with analytics on).
    pub segment: Option<Segment>,
    /// This is one page of a view too large for one message, cut after this metric: ask again
    /// with `after_metric` set to it and `as_of_seq` set to `seq` for the rest.
    pub more_after: Option<String>,
    /// The scope's organisations assessed under the methodology the request named.
    pub oversight: Option<Oversight>,
}

/// A scope's plan against the actuals of the same organisations: a plan made by some of a
/// region's trusts is compared with those trusts' figures, not with the whole region's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Variance {
    /// Their actual minus their plan, in the headline unit (percentage points for ratios, pence
    /// for money, seconds for durations).
    pub value: f64,
    /// The organisations with both an actual and a plan for the period.
    pub organisations: u32,
    /// The organisations with an actual for the period: those the scope's figure counts.
    pub of: u32,
}

/// The headline figure of several organisations' values of one kind taken together, as a
/// scope's total reads (ratios Σ numerator / Σ denominator as a percentage, durations the
/// case-weighted mean rounded to the second); `None` for values of mixed kinds or none.
pub fn headline_of<'a>(values: impl IntoIterator<Item = &'a Value>) -> Option<f64> {
    let mut values = values.into_iter().peekable();
    let kind = values.peek()?.kind();
    let (mut a, mut b) = (0i128, 0i128);
    for value in values {
        match *value {
            Value::Ratio {
                numerator,
                denominator,
            } if kind == ValueKind::Ratio => {
                a += i128::from(numerator.0);
                b += i128::from(denominator.0);
            }
            Value::Count(n) if kind == ValueKind::Count => a += i128::from(n),
            Value::Money { pence } if kind == ValueKind::Money => a += i128::from(pence),
            Value::Duration { seconds, cases } if kind == ValueKind::Duration => {
                a += i128::from(seconds) * i128::from(cases);
                b += i128::from(cases);
            }
            _ => return None,
        }
    }
    Some(match kind {
        ValueKind::Ratio if b != 0 => 100.0 * a as f64 / b as f64,
        ValueKind::Ratio => 0.0,
        ValueKind::Count | ValueKind::Money => a as f64,
        ValueKind::Duration if b != 0 => (2 * a + b).div_euclid(2 * b) as f64,
        ValueKind::Duration => 0.0,
    })
}

/// An organisation's oversight segment, 1 (no support needs) to 4 (intensive support).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// From the triggers' points: none 1, 1–2 points 2, 3–5 points 3, 6 or more 4.
    pub suggested: u8,
    pub triggers: Vec<Trigger>,
    /// The regional team's decision, if any (`oversight.admin.segment`).
    pub decided: Option<SegmentDecision>,
}

/// One reason behind a suggested segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    pub kind: TriggerKind,
    /// The metric (or, for a missing return, the collection).
    pub subject: String,
    /// The period it concerns.
    pub period: Period,
    pub points: u8,
    /// A sentence for the regional team.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// The latest month misses the national standard (1 point).
    StandardMissed,
    /// The latest month is a special cause of concern (1 point).
    SpcConcern,
    /// The process limits lie beyond the standard: it will not be met without change (1 point).
    ConsistentFail,
    /// A finance metric worse than plan in the latest planned month (2 points).
    OffPlan,
    /// A return due and absent (1 point per collection).
    MissingReturn,
}

/// A regional team's decision on an organisation's segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentDecision {
    pub segment: u8,
    pub rationale: String,
    /// The user that decided it, as the NATS server named it.
    pub by: String,
    /// The log entry that recorded it.
    pub seq: u64,
}

/// A message on `oversight.alert.<scope>`: sent once when a condition starts, not again while
/// it lasts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub scope: String,
    /// The log entry that made it happen.
    pub seq: u64,
    pub kind: AlertKind,
    /// The metric, or for an overdue return its collection.
    pub subject: String,
    pub period: Period,
    /// The organisation, for an overdue return.
    pub organisation: Option<String>,
    /// A sentence for the regional team.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The scope's latest month of a metric misses its standard after meeting it (or after
    /// having no figure).
    StandardMissed,
    /// The scope's latest month of a metric became a special cause of concern.
    SpcConcern,
    /// An organisation's return became due and absent.
    ReturnOverdue,
}

impl AlertKind {
    pub const ALL: [AlertKind; 3] = [
        AlertKind::StandardMissed,
        AlertKind::SpcConcern,
        AlertKind::ReturnOverdue,
    ];

    /// The kind as it appears on the wire (and in the metrics' labels).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::StandardMissed => "standard_missed",
            AlertKind::SpcConcern => "spc_concern",
            AlertKind::ReturnOverdue => "return_overdue",
        }
    }
}

/// A point's classification, in NHSRplotthedots' words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointType {
    CommonCause,
    SpecialCauseImprovement,
    SpecialCauseConcern,
    SpecialCauseNeutralHigh,
    SpecialCauseNeutralLow,
}

/// Whether the standard will be met, judged from where it lies against the process limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assurance {
    /// The standard is beyond the limit on the failing side: every point passes.
    ConsistentPass,
    /// The standard is beyond the limit on the passing side: no point can be expected to pass.
    ConsistentFail,
    /// The standard is within the limits: hit and miss.
    Inconsistent,
}

/// One metric's Making Data Count chart in a scope: monthly figures only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spc {
    pub mean: f64,
    /// Absent when there is no moving range to set limits by (one month, or all equal).
    pub lower_limit: Option<f64>,
    pub upper_limit: Option<f64>,
    /// The variation icon: the latest month's classification.
    pub variation: PointType,
    /// Absent without a standard, or for a metric with no better direction.
    pub assurance: Option<Assurance>,
    pub points: ChartPoints,
}

/// A chart's classification of each month, in period order. On the wire it is a map from period
/// to point type, exactly as a `BTreeMap` is written; in memory one sorted vector, because a chart
/// is drawn for every delta that changes its metric and a map would allocate a node per eleven
/// points.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChartPoints(Vec<(Period, PointType)>);

impl ChartPoints {
    /// The classification of one month, if the chart has it.
    pub fn get(&self, period: &Period) -> Option<&PointType> {
        self.0
            .binary_search_by(|(p, _)| p.cmp(period))
            .ok()
            .map(|at| &self.0[at].1)
    }

    /// Each month and its classification, oldest first.
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = &(Period, PointType)> + ExactSizeIterator {
        self.0.iter()
    }

    /// The latest month and its classification.
    pub fn last(&self) -> Option<&(Period, PointType)> {
        self.0.last()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(Period, PointType)> for ChartPoints {
    /// In any order; a month given twice keeps its last classification, as a map would.
    fn from_iter<I: IntoIterator<Item = (Period, PointType)>>(points: I) -> ChartPoints {
        let mut points: Vec<(Period, PointType)> = points.into_iter().collect();
        if !points.is_sorted_by(|a, b| a.0 < b.0) {
            // Stable, so of a month's duplicates the last given ends last and is kept.
            points.sort_by_key(|point| point.0);
            let mut kept: Vec<(Period, PointType)> = Vec::with_capacity(points.len());
            for point in points {
                match kept.last_mut() {
                    Some(last) if last.0 == point.0 => *last = point,
                    _ => kept.push(point),
                }
            }
            points = kept;
        }
        ChartPoints(points)
    }
}

impl std::ops::Index<&Period> for ChartPoints {
    type Output = PointType;

    /// Panics when the chart has no such month, as a map's index does.
    fn index(&self, period: &Period) -> &PointType {
        self.get(period).expect("a month the chart has")
    }
}

impl Serialize for ChartPoints {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(period, point)| (period, point)))
    }
}

impl<'de> Deserialize<'de> for ChartPoints {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ChartPoints, D::Error> {
        let points = BTreeMap::<Period, PointType>::deserialize(d)?;
        Ok(ChartPoints(points.into_iter().collect()))
    }
}

/// A scope's figure for one metric and period.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub summary: Summary,
    /// Each contributing organisation's own figure.
    pub organisations: BTreeMap<String, Value>,
}

/// The aggregate of a cell and how it stands against the standard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Ratios: Σ numerator and Σ denominator; counts and money: Σ; durations: the case-weighted
    /// mean in seconds (rounded to the nearest second) and Σ cases.
    pub total: Value,
    /// The headline figure: a ratio as a percentage (84.35), a count or pence as is, a duration
    /// in seconds.
    pub value: f64,
    pub standard: Option<Standard>,
    /// Whether the total meets the standard; absent without one.
    pub met: Option<bool>,
}

/// The JSON shape of a cell: the total's own fields beside `value`, `standard`, `met` and
/// `organisations`, as the README writes it.
#[derive(Serialize, Deserialize)]
struct CellJson {
    #[serde(flatten)]
    total: Value,
    value: f64,
    standard: Option<Standard>,
    met: Option<bool>,
    organisations: BTreeMap<String, Value>,
}

#[derive(Serialize, Deserialize)]
struct CellBinary {
    summary: Summary,
    organisations: BTreeMap<String, Value>,
}

impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            CellJson {
                total: self.summary.total,
                value: self.summary.value,
                standard: self.summary.standard,
                met: self.summary.met,
                organisations: self.organisations.clone(),
            }
            .serialize(s)
        } else {
            CellBinary {
                summary: self.summary.clone(),
                organisations: self.organisations.clone(),
            }
            .serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cell, D::Error> {
        if d.is_human_readable() {
            let c = CellJson::deserialize(d)?;
            Ok(Cell {
                summary: Summary {
                    total: c.total,
                    value: c.value,
                    standard: c.standard,
                    met: c.met,
                },
                organisations: c.organisations,
            })
        } else {
            let c = CellBinary::deserialize(d)?;
            Ok(Cell {
                summary: c.summary,
                organisations: c.organisations,
            })
        }
    }
}

/// What one log entry changed in one scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    pub scope: String,
    /// The scope's previous change; a consumer holding anything else has missed a delta.
    pub prev_seq: u64,
    pub seq: u64,
    pub changes: Vec<Change>,
    /// Each metric whose chart changed: its chart now, or nothing when it has no months left.
    pub spc: BTreeMap<String, Option<Spc>>,
    /// Changes to the plan: each organisation's planned figure and the scope's plan now.
    pub plans: Vec<Change>,
    /// Changes to the returns received, by collection (in `metric`).
    pub received: Vec<Change>,
    /// Changes to the returns missing, by collection (in `metric`).
    pub missing: Vec<Change>,
    /// Changes to the published figures (a window closing).
    pub published: Vec<Change>,
    /// Each (collection, period) whose completeness changed: its completeness now.
    pub completeness: Vec<CompletenessChange>,
    /// An organisation scope's segment now (with analytics on).
    pub segment: Option<Segment>,
}

/// One organisation's figure in one cell, and the cell's new summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub metric: String,
    pub period: Period,
    pub organisation: String,
    /// The organisation's figure now; absent when it no longer counts here.
    pub value: Option<Value>,
    /// The cell now; absent when no organisation counts in it any more.
    pub summary: Option<Summary>,
}

impl Delta {
    /// A delta of `scope` from `prev_seq` to `seq` with no changes yet.
    pub fn empty(scope: &str, prev_seq: u64, seq: u64) -> Delta {
        Delta {
            scope: scope.to_owned(),
            prev_seq,
            seq,
            changes: Vec::new(),
            spc: BTreeMap::new(),
            plans: Vec::new(),
            received: Vec::new(),
            missing: Vec::new(),
            published: Vec::new(),
            completeness: Vec::new(),
            segment: None,
        }
    }

    /// Folds a later delta of the same scope into this one, so that several log entries can be
    /// published as one message: applying the result equals applying both in order. Later
    /// changes of the same (metric, period, organisation) replace earlier ones.
    pub fn absorb(&mut self, later: Delta) {
        self.append(later);
        self.compact();
    }

    /// Appends a later delta's changes without removing superseded ones: cheap enough to call
    /// per entry; call [`Delta::compact`] once before sending.
    pub fn append(&mut self, later: Delta) {
        self.seq = later.seq;
        self.changes.extend(later.changes);
        self.spc.extend(later.spc);
        self.plans.extend(later.plans);
        self.received.extend(later.received);
        self.missing.extend(later.missing);
        self.published.extend(later.published);
        self.completeness.extend(later.completeness);
        if later.segment.is_some() {
            self.segment = later.segment;
        }
    }

    /// Keeps only the last change of each (metric, period, organisation), in order.
    pub fn compact(&mut self) {
        compact(&mut self.changes);
        compact(&mut self.plans);
        compact(&mut self.received);
        compact(&mut self.missing);
        compact(&mut self.published);
        let mut seen = rustc_hash::FxHashSet::default();
        let mut keep: Vec<bool> = self
            .completeness
            .iter()
            .rev()
            .map(|c| seen.insert((c.collection.clone(), c.period)))
            .collect();
        keep.reverse();
        let mut keep = keep.into_iter();
        self.completeness.retain(|_| keep.next().unwrap_or(true));
    }
}

fn compact(changes: &mut Vec<Change>) {
    // Marked from the end, by reference: no key is copied.
    let mut keep = vec![false; changes.len()];
    let mut seen = rustc_hash::FxHashSet::default();
    seen.reserve(changes.len());
    for (at, c) in changes.iter().enumerate().rev() {
        keep[at] = seen.insert((c.metric.as_str(), c.period, c.organisation.as_str()));
    }
    let mut keep = keep.into_iter();
    changes.retain(|_| keep.next().unwrap_or(true));
}

/// Applies changes to one map of cells.
fn apply_changes(cells: &mut BTreeMap<String, BTreeMap<Period, Cell>>, changes: &[Change]) {
    for change in changes {
        let periods = cells.entry(change.metric.clone()).or_default();
        match &change.summary {
            None => {
                periods.remove(&change.period);
            }
            Some(summary) => {
                let cell = periods.entry(change.period).or_insert_with(|| Cell {
                    summary: summary.clone(),
                    organisations: BTreeMap::new(),
                });
                cell.summary = summary.clone();
                match change.value {
                    Some(value) => {
                        cell.organisations
                            .insert(change.organisation.clone(), value);
                    }
                    None => {
                        cell.organisations.remove(&change.organisation);
                    }
                }
            }
        }
        if periods.is_empty() {
            cells.remove(&change.metric);
        }
    }
}

/// A delta that does not follow what the consumer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub held: u64,
    pub prev_seq: u64,
}

/// Whether `period` falls within the request's `from` and `to`, by date, so a range of months
/// narrows weekly and daily series too.
fn in_range(period: Period, request: &SnapshotRequest) -> bool {
    request
        .from
        .is_none_or(|from| period.first_day() >= from.first_day())
        && request
            .to
            .is_none_or(|to| period.last_day() <= to.last_day())
}

/// Keeps the periods of one series that a request asks for (`from`, `to`, then `last`).
pub fn keep_periods<T>(series: &mut BTreeMap<Period, T>, request: &SnapshotRequest) {
    series.retain(|period, _| in_range(*period, request));
    if let Some(cut) = latest_cut(series.keys().copied(), request.last) {
        series.retain(|period, _| period.end_order() >= cut);
    }
}

/// Where the latest `last` periods begin, by when periods end, so a series of months and weeks
/// keeps the latest of either (periods sort months, then weeks, then days); `None` keeps all.
fn latest_cut(periods: impl Iterator<Item = Period>, last: Option<u32>) -> Option<(Date, Date)> {
    let last = last? as usize;
    let mut ends: Vec<(Date, Date)> = periods.map(Period::end_order).collect();
    if ends.len() <= last || last == 0 {
        return None;
    }
    ends.sort_unstable();
    Some(ends[ends.len() - last])
}

impl View {
    /// Narrows the view to what `request` asks for: its metrics, its periods. Charts are drawn
    /// from the whole series first, so they are the same however the view is narrowed; their
    /// points outside the periods are left out with the rest.
    pub fn narrow(&mut self, request: &SnapshotRequest) {
        if !request.metrics.is_empty() {
            let wanted = |metric: &String| request.metrics.contains(metric);
            self.metrics.retain(|metric, _| wanted(metric));
            self.plans.retain(|metric, _| wanted(metric));
            self.variance.retain(|metric, _| wanted(metric));
            self.spc.retain(|metric, _| wanted(metric));
            self.published.retain(|metric, _| wanted(metric));
        }
        for maps in [
            &mut self.metrics,
            &mut self.plans,
            &mut self.received,
            &mut self.missing,
            &mut self.published,
        ] {
            for series in maps.values_mut() {
                keep_periods(series, request);
            }
            maps.retain(|_, series| !series.is_empty());
        }
        for series in self.variance.values_mut() {
            keep_periods(series, request);
        }
        self.variance.retain(|_, series| !series.is_empty());
        for series in self.completeness.values_mut() {
            keep_periods(series, request);
        }
        self.completeness.retain(|_, series| !series.is_empty());
        for chart in self.spc.values_mut() {
            let points = &mut chart.points.0;
            points.retain(|(period, _)| in_range(*period, request));
            if let Some(cut) = latest_cut(points.iter().map(|(p, _)| *p), request.last) {
                points.retain(|(period, _)| period.end_order() >= cut);
            }
        }
    }

    /// The next page after `after` (a page's `more_after`): the metrics after it only, without
    /// the returns, segment and assessment the first page carried.
    pub fn rest_after(&mut self, after: &str) {
        let later = |metric: &String| metric.as_str() > after;
        self.metrics.retain(|metric, _| later(metric));
        self.plans.retain(|metric, _| later(metric));
        self.variance.retain(|metric, _| later(metric));
        self.spc.retain(|metric, _| later(metric));
        self.published.retain(|metric, _| later(metric));
        self.received.clear();
        self.missing.clear();
        self.completeness.clear();
        self.segment = None;
        self.oversight = None;
    }

    /// Cuts the view to its first metrics whose encoding (`size`) fits in `budget` bytes, saying
    /// in `more_after` where the rest resume. A first page whose returns, completeness, segment
    /// and assessment leave no room for a metric carries those alone (`more_after` is "", before
    /// every metric); a later page carries at least one metric. The size of the smallest page
    /// when even that does not fit.
    pub fn page_to_fit(
        &mut self,
        budget: usize,
        size: impl Fn(&View) -> usize,
    ) -> Result<(), usize> {
        if size(self) <= budget {
            return Ok(());
        }
        let ids: Vec<String> = self
            .metrics
            .keys()
            .chain(self.plans.keys())
            .chain(self.variance.keys())
            .chain(self.spc.keys())
            .chain(self.published.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .cloned()
            .collect();
        let mut skeleton = self.clone();
        skeleton.rest_after("\u{10ffff}");
        (
            skeleton.received,
            skeleton.missing,
            skeleton.completeness,
            skeleton.segment,
            skeleton.oversight,
        ) = (
            self.received.clone(),
            self.missing.clone(),
            self.completeness.clone(),
            self.segment.clone(),
            self.oversight.clone(),
        );
        let mut used = size(&skeleton);
        let empty = used;
        // Only a page with more than metrics may hold none: a page of nothing would be asked for
        // again and again.
        let least = if skeleton.received.is_empty()
            && skeleton.missing.is_empty()
            && skeleton.completeness.is_empty()
            && skeleton.segment.is_none()
            && skeleton.oversight.is_none()
        {
            1
        } else {
            0
        };
        let mut keep = 0;
        for id in &ids {
            let mut alone = skeleton.clone();
            alone.take_metric(self, id);
            let grows = size(&alone).saturating_sub(empty);
            if keep >= least && used + grows > budget {
                break;
            }
            used += grows;
            keep += 1;
        }
        loop {
            let mut page = skeleton.clone();
            for id in &ids[..keep] {
                page.take_metric(self, id);
            }
            page.more_after = (keep < ids.len()).then(|| match keep {
                0 => String::new(),
                _ => ids[keep - 1].clone(),
            });
            let bytes = size(&page);
            if bytes <= budget {
                *self = page;
                return Ok(());
            }
            if keep <= least {
                return Err(bytes);
            }
            keep -= 1;
        }
    }

    /// Copies one metric's figures, plans, variance and chart from `from`.
    fn take_metric(&mut self, from: &View, id: &str) {
        if let Some(series) = from.metrics.get(id) {
            self.metrics.insert(id.to_owned(), series.clone());
        }
        if let Some(series) = from.plans.get(id) {
            self.plans.insert(id.to_owned(), series.clone());
        }
        if let Some(series) = from.variance.get(id) {
            self.variance.insert(id.to_owned(), series.clone());
        }
        if let Some(chart) = from.spc.get(id) {
            self.spc.insert(id.to_owned(), chart.clone());
        }
        if let Some(series) = from.published.get(id) {
            self.published.insert(id.to_owned(), series.clone());
        }
    }

    /// Adds the next page (asked with `after_metric`) to the pages read so far.
    pub fn absorb_page(&mut self, page: View) {
        self.metrics.extend(page.metrics);
        self.plans.extend(page.plans);
        self.variance.extend(page.variance);
        self.spc.extend(page.spc);
        self.published.extend(page.published);
        self.more_after = page.more_after;
    }

    /// Recomputes actual minus plan for one cell, from the figures the view holds.
    pub fn refresh_variance(&mut self, metric: &str, period: Period) {
        let actual = self.metrics.get(metric).and_then(|p| p.get(&period));
        let plan = self.plans.get(metric).and_then(|p| p.get(&period));
        let compared = actual.zip(plan).and_then(|(actual, plan)| {
            let both: Vec<&String> = actual
                .organisations
                .keys()
                .filter(|org| plan.organisations.contains_key(*org))
                .collect();
            let actuals = headline_of(both.iter().map(|org| &actual.organisations[*org]))?;
            let plans = headline_of(both.iter().map(|org| &plan.organisations[*org]))?;
            Some(Variance {
                value: actuals - plans,
                organisations: both.len() as u32,
                of: actual.organisations.len() as u32,
            })
        });
        match compared {
            Some(variance) => {
                self.variance
                    .entry(metric.to_owned())
                    .or_default()
                    .insert(period, variance);
            }
            None => {
                if let Some(periods) = self.variance.get_mut(metric) {
                    periods.remove(&period);
                    if periods.is_empty() {
                        self.variance.remove(metric);
                    }
                }
            }
        }
    }

    /// Applies a delta in order. Deltas already in the view (seq ≤ its seq) are ignored; one
    /// whose `prev_seq` is not the view's last change is a gap, and the view is left as it was:
    /// take a fresh snapshot.
    pub fn apply_delta(&mut self, delta: &Delta) -> Result<(), Gap> {
        if delta.seq <= self.seq {
            return Ok(());
        }
        if delta.prev_seq != self.last_change_seq {
            return Err(Gap {
                held: self.last_change_seq,
                prev_seq: delta.prev_seq,
            });
        }
        apply_changes(&mut self.metrics, &delta.changes);
        apply_changes(&mut self.plans, &delta.plans);
        apply_changes(&mut self.received, &delta.received);
        apply_changes(&mut self.missing, &delta.missing);
        apply_changes(&mut self.published, &delta.published);
        for change in &delta.completeness {
            let periods = self
                .completeness
                .entry(change.collection.clone())
                .or_default();
            match &change.completeness {
                Some(completeness) => {
                    periods.insert(change.period, completeness.clone());
                }
                None => {
                    periods.remove(&change.period);
                }
            }
            if periods.is_empty() {
                self.completeness.remove(&change.collection);
            }
        }
        for change in delta.changes.iter().chain(&delta.plans) {
            self.refresh_variance(&change.metric, change.period);
        }
        if let Some(segment) = &delta.segment {
            self.segment = Some(segment.clone());
        }
        for (metric, chart) in &delta.spc {
            match chart {
                Some(chart) => {
                    self.spc.insert(metric.clone(), chart.clone());
                }
                None => {
                    self.spc.remove(metric);
                }
            }
        }
        self.seq = delta.seq;
        self.last_change_seq = delta.seq;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn alert_kinds_are_named_as_serde_names_them() {
        for kind in AlertKind::ALL {
            assert_eq!(
                serde_json::to_string(&kind).expect("encodes"),
                format!("\"{}\"", kind.as_str())
            );
        }
    }

    #[test]
    fn a_request_from_before_paging_reads_as_the_same_request_on_its_first_page() {
        #[derive(Serialize)]
        struct BeforePaging {
            as_of_seq: Option<u64>,
            as_of: Option<Timestamp>,
            geography: GeographyMode,
            metrics: Vec<String>,
            from: Option<Period>,
            to: Option<Period>,
            last: Option<u32>,
        }
        let bytes = postcard::to_stdvec(&BeforePaging {
            as_of_seq: None,
            as_of: None,
            geography: GeographyMode::AsReported,
            metrics: vec!["ae_4hr".into()],
            from: None,
            to: None,
            last: Some(24),
        })
        .expect("encodes");
        let read = SnapshotRequest::from_postcard(&bytes).expect("read");
        assert_eq!(
            read,
            SnapshotRequest {
                metrics: vec!["ae_4hr".into()],
                last: Some(24),
                ..SnapshotRequest::default()
            }
        );
        let next = SnapshotRequest {
            after_metric: Some("ae_4hr".into()),
            ..read
        };
        let bytes = postcard::to_stdvec(&next).expect("encodes");
        assert_eq!(SnapshotRequest::from_postcard(&bytes).expect("read"), next);
    }

    /// A view of `metrics` metrics, each with `periods` months from one organisation, a received
    /// count and a segment.
    fn wide_view(metrics: usize, periods: u32) -> View {
        let mut view = view();
        let cell = view.metrics["ae_4hr"]
            .values()
            .next()
            .expect("a cell")
            .clone();
        view.metrics.clear();
        for m in 0..metrics {
            let series = (0..periods)
                .map(|i| {
                    let period = Period::parse(&format!("{}-{:02}", 2000 + i / 12, i % 12 + 1))
                        .expect("period");
                    (period, cell.clone())
                })
                .collect();
            view.metrics.insert(format!("metric_{m:03}"), series);
        }
        view.received.insert(
            "ae-monthly".into(),
            BTreeMap::from([(Period::parse("2019-01").expect("period"), cell)]),
        );
        view
    }

    #[test]
    fn pages_that_fit_add_up_to_the_whole_view_and_each_fits() {
        let size = |v: &View| postcard::to_stdvec(v).map_or(usize::MAX, |b| b.len());
        let whole = wide_view(40, 60);
        let budget = size(&whole) / 5;
        let mut first = whole.clone();
        first.page_to_fit(budget, size).expect("a metric fits");
        assert!(size(&first) <= budget);
        assert!(first.more_after.is_some(), "more than one page");
        assert_eq!(
            first.received, whole.received,
            "the returns on the first page"
        );
        let mut read = first.clone();
        let mut pages = 1;
        while let Some(after) = read.more_after.clone() {
            let mut next = whole.clone();
            next.rest_after(&after);
            assert!(next.received.is_empty(), "the returns only once");
            next.page_to_fit(budget, size).expect("a metric fits");
            assert!(size(&next) <= budget, "page {pages}");
            read.absorb_page(next);
            pages += 1;
            assert!(pages < 40, "pages end");
        }
        assert!(pages >= 5, "{pages} pages");
        assert_eq!(read, whole, "the pages put together are the whole view");

        // A view that fits is one page; a metric too large alone says how large.
        let mut small = whole.clone();
        small.page_to_fit(size(&whole), size).expect("fits");
        assert_eq!(small, whole);
        let mut too_small = whole.clone();
        let alone = too_small
            .page_to_fit(10, size)
            .expect_err("not even the returns fit in 10 bytes");
        assert!(alone > 10);
        assert_eq!(too_small, whole, "unchanged when nothing fits");
    }

    #[test]
    fn a_first_page_filled_by_its_returns_carries_them_alone_and_the_metrics_follow() {
        let size = |v: &View| postcard::to_stdvec(v).map_or(usize::MAX, |b| b.len());
        let whole = wide_view(4, 60);
        let mut skeleton = whole.clone();
        skeleton.rest_after("\u{10ffff}");
        skeleton.received = whole.received.clone();
        let mut nothing = whole.clone();
        nothing.rest_after("");
        nothing
            .page_to_fit(0, size)
            .expect_err("a later page holds a metric or fails");
        // Room for the returns but not beside a metric; a metric alone fits a later page.
        let budget = size(&skeleton) + 8;
        let mut first = whole.clone();
        first.page_to_fit(budget, size).expect("the returns fit");
        assert!(first.metrics.is_empty(), "no metric beside the returns");
        assert_eq!(first.received, whole.received);
        assert_eq!(first.more_after.as_deref(), Some(""));
        let mut next = whole.clone();
        next.rest_after("");
        next.page_to_fit(size(&whole), size)
            .expect("the metrics fit");
        assert!(!next.metrics.is_empty(), "a later page carries a metric");
        assert!(next.received.is_empty());
    }

    #[test]
    fn an_older_clients_postcard_request_reads_as_the_same_request_narrowing_nothing() {
        #[derive(Serialize)]
        struct Older {
            as_of_seq: Option<u64>,
            as_of: Option<Timestamp>,
            geography: GeographyMode,
        }
        let bytes = postcard::to_stdvec(&Older {
            as_of_seq: Some(700),
            as_of: None,
            geography: GeographyMode::Current,
        })
        .expect("encodes");
        assert!(
            postcard::from_bytes::<SnapshotRequest>(&bytes).is_err(),
            "today's layout alone"
        );
        let read = SnapshotRequest::from_postcard(&bytes).expect("read");
        assert_eq!(
            read,
            SnapshotRequest {
                as_of_seq: Some(700),
                geography: GeographyMode::Current,
                ..SnapshotRequest::default()
            }
        );
        let today = SnapshotRequest {
            last: Some(24),
            ..read.clone()
        };
        let bytes = postcard::to_stdvec(&today).expect("encodes");
        assert_eq!(SnapshotRequest::from_postcard(&bytes).expect("read"), today);
        assert!(SnapshotRequest::from_postcard(&[0xff, 0xff]).is_err());
    }

    #[test]
    fn the_latest_periods_are_the_latest_to_end_whatever_their_kind() {
        let period = |text: &str| Period::parse(text).expect("period");
        let mut series: BTreeMap<Period, u8> = ["2025-04", "2025-05", "2025-W20", "2025-W23"]
            .into_iter()
            .map(|p| (period(p), 0))
            .collect();
        let request = SnapshotRequest {
            last: Some(2),
            ..SnapshotRequest::default()
        };
        keep_periods(&mut series, &request);
        // May ends on the 31st, week 20 on the 18th, week 23 on 8 June.
        assert_eq!(
            series.keys().copied().collect::<Vec<_>>(),
            [period("2025-05"), period("2025-W23")]
        );
        let ranged = SnapshotRequest {
            from: Some(period("2025-05")),
            to: Some(period("2025-05")),
            ..SnapshotRequest::default()
        };
        let mut series: BTreeMap<Period, u8> = ["2025-04", "2025-05", "2025-W20", "2025-W23"]
            .into_iter()
            .map(|p| (period(p), 0))
            .collect();
        keep_periods(&mut series, &ranged);
        assert_eq!(
            series.keys().copied().collect::<Vec<_>>(),
            [period("2025-05"), period("2025-W20")],
            "a month's range keeps the weeks within it"
        );
    }

    use super::*;
    use crate::reference::Comparison;
    use crate::value::Halves;

    fn view() -> View {
        let total = Value::Ratio {
            numerator: Halves::whole(17020),
            denominator: Halves::whole(21289),
        };
        let cell = Cell {
            summary: Summary {
                total,
                value: 79.95,
                standard: Some(Standard {
                    comparison: Comparison::AtLeast,
                    target: 9500,
                }),
                met: Some(false),
            },
            organisations: BTreeMap::from([("RJ1".to_owned(), total)]),
        };
        View {
            scope: "Y56".into(),
            geography: GeographyMode::AsReported,
            seq: 700,
            last_change_seq: 653,
            metrics: BTreeMap::from([(
                "ae_4hr".to_owned(),
                BTreeMap::from([(Period::parse("2019-01").expect("period"), cell)]),
            )]),
            spc: BTreeMap::new(),
            plans: BTreeMap::new(),
            variance: BTreeMap::new(),
            received: BTreeMap::new(),
            missing: BTreeMap::new(),
            published: BTreeMap::new(),
            completeness: BTreeMap::new(),
            segment: None,
            more_after: None,
            oversight: None,
        }
    }

    #[test]
    fn json_views_are_as_the_readme_writes_them() {
        let json = serde_json::to_value(view()).expect("json");
        let cell = &json["metrics"]["ae_4hr"]["2019-01"];
        assert_eq!(cell["numerator"], 17020);
        assert_eq!(cell["denominator"], 21289);
        assert_eq!(cell["value"], 79.95);
        assert_eq!(cell["met"], false);
        assert_eq!(cell["organisations"]["RJ1"]["numerator"], 17020);
        assert_eq!(json["geography"], "as_reported");
        let back: View = serde_json::from_value(json).expect("decodes");
        assert_eq!(back, view());
    }

    #[test]
    fn an_absorbed_delta_applies_like_both_in_order() {
        let total = |n| Value::Count(n);
        let change = |org: &str, n, cell| Change {
            metric: "ae_12hr_dta".into(),
            period: Period::parse("2025-04").expect("period"),
            organisation: org.into(),
            value: Some(total(n)),
            summary: Some(Summary {
                total: total(cell),
                value: cell as f64,
                standard: None,
                met: None,
            }),
        };
        let first = Delta {
            scope: "Y56".into(),
            prev_seq: 653,
            seq: 700,
            changes: vec![change("RJ1", 3, 3), change("RAL", 4, 7)],
            spc: BTreeMap::new(),
            plans: Vec::new(),
            received: Vec::new(),
            missing: Vec::new(),
            published: Vec::new(),
            completeness: Vec::new(),
            segment: None,
        };
        let second = Delta {
            scope: "Y56".into(),
            prev_seq: 700,
            seq: 705,
            changes: vec![change("RJ1", 5, 9)],
            spc: BTreeMap::new(),
            plans: Vec::new(),
            received: Vec::new(),
            missing: Vec::new(),
            published: Vec::new(),
            completeness: Vec::new(),
            segment: None,
        };
        let mut start = view();
        start.last_change_seq = 653;
        start.seq = 690;
        let mut one_by_one = start.clone();
        one_by_one.apply_delta(&first).expect("first");
        one_by_one.apply_delta(&second).expect("second");
        let mut merged = first.clone();
        merged.absorb(second);
        assert_eq!(
            (merged.prev_seq, merged.seq, merged.changes.len()),
            (653, 705, 2)
        );
        let mut at_once = start;
        at_once.apply_delta(&merged).expect("merged");
        assert_eq!(at_once, one_by_one);
    }

    #[test]
    fn views_round_trip_in_postcard() {
        let bytes = postcard::to_stdvec(&view()).expect("encode");
        assert_eq!(postcard::from_bytes::<View>(&bytes), Ok(view()));
    }

    #[test]
    fn an_empty_snapshot_request_is_now_as_reported() {
        let request: SnapshotRequest = serde_json::from_str("{}").expect("json");
        assert_eq!(request, SnapshotRequest::default());
        let bytes = postcard::to_stdvec(&request).expect("encode");
        assert_eq!(postcard::from_bytes::<SnapshotRequest>(&bytes), Ok(request));
    }
}

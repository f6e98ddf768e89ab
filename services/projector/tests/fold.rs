//! Rebuild equals incremental (contract 3) and snapshot-plus-deltas equals a fresh snapshot
//! (contract 4), over random sequences of returns, plans, revisions and organisation moves.

use std::collections::BTreeMap;

use projector::Projection;
use proptest::prelude::*;
use proto_schema::*;

const ORGS: [&str; 4] = ["RJ1", "RAL", "RQW", "NLO12"];
const PLACES: [(&str, &str); 4] = [
    ("Y56", "QMJ"),
    ("Y56", "QKK"),
    ("Y61", "QHG"),
    (UNASSIGNED, UNASSIGNED),
];
const METRICS: [(&str, ValueKind); 4] = [
    ("ae_4hr", ValueKind::Ratio),
    ("ae_12hr_dta", ValueKind::Count),
    ("finance_surplus", ValueKind::Money),
    ("ambulance_cat1", ValueKind::Duration),
];

#[derive(Debug, Clone)]
enum Step {
    Return {
        org: usize,
        month: u8,
        values: Vec<(usize, i64, i64)>,
    },
    Move {
        org: usize,
        place: usize,
        month: u8,
    },
    /// A regional team's decision on a segment.
    Decide {
        org: usize,
        segment: u8,
    },
    /// A revision of one of two planning rounds: (metric, month, a, b) figures.
    Plan {
        org: usize,
        round: usize,
        figures: Vec<(usize, u8, i64, i64)>,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..ORGS.len(), 1u8..=4, prop::collection::vec((0..METRICS.len(), 0i64..1000, 1i64..1000), 1..4))
            .prop_map(|(org, month, values)| Step::Return { org, month, values }),
        1 => (0..ORGS.len(), 0..PLACES.len(), 1u8..=4).prop_map(|(org, place, month)| Step::Move { org, place, month }),
        1 => (0..ORGS.len(), 0..2usize, prop::collection::vec((0..METRICS.len(), 1u8..=5, 0i64..1000, 1i64..1000), 1..5))
            .prop_map(|(org, round, figures)| Step::Plan { org, round, figures }),
        1 => (0..ORGS.len(), 1u8..=4).prop_map(|(org, segment)| Step::Decide { org, segment }),
    ]
}

fn month(m: u8) -> Period {
    Period::parse(&format!("2019-{m:02}")).expect("month")
}

fn value(kind: ValueKind, a: i64, b: i64) -> Value {
    match kind {
        ValueKind::Ratio => Value::Ratio {
            numerator: Halves(a.min(2 * b)),
            denominator: Halves(2 * b),
        },
        ValueKind::Count => Value::Count(a),
        ValueKind::Money => Value::Money { pence: a - 500 },
        ValueKind::Duration => Value::Duration {
            seconds: a,
            cases: b,
        },
    }
}

/// The reference events every sequence starts from.
fn reference() -> Vec<Event> {
    let mut events = vec![
        Event::RegionDefined(Region {
            code: "Y56".into(),
            name: "London".into(),
        }),
        Event::RegionDefined(Region {
            code: "Y61".into(),
            name: "East of England".into(),
        }),
    ];
    for metric in data_standard_v1() {
        events.push(Event::MetricDefined(metric));
    }
    for (i, org) in ORGS.iter().enumerate() {
        let (region, system) = PLACES[i % PLACES.len()];
        events.push(Event::OrganisationRegistered(Organisation {
            code: (*org).into(),
            name: (*org).into(),
            role: OrgRole::Provider,
            system: system.into(),
            region: region.into(),
            opened: Date::parse("2000-01-01").expect("date"),
            closed: None,
        }));
    }
    events
}

fn events(steps: &[Step]) -> Vec<Envelope> {
    let mut revisions = BTreeMap::new();
    let mut plan_revisions = BTreeMap::new();
    let mut all = reference();
    for (n, step) in steps.iter().enumerate() {
        all.push(match step {
            Step::Return {
                org,
                month: m,
                values,
            } => {
                let revision = revisions.entry((*org, *m)).or_insert(0u32);
                *revision += 1;
                let mut vals: Vec<(String, Value)> = Vec::new();
                for (metric, a, b) in values {
                    let (id, kind) = METRICS[*metric];
                    if !vals.iter().any(|(k, _)| k == id) {
                        vals.push((id.into(), value(kind, *a, *b)));
                    }
                }
                Event::ReturnSubmitted(ReturnSubmitted {
                    revision: *revision,
                    ret: Return {
                        submission_id: format!("s{n}"),
                        org: ORGS[*org].into(),
                        collection: "monthly".into(),
                        period: month(*m),
                        values: vals,
                    },
                })
            }
            Step::Move {
                org,
                place,
                month: m,
            } => Event::OrganisationMoved(OrganisationMoved {
                code: ORGS[*org].into(),
                region: PLACES[*place].0.into(),
                system: PLACES[*place].1.into(),
                from: month(*m),
            }),
            Step::Decide { org, segment } => Event::SegmentDecided(SegmentDecided {
                org: ORGS[*org].into(),
                segment: *segment,
                rationale: format!("step {n}"),
            }),
            Step::Plan {
                org,
                round,
                figures,
            } => {
                let revision = plan_revisions.entry((*org, *round)).or_insert(0u32);
                *revision += 1;
                let mut trajectories: BTreeMap<String, BTreeMap<Period, Value>> = BTreeMap::new();
                for (metric, m, a, b) in figures {
                    let (id, kind) = METRICS[*metric];
                    trajectories
                        .entry(id.into())
                        .or_default()
                        .insert(month(*m), value(kind, *a, *b));
                }
                Event::PlanSubmitted(PlanSubmitted {
                    revision: *revision,
                    plan: Plan {
                        submission_id: format!("s{n}"),
                        org: ORGS[*org].into(),
                        plan: format!("round-{round}"),
                        trajectories,
                    },
                })
            }
        });
    }
    all.into_iter()
        .enumerate()
        .map(|(i, event)| {
            Envelope::seal(
                i as u64 + 1,
                Timestamp(1_700_000_000_000 + i as i64),
                "test".into(),
                event,
            )
            .expect("seal")
        })
        .collect()
}

/// What the views must hold, worked out from the steps alone: each return's latest revision, the
/// plan in force for each organisation, metric and month (of the organisation's planning rounds,
/// the one whose latest revision was recorded last among those that plan it), the returns
/// received, and the returns missing (every entry is recorded in 2023, after every month of 2019
/// was due: an organisation is missing a month someone returned if it returned an earlier or
/// the same month of the collection but not this one).
#[derive(Debug, Default)]
struct Oracle {
    /// (metric, month) -> organisation -> its figure.
    metrics: BTreeMap<(String, u8), BTreeMap<String, Value>>,
    plans: BTreeMap<(String, u8), BTreeMap<String, Value>>,
    received: BTreeMap<u8, std::collections::BTreeSet<String>>,
    missing: BTreeMap<u8, std::collections::BTreeSet<String>>,
}

/// A planning round's figures by (metric, month).
type Planned = BTreeMap<(usize, u8), Value>;

fn oracle(steps: &[Step]) -> Oracle {
    let mut latest: BTreeMap<(usize, u8), Vec<(String, Value)>> = BTreeMap::new();
    // (organisation, round) -> (when its latest revision came, its figures by (metric, month)).
    let mut rounds: BTreeMap<(usize, usize), (usize, Planned)> = BTreeMap::new();
    for (n, step) in steps.iter().enumerate() {
        match step {
            Step::Return { org, month, values } => {
                let mut kept: Vec<(String, Value)> = Vec::new();
                for (metric, a, b) in values {
                    let (id, kind) = METRICS[*metric];
                    if !kept.iter().any(|(k, _)| k == id) {
                        kept.push((id.to_owned(), value(kind, *a, *b)));
                    }
                }
                latest.insert((*org, *month), kept);
            }
            Step::Plan {
                org,
                round,
                figures,
            } => {
                let mut planned = BTreeMap::new();
                for (metric, m, a, b) in figures {
                    planned.insert((*metric, *m), value(METRICS[*metric].1, *a, *b));
                }
                rounds.insert((*org, *round), (n, planned));
            }
            Step::Move { .. } | Step::Decide { .. } => {}
        }
    }
    let mut expected = Oracle::default();
    for ((org, m), values) in &latest {
        for (id, v) in values {
            expected
                .metrics
                .entry((id.clone(), *m))
                .or_default()
                .insert(ORGS[*org].to_owned(), *v);
        }
        expected
            .received
            .entry(*m)
            .or_default()
            .insert(ORGS[*org].to_owned());
    }
    let mut in_force: BTreeMap<(usize, usize, u8), (usize, Value)> = BTreeMap::new();
    for ((org, _), (when, planned)) in &rounds {
        for ((metric, m), v) in planned {
            let slot = in_force.entry((*org, *metric, *m)).or_insert((*when, *v));
            if *when >= slot.0 {
                *slot = (*when, *v);
            }
        }
    }
    for ((org, metric, m), (_, v)) in in_force {
        expected
            .plans
            .entry((METRICS[metric].0.to_owned(), m))
            .or_default()
            .insert(ORGS[org].to_owned(), v);
    }
    for (org, _) in ORGS.iter().enumerate() {
        let Some(first) = latest
            .keys()
            .filter(|(o, _)| *o == org)
            .map(|(_, m)| *m)
            .min()
        else {
            continue;
        };
        for m in expected.received.keys().copied().filter(|m| *m >= first) {
            if !latest.contains_key(&(org, m)) {
                expected
                    .missing
                    .entry(m)
                    .or_default()
                    .insert(ORGS[org].to_owned());
            }
        }
    }
    expected
}

/// England's view and each organisation's own hold exactly what the oracle says.
fn agrees_with_oracle(projection: &Projection, expected: &Oracle) -> Result<(), TestCaseError> {
    let cells = |table: &BTreeMap<String, BTreeMap<Period, Cell>>| -> BTreeMap<(String, u8), BTreeMap<String, Value>> {
        table
            .iter()
            .flat_map(|(metric, periods)| {
                periods.iter().map(move |(period, cell)| {
                    let Period::Month { month, .. } = period else { panic!("months only") };
                    ((metric.clone(), *month), cell.organisations.clone())
                })
            })
            .collect()
    };
    let orgs_of = |table: &BTreeMap<String, BTreeMap<Period, Cell>>| -> BTreeMap<u8, std::collections::BTreeSet<String>> {
        cells(table)
            .into_iter()
            .map(|((_, m), orgs)| (m, orgs.into_keys().collect()))
            .collect()
    };
    let only = |table: &BTreeMap<(String, u8), BTreeMap<String, Value>>, org: &str| {
        table
            .iter()
            .filter_map(|(key, orgs)| {
                let v = orgs.get(org)?;
                Some((key.clone(), BTreeMap::from([(org.to_owned(), *v)])))
            })
            .collect::<BTreeMap<_, _>>()
    };
    let national = projection.view(NATIONAL, GeographyMode::AsReported);
    prop_assert_eq!(
        &cells(&national.metrics),
        &expected.metrics,
        "England's figures"
    );
    prop_assert_eq!(
        &cells(&national.plans),
        &expected.plans,
        "England's plans in force"
    );
    prop_assert_eq!(
        &orgs_of(&national.received),
        &expected.received,
        "returns received"
    );
    prop_assert_eq!(
        &orgs_of(&national.missing),
        &expected.missing,
        "returns missing"
    );
    // Each cell's total is the sum of its organisations' figures.
    for table in [&national.metrics, &national.plans] {
        for periods in table.values() {
            for cell in periods.values() {
                let mut sum = projector::Sum::default();
                cell.organisations.values().for_each(|v| sum.add(v));
                prop_assert_eq!(sum.total(cell.summary.total.kind()), cell.summary.total);
            }
        }
    }
    for org in ORGS {
        let own = projection.view(org, GeographyMode::AsReported);
        prop_assert_eq!(
            cells(&own.metrics),
            only(&expected.metrics, org),
            "{}'s figures",
            org
        );
        prop_assert_eq!(
            cells(&own.plans),
            only(&expected.plans, org),
            "{}'s plans",
            org
        );
        let missing: Vec<u8> = orgs_of(&own.missing).into_keys().collect();
        let expected_missing: Vec<u8> = expected
            .missing
            .iter()
            .filter(|(_, orgs)| orgs.contains(org))
            .map(|(m, _)| *m)
            .collect();
        prop_assert_eq!(missing, expected_missing, "{}'s missing returns", org);
    }
    Ok(())
}

fn all_scopes() -> Vec<String> {
    let mut scopes: Vec<String> = [NATIONAL, UNASSIGNED, "Y56", "Y61", "QMJ", "QKK", "QHG"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    scopes.extend(ORGS.iter().map(|s| (*s).to_owned()));
    scopes
}

/// The projection after the first `cut` entries, and every scope's snapshot then.
fn snapshots_at(log: &[Envelope], cut: usize) -> (Projection, BTreeMap<String, View>) {
    let mut projection = Projection::default();
    for envelope in &log[..cut] {
        projection.apply(envelope);
    }
    let held = all_scopes()
        .into_iter()
        .map(|scope| {
            (
                scope.clone(),
                projection.view(&scope, GeographyMode::AsReported),
            )
        })
        .collect();
    (projection, held)
}

/// Every held view equals a fresh snapshot, figures and charts.
fn held_equal_fresh(
    projection: &Projection,
    held: &BTreeMap<String, View>,
) -> Result<(), TestCaseError> {
    for (scope, view) in held {
        let fresh = projection.view(scope, GeographyMode::AsReported);
        // Everything but the seq: a scope's copy is as new as its last delta.
        let mut view = view.clone();
        view.seq = fresh.seq;
        prop_assert_eq!(view, fresh, "scope {}", scope);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn incremental_views_equal_views_recomputed_from_scratch(steps in prop::collection::vec(step(), 0..40)) {
        let log = events(&steps);
        let reference = log.len() - steps.len();
        let mut projection = Projection::default();
        for (i, envelope) in log.iter().enumerate() {
            projection.apply(envelope);
            prop_assert!(projection.same_figures(&projection.recomputed()), "after seq {}", envelope.seq);
            // And against what the raw steps so far say, worked out here without the fold.
            let taken = (i + 1).saturating_sub(reference);
            agrees_with_oracle(&projection, &oracle(&steps[..taken]))?;
        }
    }

    #[test]
    fn today_s_geography_counts_each_organisation_where_it_last_moved(
        steps in prop::collection::vec(step(), 0..40),
    ) {
        let mut projection = Projection::default();
        for envelope in events(&steps) {
            projection.apply(&envelope);
        }
        // Where each organisation is now, straight from the steps.
        let mut place: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
        for (i, org) in ORGS.iter().enumerate() {
            place.insert(org, PLACES[i % PLACES.len()]);
        }
        let mut latest_move: BTreeMap<usize, (u8, usize)> = BTreeMap::new();
        for step in &steps {
            if let Step::Move { org, place: p, month } = step {
                // The placement with the latest start wins; a later move from the same month replaces it.
                match latest_move.get(org) {
                    Some((m, _)) if *m > *month => {}
                    _ => {
                        latest_move.insert(*org, (*month, *p));
                    }
                }
            }
        }
        for (org, (_, p)) in latest_move {
            place.insert(ORGS[org], PLACES[p]);
        }
        for scope in all_scopes() {
            let view = projection.view(&scope, GeographyMode::Current);
            for (metric, periods) in &view.metrics {
                for (period, cell) in periods {
                    let mut expected = projector::Sum::default();
                    for org in ORGS {
                        let (region, system) = place[org];
                        let here = scope == NATIONAL
                            || scope == org
                            || (region == UNASSIGNED && scope == UNASSIGNED)
                            || (region != UNASSIGNED && (scope == region || scope == system));
                        let own = projection.view(org, GeographyMode::Current);
                        let value = own.metrics.get(metric).and_then(|p| p.get(period));
                        prop_assert_eq!(here && value.is_some(), cell.organisations.contains_key(org), "{} {} {} {}", scope, metric, period, org);
                        if let (true, Some(value)) = (here, value) {
                            expected.add(&value.summary.total);
                        }
                    }
                    let kind = cell.summary.total.kind();
                    prop_assert_eq!(expected.total(kind), cell.summary.total, "{} {} {}", scope, metric, period);
                }
            }
        }
    }

    #[test]
    fn a_return_is_missing_exactly_when_expected_due_and_absent(
        steps in prop::collection::vec(step(), 0..40),
    ) {
        let mut projection = Projection::default();
        for envelope in events(&steps) {
            projection.apply(&envelope);
        }
        // Every entry is recorded in 2023, after every month of 2019 was due: a gap shows at once.
        let mut returned: BTreeMap<usize, std::collections::BTreeSet<u8>> = BTreeMap::new();
        for step in &steps {
            if let Step::Return { org, month, .. } = step {
                returned.entry(*org).or_default().insert(*month);
            }
        }
        let reported: std::collections::BTreeSet<u8> = returned.values().flatten().copied().collect();
        let national = projection.view(NATIONAL, GeographyMode::AsReported);
        for m in 1u8..=5 {
            let mut expected_missing = Vec::new();
            for (org, months) in &returned {
                let first = months.first().copied().unwrap_or(u8::MAX);
                if reported.contains(&m) && m >= first && !months.contains(&m) {
                    expected_missing.push(ORGS[*org].to_owned());
                }
            }
            expected_missing.sort();
            let missing: Vec<String> = national
                .missing
                .get("monthly")
                .and_then(|p| p.get(&month(m)))
                .map(|cell| cell.organisations.keys().cloned().collect())
                .unwrap_or_default();
            prop_assert_eq!(&missing, &expected_missing, "2019-{:02}", m);
            let received = national
                .received
                .get("monthly")
                .and_then(|p| p.get(&month(m)))
                .map(|cell| cell.summary.total);
            let count = returned.values().filter(|months| months.contains(&m)).count() as i64;
            prop_assert_eq!(received, (count > 0).then_some(Value::Count(count)), "2019-{:02}", m);
        }
    }

    /// Silent runs of any length (the returns' figures counted once at each run's end, moves
    /// and definitions inside them) leave what folding entry by entry does.
    #[test]
    fn folding_silently_leaves_the_same_state(
        steps in prop::collection::vec(step(), 0..40),
        runs in prop::collection::vec(1usize..60, 1..8),
    ) {
        let log = events(&steps);
        let mut loud = Projection::default();
        let mut one_by_one = Projection::default();
        for envelope in &log {
            loud.apply(envelope);
            one_by_one.apply_silently(envelope);
        }
        let mut in_runs = Projection::default();
        let mut rest = &log[..];
        for run in runs.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (now, later) = rest.split_at((*run).min(rest.len()));
            in_runs.apply_all_silently(now);
            rest = later;
        }
        prop_assert_eq!(&loud, &one_by_one);
        prop_assert_eq!(&loud, &in_runs);
        prop_assert!(loud.same_figures(&in_runs));
        for scope in ["ENG", "Y56", "QMJ", ORGS[0]] {
            let (a, b) = (loud.view(scope, GeographyMode::AsReported), in_runs.view(scope, GeographyMode::AsReported));
            prop_assert_eq!(a.last_change_seq, b.last_change_seq, "{}", scope);
        }
    }

    #[test]
    fn resuming_from_a_checkpoint_equals_never_stopping(
        steps in prop::collection::vec(step(), 1..40),
        cut in 0usize..60,
    ) {
        let log = events(&steps);
        let cut = cut.min(log.len());
        let mut straight = Projection::default();
        for envelope in &log[..cut] {
            straight.apply(envelope);
        }
        let mut resumed = Projection::from_checkpoint(&straight.to_checkpoint().expect("encodes")).expect("restores");
        prop_assert_eq!(&resumed, &straight);
        for envelope in &log[cut..] {
            prop_assert_eq!(resumed.apply(envelope), straight.apply(envelope));
        }
        prop_assert_eq!(resumed, straight);
    }

    #[test]
    fn a_view_built_narrow_equals_the_whole_view_narrowed(
        steps in prop::collection::vec(step(), 1..40),
        metric in prop::option::of(0usize..METRICS.len()),
        from in prop::option::of(1u8..13),
        to in prop::option::of(1u8..13),
        last in prop::option::of(1u32..6),
    ) {
        let mut projection = Projection::default();
        for envelope in events(&steps) {
            projection.apply(&envelope);
        }
        let month = |m: u8| Period::parse(&format!("2019-{m:02}")).expect("a month");
        let request = SnapshotRequest {
            metrics: metric.map(|m| vec![METRICS[m].0.to_owned()]).unwrap_or_default(),
            from: from.map(month),
            to: to.map(month),
            last,
            ..SnapshotRequest::default()
        };
        for scope in [NATIONAL, "Y56", "QMJ", "RJ1", UNASSIGNED] {
            for mode in [GeographyMode::AsReported, GeographyMode::Current] {
                let mut whole = projection.view(scope, mode);
                whole.narrow(&request);
                let narrow = projection.view_narrowed(scope, mode, &request, true);
                // Variance compares a plan with actuals period by period; each series keeps its
                // own latest periods, so only the cells both keep are compared.
                prop_assert_eq!(&narrow.metrics, &whole.metrics, "{} {:?}", scope, mode);
                prop_assert_eq!(&narrow.plans, &whole.plans);
                prop_assert_eq!(&narrow.received, &whole.received);
                prop_assert_eq!(&narrow.missing, &whole.missing);
                prop_assert_eq!(&narrow.spc, &whole.spc);
                prop_assert_eq!(&narrow.segment, &whole.segment);
            }
        }
    }

    #[test]
    fn a_snapshot_plus_its_deltas_equals_a_later_snapshot(
        steps in prop::collection::vec(step(), 1..40),
        cut in 0usize..60,
    ) {
        let log = events(&steps);
        let cut = cut.min(log.len());
        let (mut projection, mut held) = snapshots_at(&log, cut);
        for envelope in &log[cut..] {
            for delta in projection.apply(envelope) {
                let view = held.get_mut(&delta.scope).expect("a scope the test knows");
                prop_assert_eq!(view.apply_delta(&delta), Ok(()));
            }
        }
        held_equal_fresh(&projection, &held)?;
    }

    #[test]
    fn charts_filled_once_per_merged_delta_equal_charts_per_entry(
        steps in prop::collection::vec(step(), 1..40),
        cut in 0usize..60,
        later in 0usize..60,
    ) {
        let log = events(&steps);
        let cut = cut.min(log.len());
        let end = (cut + later).min(log.len());
        let (mut projection, mut held) = snapshots_at(&log, cut);
        // As the runner does: deltas without charts, merged per scope, charts filled once.
        let mut merged: BTreeMap<String, proto_schema::Delta> = BTreeMap::new();
        for envelope in &log[cut..end] {
            for delta in projection.apply_without_charts(envelope) {
                match merged.get_mut(&delta.scope) {
                    Some(pending) => pending.append(delta),
                    None => {
                        merged.insert(delta.scope.clone(), delta);
                    }
                }
            }
        }
        let mut deltas: Vec<proto_schema::Delta> = merged.into_values().collect();
        for delta in &mut deltas {
            delta.compact();
        }
        // The runner takes what the charts read at the batch's end and draws them while it
        // folds the next entries: drawn later, they are the charts of the batch's end.
        let at_end = projection.clone();
        let work: Vec<projector::ChartWork> =
            deltas.iter().map(|delta| projection.chart_work(delta)).collect();
        for envelope in &log[end..] {
            projection.apply_without_charts(envelope);
        }
        for (delta, work) in deltas.iter_mut().zip(work) {
            let mut filled_at_end = delta.clone();
            at_end.complete_charts(&mut filled_at_end);
            work.draw(delta);
            prop_assert_eq!(&*delta, &filled_at_end);
        }
        for delta in deltas {
            let view = held.get_mut(&delta.scope).expect("a scope the test knows");
            prop_assert_eq!(view.apply_delta(&delta), Ok(()));
        }
        held_equal_fresh(&at_end, &held)?;
    }

    #[test]
    fn a_missed_delta_is_detected(steps in prop::collection::vec(step(), 2..40)) {
        let log = events(&steps);
        let mut projection = Projection::default();
        let mut national = projection.view(NATIONAL, GeographyMode::AsReported);
        // Drop the first national delta: the next one must be refused, and after a fresh
        // snapshot the rest apply.
        let mut national_deltas = 0;
        for envelope in &log {
            for delta in projection.apply(envelope) {
                if delta.scope != NATIONAL {
                    continue;
                }
                national_deltas += 1;
                match national_deltas {
                    1 => {}
                    2 => {
                        prop_assert!(national.apply_delta(&delta).is_err(), "a gap must be reported");
                        national = projection.view(NATIONAL, GeographyMode::AsReported);
                    }
                    _ => prop_assert_eq!(national.apply_delta(&delta), Ok(())),
                }
            }
        }
        // With a single delta the consumer has nothing yet to notice the loss by.
        if national_deltas >= 2 {
            prop_assert_eq!(national.metrics, projection.view(NATIONAL, GeographyMode::AsReported).metrics);
        }
    }
}

#[test]
fn moving_a_trust_between_regions_gives_both_answers() {
    let steps = [
        Step::Return {
            org: 2,
            month: 3,
            values: vec![(0, 80, 100)],
        },
        Step::Move {
            org: 2,
            place: 0,
            month: 4,
        },
    ];
    let mut projection = Projection::default();
    for envelope in events(&steps) {
        projection.apply(&envelope);
    }
    let march = month(3);
    let reported_east = projection.view("Y61", GeographyMode::AsReported);
    let current_london = projection.view("Y56", GeographyMode::Current);
    let current_east = projection.view("Y61", GeographyMode::Current);
    assert!(reported_east.metrics["ae_4hr"][&march]
        .organisations
        .contains_key("RQW"));
    assert!(current_london.metrics["ae_4hr"][&march]
        .organisations
        .contains_key("RQW"));
    assert!(!current_east.metrics.contains_key("ae_4hr"));
}

/// Plans roll up like actuals, the plan recorded last wins where rounds overlap, a revision
/// replaces its round whole, and variance is actual minus plan.
#[test]
fn plans_roll_up_and_the_latest_round_wins() {
    let plan = |org: usize, round: usize, figures: Vec<(u8, i64)>| Step::Plan {
        org,
        round,
        figures: figures.into_iter().map(|(m, n)| (1, m, n, 1)).collect(),
    };
    // RJ1 and RAL are both in London (QMJ and QKK); ae_12hr_dta is a count.
    let steps = [
        plan(0, 0, vec![(4, 10), (5, 10)]),
        plan(1, 0, vec![(4, 3)]),
        plan(0, 1, vec![(5, 7), (6, 7)]),
        Step::Return {
            org: 0,
            month: 5,
            values: vec![(1, 12, 1)],
        },
    ];
    let mut projection = Projection::default();
    for envelope in events(&steps) {
        projection.apply(&envelope);
    }
    let london = projection.view("Y56", GeographyMode::AsReported);
    let planned = |view: &View, m: u8| {
        view.plans
            .get("ae_12hr_dta")
            .and_then(|p| p.get(&month(m)))
            .map(|cell| cell.summary.total)
    };
    assert_eq!(planned(&london, 4), Some(Value::Count(13)));
    assert_eq!(
        planned(&london, 5),
        Some(Value::Count(7)),
        "round 1 was recorded last"
    );
    assert_eq!(london.variance["ae_12hr_dta"][&month(5)].value, 5.0);
    assert!(!london.variance["ae_12hr_dta"].contains_key(&month(4)));

    // Revising round 1 without May brings back round 0's figure for May.
    let mut steps = steps.to_vec();
    steps.push(plan(0, 1, vec![(6, 8)]));
    let mut projection = Projection::default();
    for envelope in events(&steps) {
        projection.apply(&envelope);
    }
    let rj1 = projection.view("RJ1", GeographyMode::AsReported);
    assert_eq!(planned(&rj1, 5), Some(Value::Count(10)));
    assert_eq!(planned(&rj1, 6), Some(Value::Count(8)));
    assert_eq!(rj1.variance["ae_12hr_dta"][&month(5)].value, 2.0);
}

/// A scope's variance compares a plan with the actuals of the organisations that planned it, and
/// says how many of the scope's organisations that is: London with one planner of two is that
/// trust's actual against its plan, not both trusts' actuals against one trust's plan.
#[test]
fn a_scope_s_variance_compares_a_plan_with_its_planners_actuals() {
    // RJ1 (0) plans 10 waits for May and has 12; RAL (1) plans nothing and has 30.
    let steps = [
        Step::Plan {
            org: 0,
            round: 0,
            figures: vec![(1, 5, 10, 1)],
        },
        Step::Return {
            org: 0,
            month: 5,
            values: vec![(1, 12, 1)],
        },
        Step::Return {
            org: 1,
            month: 5,
            values: vec![(1, 30, 1)],
        },
    ];
    let mut projection = Projection::default();
    for envelope in events(&steps) {
        projection.apply(&envelope);
    }
    let london = projection.view("Y56", GeographyMode::AsReported);
    assert_eq!(
        london.metrics["ae_12hr_dta"][&month(5)].summary.total,
        Value::Count(42)
    );
    assert_eq!(
        london.variance["ae_12hr_dta"][&month(5)],
        Variance {
            value: 2.0,
            organisations: 1,
            of: 2
        }
    );
    // A ratio: Σ numerator / Σ denominator of the planner alone, in percentage points.
    let steps = [
        Step::Plan {
            org: 0,
            round: 0,
            figures: vec![(0, 5, 90, 50)],
        },
        Step::Return {
            org: 0,
            month: 5,
            values: vec![(0, 80, 50)],
        },
        Step::Return {
            org: 1,
            month: 5,
            values: vec![(0, 10, 50)],
        },
    ];
    let mut projection = Projection::default();
    for envelope in events(&steps) {
        projection.apply(&envelope);
    }
    let london = projection.view("Y56", GeographyMode::AsReported);
    let variance = london.variance["ae_4hr"][&month(5)];
    // RJ1: 80/100 = 80% against a plan of 90/100 = 90%.
    assert!((variance.value + 10.0).abs() < 1e-9, "{variance:?}");
    assert_eq!((variance.organisations, variance.of), (1, 2));
}

/// Missing returns as the log's date passes due dates: each case is a sequence of (day recorded,
/// event) and, after each, the organisations whose April 2019 A&E return is missing in England
/// and in London.
#[test]
fn missing_returns_follow_the_schedule() {
    enum At {
        Submit(&'static str, &'static str),
        Close(&'static str, &'static str),
        Move(&'static str, &'static str, &'static str),
        Nothing,
    }
    use At::*;
    // ae-monthly is due 10 working days after the period: April 2019 by Wednesday 15 May
    // (6 May is a bank holiday).
    /// (day recorded, event, missing in England, missing in London).
    type Expect = (
        &'static str,
        At,
        &'static [&'static str],
        &'static [&'static str],
    );
    let cases: Vec<(&str, Vec<Expect>)> = vec![
        (
            "absent after the due date, and no longer once it arrives",
            vec![
                ("2019-04-05", Submit("RJ1", "2019-03"), &[], &[]),
                ("2019-04-05", Submit("RAL", "2019-03"), &[], &[]),
                ("2019-05-03", Submit("RAL", "2019-04"), &[], &[]),
                ("2019-05-15", Nothing, &[], &[]),
                ("2019-05-16", Nothing, &["RJ1"], &["RJ1"]),
                ("2019-05-20", Submit("RJ1", "2019-04"), &[], &[]),
            ],
        ),
        (
            "a period nobody has returned is not yet missing for anyone",
            vec![
                ("2019-04-05", Submit("RJ1", "2019-03"), &[], &[]),
                ("2019-06-30", Nothing, &[], &[]),
                // Returned long after its due date: the others are overdue at once.
                ("2019-07-01", Submit("RAL", "2019-04"), &["RJ1"], &["RJ1"]),
                ("2019-07-02", Nothing, &["RJ1"], &["RJ1"]),
                ("2019-07-02", Submit("RJ1", "2019-04"), &[], &[]),
            ],
        ),
        (
            "an organisation is expected only from its first return, and not after it closes",
            vec![
                ("2019-04-05", Submit("RAL", "2019-04"), &[], &[]),
                ("2019-06-01", Submit("RJ1", "2019-05"), &[], &[]),
                ("2019-06-01", Submit("RQW", "2019-03"), &["RQW"], &[]),
                ("2019-06-02", Close("RQW", "2019-03-31"), &[], &[]),
            ],
        ),
        (
            "a missing return moves with its organisation",
            vec![
                ("2019-04-05", Submit("RQW", "2019-03"), &[], &[]),
                ("2019-05-10", Submit("RAL", "2019-04"), &[], &[]),
                ("2019-05-20", Nothing, &["RQW"], &[]),
                ("2019-05-21", Move("RQW", "Y56", "QMJ"), &["RQW"], &["RQW"]),
            ],
        ),
    ];
    for (name, steps) in cases {
        let mut events = reference();
        let mut days = vec!["2019-01-01"; events.len()];
        let mut expectations = Vec::new();
        for (n, (day, at, national, london)) in steps.iter().enumerate() {
            let event = match at {
                Submit(org, period) => Event::ReturnSubmitted(ReturnSubmitted {
                    revision: 1,
                    ret: Return {
                        submission_id: format!("s{n}"),
                        org: (*org).into(),
                        collection: "ae-monthly".into(),
                        period: Period::parse(period).expect("period"),
                        values: vec![("ae_12hr_dta".into(), Value::Count(1))],
                    },
                }),
                Close(org, date) => {
                    let i = ORGS.iter().position(|o| o == org).expect("org");
                    let (region, system) = PLACES[i % PLACES.len()];
                    Event::OrganisationRegistered(Organisation {
                        code: (*org).into(),
                        name: (*org).into(),
                        role: OrgRole::Provider,
                        system: system.into(),
                        region: region.into(),
                        opened: Date::parse("2000-01-01").expect("date"),
                        closed: Some(Date::parse(date).expect("date")),
                    })
                }
                Move(org, region, system) => Event::OrganisationMoved(OrganisationMoved {
                    code: (*org).into(),
                    region: (*region).into(),
                    system: (*system).into(),
                    from: Period::parse("2019-01").expect("period"),
                }),
                Nothing => Event::RegionDefined(Region {
                    code: "Y56".into(),
                    name: "London".into(),
                }),
            };
            events.push(event);
            days.push(day);
            expectations.push((events.len(), *national, *london));
        }
        let log: Vec<Envelope> = events
            .into_iter()
            .zip(days)
            .enumerate()
            .map(|(i, (event, day))| {
                let at = Timestamp::parse(&format!("{day}T12:00:00Z")).expect("time");
                Envelope::seal(i as u64 + 1, at, "test".into(), event).expect("seal")
            })
            .collect();
        let mut projection = Projection::default();
        let mut applied = 0;
        for (upto, national, london) in expectations {
            for envelope in &log[applied..upto] {
                projection.apply(envelope);
            }
            applied = upto;
            for (scope, expected) in [(NATIONAL, national), ("Y56", london)] {
                let view = projection.view(scope, GeographyMode::Current);
                let missing: Vec<&str> = view
                    .missing
                    .get("ae-monthly")
                    .and_then(|p| p.get(&Period::parse("2019-04").expect("period")))
                    .map(|cell| cell.organisations.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                assert_eq!(missing, expected, "{name}: {scope} after seq {upto}");
            }
        }
    }
}

/// Segments from triggers: each case is RJ1's A&E and finance months (and a plan), and the
/// segment and triggers it must get.
#[test]
fn segments_follow_from_their_triggers() {
    use TriggerKind::*;
    struct Case {
        name: &'static str,
        /// ae_4hr % within 4 hours by month from April 2018.
        ae: Vec<i64>,
        /// finance_surplus in pounds by month from April 2018, and its plan for the last month.
        finance: Vec<i64>,
        plan: Option<i64>,
        /// RAL returns one more month than RJ1 (so RJ1's next return is overdue).
        overdue: bool,
        segment: u8,
        triggers: Vec<TriggerKind>,
    }
    let steady = |n: usize, level: i64| vec![level; n];
    let wobble = |n: usize, level: i64| {
        (0..n)
            .map(|i| level + (i as i64 % 3) - 1)
            .collect::<Vec<_>>()
    };
    let with_fall = |mut v: Vec<i64>| {
        v.push(60);
        v
    };
    let cases = vec![
        Case {
            name: "all well",
            ae: wobble(12, 97),
            finance: vec![],
            plan: None,
            overdue: false,
            segment: 1,
            triggers: vec![],
        },
        Case {
            name: "one standard missed",
            ae: vec![96, 97, 96, 94],
            finance: vec![],
            plan: None,
            overdue: false,
            segment: 2,
            triggers: vec![StandardMissed],
        },
        Case {
            name: "missing and failing consistently",
            ae: wobble(15, 80),
            finance: vec![],
            plan: None,
            overdue: false,
            segment: 2,
            triggers: vec![StandardMissed, ConsistentFail],
        },
        Case {
            name: "a special cause of concern on top",
            ae: with_fall(wobble(15, 80)),
            finance: vec![],
            plan: None,
            overdue: false,
            segment: 3,
            triggers: vec![StandardMissed, SpcConcern, ConsistentFail],
        },
        Case {
            name: "off plan and a return overdue",
            ae: steady(3, 96),
            finance: vec![-1_000, -2_000],
            plan: Some(-500),
            overdue: true,
            segment: 3,
            triggers: vec![MissingReturn, OffPlan],
        },
        Case {
            name: "on plan",
            ae: steady(3, 96),
            finance: vec![-1_000, -400],
            plan: Some(-500),
            overdue: false,
            segment: 1,
            triggers: vec![],
        },
        Case {
            name: "everything at once",
            ae: with_fall(wobble(15, 80)),
            finance: vec![-1_000, -2_000],
            plan: Some(-500),
            overdue: true,
            segment: 4,
            triggers: vec![
                MissingReturn,
                StandardMissed,
                SpcConcern,
                ConsistentFail,
                OffPlan,
            ],
        },
    ];
    for case in cases {
        let mut events = reference();
        let months = case.ae.len().max(case.finance.len());
        let period = |i: usize| {
            Period::parse(&format!(
                "{}-{:02}",
                2018 + (i as i32 + 3) / 12,
                (i + 3) % 12 + 1
            ))
            .expect("month")
        };
        for i in 0..months {
            let mut values = Vec::new();
            if let Some(pct) = case.ae.get(i) {
                values.push((
                    "ae_4hr".to_owned(),
                    Value::Ratio {
                        numerator: Halves::whole(*pct),
                        denominator: Halves::whole(100),
                    },
                ));
            }
            if let Some(pounds) = case.finance.get(i) {
                values.push((
                    "finance_surplus".to_owned(),
                    Value::Money {
                        pence: pounds * 100,
                    },
                ));
            }
            for org in ["RJ1", "RAL"] {
                events.push(Event::ReturnSubmitted(ReturnSubmitted {
                    revision: 1,
                    ret: Return {
                        submission_id: format!("{org}-{i}"),
                        org: org.into(),
                        collection: "monthly".into(),
                        period: period(i),
                        values: values.clone(),
                    },
                }));
            }
        }
        if case.overdue {
            events.push(Event::ReturnSubmitted(ReturnSubmitted {
                revision: 1,
                ret: Return {
                    submission_id: "RAL-extra".into(),
                    org: "RAL".into(),
                    collection: "monthly".into(),
                    period: period(months),
                    values: vec![("ae_12hr_dta".into(), Value::Count(1))],
                },
            }));
        }
        if let Some(pounds) = case.plan {
            events.push(Event::PlanSubmitted(PlanSubmitted {
                revision: 1,
                plan: Plan {
                    submission_id: "RJ1-plan".into(),
                    org: "RJ1".into(),
                    plan: "2018-19".into(),
                    trajectories: [(
                        "finance_surplus".to_owned(),
                        [(
                            period(case.finance.len() - 1),
                            Value::Money {
                                pence: pounds * 100,
                            },
                        )]
                        .into(),
                    )]
                    .into(),
                },
            }));
        }
        events.push(Event::SegmentDecided(SegmentDecided {
            org: "RJ1".into(),
            segment: 2,
            rationale: "agreed".into(),
        }));
        let mut projection = Projection::default();
        let count = events.len();
        for (i, event) in events.into_iter().enumerate() {
            // The decision comes a day later, when what was returned late has fallen due.
            let day = if i + 1 == count { 86_400_000 } else { 0 };
            projection.apply(
                &Envelope::seal(
                    i as u64 + 1,
                    Timestamp(1_700_000_000_000 + day),
                    "region-Y56".into(),
                    event,
                )
                .expect("seal"),
            );
        }
        let segment = projection
            .view("RJ1", GeographyMode::AsReported)
            .segment
            .expect("an organisation has a segment");
        let mut kinds: Vec<TriggerKind> = segment.triggers.iter().map(|t| t.kind).collect();
        let mut expected = case.triggers.clone();
        kinds.sort();
        expected.sort();
        assert_eq!(kinds, expected, "{}: {:?}", case.name, segment.triggers);
        assert_eq!(segment.suggested, case.segment, "{}", case.name);
        let decided = segment.decided.expect("decided");
        assert_eq!(
            (decided.segment, decided.by.as_str()),
            (2, "region-Y56"),
            "{}",
            case.name
        );
    }
}

/// An import of history, all recorded on one day with nothing after it: a provider's gaps show as
/// missing once the import ends, in every scope that counts it, without waiting for another day.
#[test]
fn a_backfill_shows_its_gaps_at_once() {
    let months = [
        "2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-03",
    ];
    let gaps = ["2023-12", "2024-02"];
    let mut events = reference();
    for (org, skip) in [("RAL", &[][..]), ("RJ1", &gaps[..])] {
        for month in months.iter().filter(|m| !skip.contains(m)) {
            events.push(Event::ReturnSubmitted(ReturnSubmitted {
                revision: 1,
                ret: Return {
                    submission_id: format!("{org}-{month}"),
                    org: org.into(),
                    collection: "cancer-monthly".into(),
                    period: Period::parse(month).expect("period"),
                    values: vec![(
                        "cancer_62d".into(),
                        Value::Ratio {
                            numerator: Halves(41),
                            denominator: Halves(50),
                        },
                    )],
                },
            }));
        }
    }
    let at = Timestamp::parse("2025-11-20T09:00:00Z").expect("time");
    let mut projection = Projection::default();
    for (i, event) in events.into_iter().enumerate() {
        projection.apply(&Envelope::seal(i as u64 + 1, at, "import".into(), event).expect("seal"));
    }
    for scope in [NATIONAL, "Y56", "QMJ", "RJ1"] {
        let view = projection.view(scope, GeographyMode::AsReported);
        let missing: Vec<(String, Vec<&str>)> = view
            .missing
            .get("cancer-monthly")
            .map(|periods| {
                periods
                    .iter()
                    .map(|(p, cell)| {
                        (
                            p.to_string(),
                            cell.organisations.keys().map(String::as_str).collect(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let expected: Vec<(String, Vec<&str>)> =
            gaps.iter().map(|g| (g.to_string(), vec!["RJ1"])).collect();
        assert_eq!(missing, expected, "{scope}");
    }
}

/// Views resumed after a restart announce what the first entry they fold starts: here the log's
/// date passing RJ1's due date for April 2019 (15 May), on the first entry after the restart.
#[test]
fn the_first_batch_after_a_restart_announces_the_alerts_it_starts() {
    let at = |day: &str| Timestamp::parse(&format!("{day}T12:00:00Z")).expect("time");
    let ret = |n: usize, org: &str, period: &str| {
        Event::ReturnSubmitted(ReturnSubmitted {
            revision: 1,
            ret: Return {
                submission_id: format!("s{n}"),
                org: org.into(),
                collection: "ae-monthly".into(),
                period: Period::parse(period).expect("period"),
                values: vec![("ae_12hr_dta".into(), Value::Count(0))],
            },
        })
    };
    let mut before: Vec<(Event, &str)> = reference()
        .into_iter()
        .map(|event| (event, "2019-04-01"))
        .collect();
    before.push((ret(1, "RJ1", "2019-03"), "2019-04-05"));
    before.push((ret(2, "RAL", "2019-03"), "2019-04-05"));
    before.push((ret(3, "RAL", "2019-04"), "2019-05-03"));
    let mut projection = Projection::default();
    let mut seq = 0;
    for (event, day) in before {
        seq += 1;
        projection
            .apply_silently(&Envelope::seal(seq, at(day), "test".into(), event).expect("seal"));
    }
    // The restart: views resumed from the projection as it was saved.
    let mut views = projector::Views::start(projection, projector::Analytics::On);
    let next_day = Envelope::seal(
        seq + 1,
        at("2019-05-16"),
        "test".into(),
        Event::RegionDefined(Region {
            code: "Y56".into(),
            name: "London".into(),
        }),
    )
    .expect("seal");
    let drawn = views.fold_batch(std::slice::from_ref(&next_day)).draw();
    let ready = views.announce(drawn);
    let overdue: Vec<(&str, Option<&str>, String)> = ready
        .alerts
        .iter()
        .filter(|alert| alert.kind == AlertKind::ReturnOverdue)
        .map(|alert| {
            (
                alert.scope.as_str(),
                alert.organisation.as_deref(),
                alert.period.to_string(),
            )
        })
        .collect();
    for scope in [NATIONAL, "Y56", "QMJ", "RJ1"] {
        assert!(
            overdue.contains(&(scope, Some("RJ1"), "2019-04".to_owned())),
            "{scope}: {overdue:?}"
        );
    }
    // Announced once: a later entry, RJ1 still overdue, raises it no more.
    let later = Envelope::seal(
        seq + 2,
        at("2019-05-17"),
        "test".into(),
        Event::RegionDefined(Region {
            code: "Y56".into(),
            name: "London".into(),
        }),
    )
    .expect("seal");
    let drawn = views.fold_batch(std::slice::from_ref(&later)).draw();
    let ready = views.announce(drawn);
    assert!(
        ready
            .alerts
            .iter()
            .all(|alert| alert.kind != AlertKind::ReturnOverdue),
        "{:?}",
        ready.alerts
    );
}

//! Collection windows: the figure published at a period's deadline beside the latest, and each
//! scope's completeness (expected, in, provisional / complete / closed), in snapshots and deltas.

use std::collections::BTreeMap;

use projector::Projection;
use proptest::prelude::*;
use proto_schema::*;

/// (code, region, system).
const ORGS: [(&str, &str, &str); 3] = [
    ("RJ1", "Y56", "QMJ"),
    ("RAL", "Y56", "QKK"),
    ("RQW", "Y61", "QHG"),
];
const SCOPES: [&str; 9] = [
    NATIONAL, "Y56", "Y61", "QMJ", "QKK", "QHG", "RJ1", "RAL", "RQW",
];

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
    events.extend(data_standard_v1().into_iter().map(Event::MetricDefined));
    for (code, region, system) in ORGS {
        events.push(Event::OrganisationRegistered(Organisation {
            code: code.into(),
            name: code.into(),
            role: OrgRole::Provider,
            system: system.into(),
            region: region.into(),
            opened: Date::parse("2000-01-01").expect("date"),
            closed: None,
        }));
    }
    events
}

fn ae_return(n: usize, org: &str, period: &str, over_12h: i64) -> Event {
    Event::ReturnSubmitted(ReturnSubmitted {
        revision: 1,
        ret: Return {
            submission_id: format!("s{n}"),
            org: org.into(),
            collection: "ae-monthly".into(),
            period: Period::parse(period).expect("period"),
            values: vec![("ae_12hr_dta".into(), Value::Count(over_12h))],
        },
    })
}

/// A log of events each recorded on its day (noon).
fn log_of(dated: Vec<(&str, Event)>) -> Vec<Envelope> {
    dated
        .into_iter()
        .enumerate()
        .map(|(i, (day, event))| {
            let at = Timestamp::parse(&format!("{day}T12:00:00Z")).expect("time");
            Envelope::seal(i as u64 + 1, at, "test".into(), event).expect("seal")
        })
        .collect()
}

fn folded(log: &[Envelope]) -> Projection {
    let mut projection = Projection::default();
    for envelope in log {
        projection.apply(envelope);
    }
    projection
}

fn april() -> Period {
    Period::parse("2019-04").expect("period")
}

fn completeness(view: &View) -> Option<&Completeness> {
    view.completeness.get("ae-monthly")?.get(&april())
}

fn figure(cells: &BTreeMap<String, BTreeMap<Period, Cell>>) -> Option<Value> {
    Some(cells.get("ae_12hr_dta")?.get(&april())?.summary.total)
}

/// ae-monthly is due 10 working days after the period: April 2019 by Wednesday 15 May (6 May is
/// a bank holiday). RJ1 and RAL returned March, so both are expected for April.
#[test]
fn a_window_is_provisional_then_complete_then_closed_and_a_late_return_is_a_refresh() {
    let mut dated: Vec<(&str, Event)> =
        reference().into_iter().map(|e| ("2019-04-01", e)).collect();
    dated.push(("2019-04-05", ae_return(1, "RJ1", "2019-03", 1)));
    dated.push(("2019-04-05", ae_return(2, "RAL", "2019-03", 1)));
    let before_april = dated.len();
    dated.push(("2019-05-03", ae_return(3, "RAL", "2019-04", 5)));
    let one_in = dated.len();
    dated.push(("2019-05-10", ae_return(4, "RJ1", "2019-04", 3)));
    let both_in = dated.len();
    // A revision before the deadline is what gets published.
    dated.push(("2019-05-15", ae_return(5, "RJ1", "2019-04", 4)));
    let last_on_time = dated.len();
    // The first entry after the deadline closes the window; it is any entry at all.
    dated.push((
        "2019-05-16",
        Event::RegionDefined(Region {
            code: "Y56".into(),
            name: "London".into(),
        }),
    ));
    let closed = dated.len();
    dated.push(("2019-05-20", ae_return(6, "RJ1", "2019-04", 10)));
    let log = log_of(dated);

    let at = |upto: usize, scope: &str| folded(&log[..upto]).view(scope, GeographyMode::AsReported);
    assert_eq!(completeness(&at(before_april, NATIONAL)), None);

    let national = at(one_in, NATIONAL);
    let c = completeness(&national).expect("April is being collected");
    assert_eq!(
        (c.expected, c.received, c.state),
        (2, 1, WindowState::Provisional)
    );
    assert_eq!(c.opens, Date::parse("2019-05-01").expect("date"));
    assert_eq!(c.closes, Date::parse("2019-05-15").expect("date"));
    assert_eq!(c.published_seq, None);
    // RJ1's own window is provisional until its return is in; RAL's is complete.
    let rj1 = completeness(&at(one_in, "RJ1"))
        .cloned()
        .expect("RJ1 expected");
    assert_eq!(
        (rj1.expected, rj1.received, rj1.state),
        (1, 0, WindowState::Provisional)
    );
    let ral = completeness(&at(one_in, "RAL")).cloned().expect("RAL in");
    assert_eq!(ral.state, WindowState::Complete);
    // East of England expects nobody for ae-monthly.
    assert_eq!(completeness(&at(one_in, "Y61")), None);

    let c = completeness(&at(both_in, "Y56")).cloned().expect("London");
    assert_eq!(
        (c.expected, c.received, c.state),
        (2, 2, WindowState::Complete)
    );
    assert_eq!(
        figure(&at(both_in, NATIONAL).published),
        None,
        "nothing published while open"
    );

    let live = at(closed, NATIONAL);
    let c = completeness(&live).expect("closed");
    assert_eq!(c.state, WindowState::Closed);
    assert_eq!(c.published_seq, Some(last_on_time as u64));
    assert_eq!(c.after_close, 0);
    assert_eq!(figure(&live.published), Some(Value::Count(9)));
    assert_eq!(figure(&live.metrics), Some(Value::Count(9)));

    // A return after the close moves the latest figure, not the published one, and is counted.
    for scope in [NATIONAL, "Y56", "QMJ", "RJ1"] {
        let view = at(log.len(), scope);
        let c = completeness(&view).expect("closed");
        assert_eq!(
            (c.state, c.after_close),
            (WindowState::Closed, 1),
            "{scope}"
        );
        // QMJ is RJ1's system alone.
        let rj1_alone = scope == "RJ1" || scope == "QMJ";
        let (published, latest) = if rj1_alone { (4, 10) } else { (9, 15) };
        assert_eq!(
            figure(&view.published),
            Some(Value::Count(published)),
            "{scope}"
        );
        assert_eq!(figure(&view.metrics), Some(Value::Count(latest)), "{scope}");
        // The view as of the close holds exactly what was published.
        let as_of_close = at(last_on_time, scope);
        assert_eq!(
            as_of_close
                .metrics
                .get("ae_12hr_dta")
                .and_then(|p| p.get(&april())),
            view.published
                .get("ae_12hr_dta")
                .and_then(|p| p.get(&april())),
            "{scope}"
        );
    }
    // RAL's own return was on time: nothing after the close in its scope.
    let ral = at(log.len(), "RAL");
    assert_eq!(completeness(&ral).map(|c| c.after_close), Some(0));
    assert_eq!(figure(&ral.published), figure(&ral.metrics));
}

#[test]
fn the_deltas_say_when_a_window_closes_and_when_it_is_refreshed() {
    let mut dated: Vec<(&str, Event)> =
        reference().into_iter().map(|e| ("2019-04-01", e)).collect();
    dated.push(("2019-04-05", ae_return(1, "RJ1", "2019-03", 1)));
    dated.push(("2019-05-03", ae_return(2, "RJ1", "2019-04", 5)));
    let before_close = dated.len();
    dated.push((
        "2019-05-16",
        Event::RegionDefined(Region {
            code: "Y61".into(),
            name: "East of England".into(),
        }),
    ));
    dated.push(("2019-05-20", ae_return(3, "RJ1", "2019-04", 7)));
    let log = log_of(dated);
    let mut projection = folded(&log[..before_close]);
    let closing = projection.apply(&log[before_close]);
    let national = closing
        .iter()
        .find(|d| d.scope == NATIONAL)
        .expect("England hears of the close");
    let change = national
        .completeness
        .iter()
        .find(|c| c.collection == "ae-monthly" && c.period == april())
        .and_then(|c| c.completeness.clone())
        .expect("April's completeness");
    assert_eq!(change.state, WindowState::Closed);
    assert_eq!(change.published_seq, Some(before_close as u64));
    let published: Vec<&Change> = national
        .published
        .iter()
        .filter(|c| c.metric == "ae_12hr_dta")
        .collect();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].value, Some(Value::Count(5)));

    let refresh = projection.apply(&log[before_close + 1]);
    let national = refresh
        .iter()
        .find(|d| d.scope == NATIONAL)
        .expect("England");
    assert!(
        national.published.is_empty(),
        "a refresh does not touch the published figure"
    );
    let change = national
        .completeness
        .iter()
        .find(|c| c.collection == "ae-monthly")
        .and_then(|c| c.completeness.clone())
        .expect("completeness with the refresh");
    assert_eq!((change.state, change.after_close), (WindowState::Closed, 1));
}

#[test]
fn a_period_first_returned_after_its_deadline_has_nothing_published() {
    let mut dated: Vec<(&str, Event)> =
        reference().into_iter().map(|e| ("2025-11-20", e)).collect();
    dated.push(("2025-11-20", ae_return(1, "RJ1", "2019-03", 1)));
    dated.push(("2025-11-20", ae_return(2, "RAL", "2019-03", 2)));
    let projection = folded(&log_of(dated));
    let view = projection.view(NATIONAL, GeographyMode::AsReported);
    let march = view.completeness["ae-monthly"][&Period::parse("2019-03").expect("period")].clone();
    assert_eq!(
        (
            march.expected,
            march.received,
            march.after_close,
            march.state
        ),
        (2, 2, 2, WindowState::Closed)
    );
    assert_eq!(march.published_seq, None);
    assert!(view.published.is_empty());
}

/// Random returns and moves recorded a few days apart through 2019, so that months' windows
/// close part-way through the log.
#[derive(Debug, Clone)]
enum Step {
    Return { org: usize, month: u8, value: i64 },
    Move { org: usize, to: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..ORGS.len(), 1u8..=4, 0i64..100).prop_map(|(org, month, value)| Step::Return { org, month, value }),
        1 => (0..ORGS.len(), 0..ORGS.len()).prop_map(|(org, to)| Step::Move { org, to }),
    ]
}

fn log_of_steps(steps: &[(Step, u8)]) -> Vec<Envelope> {
    let mut events: Vec<(i64, Event)> = reference().into_iter().map(|e| (0, e)).collect();
    let mut day = Date::parse("2019-02-01").expect("date").days_since_epoch();
    for (n, (step, gap)) in steps.iter().enumerate() {
        day += i64::from(*gap);
        events.push((
            day,
            match step {
                Step::Return { org, month, value } => {
                    ae_return(n, ORGS[*org].0, &format!("2019-{month:02}"), *value)
                }
                Step::Move { org, to } => Event::OrganisationMoved(OrganisationMoved {
                    code: ORGS[*org].0.into(),
                    region: ORGS[*to].1.into(),
                    system: ORGS[*to].2.into(),
                    from: Period::parse("2019-03").expect("period"),
                }),
            },
        ));
    }
    let start = Date::parse("2019-02-01").expect("date").days_since_epoch();
    events
        .into_iter()
        .enumerate()
        .map(|(i, (day, event))| {
            let day = day.max(start);
            let at = Timestamp(day * 86_400_000 + 43_200_000);
            Envelope::seal(i as u64 + 1, at, "test".into(), event).expect("seal")
        })
        .collect()
}

fn steps() -> impl Strategy<Value = Vec<(Step, u8)>> {
    prop::collection::vec((step(), 0u8..9), 1..40)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn snapshots_plus_deltas_equal_later_snapshots_as_windows_close(
        steps in steps(),
        cut in 0usize..50,
    ) {
        let log = log_of_steps(&steps);
        let cut = cut.min(log.len());
        let mut projection = folded(&log[..cut]);
        let mut held: BTreeMap<&str, View> = SCOPES
            .iter()
            .map(|scope| (*scope, projection.view(scope, GeographyMode::AsReported)))
            .collect();
        for envelope in &log[cut..] {
            for delta in projection.apply(envelope) {
                let view = held.get_mut(delta.scope.as_str()).expect("a scope the test knows");
                prop_assert_eq!(view.apply_delta(&delta), Ok(()));
            }
        }
        for (scope, view) in held {
            let mut view = view;
            let fresh = projection.view(scope, GeographyMode::AsReported);
            view.seq = fresh.seq;
            prop_assert_eq!(view, fresh, "scope {}", scope);
        }
        prop_assert!(projection.same_figures(&projection.recomputed()));
    }

    /// Folded silently in runs counted at their ends (windows closing and organisations moving
    /// inside a run), the state is what folding entry by entry leaves.
    #[test]
    fn silent_runs_as_windows_close_leave_what_applying_does(
        steps in steps(),
        run in 1usize..30,
    ) {
        let log = log_of_steps(&steps);
        let live = folded(&log);
        let mut quiet = Projection::default();
        for entries in log.chunks(run) {
            quiet.apply_all_silently(entries);
        }
        prop_assert_eq!(&quiet, &live);
        for scope in SCOPES {
            let (a, b) = (quiet.view(scope, GeographyMode::AsReported), live.view(scope, GeographyMode::AsReported));
            prop_assert_eq!(a, b, "scope {}", scope);
        }
    }

    #[test]
    fn what_is_published_is_the_view_as_of_the_close(steps in steps()) {
        let log = log_of_steps(&steps);
        let live = folded(&log);
        for scope in SCOPES {
            let view = live.view(scope, GeographyMode::AsReported);
            for (period, c) in view.completeness.get("ae-monthly").into_iter().flatten() {
                prop_assert!(c.received <= c.expected || c.state == WindowState::Closed);
                prop_assert!(c.after_close <= c.received);
                let Some(seq) = c.published_seq else {
                    prop_assert!(view.published.values().all(|p| !p.contains_key(period)));
                    continue;
                };
                prop_assert_eq!(c.state, WindowState::Closed);
                let then = folded(&log[..seq as usize]).view(scope, GeographyMode::AsReported);
                let published = view.published.get("ae_12hr_dta").and_then(|p| p.get(period));
                let as_of = then.metrics.get("ae_12hr_dta").and_then(|p| p.get(period));
                // Moves after the close move the published figures with their organisation, as
                // they move the latest: compare where nothing moved since.
                let first_step_after = (seq as usize).saturating_sub(reference().len());
                let moved_since = steps
                    .iter()
                    .skip(first_step_after)
                    .any(|(s, _)| matches!(s, Step::Move { .. }));
                if !moved_since {
                    prop_assert_eq!(published, as_of, "{} {}", scope, period);
                }
                if c.after_close == 0 && !moved_since {
                    let latest = view.metrics.get("ae_12hr_dta").and_then(|p| p.get(period));
                    prop_assert_eq!(published, latest, "{} {}: no refresh", scope, period);
                }
            }
        }
    }
}

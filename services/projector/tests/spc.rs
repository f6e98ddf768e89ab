//! `projector::spc` against the reference (NHSRplotthedots) on shared series, and properties
//! that hold for any series.

use std::collections::BTreeMap;

use projector::spc::{
    chart, outline, part_of_seven, point_type, seven_point_one_side_of_mean, seven_point_trend,
    special_causes, two_in_three, Assurance, Direction, Options, PointType, SpecialCause,
};
use proptest::prelude::*;

struct Case {
    name: String,
    direction: Direction,
    target: Option<f64>,
    options: Options,
    values: Vec<f64>,
}

fn numbers<T: std::str::FromStr>(text: &str) -> Vec<T> {
    text.split(';')
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().ok().unwrap_or_else(|| panic!("`{t}` in {text}")))
        .collect()
}

fn cases() -> Vec<Case> {
    let text = include_str!("spc/series.csv");
    text.lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), 6, "{line}");
            Case {
                name: fields[0].to_owned(),
                direction: match fields[1] {
                    "increase" => Direction::Increase,
                    "decrease" => Direction::Decrease,
                    _ => Direction::Neutral,
                },
                target: fields[2].parse().ok(),
                options: Options {
                    fix_after_n_points: fields[3].parse().ok(),
                    rebase_at: numbers(fields[4]),
                    keep_outlying_ranges: false,
                },
                values: numbers(fields[5]),
            }
        })
        .collect()
}

/// One row of the reference's output.
struct Expected {
    mean: f64,
    lower: f64,
    upper: f64,
    relative_to_mean: i8,
    outside: bool,
    close: bool,
    cause: SpecialCause,
    point_type: PointType,
    assurance: Option<Assurance>,
}

fn r_number(text: &str) -> f64 {
    match text {
        "NaN" | "NA" => f64::NAN,
        "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => text.parse().unwrap_or_else(|_| panic!("`{text}`")),
    }
}

fn expected() -> BTreeMap<(String, usize), Expected> {
    let text = include_str!("spc/expected.csv");
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 11, "{line}");
            let cause = match f[8] {
                "Above UCL" => SpecialCause::AboveUpperLimit,
                "Below LCL" => SpecialCause::BelowLowerLimit,
                "7 Point Trend (Increasing)" => SpecialCause::TrendIncreasing,
                "7 Point Trend (Decreasing)" => SpecialCause::TrendDecreasing,
                "2 in 3 Above CL" => SpecialCause::TwoInThreeAbove,
                "2 in 3 Below CL" => SpecialCause::TwoInThreeBelow,
                "7 Points Above CL" => SpecialCause::ShiftAbove,
                "7 Points Below CL" => SpecialCause::ShiftBelow,
                "Common Cause" => SpecialCause::CommonCause,
                other => panic!("special cause `{other}`"),
            };
            let point_type = match f[9] {
                "common_cause" => PointType::CommonCause,
                "special_cause_improvement" => PointType::SpecialCauseImprovement,
                "special_cause_concern" => PointType::SpecialCauseConcern,
                "special_cause_neutral_high" => PointType::SpecialCauseNeutralHigh,
                "special_cause_neutral_low" => PointType::SpecialCauseNeutralLow,
                other => panic!("point type `{other}`"),
            };
            let assurance = match f[10] {
                "consistent_pass" => Some(Assurance::ConsistentPass),
                "consistent_fail" => Some(Assurance::ConsistentFail),
                "inconsistent" => Some(Assurance::Inconsistent),
                _ => None,
            };
            (
                (f[0].to_owned(), f[1].parse().expect("index")),
                Expected {
                    mean: r_number(f[2]),
                    lower: r_number(f[3]),
                    upper: r_number(f[4]),
                    relative_to_mean: f[5].parse().expect("sign"),
                    // R's NA (no limits) is never a special cause.
                    outside: f[6] == "TRUE",
                    close: f[7] == "TRUE",
                    cause,
                    point_type,
                    assurance,
                },
            )
        })
        .collect()
}

fn same_number(ours: f64, theirs: f64) -> bool {
    (ours.is_nan() && theirs.is_nan()) || (ours - theirs).abs() <= 1e-12 * theirs.abs().max(1.0)
}

#[test]
fn every_point_matches_the_reference() {
    let expected = expected();
    let cases = cases();
    assert!(cases.len() >= 30);
    let (mut points, mut outlines) = (0, 0);
    for case in &cases {
        let chart = chart(&case.values, case.direction, case.target, &case.options)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(chart.points.len(), case.values.len(), "{}", case.name);
        for (i, point) in chart.points.iter().enumerate() {
            let want = expected
                .get(&(case.name.clone(), i))
                .unwrap_or_else(|| panic!("no reference row for {} {i}", case.name));
            let at = format!("{} point {i} ({})", case.name, point.value);
            assert!(
                same_number(point.mean, want.mean),
                "{at}: mean {} vs {}",
                point.mean,
                want.mean
            );
            assert!(
                same_number(point.lower_limit, want.lower),
                "{at}: lower {} vs {}",
                point.lower_limit,
                want.lower
            );
            assert!(
                same_number(point.upper_limit, want.upper),
                "{at}: upper {} vs {}",
                point.upper_limit,
                want.upper
            );
            assert_eq!(point.relative_to_mean, want.relative_to_mean, "{at}");
            assert_eq!(point.outside_limits, want.outside, "{at}: outside");
            assert_eq!(point.close_to_limits, want.close, "{at}: close");
            assert_eq!(point.special_cause, want.cause, "{at}");
            assert_eq!(point.point_type, want.point_type, "{at}");
            assert_eq!(chart.assurance, want.assurance, "{}: assurance", case.name);
            points += 1;
        }
        assert_eq!(
            chart.variation,
            chart.points.last().map(|p| p.point_type),
            "{}: the icon is the last point's type",
            case.name
        );
        // What a view draws, on the series drawn with the default options.
        if case.options == Options::default() {
            let outline = outline(&case.values, case.direction, case.target)
                .unwrap_or_else(|| panic!("{}: an outline", case.name));
            let types: Vec<PointType> = (0..case.values.len())
                .filter_map(|i| expected.get(&(case.name.clone(), i)))
                .map(|want| want.point_type)
                .collect();
            assert_eq!(outline.point_types, types, "{}: outline", case.name);
            outlines += 1;
        }
    }
    assert_eq!(points, expected.len(), "every reference row was compared");
    assert!(outlines >= 20, "outlines compared: {outlines}");
}

#[test]
fn limits_cannot_be_fixed_on_fewer_than_twelve_points() {
    let options = Options {
        fix_after_n_points: Some(11),
        ..Options::default()
    };
    assert!(chart(&[1.0; 20], Direction::Increase, None, &options).is_err());
}

#[test]
fn an_empty_series_has_no_icon() {
    let empty = chart(&[], Direction::Increase, Some(1.0), &Options::default()).expect("chart");
    assert!(empty.points.is_empty());
    assert_eq!(empty.variation, None);
    assert_eq!(empty.assurance, None);
}

/// One month has no moving range and so no limits: its assurance is unknown, not "hit and miss".
#[test]
fn a_single_point_has_no_assurance() {
    for target in [0.5, 95.0, 200.0] {
        let one = chart(
            &[95.0],
            Direction::Increase,
            Some(target),
            &Options::default(),
        )
        .expect("chart");
        assert_eq!(one.variation, Some(PointType::CommonCause));
        assert_eq!(one.assurance, None, "target {target}");
        let drawn = outline(&[95.0], Direction::Increase, Some(target)).expect("outline");
        assert_eq!(drawn.assurance, None, "target {target}");
    }
}

#[test]
fn outside_the_limits_takes_precedence_over_a_trend() {
    // Seven strict rises whose last point is far outside the limits.
    let y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 70.0];
    let relative = [-1, -1, -1, -1, -1, -1, 1];
    let close = [false; 7];
    let outside = [false, false, false, false, false, false, true];
    let causes = special_causes(&y, &relative, &close, &outside);
    assert_eq!(causes[6], SpecialCause::AboveUpperLimit);
    assert!(causes[..6]
        .iter()
        .all(|c| *c == SpecialCause::TrendIncreasing));
}

#[test]
fn a_trend_takes_precedence_over_two_in_three_and_a_shift() {
    let y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
    let relative = [1; 7];
    let close = [true; 7];
    let outside = [false; 7];
    let causes = special_causes(&y, &relative, &close, &outside);
    assert!(causes.iter().all(|c| *c == SpecialCause::TrendIncreasing));
    // Without the trend, two-in-three comes before the shift.
    let flat = [5.0; 7];
    let causes = special_causes(&flat, &relative, &close, &outside);
    assert!(causes.iter().all(|c| *c == SpecialCause::TwoInThreeAbove));
}

fn series() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(0i32..1000, 2..60).prop_map(|v| v.into_iter().map(f64::from).collect())
}

/// A random walk of small whole steps: equal neighbours, trends, shifts and points beyond the
/// limits, which values drawn independently seldom give.
fn walk() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-2i32..=2, 2..80).prop_map(|steps| {
        let mut level = 0;
        steps
            .into_iter()
            .map(|step| {
                level += step;
                f64::from(level)
            })
            .collect()
    })
}

/// Whether any point lies within `eps` of a boundary, where rounding could flip a comparison.
fn on_a_knife_edge(chart: &projector::spc::Chart) -> bool {
    let eps = 1e-6;
    chart.points.iter().any(|p| {
        [
            p.mean,
            p.lower_limit,
            p.upper_limit,
            p.near_lower_limit,
            p.near_upper_limit,
        ]
        .iter()
        .any(|b| (p.value - b).abs() < eps)
    })
}

proptest! {
    #[test]
    fn limits_are_symmetric_about_the_mean(values in series()) {
        let chart = chart(&values, Direction::Increase, None, &Options::default()).expect("chart");
        for p in &chart.points {
            if p.upper_limit.is_finite() {
                let tolerance = 1e-9 * p.mean.abs().max(1.0);
                prop_assert!(((p.upper_limit - p.mean) - (p.mean - p.lower_limit)).abs() < tolerance);
                prop_assert!(((p.near_upper_limit - p.mean) - (p.mean - p.near_lower_limit)).abs() < tolerance);
                prop_assert!(p.lower_limit <= p.near_lower_limit && p.near_upper_limit <= p.upper_limit);
            }
        }
    }

    #[test]
    fn adding_a_constant_changes_no_classification(values in series(), shift in -5000i32..5000) {
        let options = Options::default();
        let before = chart(&values, Direction::Decrease, None, &options).expect("chart");
        let moved: Vec<f64> = values.iter().map(|v| v + f64::from(shift)).collect();
        let after = chart(&moved, Direction::Decrease, None, &options).expect("chart");
        prop_assume!(!on_a_knife_edge(&before) && !on_a_knife_edge(&after));
        for (b, a) in before.points.iter().zip(&after.points) {
            prop_assert_eq!(b.special_cause, a.special_cause);
            prop_assert_eq!(b.point_type, a.point_type);
        }
    }

    #[test]
    fn directions_mirror_each_other(values in series()) {
        let options = Options::default();
        let up = chart(&values, Direction::Increase, None, &options).expect("chart");
        let down = chart(&values, Direction::Decrease, None, &options).expect("chart");
        for (u, d) in up.points.iter().zip(&down.points) {
            prop_assert_eq!(u.special_cause, d.special_cause);
            let mirrored = match u.point_type {
                PointType::SpecialCauseImprovement => PointType::SpecialCauseConcern,
                PointType::SpecialCauseConcern => PointType::SpecialCauseImprovement,
                other => other,
            };
            prop_assert_eq!(d.point_type, mirrored);
            prop_assert_eq!(point_type(u.special_cause, Direction::Increase), u.point_type);
        }
    }

    #[test]
    fn a_trend_is_seven_points_each_strictly_beyond_the_last(steps in prop::collection::vec(-2i32..3, 0..40)) {
        // From steps, so that runs of rises and falls are common.
        let y: Vec<f64> = steps
            .iter()
            .scan(0i32, |at, step| {
                *at += step;
                Some(f64::from(*at))
            })
            .collect();
        let flags = seven_point_trend(&y);
        prop_assert_eq!(flags.len(), y.len());
        for (i, flag) in flags.iter().enumerate() {
            let window = if i >= 6 { &y[i - 6..=i] } else { &[][..] };
            let rising = !window.is_empty() && window.windows(2).all(|w| w[1] > w[0]);
            let falling = !window.is_empty() && window.windows(2).all(|w| w[1] < w[0]);
            prop_assert_eq!(*flag, i8::from(rising) - i8::from(falling), "at {} of {:?}", i, y);
        }
    }

    #[test]
    fn a_shift_is_seven_points_on_one_side_of_the_mean(sides in prop::collection::vec(-1i8..2, 0..40)) {
        let flags = seven_point_one_side_of_mean(&sides);
        prop_assert_eq!(flags.len(), sides.len());
        for (i, flag) in flags.iter().enumerate() {
            let shifted = i >= 6 && sides[i] != 0 && sides[i - 6..=i].iter().all(|&s| s == sides[i]);
            prop_assert_eq!(*flag, i8::from(shifted), "at {} of {:?}", i, sides);
        }
    }

    #[test]
    fn a_point_is_part_of_a_run_flagged_within_the_six_after_it(flags in prop::collection::vec(-1i8..2, 0..40)) {
        let covered = part_of_seven(&flags);
        prop_assert_eq!(covered.len(), flags.len());
        for (i, point) in covered.iter().enumerate() {
            let flagged = flags.iter().skip(i).take(7).any(|&f| f != 0);
            prop_assert_eq!(*point, flagged, "at {} of {:?}", i, flags);
        }
    }

    #[test]
    fn two_in_three_covers_each_window_of_three_on_one_side_with_two_close(
        points in prop::collection::vec((any::<bool>(), -1i8..2), 0..40),
    ) {
        let (close, relative): (Vec<bool>, Vec<i8>) = points.into_iter().unzip();
        let covered = two_in_three(&close, &relative);
        prop_assert_eq!(covered.len(), close.len());
        for (i, point) in covered.iter().enumerate() {
            // The windows of three consecutive points that hold point i.
            let flagged = (i.saturating_sub(2)..=i)
                .filter(|start| start + 3 <= close.len())
                .any(|start| {
                    let window = start..start + 3;
                    let side = relative[start];
                    side != 0
                        && relative[window.clone()].iter().all(|r| *r == side)
                        && close[window].iter().filter(|c| **c).count() >= 2
                });
            prop_assert_eq!(*point, flagged, "at {} of {:?} {:?}", i, close, relative);
        }
    }

    /// The outline a view shows is the chart's, for any series, direction and standard.
    #[test]
    fn an_outline_is_its_charts_last_limits_and_point_types(
        values in prop_oneof![series(), walk()],
        direction in prop_oneof![Just(Direction::Increase), Just(Direction::Decrease), Just(Direction::Neutral)],
        target in prop::option::of(0.0..1000.0f64),
    ) {
        let full = chart(&values, direction, target, &Options::default()).expect("chart");
        let outline = outline(&values, direction, target).expect("an outline");
        let last = full.points.last().expect("points");
        prop_assert_eq!(outline.mean.to_bits(), last.mean.to_bits());
        prop_assert_eq!(outline.lower_limit.to_bits(), last.lower_limit.to_bits());
        prop_assert_eq!(outline.upper_limit.to_bits(), last.upper_limit.to_bits());
        prop_assert_eq!(outline.assurance, full.assurance);
        let types: Vec<PointType> = full.points.iter().map(|p| p.point_type).collect();
        prop_assert_eq!(outline.point_types, types);
    }
}

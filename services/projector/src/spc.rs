//! Statistical process control by the NHS "Making Data Count" method, computed as the NHS-R
//! community's NHSRplotthedots computes it (version 0.2.2 and its rules of precedence), so that a
//! regional team sees here what it sees in its own charts.
//!
//! One series is one scope's metric by month, oldest first. Per rebase group (the points from one
//! rebase to the next):
//! - the mean of the points (of the first `fix_after_n_points` only, when the limits are fixed);
//! - the moving ranges between consecutive points of those, screened once: ranges at or above
//!   3.267 × their mean are dropped before the mean moving range is taken again;
//! - process limits at mean ± 2.66 × mean moving range, near limits at two thirds of that.
//!
//! Each point then gets the first special cause that applies, in this order: outside the process
//! limits; part of a trend of seven (six strict rises or falls in a row; an equal value breaks it);
//! part of two-of-three beyond a near limit (all three on one side of the mean; only the points
//! beyond the near limit, and within the process limits, are flagged); part of a shift of seven
//! on one side of the mean (a point on the mean breaks it). The rules look only within a rebase
//! group.
//!
//! Missing months are not invented: the points given are taken as consecutive, as the reference
//! takes the rows it is given, so a gap joins the months either side of it. A series of one
//! point has no moving range and so no limits: its point is common cause.

use serde::{Deserialize, Serialize};

/// Which way is better for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher is better (`ae_4hr`).
    Increase,
    /// Lower is better (`ae_12hr_dta`).
    Decrease,
    /// Neither (`ae_emergency_admissions`): special causes are only high or low.
    Neutral,
}

impl Direction {
    fn sign(self) -> i8 {
        match self {
            Direction::Increase => 1,
            Direction::Decrease => -1,
            Direction::Neutral => 0,
        }
    }
}

/// How one series is computed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// Take the mean and limits from the first N points of each rebase group only (N ≥ 12).
    pub fix_after_n_points: Option<usize>,
    /// Indexes of the points where a recalculation starts (a rebase at that month).
    pub rebase_at: Vec<usize>,
    /// Leave large moving ranges out of the mean moving range (the reference's default: true).
    pub keep_outlying_ranges: bool,
}

/// The least number of points the limits may be fixed after.
pub const MIN_FIX_AFTER: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    #[error("limits fixed after {0} points; at least {MIN_FIX_AFTER} are needed")]
    FixTooEarly(usize),
}

/// The rule that flagged a point, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecialCause {
    AboveUpperLimit,
    BelowLowerLimit,
    TrendIncreasing,
    TrendDecreasing,
    TwoInThreeAbove,
    TwoInThreeBelow,
    ShiftAbove,
    ShiftBelow,
    CommonCause,
}

impl SpecialCause {
    /// +1 for a high or rising cause, -1 for a low or falling one, 0 for none.
    fn side(self) -> i8 {
        match self {
            SpecialCause::AboveUpperLimit
            | SpecialCause::TrendIncreasing
            | SpecialCause::TwoInThreeAbove
            | SpecialCause::ShiftAbove => 1,
            SpecialCause::BelowLowerLimit
            | SpecialCause::TrendDecreasing
            | SpecialCause::TwoInThreeBelow
            | SpecialCause::ShiftBelow => -1,
            SpecialCause::CommonCause => 0,
        }
    }
}

pub use proto_schema::{Assurance, PointType};

/// One month of a series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub value: f64,
    pub rebase_group: usize,
    pub mean: f64,
    pub lower_limit: f64,
    pub upper_limit: f64,
    pub near_lower_limit: f64,
    pub near_upper_limit: f64,
    /// -1, 0 or 1: below, on or above the mean.
    pub relative_to_mean: i8,
    pub outside_limits: bool,
    /// Beyond a near limit but within the process limits.
    pub close_to_limits: bool,
    pub special_cause: SpecialCause,
    pub point_type: PointType,
}

/// A series, computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    pub points: Vec<Point>,
    /// The variation icon: the last point's type; `None` for an empty series.
    pub variation: Option<PointType>,
    /// `None` without a standard, or for a metric with no better direction.
    pub assurance: Option<Assurance>,
}

const LIMIT: f64 = 2.66;
/// Near limits at two thirds of the distance to the process limits, computed as the reference
/// does so that the same bits come out.
const LIMIT_CLOSE: f64 = 2.0 * (LIMIT / 3.0);
/// Moving ranges at or above this many times their mean are screened out.
const SCREEN: f64 = 3.267;

/// The chart of `values` (oldest first).
pub fn chart(
    values: &[f64],
    direction: Direction,
    target: Option<f64>,
    options: &Options,
) -> Result<Chart, OptionsError> {
    if let Some(n) = options.fix_after_n_points {
        if n < MIN_FIX_AFTER {
            return Err(OptionsError::FixTooEarly(n));
        }
    }
    let mut points = Vec::with_capacity(values.len());
    for (group, range) in rebase_groups(values.len(), &options.rebase_at)
        .into_iter()
        .enumerate()
    {
        points.extend(group_points(&values[range], group, options, direction));
    }
    let variation = points.last().map(|p| p.point_type);
    let last_limits = points.last().map(|p| (p.lower_limit, p.upper_limit));
    Ok(Chart {
        points,
        variation,
        assurance: assurance(target, last_limits, direction),
    })
}

/// What a view shows of a chart drawn with the default options (no rebase, limits from every
/// point): [`chart`]'s figures without the detail of each point, which a view does not carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Outline {
    pub mean: f64,
    pub lower_limit: f64,
    pub upper_limit: f64,
    /// Each point's type, oldest first.
    pub point_types: Vec<PointType>,
    pub assurance: Option<Assurance>,
}

/// The outline of the chart of `values` (oldest first); `None` for no values.
pub fn outline(values: &[f64], direction: Direction, target: Option<f64>) -> Option<Outline> {
    if values.is_empty() {
        return None;
    }
    let limits = group_limits(values, &Options::default());
    let point_types = point_types(values, &limits, direction);
    Some(Outline {
        mean: limits.mean,
        lower_limit: limits.lower_limit,
        upper_limit: limits.upper_limit,
        point_types,
        assurance: assurance(
            target,
            Some((limits.lower_limit, limits.upper_limit)),
            direction,
        ),
    })
}

/// Whether the standard `target` lies beyond the last point's limits (`lower`, `upper`).
fn assurance(
    target: Option<f64>,
    last_limits: Option<(f64, f64)>,
    direction: Direction,
) -> Option<Assurance> {
    // A single point has no moving range and so no limits: nothing can be said of assurance.
    let last_limits = last_limits.filter(|(lower, upper)| lower.is_finite() && upper.is_finite());
    match (target, last_limits, direction) {
        (None, _, _) | (_, None, _) | (_, _, Direction::Neutral) => None,
        (Some(target), Some((lower, upper)), direction) => {
            let increasing = direction == Direction::Increase;
            Some(if target > upper {
                if increasing {
                    Assurance::ConsistentFail
                } else {
                    Assurance::ConsistentPass
                }
            } else if target < lower {
                if increasing {
                    Assurance::ConsistentPass
                } else {
                    Assurance::ConsistentFail
                }
            } else {
                Assurance::Inconsistent
            })
        }
    }
}

/// The centre line and limits of one rebase group.
struct Limits {
    mean: f64,
    lower_limit: f64,
    upper_limit: f64,
    near_lower_limit: f64,
    near_upper_limit: f64,
}

/// Each point of a rebase group against its limits, and the special cause that applies.
struct Flags {
    relative: Vec<i8>,
    outside: Vec<bool>,
    close: Vec<bool>,
    causes: Vec<SpecialCause>,
}

fn rebase_groups(len: usize, rebase_at: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut starts: Vec<usize> = rebase_at
        .iter()
        .copied()
        .filter(|&i| i > 0 && i < len)
        .collect();
    starts.sort_unstable();
    starts.dedup();
    let mut groups = Vec::with_capacity(starts.len() + 1);
    let mut from = 0;
    for start in starts {
        groups.push(from..start);
        from = start;
    }
    if from < len || len == 0 {
        groups.push(from..len);
    }
    groups
}

/// The arithmetic mean the way R's `mean()` takes it: the sum over n, then corrected by the
/// mean of the residuals. `None` for no values.
fn r_mean(values: impl Iterator<Item = f64> + Clone) -> Option<f64> {
    let n = values.clone().count();
    if n == 0 {
        return None;
    }
    let first = values.clone().sum::<f64>() / n as f64;
    if !first.is_finite() {
        return Some(first);
    }
    let residual: f64 = values.map(|v| v - first).sum();
    Some(first + residual / n as f64)
}

/// [`r_mean`] of two series at once. Each sum is a chain of additions that must be taken in
/// order to give the same bits; two independent chains side by side run in about the time of
/// one.
fn r_mean_pair(a: &[f64], b: &[f64]) -> (Option<f64>, Option<f64>) {
    let (sum_a, sum_b) = sum_pair(a, b, (0.0, 0.0));
    let (first_a, first_b) = (sum_a / a.len() as f64, sum_b / b.len() as f64);
    let (residual_a, residual_b) = sum_pair(a, b, (first_a, first_b));
    let mean = |n: usize, first: f64, residual: f64| match n {
        0 => None,
        _ if !first.is_finite() => Some(first),
        _ => Some(first + residual / n as f64),
    };
    (
        mean(a.len(), first_a, residual_a),
        mean(b.len(), first_b, residual_b),
    )
}

/// (Σ (x - less.0) over `a`, Σ (x - less.1) over `b`), each summed in order from -0.0 as `sum`
/// does. Subtracting 0.0 changes no value, -0.0 included.
fn sum_pair(a: &[f64], b: &[f64], less: (f64, f64)) -> (f64, f64) {
    let common = a.len().min(b.len());
    let (mut sum_a, mut sum_b) = (-0.0, -0.0);
    for (x, y) in a[..common].iter().zip(&b[..common]) {
        sum_a += x - less.0;
        sum_b += y - less.1;
    }
    for x in &a[common..] {
        sum_a += x - less.0;
    }
    for y in &b[common..] {
        sum_b += y - less.1;
    }
    (sum_a, sum_b)
}

/// -1, 0 or 1 by the sign of `x` (0 for NaN). Without branches: series are noisy, and a
/// branch on each point's sign is mispredicted as often as not.
fn sign(x: f64) -> i8 {
    i8::from(x > 0.0) - i8::from(x < 0.0)
}

fn group_limits(values: &[f64], options: &Options) -> Limits {
    let fixed = options
        .fix_after_n_points
        .map_or(values.len(), |n| n.min(values.len()));
    let basis = &values[..fixed];
    let ranges: Vec<f64> = basis.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let (mean, amr) = r_mean_pair(basis, &ranges);
    let (mean, mut amr) = (mean.unwrap_or(f64::NAN), amr.unwrap_or(f64::NAN));
    if !options.keep_outlying_ranges {
        let cut = SCREEN * amr;
        // With no range screened out, the mean moving range is the one just taken, bit for bit.
        if !ranges.iter().all(|&r| r < cut) {
            amr = r_mean(ranges.iter().copied().filter(|&r| r < cut)).unwrap_or(f64::NAN);
        }
    }
    Limits {
        mean,
        lower_limit: mean - LIMIT * amr,
        upper_limit: mean + LIMIT * amr,
        near_lower_limit: mean - LIMIT_CLOSE * amr,
        near_upper_limit: mean + LIMIT_CLOSE * amr,
    }
}

fn group_flags(values: &[f64], limits: &Limits) -> Flags {
    let relative: Vec<i8> = values.iter().map(|&y| sign(y - limits.mean)).collect();
    // Comparisons with NaN limits are false: no limits, no point outside or close to them.
    let outside: Vec<bool> = values
        .iter()
        .map(|&y| y > limits.upper_limit || y < limits.lower_limit)
        .collect();
    let close: Vec<bool> = values
        .iter()
        .zip(&outside)
        .map(|(&y, &out)| !out && (y < limits.near_lower_limit || y > limits.near_upper_limit))
        .collect();
    let causes = special_causes(values, &relative, &close, &outside);
    Flags {
        relative,
        outside,
        close,
        causes,
    }
}

fn group_points(
    values: &[f64],
    group: usize,
    options: &Options,
    direction: Direction,
) -> Vec<Point> {
    let limits = group_limits(values, options);
    let flags = group_flags(values, &limits);
    values
        .iter()
        .enumerate()
        .map(|(i, &value)| Point {
            value,
            rebase_group: group,
            mean: limits.mean,
            lower_limit: limits.lower_limit,
            upper_limit: limits.upper_limit,
            near_lower_limit: limits.near_lower_limit,
            near_upper_limit: limits.near_upper_limit,
            relative_to_mean: flags.relative[i],
            outside_limits: flags.outside[i],
            close_to_limits: flags.close[i],
            special_cause: flags.causes[i],
            point_type: point_type(flags.causes[i], direction),
        })
        .collect()
}

/// What one point shows of the rules, found in a pass forwards; [`point_types`] reads them back.
#[derive(Debug, Clone, Copy, Default)]
struct Marks {
    /// -1, 0 or 1: below, on or above the mean.
    side: i8,
    /// -1, 0 or 1: the step from the point before.
    step: i8,
    outside: bool,
    close: bool,
    /// The seventh point (or later) of a trend ends here.
    trend_ends: bool,
    /// The seventh point (or later) of a shift ends here.
    shift_ends: bool,
    /// In a window of two-in-three.
    in_window: bool,
}

/// Each point's type under `limits`: what [`special_causes`] and [`point_type`] give, in one
/// pass forwards and one back instead of a list per rule. Drawing a view's charts is mostly this,
/// for every series a batch of returns touches.
fn point_types(values: &[f64], limits: &Limits, direction: Direction) -> Vec<PointType> {
    let n = values.len();
    let mut marks = vec![Marks::default(); n];
    // The runs of equal steps and of points on one side ending at each point, carried along.
    let (mut trend_direction, mut trend_steps) = (0i8, 0u32);
    let (mut side_before, mut shift_run) = (0i8, 0u32);
    for i in 0..n {
        let y = values[i];
        let side = sign(y - limits.mean);
        // Comparisons with NaN limits are false: no limits, no point outside or close to them.
        let outside = y > limits.upper_limit || y < limits.lower_limit;
        let close = !outside & (y < limits.near_lower_limit || y > limits.near_upper_limit);
        let step = if i == 0 { 0 } else { sign(y - values[i - 1]) };
        let moving = step != 0;
        trend_steps =
            u32::from(moving & (step == trend_direction)) * trend_steps + u32::from(moving);
        trend_direction = step;
        shift_run = u32::from(side != 0) * (u32::from(side == side_before) * shift_run + 1);
        side_before = side;
        marks[i] = Marks {
            side,
            step,
            outside,
            close,
            trend_ends: trend_steps >= 6,
            shift_ends: shift_run >= 7,
            in_window: false,
        };
        // The window of the point and the two before it covers all three.
        if let [first, second, third] = &mut marks[i.saturating_sub(2)..=i] {
            let one_side =
                (first.side != 0) & (second.side == first.side) & (third.side == first.side);
            let close_ones = u8::from(first.close) + u8::from(second.close) + u8::from(third.close);
            let window = one_side & (close_ones >= 2);
            first.in_window |= window;
            second.in_window |= window;
            third.in_window |= window;
        }
    }
    // Backwards: a run flagged at a point covers it and the six before.
    let mut types = vec![PointType::CommonCause; n];
    let (mut next_trend_end, mut next_shift_end) = (usize::MAX, usize::MAX);
    let mut next_in_trend = false;
    for i in (0..n).rev() {
        let here = marks[i];
        if here.trend_ends {
            next_trend_end = i;
        }
        if here.shift_ends {
            next_shift_end = i;
        }
        let in_trend = next_trend_end - i < 7;
        let in_shift = next_shift_end - i < 7;
        let high = here.side > 0;
        let cause = if here.outside {
            if here.side == 1 {
                SpecialCause::AboveUpperLimit
            } else {
                SpecialCause::BelowLowerLimit
            }
        } else if in_trend {
            // The step after the point when the next point is in the trend too, otherwise the
            // step before it.
            let rising = if next_in_trend {
                marks[i + 1].step == 1
            } else {
                here.step == 1
            };
            if rising {
                SpecialCause::TrendIncreasing
            } else {
                SpecialCause::TrendDecreasing
            }
        } else if here.in_window & here.close {
            if high {
                SpecialCause::TwoInThreeAbove
            } else {
                SpecialCause::TwoInThreeBelow
            }
        } else if in_shift {
            if high {
                SpecialCause::ShiftAbove
            } else {
                SpecialCause::ShiftBelow
            }
        } else {
            SpecialCause::CommonCause
        };
        types[i] = point_type(cause, direction);
        next_in_trend = in_trend;
    }
    types
}

/// For each point, whether seven points ending there are strictly rising (1), falling (-1), or
/// neither (0).
pub fn seven_point_trend(y: &[f64]) -> Vec<i8> {
    // The length of the run of equal-signed steps ending at each point: six rising or six
    // falling steps make seven points. Arithmetic rather than branches, as in `sign`.
    let mut flags = Vec::with_capacity(y.len());
    let (mut direction, mut steps) = (0i8, 0u32);
    for i in 0..y.len() {
        let step = if i == 0 { 0 } else { sign(y[i] - y[i - 1]) };
        let moving = step != 0;
        let continues = moving & (step == direction);
        steps = u32::from(continues) * steps + u32::from(moving);
        direction = step;
        flags.push(direction * i8::from(steps >= 6));
    }
    flags
}

/// For each point, whether it and the six before it are on the same side of the mean.
pub fn seven_point_one_side_of_mean(relative_to_mean: &[i8]) -> Vec<i8> {
    // The length of the run on one side ending at each point, carried along.
    let mut run = 0usize;
    let mut previous = 0i8;
    relative_to_mean
        .iter()
        .map(|&here| {
            run = if here == 0 {
                0
            } else if here == previous {
                run + 1
            } else {
                1
            };
            previous = here;
            i8::from(run >= 7)
        })
        .collect()
}

/// For each point, whether a run of seven flagged at it or at one of the six points after it
/// covers it.
pub fn part_of_seven(flags: &[i8]) -> Vec<bool> {
    // The nearest flag at or after each point, carried back from the end.
    let mut covered = vec![false; flags.len()];
    let mut next_flag: Option<usize> = None;
    for (i, flag) in flags.iter().enumerate().rev() {
        if flag.abs() == 1 {
            next_flag = Some(i);
        }
        covered[i] = next_flag.is_some_and(|at| at - i < 7);
    }
    covered
}

/// For each point, whether it lies in a window of three consecutive points, all on one side of
/// the mean, at least two of which are close to the limits.
pub fn two_in_three(close: &[bool], relative_to_mean: &[i8]) -> Vec<bool> {
    let n = close.len();
    if n < 3 {
        return vec![false; n];
    }
    // `&` rather than `&&`: every condition is cheap, and branching on each is not.
    let windows: Vec<bool> = (relative_to_mean.windows(3).zip(close.windows(3)))
        .map(|(side, near)| {
            let one_side = (side[0] != 0) & (side[1] == side[0]) & (side[2] == side[0]);
            let close_ones = u8::from(near[0]) + u8::from(near[1]) + u8::from(near[2]);
            one_side & (close_ones >= 2)
        })
        .collect();
    // Point i lies in the windows starting at i - 2, i - 1 and i.
    (0..n)
        .map(|i| {
            let starting = |start: Option<usize>| start.and_then(|s| windows.get(s)) == Some(&true);
            starting(i.checked_sub(2)) | starting(i.checked_sub(1)) | starting(Some(i))
        })
        .collect()
}

/// The first special cause that applies to each point (outside the limits, then a trend, then
/// two-in-three, then a shift).
pub fn special_causes(
    y: &[f64],
    relative_to_mean: &[i8],
    close: &[bool],
    outside: &[bool],
) -> Vec<SpecialCause> {
    let n = y.len();
    let trend = part_of_seven(&seven_point_trend(y));
    // Only the points beyond a near limit in such a window count.
    let in_two_of_three = two_in_three(close, relative_to_mean);
    let shift = part_of_seven(&seven_point_one_side_of_mean(relative_to_mean));
    // A trend point's direction: the step after it when the next point is in a trend too,
    // otherwise the step before it.
    let step = |from: usize| sign(y[from + 1] - y[from]);
    (0..n)
        .map(|i| {
            let above = relative_to_mean[i] > 0;
            if outside[i] {
                if relative_to_mean[i] == 1 {
                    SpecialCause::AboveUpperLimit
                } else {
                    SpecialCause::BelowLowerLimit
                }
            } else if trend[i] {
                let direction = if i + 1 < n && trend[i + 1] {
                    step(i)
                } else if i > 0 {
                    step(i - 1)
                } else {
                    0
                };
                if direction == 1 {
                    SpecialCause::TrendIncreasing
                } else {
                    SpecialCause::TrendDecreasing
                }
            } else if in_two_of_three[i] && close[i] {
                if above {
                    SpecialCause::TwoInThreeAbove
                } else {
                    SpecialCause::TwoInThreeBelow
                }
            } else if shift[i] {
                if above {
                    SpecialCause::ShiftAbove
                } else {
                    SpecialCause::ShiftBelow
                }
            } else {
                SpecialCause::CommonCause
            }
        })
        .collect()
}

/// What a special cause means for a metric whose better direction is `direction`.
pub fn point_type(cause: SpecialCause, direction: Direction) -> PointType {
    let side = cause.side();
    match direction {
        Direction::Neutral => match side {
            1 => PointType::SpecialCauseNeutralHigh,
            -1 => PointType::SpecialCauseNeutralLow,
            _ => PointType::CommonCause,
        },
        direction => match side * direction.sign() {
            1 => PointType::SpecialCauseImprovement,
            -1 => PointType::SpecialCauseConcern,
            _ => PointType::CommonCause,
        },
    }
}

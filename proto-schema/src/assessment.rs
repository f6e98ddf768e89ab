//! A scope's organisations assessed under an oversight methodology for one quarter, as a
//! snapshot carries it when asked (`"methodology": "nof-2025-26"`): each organisation's metric
//! scores with the figure and rank behind each, its average score, its segment before and after
//! the finance adjustment and any decision, and its place in its trust type's league table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::methodology::{Quarter, TrustType};
use crate::view::SegmentDecision;

/// The assessment of a scope's organisations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Oversight {
    pub methodology: String,
    pub name: String,
    pub version: u32,
    pub quarter: Quarter,
    /// The methodology's quarters that have figures, oldest first: what a page offers.
    pub quarters: Vec<Quarter>,
    /// Organisation code -> its assessment: every organisation in the scope.
    pub organisations: BTreeMap<String, Assessed>,
}

/// One organisation's assessment. Ranks and league positions are among every organisation of
/// its trust type in England, whichever scope is asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessed {
    /// `None`: no trust type set, so it is ranked in no peer group.
    pub trust_type: Option<TrustType>,
    /// Each metric it was scored on; a metric not reported is not scored.
    pub scores: Vec<MetricScored>,
    /// The mean of `scores`; `None` when nothing was scored.
    pub average: Option<f64>,
    /// From the average score (or, under `triggers-2019`, the trigger points).
    pub segment: Option<u8>,
    /// The finance adjustment, when it changed the segment.
    pub finance: Option<FinanceApplied>,
    /// The segment after the finance adjustment.
    pub adjusted: Option<u8>,
    /// A decision that overrides it (segment 5 is only ever decided).
    pub decided: Option<SegmentDecision>,
    /// Where it is placed: the decision if any, else the adjusted segment.
    pub placed: Option<u8>,
    /// Its place in its trust type's league table (by placed segment, then average score), and
    /// how many are in that table.
    pub position: Option<u32>,
    pub of: u32,
}

/// A score on one metric and what it was scored on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricScored {
    /// The framework's id for it (`OF0023`), where the methodology gives one.
    pub framework_id: Option<String>,
    pub metric: String,
    /// The figure scored, in the headline unit (a percentage for ratios); for ranked
    /// improvement, the change since the basis quarter.
    pub figure: f64,
    /// 1 for the best; tied figures share the best rank among them.
    pub rank: u32,
    pub of: u32,
    /// 1.00 (best) to 4.00.
    pub score: f64,
}

/// Why the finance adjustment moved a segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinanceApplied {
    pub metric: String,
    /// The figure over the quarter, in the headline unit (pence for money).
    pub figure: f64,
    pub no_better_than: u8,
}

impl Assessed {
    /// A sentence for the finance adjustment, as a page shows it.
    pub fn finance_reason(&self) -> Option<String> {
        let applied = self.finance.as_ref()?;
        Some(format!(
            "In deficit ({} of {}), so placed no higher than segment {}",
            crate::words::show_pence(applied.figure.round() as i64),
            applied.metric,
            applied.no_better_than
        ))
    }
}

/// One metric score that moved between two quarters: what moved an organisation's segment or
/// league position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreMoved {
    pub metric: String,
    pub before: Option<f64>,
    pub after: Option<f64>,
}

/// The metric scores that differ between two assessments of one organisation, the largest
/// change first; a metric scored in only one of them is listed with the other side `None`.
pub fn scores_moved(before: &Assessed, after: &Assessed) -> Vec<ScoreMoved> {
    let scores = |a: &Assessed| -> BTreeMap<String, f64> {
        a.scores
            .iter()
            .map(|s| (s.metric.clone(), s.score))
            .collect()
    };
    let (was, now) = (scores(before), scores(after));
    let mut moved: Vec<ScoreMoved> = was
        .keys()
        .chain(now.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter_map(|metric| {
            let (b, a) = (was.get(metric).copied(), now.get(metric).copied());
            (b != a).then(|| ScoreMoved {
                metric: metric.clone(),
                before: b,
                after: a,
            })
        })
        .collect();
    let size = |m: &ScoreMoved| match (m.before, m.after) {
        (Some(b), Some(a)) => (a - b).abs(),
        _ => f64::INFINITY,
    };
    moved.sort_by(|x, y| size(y).total_cmp(&size(x)));
    moved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(metric: &str, score: f64) -> MetricScored {
        MetricScored {
            framework_id: None,
            metric: metric.into(),
            figure: 0.0,
            rank: 1,
            of: 1,
            score,
        }
    }

    fn assessed(scores: Vec<MetricScored>) -> Assessed {
        Assessed {
            trust_type: Some(TrustType::Acute),
            scores,
            average: None,
            segment: None,
            finance: None,
            adjusted: None,
            decided: None,
            placed: None,
            position: None,
            of: 0,
        }
    }

    #[test]
    fn the_scores_that_moved_come_largest_first_and_unchanged_ones_are_left_out() {
        let before = assessed(vec![
            scored("ae_4hr", 1.5),
            scored("rtt_18wk", 2.0),
            scored("cancer_62d", 3.0),
        ]);
        let after = assessed(vec![
            scored("ae_4hr", 2.0),
            scored("rtt_18wk", 3.5),
            scored("dementia_dx", 1.0),
        ]);
        let moved = scores_moved(&before, &after);
        let listed: Vec<(&str, Option<f64>, Option<f64>)> = moved
            .iter()
            .map(|m| (m.metric.as_str(), m.before, m.after))
            .collect();
        // Scored in one quarter only comes first (it moved the average most surely), then by size.
        assert_eq!(
            listed,
            [
                ("cancer_62d", Some(3.0), None),
                ("dementia_dx", None, Some(1.0)),
                ("rtt_18wk", Some(2.0), Some(3.5)),
                ("ae_4hr", Some(1.5), Some(2.0)),
            ]
        );
        assert!(scores_moved(&after, &after).is_empty());
    }
}

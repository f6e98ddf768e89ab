//! Scoring under an oversight methodology ([`proto_schema::Methodology`]): each organisation's
//! metric scores within its trust type, its average score, its segment before and after the
//! finance adjustment and after any segment 5 decision, and the league tables. Pure functions of
//! the figures they are given, so the views can call them for any quarter, point in the log or
//! geography.

use std::collections::BTreeMap;

use proto_schema::{Comparison, Methodology, Polarity, ScoringMethod, Segmentation, TrustType};

/// The best and worst scores.
pub const BEST: f64 = 1.0;
pub const WORST: f64 = 4.0;

/// One organisation's figure for a metric in the period scored, and in the basis period (for
/// ranked improvement).
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub org: String,
    pub value: Option<f64>,
    pub basis: Option<f64>,
}

/// An organisation's score on one metric, with what it was scored on: the figure (or change),
/// its rank among those scored (1 best; tied figures share the best rank) and how many were.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricScore {
    pub org: String,
    pub figure: f64,
    pub rank: usize,
    pub of: usize,
    pub score: f64,
}

/// Scores one metric among one peer group. An organisation with no figure (or, for ranked
/// improvement, no basis) is not scored; nor is anyone on a metric whose polarity says neither
/// direction is better.
pub fn score_metric(
    method: &ScoringMethod,
    polarity: Polarity,
    figures: &[Figure],
) -> Vec<MetricScore> {
    let scored: Vec<(&str, f64)> = figures
        .iter()
        .filter_map(|f| {
            let value = f.value.filter(|v| v.is_finite())?;
            let figure = match method {
                ScoringMethod::RankedImprovement { .. } => {
                    value - f.basis.filter(|b| b.is_finite())?
                }
                _ => value,
            };
            Some((f.org.as_str(), figure))
        })
        .collect();
    match method {
        ScoringMethod::RankedValue | ScoringMethod::RankedImprovement { .. } => {
            let better = match polarity {
                Polarity::HigherIsBetter => |a: f64, b: f64| a > b,
                Polarity::LowerIsBetter => |a: f64, b: f64| a < b,
                Polarity::Neutral => return Vec::new(),
            };
            let of = scored.len();
            scored
                .iter()
                .map(|&(org, figure)| {
                    let rank = 1 + scored
                        .iter()
                        .filter(|(_, other)| better(*other, figure))
                        .count();
                    MetricScore {
                        org: org.to_owned(),
                        figure,
                        rank,
                        of,
                        score: spread_score(rank, of),
                    }
                })
                .collect()
        }
        ScoringMethod::Bands { bands, otherwise } => {
            let of = scored.len();
            let mut out: Vec<MetricScore> = scored
                .iter()
                .map(|&(org, figure)| {
                    let score = bands
                        .iter()
                        .find(|band| match band.comparison {
                            Comparison::AtLeast => figure >= band.bound,
                            Comparison::AtMost => figure <= band.bound,
                        })
                        .map_or(*otherwise, |band| band.score);
                    MetricScore {
                        org: org.to_owned(),
                        figure,
                        rank: 0,
                        of,
                        score,
                    }
                })
                .collect();
            // Ranked by score, best first, so the league table per metric reads the same way.
            let ranks: Vec<usize> = out
                .iter()
                .map(|s| 1 + out.iter().filter(|o| o.score < s.score).count())
                .collect();
            for (score, rank) in out.iter_mut().zip(ranks) {
                score.rank = rank;
            }
            out
        }
    }
}

/// The score of rank `rank` of `of`: 1.00 for the best, 4.00 for the worst, evenly between.
pub fn spread_score(rank: usize, of: usize) -> f64 {
    if of <= 1 {
        return BEST;
    }
    BEST + (WORST - BEST) * (rank - 1) as f64 / (of - 1) as f64
}

/// The mean of the scores an organisation has; `None` when it was scored on nothing.
pub fn average_score(scores: &[f64]) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    Some(scores.iter().sum::<f64>() / scores.len() as f64)
}

/// Each organisation's segment, 1 to 4, from its average score, among one trust type (none under
/// trigger points, which segment from the triggers instead).
pub fn segments(segmentation: &Segmentation, averages: &[(String, f64)]) -> BTreeMap<String, u8> {
    match segmentation {
        Segmentation::Quartiles => {
            let n = averages.len();
            averages
                .iter()
                .map(|(org, average)| {
                    // Tied averages share the best rank among them, and so one segment.
                    let rank = 1 + averages.iter().filter(|(_, other)| other < average).count();
                    (org.clone(), 1 + (4 * (rank - 1) / n) as u8)
                })
                .collect()
        }
        Segmentation::Thresholds { upper } => averages
            .iter()
            .map(|(org, average)| {
                let segment = 1 + upper.iter().filter(|bound| average > *bound).count() as u8;
                (org.clone(), segment)
            })
            .collect(),
        Segmentation::Triggers => BTreeMap::new(),
    }
}

/// A provider in deficit is placed no higher than `no_better_than`.
pub fn adjust_for_finance(segment: u8, in_deficit: bool, no_better_than: u8) -> u8 {
    if in_deficit {
        segment.max(no_better_than)
    } else {
        segment
    }
}

/// One organisation's place in an aggregated league table.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub org: String,
    pub trust_type: TrustType,
    /// Its segment after the finance adjustment and any decision.
    pub segment: u8,
    pub average: f64,
}

/// The aggregated metric ranking of one trust type: by segment, then by average score (lower
/// is better), then by code so the order is total; positions from 1, tied (segment, average)
/// sharing one.
pub fn league_table(standings: &[Standing], trust_type: TrustType) -> Vec<(usize, Standing)> {
    let mut of_type: Vec<&Standing> = standings
        .iter()
        .filter(|s| s.trust_type == trust_type)
        .collect();
    of_type.sort_by(|a, b| {
        a.segment
            .cmp(&b.segment)
            .then(a.average.total_cmp(&b.average))
            .then(a.org.cmp(&b.org))
    });
    let mut out: Vec<(usize, Standing)> = Vec::with_capacity(of_type.len());
    for (i, standing) in of_type.into_iter().enumerate() {
        let position = match out.last() {
            Some((at, before))
                if before.segment == standing.segment && before.average == standing.average =>
            {
                *at
            }
            _ => i + 1,
        };
        out.push((position, standing.clone()));
    }
    out
}

/// One organisation assessed under a methodology: its score on each metric it was scored on (by
/// metric id), its average, and its segment before and after the finance adjustment.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub org: String,
    pub trust_type: TrustType,
    pub scores: Vec<(String, MetricScore)>,
    pub average: Option<f64>,
    pub segment: Option<u8>,
    pub adjusted: Option<u8>,
}

/// Assesses every organisation in `trust_types` under `methodology`: each scored metric ranked
/// within each of its peer groups, from `figures` (metric id -> each organisation's figure);
/// `finance` holds each provider's figure for the finance adjustment's metric.
pub fn assess(
    methodology: &Methodology,
    polarity: impl Fn(&str) -> Polarity,
    trust_types: &BTreeMap<String, TrustType>,
    figures: &BTreeMap<String, Vec<Figure>>,
    finance: &BTreeMap<String, f64>,
) -> Vec<Assessment> {
    let mut scores: BTreeMap<&str, Vec<(String, MetricScore)>> = BTreeMap::new();
    for scored in &methodology.metrics {
        let Some(all) = figures.get(&scored.metric) else {
            continue;
        };
        for peer_group in &scored.peer_groups {
            let peers: Vec<Figure> = all
                .iter()
                .filter(|f| trust_types.get(&f.org) == Some(peer_group))
                .cloned()
                .collect();
            for score in score_metric(&scored.method, polarity(&scored.metric), &peers) {
                let org = trust_types
                    .get_key_value(&score.org)
                    .map_or("", |(org, _)| org.as_str());
                scores
                    .entry(org)
                    .or_default()
                    .push((scored.metric.clone(), score));
            }
        }
    }
    let mut out: Vec<Assessment> = trust_types
        .iter()
        .map(|(org, trust_type)| {
            let scores = scores.remove(org.as_str()).unwrap_or_default();
            let values: Vec<f64> = scores.iter().map(|(_, s)| s.score).collect();
            Assessment {
                org: org.clone(),
                trust_type: *trust_type,
                average: average_score(&values),
                scores,
                segment: None,
                adjusted: None,
            }
        })
        .collect();
    let mut by_type: BTreeMap<TrustType, Vec<(String, f64)>> = BTreeMap::new();
    for assessment in &out {
        if let Some(average) = assessment.average {
            by_type
                .entry(assessment.trust_type)
                .or_default()
                .push((assessment.org.clone(), average));
        }
    }
    let segmented: BTreeMap<String, u8> = by_type
        .values()
        .flat_map(|averages| segments(&methodology.segmentation, averages))
        .collect();
    for assessment in &mut out {
        assessment.segment = segmented.get(&assessment.org).copied();
        assessment.adjusted = assessment
            .segment
            .map(|segment| match &methodology.finance {
                Some(rule) => {
                    let in_deficit = finance.get(&assessment.org).is_some_and(|v| *v < 0.0);
                    adjust_for_finance(segment, in_deficit, rule.no_better_than)
                }
                None => segment,
            });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proto_schema::{Band, FinanceAdjustment, ScoredMetric};

    fn figure(org: &str, value: Option<f64>, basis: Option<f64>) -> Figure {
        Figure {
            org: org.to_owned(),
            value,
            basis,
        }
    }

    fn scores_by_org(scores: &[MetricScore]) -> BTreeMap<&str, (f64, usize, usize)> {
        scores
            .iter()
            .map(|s| (s.org.as_str(), (s.score, s.rank, s.of)))
            .collect()
    }

    #[test]
    fn ranked_value_spreads_five_figures_from_one_to_four() {
        // 4 within 18 weeks: 70%, 60%, 65%, 50%, 55%; higher is better.
        let figures = [
            figure("A", Some(0.70), None),
            figure("B", Some(0.60), None),
            figure("C", Some(0.65), None),
            figure("D", Some(0.50), None),
            figure("E", Some(0.55), None),
        ];
        let scores = score_metric(
            &ScoringMethod::RankedValue,
            Polarity::HigherIsBetter,
            &figures,
        );
        let by_org = scores_by_org(&scores);
        assert_eq!(by_org["A"], (1.0, 1, 5));
        assert_eq!(by_org["C"], (1.75, 2, 5));
        assert_eq!(by_org["B"], (2.5, 3, 5));
        assert_eq!(by_org["E"], (3.25, 4, 5));
        assert_eq!(by_org["D"], (4.0, 5, 5));
    }

    #[test]
    fn lower_is_better_reverses_the_ranking() {
        let figures = [
            figure("A", Some(10.0), None),
            figure("B", Some(30.0), None),
            figure("C", Some(20.0), None),
        ];
        let scores = score_metric(
            &ScoringMethod::RankedValue,
            Polarity::LowerIsBetter,
            &figures,
        );
        let by_org = scores_by_org(&scores);
        assert_eq!(by_org["A"], (1.0, 1, 3));
        assert_eq!(by_org["C"], (2.5, 2, 3));
        assert_eq!(by_org["B"], (4.0, 3, 3));
    }

    #[test]
    fn tied_figures_share_the_best_rank_among_them() {
        let figures = [
            figure("A", Some(0.9), None),
            figure("B", Some(0.8), None),
            figure("C", Some(0.8), None),
            figure("D", Some(0.7), None),
        ];
        let scores = score_metric(
            &ScoringMethod::RankedValue,
            Polarity::HigherIsBetter,
            &figures,
        );
        let by_org = scores_by_org(&scores);
        assert_eq!(by_org["B"], (2.0, 2, 4));
        assert_eq!(by_org["C"], (2.0, 2, 4));
        assert_eq!(by_org["D"], (4.0, 4, 4));
    }

    #[test]
    fn an_organisation_without_a_figure_is_not_scored_nor_counted() {
        let figures = [
            figure("A", Some(0.9), None),
            figure("B", None, None),
            figure("C", Some(0.7), None),
            figure("D", Some(f64::NAN), None),
        ];
        let scores = score_metric(
            &ScoringMethod::RankedValue,
            Polarity::HigherIsBetter,
            &figures,
        );
        let by_org = scores_by_org(&scores);
        assert_eq!(by_org.len(), 2);
        assert_eq!(by_org["A"], (1.0, 1, 2));
        assert_eq!(by_org["C"], (4.0, 2, 2));
    }

    #[test]
    fn ranked_improvement_ranks_the_change_since_the_basis_period() {
        // A improved 5 points, B 10, C fell 5; D has no basis period and is not scored.
        let figures = [
            figure("A", Some(0.60), Some(0.55)),
            figure("B", Some(0.50), Some(0.40)),
            figure("C", Some(0.80), Some(0.85)),
            figure("D", Some(0.99), None),
        ];
        let scores = score_metric(
            &ScoringMethod::RankedImprovement { periods_back: 4 },
            Polarity::HigherIsBetter,
            &figures,
        );
        let by_org = scores_by_org(&scores);
        assert_eq!(by_org.len(), 3);
        assert_eq!(by_org["B"], (1.0, 1, 3));
        assert_eq!(by_org["A"], (2.5, 2, 3));
        assert_eq!(by_org["C"], (4.0, 3, 3));
        let change = scores.iter().find(|s| s.org == "B").map(|s| s.figure);
        assert!(change.is_some_and(|c| (c - 0.10).abs() < 1e-12));
    }

    #[test]
    fn bands_give_discrete_scores_at_their_bounds() {
        let method = ScoringMethod::Bands {
            bands: vec![
                Band {
                    comparison: Comparison::AtLeast,
                    bound: 0.0,
                    score: 1.0,
                },
                Band {
                    comparison: Comparison::AtLeast,
                    bound: -1_000_000.0,
                    score: 3.0,
                },
            ],
            otherwise: 4.0,
        };
        let figures = [
            figure("surplus", Some(250_000.0), None),
            figure("break_even", Some(0.0), None),
            figure("at_the_line", Some(-1_000_000.0), None),
            figure("below", Some(-1_000_000.5), None),
        ];
        let scores = score_metric(&method, Polarity::HigherIsBetter, &figures);
        let by_org = scores_by_org(&scores);
        assert_eq!(by_org["surplus"], (1.0, 1, 4));
        assert_eq!(by_org["break_even"], (1.0, 1, 4));
        assert_eq!(by_org["at_the_line"], (3.0, 3, 4));
        assert_eq!(by_org["below"], (4.0, 4, 4));
    }

    #[test]
    fn a_metric_where_neither_direction_is_better_is_not_ranked() {
        let figures = [figure("A", Some(1.0), None), figure("B", Some(2.0), None)];
        assert!(score_metric(&ScoringMethod::RankedValue, Polarity::Neutral, &figures).is_empty());
    }

    #[test]
    fn thresholds_place_averages_exactly_at_their_bounds() {
        let segmentation = Segmentation::Thresholds {
            upper: [1.5, 2.5, 3.25],
        };
        let averages: Vec<(String, f64)> = [1.0, 1.5, 1.500001, 2.5, 2.6, 3.25, 3.2500001, 4.0]
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("O{i}"), *a))
            .collect();
        let placed = segments(&segmentation, &averages);
        let in_order: Vec<u8> = (0..averages.len())
            .map(|i| placed[&format!("O{i}")])
            .collect();
        assert_eq!(in_order, [1, 1, 2, 2, 3, 3, 4, 4]);
    }

    #[test]
    fn quartiles_of_eight_put_two_in_each_segment() {
        let averages: Vec<(String, f64)> = (0..8)
            .map(|i| (format!("O{i}"), 1.0 + f64::from(i) * 0.3))
            .collect();
        let placed = segments(&Segmentation::Quartiles, &averages);
        let in_order: Vec<u8> = (0..8).map(|i| placed[&format!("O{i}")]).collect();
        assert_eq!(in_order, [1, 1, 2, 2, 3, 3, 4, 4]);
    }

    proptest! {
        /// Each segment holds a quarter of the organisations (give or take one), best averages
        /// first, and tied averages always share a segment.
        #[test]
        fn quartiles_split_like_the_manual(averages in prop::collection::vec(1u32..=400, 1..200)) {
            let averages: Vec<(String, f64)> = averages
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("O{i}"), f64::from(*a) / 100.0))
                .collect();
            let placed = segments(&Segmentation::Quartiles, &averages);
            let n = averages.len();
            for (org, average) in &averages {
                let segment = placed[org];
                prop_assert!((1..=4).contains(&segment));
                // Ranked among the rest the way the manual ranks: strictly better averages first.
                let better = averages.iter().filter(|(_, other)| other < average).count();
                prop_assert_eq!(usize::from(segment), 1 + 4 * better / n);
                for (other_org, other) in &averages {
                    if other < average {
                        prop_assert!(placed[other_org] <= segment);
                    }
                    if other == average {
                        prop_assert_eq!(placed[other_org], segment);
                    }
                }
            }
            // Without ties, no segment holds more than a quarter rounded up.
            let distinct: std::collections::BTreeSet<u32> =
                averages.iter().map(|(_, a)| (a * 100.0).round() as u32).collect();
            if distinct.len() == n {
                for segment in 1..=4u8 {
                    let held = placed.values().filter(|s| **s == segment).count();
                    prop_assert!(held <= n.div_ceil(4), "segment {} holds {} of {}", segment, held, n);
                }
            }
        }
    }

    #[test]
    fn a_provider_in_deficit_is_placed_no_higher_than_the_cap() {
        assert_eq!(adjust_for_finance(1, true, 3), 3);
        assert_eq!(adjust_for_finance(2, true, 3), 3);
        assert_eq!(adjust_for_finance(4, true, 3), 4);
        assert_eq!(adjust_for_finance(1, false, 3), 1);
    }

    fn methodology() -> Methodology {
        Methodology {
            id: "test".into(),
            name: "Test".into(),
            version: 1,
            metrics: vec![
                ScoredMetric {
                    framework_id: Some("OF0001".into()),
                    metric: "ae_4hr".into(),
                    method: ScoringMethod::RankedValue,
                    peer_groups: vec![TrustType::Acute],
                },
                ScoredMetric {
                    framework_id: Some("OF0023".into()),
                    metric: "rtt_18wk".into(),
                    method: ScoringMethod::RankedValue,
                    peer_groups: vec![TrustType::Acute, TrustType::NonAcute],
                },
            ],
            segmentation: Segmentation::Quartiles,
            finance: Some(FinanceAdjustment {
                metric: "finance_surplus".into(),
                no_better_than: 3,
            }),
            quarters: Vec::new(),
        }
    }

    #[test]
    fn assess_scores_each_peer_group_apart_averages_what_is_scored_and_caps_a_deficit() {
        let trust_types: BTreeMap<String, TrustType> = [
            ("A1", TrustType::Acute),
            ("A2", TrustType::Acute),
            ("A3", TrustType::Acute),
            ("A4", TrustType::Acute),
            ("M1", TrustType::NonAcute),
            ("M2", TrustType::NonAcute),
            ("X1", TrustType::Ambulance),
        ]
        .into_iter()
        .map(|(org, t)| (org.to_owned(), t))
        .collect();
        let figures: BTreeMap<String, Vec<Figure>> = [
            (
                "ae_4hr",
                vec![
                    figure("A1", Some(0.80), None),
                    figure("A2", Some(0.70), None),
                    figure("A3", Some(0.75), None),
                    // A4 sent no A&E figure: scored on RTT alone.
                    figure("M1", Some(0.99), None),
                ],
            ),
            (
                "rtt_18wk",
                vec![
                    figure("A1", Some(0.50), None),
                    figure("A2", Some(0.60), None),
                    figure("A3", Some(0.55), None),
                    figure("A4", Some(0.65), None),
                    figure("M1", Some(0.40), None),
                    figure("M2", Some(0.45), None),
                    figure("X1", Some(0.90), None),
                ],
            ),
        ]
        .into_iter()
        .map(|(m, f)| (m.to_owned(), f))
        .collect();
        let finance: BTreeMap<String, f64> = [("A1".to_owned(), -5.0), ("A4".to_owned(), 1.0)]
            .into_iter()
            .collect();
        let assessed = assess(
            &methodology(),
            |_| Polarity::HigherIsBetter,
            &trust_types,
            &figures,
            &finance,
        );
        let of = |org: &str| assessed.iter().find(|a| a.org == org).cloned();
        let a1 = of("A1").expect("A1 assessed");
        // A&E: A1 best of 3 (1.0); RTT: A1 worst of 4 acute (4.0); the mental health trust's A&E
        // figure is in no peer group of that metric and its RTT is ranked among non-acute only.
        assert_eq!(a1.scores.len(), 2);
        assert_eq!(a1.average, Some(2.5));
        let a4 = of("A4").expect("A4 assessed");
        assert_eq!(a4.scores.len(), 1);
        assert_eq!(a4.average, Some(1.0));
        let m1 = of("M1").expect("M1 assessed");
        assert_eq!(m1.scores.len(), 1);
        assert_eq!(m1.scores[0].0, "rtt_18wk");
        assert_eq!((m1.scores[0].1.rank, m1.scores[0].1.of), (2, 2));
        // The ambulance trust is in no peer group: nothing scored, no segment.
        let x1 = of("X1").expect("X1 listed");
        assert_eq!((x1.average, x1.segment), (None, None));
        // A&E 4.0 and RTT 2.0; A&E 2.5 and RTT 3.0.
        let a2 = of("A2").expect("A2 assessed");
        let a3 = of("A3").expect("A3 assessed");
        assert_eq!(a2.average, Some((4.0 + 2.0) / 2.0));
        assert_eq!(a3.average, Some((2.5 + 3.0) / 2.0));
        // Four acute trusts, one to a segment: A4 1.0, A1 2.5, A3 2.75, A2 3.0.
        assert_eq!(a4.segment, Some(1));
        assert_eq!(a1.segment, Some(2));
        assert_eq!(a3.segment, Some(3));
        assert_eq!(a2.segment, Some(4));
        // A1 is in deficit: no better than segment 3.
        assert_eq!(a1.adjusted, Some(3));
        assert_eq!(a4.adjusted, Some(1));
    }

    #[test]
    fn league_tables_order_by_segment_then_average_within_a_trust_type() {
        let standings = vec![
            Standing {
                org: "B".into(),
                trust_type: TrustType::Acute,
                segment: 2,
                average: 1.9,
            },
            Standing {
                org: "A".into(),
                trust_type: TrustType::Acute,
                segment: 3,
                average: 1.2,
            },
            Standing {
                org: "C".into(),
                trust_type: TrustType::Acute,
                segment: 2,
                average: 1.8,
            },
            Standing {
                org: "D".into(),
                trust_type: TrustType::Acute,
                segment: 2,
                average: 1.8,
            },
            Standing {
                org: "M".into(),
                trust_type: TrustType::NonAcute,
                segment: 1,
                average: 1.0,
            },
        ];
        let table = league_table(&standings, TrustType::Acute);
        let order: Vec<(usize, &str)> = table.iter().map(|(p, s)| (*p, s.org.as_str())).collect();
        // A's better average does not lift it above segment 2; C and D tie and share 1st.
        assert_eq!(order, [(1, "C"), (1, "D"), (3, "B"), (4, "A")]);
    }

    proptest! {
        /// The league table equals an independent sort: every pair in order by segment, then
        /// average, and only one trust type in it.
        #[test]
        fn league_tables_match_an_independent_sort(
            rows in prop::collection::vec((1u8..=4, 100u32..=400, 0usize..3), 0..60)
        ) {
            let types = [TrustType::Acute, TrustType::NonAcute, TrustType::Ambulance];
            let standings: Vec<Standing> = rows
                .iter()
                .enumerate()
                .map(|(i, (segment, average, t))| Standing {
                    org: format!("O{i:02}"),
                    trust_type: types[*t],
                    segment: *segment,
                    average: f64::from(*average) / 100.0,
                })
                .collect();
            let table = league_table(&standings, TrustType::Acute);
            let mut expected: Vec<(u8, u32, String)> = rows
                .iter()
                .enumerate()
                .filter(|(_, (_, _, t))| *t == 0)
                .map(|(i, (segment, average, _))| (*segment, *average, format!("O{i:02}")))
                .collect();
            expected.sort();
            let got: Vec<(u8, u32, String)> = table
                .iter()
                .map(|(_, s)| (s.segment, (s.average * 100.0).round() as u32, s.org.clone()))
                .collect();
            prop_assert_eq!(got, expected.clone());
            for (position, standing) in &table {
                let ahead = expected
                    .iter()
                    .filter(|(seg, avg, _)| {
                        (*seg, *avg) < (standing.segment, (standing.average * 100.0).round() as u32)
                    })
                    .count();
                prop_assert_eq!(*position, ahead + 1);
            }
        }
    }
}

//! A scope's organisations assessed under a methodology for a quarter: figures over the quarter
//! from each organisation's own cells, scored by [`crate::framework`], computed when a snapshot
//! asks, so it is a function of the log at that snapshot's seq like every other part of a view.

use proto_schema::{
    Assessed, FinanceApplied, Methodology, MetricScored, Oversight, Quarter, ScoringMethod,
    Segmentation, TrustType,
};

use super::*;
use crate::framework::{self, Figure, Standing};

impl Projection {
    /// The methodologies defined in the log, by id.
    pub fn methodologies(&self) -> &BTreeMap<String, Methodology> {
        &self.methodologies
    }

    /// An organisation's trust type: as set in the log, else a commissioner by its role.
    fn trust_type(&self, org: Id) -> Option<TrustType> {
        self.trust_types.get(&org).copied().or_else(|| {
            self.commissioners
                .contains(&org)
                .then_some(TrustType::Commissioner)
        })
    }

    /// An organisation's figure for `metric` over `quarter`: its returns for the periods within
    /// the quarter added up exactly, then read as the headline (a percentage for ratios).
    fn quarter_figure(&self, org: Id, metric: Id, quarter: Quarter) -> Option<f64> {
        let cells = self.leaves.get(&org)?;
        let (_, series) = cells.by_metric().find(|(id, _)| *id == metric)?;
        let mut total = crate::sum::Sum::default();
        let mut kind = None;
        for (period, _, cell) in series.points() {
            if quarter.holds(period) {
                total.merge(&cell.sum);
                kind = Some(cell.kind);
            }
        }
        let kind = kind.filter(|_| !total.is_empty())?;
        Some(total.value(kind))
    }

    /// The quarters of `methodology` with a figure for any metric it scores, oldest first.
    fn quarters_with_figures(&self, methodology: &Methodology) -> Vec<Quarter> {
        let metrics: Vec<Id> = methodology
            .metrics
            .iter()
            .filter_map(|m| self.names.get(&m.metric))
            .collect();
        methodology
            .quarters
            .iter()
            .copied()
            .filter(|quarter| {
                self.leaves.values().any(|cells| {
                    cells.by_metric().any(|(metric, series)| {
                        metrics.contains(&metric) && series.points().any(|(p, ..)| quarter.holds(p))
                    })
                })
            })
            .collect()
    }

    /// The organisations of `scope` assessed under the methodology `id` for `quarter` (by
    /// default its latest quarter with figures); `None` when the log defines no such
    /// methodology.
    pub fn oversight(
        &self,
        scope: &str,
        mode: GeographyMode,
        id: &str,
        quarter: Option<Quarter>,
    ) -> Option<Oversight> {
        let methodology = self.methodologies.get(id)?;
        let today = Quarter::of(Period::Day(Date::from_days_since_epoch(self.today)));
        let mut quarters = self.quarters_with_figures(methodology);
        if methodology.segmentation == Segmentation::Triggers {
            quarters = vec![today];
        }
        let quarter = quarter
            .or(quarters.last().copied())
            .or(methodology.quarters.last().copied())
            .unwrap_or(today);
        let mut organisations: Vec<Id> = self
            .leaves
            .keys()
            .chain(self.decisions.keys())
            .copied()
            .filter(|org| self.geography.is_organisation(*org))
            .collect();
        organisations.sort_unstable_by(|a, b| self.names.name(*a).cmp(self.names.name(*b)));
        organisations.dedup();
        let assessed = if methodology.segmentation == Segmentation::Triggers {
            self.assess_by_triggers(&organisations)
        } else {
            self.assess_by_scores(methodology, &organisations, quarter)
        };
        let scope_id = self.names.get(scope);
        let [.., last_month] = quarter.months();
        let in_scope = |org: Id| match scope {
            NATIONAL => true,
            _ => scope_id.is_some_and(|scope| {
                scope == org || self.geography.scopes(org, last_month, mode).contains(scope)
            }),
        };
        Some(Oversight {
            methodology: methodology.id.clone(),
            name: methodology.name.clone(),
            version: methodology.version,
            quarter,
            quarters,
            organisations: organisations
                .iter()
                .zip(assessed)
                .filter(|(org, _)| in_scope(**org))
                .map(|(org, assessed)| (self.names.name(*org).to_owned(), assessed))
                .collect(),
        })
    }

    /// Today's trigger points as a methodology: each organisation's suggested segment.
    fn assess_by_triggers(&self, organisations: &[Id]) -> Vec<Assessed> {
        organisations
            .iter()
            .map(|org| {
                let segment = self.segment(*org);
                let decided = self.decisions.get(org).cloned();
                Assessed {
                    trust_type: self.trust_type(*org),
                    scores: Vec::new(),
                    average: None,
                    segment: Some(segment.suggested),
                    finance: None,
                    adjusted: Some(segment.suggested),
                    placed: Some(decided.as_ref().map_or(segment.suggested, |d| d.segment)),
                    decided,
                    position: None,
                    of: 0,
                }
            })
            .collect()
    }

    fn assess_by_scores(
        &self,
        methodology: &Methodology,
        organisations: &[Id],
        quarter: Quarter,
    ) -> Vec<Assessed> {
        let code = |org: Id| self.names.name(org).to_owned();
        let trust_types: BTreeMap<String, TrustType> = organisations
            .iter()
            .filter_map(|org| Some((code(*org), self.trust_type(*org)?)))
            .collect();
        let mut figures: BTreeMap<String, Vec<Figure>> = BTreeMap::new();
        for scored in &methodology.metrics {
            let Some(metric) = self.names.get(&scored.metric) else {
                continue;
            };
            let basis_quarter = match scored.method {
                ScoringMethod::RankedImprovement { periods_back } => {
                    Some(quarter.back(periods_back))
                }
                _ => None,
            };
            figures.insert(
                scored.metric.clone(),
                organisations
                    .iter()
                    .map(|org| Figure {
                        org: code(*org),
                        value: self.quarter_figure(*org, metric, quarter),
                        basis: basis_quarter.and_then(|q| self.quarter_figure(*org, metric, q)),
                    })
                    .collect(),
            );
        }
        let finance_metric = methodology
            .finance
            .as_ref()
            .and_then(|rule| self.names.get(&rule.metric));
        let finance: BTreeMap<String, f64> = organisations
            .iter()
            .filter_map(|org| {
                let figure = self.quarter_figure(*org, finance_metric?, quarter)?;
                Some((code(*org), figure))
            })
            .collect();
        let polarity = |metric: &str| {
            self.names
                .get(metric)
                .and_then(|id| self.metrics.get(&id))
                .map_or(Polarity::Neutral, |(_, _, polarity)| *polarity)
        };
        let assessed = framework::assess(methodology, polarity, &trust_types, &figures, &finance);
        let by_org: BTreeMap<&str, &framework::Assessment> =
            assessed.iter().map(|a| (a.org.as_str(), a)).collect();
        let mut out: Vec<Assessed> = organisations
            .iter()
            .map(|org| {
                let name = self.names.name(*org);
                let decided = self.decisions.get(org).cloned();
                let Some(assessment) = by_org.get(name) else {
                    return Assessed {
                        trust_type: None,
                        scores: Vec::new(),
                        average: None,
                        segment: None,
                        finance: None,
                        adjusted: None,
                        placed: decided.as_ref().map(|d| d.segment),
                        decided,
                        position: None,
                        of: 0,
                    };
                };
                let finance = match (
                    &methodology.finance,
                    assessment.segment,
                    assessment.adjusted,
                ) {
                    (Some(rule), Some(before), Some(after)) if after != before => {
                        Some(FinanceApplied {
                            metric: rule.metric.clone(),
                            figure: finance.get(name).copied().unwrap_or_default(),
                            no_better_than: rule.no_better_than,
                        })
                    }
                    _ => None,
                };
                Assessed {
                    trust_type: Some(assessment.trust_type),
                    scores: assessment
                        .scores
                        .iter()
                        .map(|(metric, score)| MetricScored {
                            framework_id: methodology
                                .metrics
                                .iter()
                                .find(|m| &m.metric == metric)
                                .and_then(|m| m.framework_id.clone()),
                            metric: metric.clone(),
                            figure: score.figure,
                            rank: score.rank as u32,
                            of: score.of as u32,
                            score: score.score,
                        })
                        .collect(),
                    average: assessment.average,
                    segment: assessment.segment,
                    finance,
                    adjusted: assessment.adjusted,
                    placed: decided.as_ref().map(|d| d.segment).or(assessment.adjusted),
                    decided,
                    position: None,
                    of: 0,
                }
            })
            .collect();
        place_in_league_tables(organisations, &mut out, code);
        out
    }
}

/// Each scored organisation's position in its trust type's league table: by placed segment,
/// then average score.
fn place_in_league_tables(
    organisations: &[Id],
    assessed: &mut [Assessed],
    code: impl Fn(Id) -> String,
) {
    let standings: Vec<Standing> = organisations
        .iter()
        .zip(assessed.iter())
        .filter_map(|(org, a)| {
            Some(Standing {
                org: code(*org),
                trust_type: a.trust_type?,
                segment: a.placed?,
                average: a.average?,
            })
        })
        .collect();
    let mut positions: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for trust_type in TrustType::ALL {
        let table = framework::league_table(&standings, trust_type);
        let of = table.len() as u32;
        for (position, standing) in table {
            positions.insert(standing.org, (position as u32, of));
        }
    }
    for (org, a) in organisations.iter().zip(assessed.iter_mut()) {
        if let Some((position, of)) = positions.get(&code(*org)) {
            a.position = Some(*position);
            a.of = *of;
        }
    }
}

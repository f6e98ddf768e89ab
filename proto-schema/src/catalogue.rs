//! The default metric catalogue: data standard v1, as the corporate data team defines it.

use crate::methodology::{
    FinanceAdjustment, Methodology, Quarter, ScoredMetric, ScoringMethod, Segmentation, TrustType,
};
use crate::reference::{
    Collection, Comparison, Domain, Metric, PeriodKind, Polarity, ReportedBy, Standard,
};
use crate::value::ValueKind;

pub const DATA_STANDARD_VERSION: u32 = 1;

fn metric(
    id: &str,
    name: &str,
    domain: Domain,
    reported_by: ReportedBy,
    kind: ValueKind,
    polarity: Polarity,
    standard: Option<(Comparison, i64)>,
) -> Metric {
    Metric {
        id: id.to_owned(),
        name: name.to_owned(),
        domain,
        reported_by,
        kind,
        polarity,
        standard: standard.map(|(comparison, target)| Standard { comparison, target }),
    }
}

/// Data standard v1. Ratio targets are in basis points.
pub fn data_standard_v1() -> Vec<Metric> {
    use Comparison::{AtLeast, AtMost};
    use Domain::{Finance, Operational, Quality};
    use Polarity::{HigherIsBetter, LowerIsBetter, Neutral};
    use ReportedBy::{Commissioner, Provider};
    use ValueKind::{Count, Money, Ratio};
    vec![
        metric(
            "ae_4hr",
            "A&E attendances seen within 4 hours",
            Operational,
            Provider,
            Ratio,
            HigherIsBetter,
            Some((AtLeast, 9500)),
        ),
        metric(
            "ae_12hr_dta",
            "A&E waits over 12 hours from decision to admit",
            Operational,
            Provider,
            Count,
            LowerIsBetter,
            Some((AtMost, 0)),
        ),
        metric(
            "ae_emergency_admissions",
            "Emergency admissions via A&E",
            Operational,
            Provider,
            Count,
            Neutral,
            None,
        ),
        metric(
            "rtt_18wk",
            "RTT incomplete pathways within 18 weeks",
            Operational,
            Provider,
            Ratio,
            HigherIsBetter,
            Some((AtLeast, 9200)),
        ),
        metric(
            "rtt_52wk",
            "RTT incomplete pathways waiting 52 weeks or more",
            Operational,
            Provider,
            Count,
            LowerIsBetter,
            Some((AtMost, 0)),
        ),
        metric(
            "cancer_62d",
            "Cancer treatment within 62 days of referral",
            Operational,
            Provider,
            Ratio,
            HigherIsBetter,
            Some((AtLeast, 8500)),
        ),
        metric(
            "cancer_2ww",
            "Cancer first seen within two weeks of urgent referral",
            Operational,
            Provider,
            Ratio,
            HigherIsBetter,
            Some((AtLeast, 9300)),
        ),
        metric(
            "diag_6wk",
            "Diagnostic waits of six weeks or more",
            Operational,
            Provider,
            Ratio,
            LowerIsBetter,
            Some((AtMost, 100)),
        ),
        metric(
            "finance_surplus",
            "Surplus (deficit negative)",
            Finance,
            Provider,
            Money,
            HigherIsBetter,
            None,
        ),
        metric(
            "agency_spend",
            "Agency staff spend",
            Finance,
            Provider,
            Money,
            LowerIsBetter,
            None,
        ),
        metric(
            "cdiff_cases",
            "C. difficile infections",
            Quality,
            Provider,
            Count,
            LowerIsBetter,
            None,
        ),
        metric(
            "dementia_dx",
            "Estimated dementia diagnosis rate",
            Quality,
            Commissioner,
            Ratio,
            HigherIsBetter,
            Some((AtLeast, 6670)),
        ),
        metric(
            "iapt_access",
            "Access to psychological therapies",
            Quality,
            Commissioner,
            Ratio,
            HigherIsBetter,
            None,
        ),
    ]
}

/// The collections of data standard v1: each metric in exactly one, each due as NHS England's
/// collection of it is (working days after the period ends).
pub fn collections_v1() -> Vec<Collection> {
    let collection = |id: &str, name: &str, metrics: &[&str], due_working_days| Collection {
        id: id.to_owned(),
        name: name.to_owned(),
        period_kind: PeriodKind::Month,
        metrics: metrics.iter().map(|m| (*m).to_owned()).collect(),
        due_working_days,
    };
    vec![
        collection(
            "ae-monthly",
            "A&E attendances and emergency admissions, monthly",
            &["ae_4hr", "ae_12hr_dta", "ae_emergency_admissions"],
            10,
        ),
        collection(
            "rtt-monthly",
            "Referral to treatment, incomplete pathways, monthly",
            &["rtt_18wk", "rtt_52wk"],
            17,
        ),
        collection(
            "cancer-monthly",
            "Cancer waiting times, monthly",
            &["cancer_62d", "cancer_2ww"],
            25,
        ),
        collection(
            "diagnostics-monthly",
            "Diagnostic waiting times (DM01), monthly",
            &["diag_6wk"],
            15,
        ),
        collection(
            "finance-monthly",
            "Provider finance, monthly",
            &["finance_surplus", "agency_spend"],
            15,
        ),
        collection(
            "quality-monthly",
            "Healthcare-associated infections, monthly",
            &["cdiff_cases"],
            15,
        ),
        collection(
            "ccg-monthly",
            "Commissioner mental health and dementia, monthly",
            &["dementia_dx", "iapt_access"],
            15,
        ),
        // The weekly A&E sitrep (collected weekly until mid-2015, and in winter since): the same
        // figures by ISO week.
        Collection {
            period_kind: PeriodKind::Week,
            ..collection(
                "ae-weekly",
                "A&E attendances and emergency admissions, weekly",
                &["ae_4hr", "ae_12hr_dta", "ae_emergency_admissions"],
                5,
            )
        },
    ]
}

/// The oversight methodologies shipped, each for the metrics of data standard v1 that its
/// framework scores. Sources: NHS England, "NHS Oversight Framework 2025/26 methodology manual"
/// and "NHS oversight framework technical metric specification document – 2025/26" (June 2025),
/// "NHS Oversight Framework 2026/27 methodology manual". Framework ids are given only where the
/// documents were read to confirm them (OF0023); the others are `None` until the data-standards
/// role redefines the methodology with them.
pub fn methodologies_v1() -> Vec<Methodology> {
    use ScoringMethod::RankedValue;
    use TrustType::{Acute, Commissioner};
    let scored =
        |framework_id: Option<&str>, metric: &str, peer_groups: &[TrustType]| ScoredMetric {
            framework_id: framework_id.map(str::to_owned),
            metric: metric.to_owned(),
            method: RankedValue,
            peer_groups: peer_groups.to_vec(),
        };
    let quarters = |year| (1..=4).map(|quarter| Quarter { year, quarter }).collect();
    let finance = Some(FinanceAdjustment {
        metric: "finance_surplus".to_owned(),
        no_better_than: 3,
    });
    vec![
        Methodology {
            id: "nof-2025-26".to_owned(),
            name: "NHS Oversight Framework 2025/26".to_owned(),
            version: 1,
            // Each "ranked high to low" (or low to high) on the absolute value, among acute
            // trusts; ICBs were not segmented in 2025/26.
            metrics: vec![
                scored(None, "ae_4hr", &[Acute]),
                scored(Some("OF0023"), "rtt_18wk", &[Acute]),
                scored(None, "cancer_62d", &[Acute]),
            ],
            segmentation: Segmentation::Quartiles,
            finance: finance.clone(),
            quarters: quarters(2025),
        },
        Methodology {
            id: "nof-2026-27".to_owned(),
            name: "NHS Oversight Framework 2026/27 (provisional thresholds)".to_owned(),
            version: 1,
            metrics: vec![
                scored(None, "ae_4hr", &[Acute]),
                scored(Some("OF0023"), "rtt_18wk", &[Acute]),
                scored(None, "cancer_62d", &[Acute]),
                scored(None, "dementia_dx", &[Commissioner]),
            ],
            // The manual maps average scores to segments by fixed thresholds; its values could
            // not be read, so these cut the 1.00-4.00 scale into four equal parts until the
            // data-standards role defines the published ones.
            segmentation: Segmentation::Thresholds {
                upper: [1.75, 2.5, 3.25],
            },
            finance,
            quarters: quarters(2026),
        },
        Methodology {
            id: "triggers-2019".to_owned(),
            name: "Trigger points (this service's own, since 2019)".to_owned(),
            version: 1,
            metrics: Vec::new(),
            segmentation: Segmentation::Triggers,
            finance: None,
            quarters: Vec::new(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_in_one_monthly_collection_and_every_listed_metric_is_defined() {
        let collections = collections_v1();
        let metrics = data_standard_v1();
        for metric in &metrics {
            let monthly: Vec<&str> = collections
                .iter()
                .filter(|c| c.period_kind == PeriodKind::Month && c.metrics.contains(&metric.id))
                .map(|c| c.id.as_str())
                .collect();
            assert_eq!(monthly.len(), 1, "{}: {monthly:?}", metric.id);
        }
        for collection in &collections {
            for listed in &collection.metrics {
                assert!(
                    metrics.iter().any(|m| &m.id == listed),
                    "{}: {listed}",
                    collection.id
                );
            }
        }
    }

    #[test]
    fn ids_are_unique_and_standards_are_as_published() {
        let metrics = data_standard_v1();
        let mut ids: Vec<_> = metrics.iter().map(|m| m.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), metrics.len());
        let target = |id: &str| {
            metrics
                .iter()
                .find(|m| m.id == id)
                .and_then(|m| m.standard)
                .map(|s| (s.comparison, s.target))
        };
        assert_eq!(target("ae_4hr"), Some((Comparison::AtLeast, 9500)));
        assert_eq!(target("diag_6wk"), Some((Comparison::AtMost, 100)));
        assert_eq!(target("dementia_dx"), Some((Comparison::AtLeast, 6670)));
        assert_eq!(target("rtt_52wk"), Some((Comparison::AtMost, 0)));
    }
}

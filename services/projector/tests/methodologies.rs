//! One log read under each shipped methodology: NHS Oversight Framework 2025/26 (quartiles),
//! 2026/27 (thresholds) and this service's trigger points, each checked against an assessment
//! worked out here independently from the returns themselves.

use std::collections::BTreeMap;

use projector::Projection;
use proto_schema::{
    data_standard_v1, methodologies_v1, Date, Envelope, Event, GeographyMode, Halves, Methodology,
    OrgRole, Organisation, Oversight, Period, Quarter, Region, Return, ReturnSubmitted,
    ScoredMetric, ScoringMethod, SegmentDecided, Segmentation, System, Timestamp, TrustType,
    TrustTypeSet, Value, NATIONAL,
};

const ACUTE: [&str; 8] = ["RA1", "RA2", "RA3", "RA4", "RA5", "RA6", "RA7", "RA8"];
const NON_ACUTE: [&str; 2] = ["RM1", "RM2"];

fn q1() -> Quarter {
    Quarter::parse("2025-26-q1").expect("a quarter")
}

fn month(text: &str) -> Period {
    Period::parse(text).expect("a month")
}

fn ratio(numerator: i64, denominator: i64) -> Value {
    Value::Ratio {
        numerator: Halves::whole(numerator),
        denominator: Halves::whole(denominator),
    }
}

struct Log {
    envelopes: Vec<Envelope>,
    revisions: BTreeMap<(String, String, Period), u32>,
}

impl Log {
    fn new() -> Log {
        let mut log = Log {
            envelopes: Vec::new(),
            revisions: BTreeMap::new(),
        };
        log.push(Event::RegionDefined(Region {
            code: "Y56".into(),
            name: "London".into(),
        }));
        log.push(Event::RegionDefined(Region {
            code: "Y61".into(),
            name: "East of England".into(),
        }));
        for system in ["QMJ", "QUE"] {
            log.push(Event::SystemDefined(System {
                code: system.into(),
                name: system.into(),
                region: if system == "QMJ" { "Y56" } else { "Y61" }.into(),
            }));
        }
        for metric in data_standard_v1() {
            log.push(Event::MetricDefined(metric));
        }
        for (i, code) in ACUTE.iter().chain(&NON_ACUTE).enumerate() {
            let (region, system) = if i % 2 == 0 {
                ("Y56", "QMJ")
            } else {
                ("Y61", "QUE")
            };
            log.push(Event::OrganisationRegistered(Organisation {
                code: (*code).into(),
                name: format!("{code} NHS TRUST"),
                role: OrgRole::Provider,
                system: system.into(),
                region: region.into(),
                opened: Date::parse("2000-01-01").expect("date"),
                closed: None,
            }));
        }
        for methodology in methodologies_v1() {
            log.push(Event::MethodologyDefined(methodology));
        }
        for code in ACUTE {
            log.push(Event::TrustTypeSet(TrustTypeSet {
                org: code.into(),
                trust_type: TrustType::Acute,
            }));
        }
        for code in NON_ACUTE {
            log.push(Event::TrustTypeSet(TrustTypeSet {
                org: code.into(),
                trust_type: TrustType::NonAcute,
            }));
        }
        log
    }

    fn push(&mut self, event: Event) {
        let seq = self.envelopes.len() as u64 + 1;
        // 1 July 2025, when the quarter's returns are in.
        let recorded_at = Timestamp(1_751_371_200_000 + seq as i64);
        self.envelopes
            .push(Envelope::seal(seq, recorded_at, "test".into(), event).expect("seals"));
    }

    fn send(&mut self, org: &str, collection: &str, period: &str, values: Vec<(&str, Value)>) {
        let period = month(period);
        let revision = self
            .revisions
            .entry((org.into(), collection.into(), period))
            .or_insert(0);
        *revision += 1;
        let revision = *revision;
        self.push(Event::ReturnSubmitted(ReturnSubmitted {
            revision,
            ret: Return {
                submission_id: format!("{org}-{collection}-{period}-{revision}"),
                org: org.into(),
                collection: collection.into(),
                period,
                values: values
                    .into_iter()
                    .map(|(metric, value)| (metric.to_owned(), value))
                    .collect(),
            },
        }));
    }

    fn projection(&self) -> Projection {
        let mut projection = Projection::default();
        for envelope in &self.envelopes {
            projection.apply_silently(envelope);
        }
        projection
    }
}

/// Quarter 1 of 2025/26 for eight acute trusts and two others: A&E in April and June (RA8 sends
/// no A&E at all), RTT in June, two in deficit.
fn log() -> Log {
    let mut log = Log::new();
    // (org, A&E within 4 hours of 1000 in April, and in June; RTT within 18 weeks of 1000)
    type Figures<'a> = (&'a str, Option<(i64, i64)>, i64);
    let figures: [Figures; 10] = [
        ("RA1", Some((900, 880)), 610),
        ("RA2", Some((700, 720)), 650),
        ("RA3", Some((800, 800)), 590),
        ("RA4", Some((750, 770)), 640),
        ("RA5", Some((800, 800)), 700),
        ("RA6", Some((650, 600)), 560),
        ("RA7", Some((850, 860)), 520),
        ("RA8", None, 680),
        ("RM1", Some((990, 990)), 500),
        ("RM2", None, 530),
    ];
    for (org, ae, rtt) in figures {
        if let Some((april, june)) = ae {
            log.send(
                org,
                "ae-monthly",
                "2025-04",
                vec![("ae_4hr", ratio(april, 1000))],
            );
            log.send(
                org,
                "ae-monthly",
                "2025-06",
                vec![("ae_4hr", ratio(june, 1000))],
            );
        }
        log.send(
            org,
            "rtt-monthly",
            "2025-06",
            vec![("rtt_18wk", ratio(rtt, 1000))],
        );
    }
    for (org, pounds) in [("RA1", -2_000_000), ("RA5", -10), ("RA2", 500_000)] {
        log.send(
            org,
            "finance-monthly",
            "2025-05",
            vec![(
                "finance_surplus",
                Value::Money {
                    pence: pounds * 100,
                },
            )],
        );
    }
    log
}

/// An independent assessment: per metric, each acute trust's quarter figure (Σ numerator /
/// Σ denominator), ranked by sorting with ties sharing the best rank, scored evenly from 1 to 4.
fn expected_scores(log: &Log, metric: &str) -> BTreeMap<String, (f64, u32, u32, f64)> {
    let mut totals: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for envelope in &log.envelopes {
        let Event::ReturnSubmitted(s) = &envelope.event else {
            continue;
        };
        if !ACUTE.contains(&s.ret.org.as_str()) || !q1().holds(s.ret.period) {
            continue;
        }
        for (id, value) in &s.ret.values {
            if let (
                true,
                Value::Ratio {
                    numerator,
                    denominator,
                },
            ) = (id == metric, value)
            {
                let entry = totals.entry(s.ret.org.clone()).or_default();
                entry.0 += numerator.0;
                entry.1 += denominator.0;
            }
        }
    }
    let mut sorted: Vec<(String, f64)> = totals
        .iter()
        .map(|(org, (n, d))| (org.clone(), 100.0 * *n as f64 / *d as f64))
        .collect();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1));
    let of = sorted.len() as u32;
    let mut out = BTreeMap::new();
    for (i, (org, figure)) in sorted.iter().enumerate() {
        let first_equal = sorted.iter().position(|(_, f)| f == figure).unwrap_or(i);
        let rank = first_equal as u32 + 1;
        let score = 1.0 + 3.0 * f64::from(rank - 1) / f64::from(of - 1);
        out.insert(org.clone(), (*figure, rank, of, score));
    }
    out
}

fn assessed(projection: &Projection, scope: &str, id: &str) -> Oversight {
    projection
        .oversight(scope, GeographyMode::AsReported, id, Some(q1()))
        .unwrap_or_else(|| panic!("{id} is defined"))
}

#[test]
fn nof_2025_26_scores_ranks_averages_and_cuts_quartiles_with_the_finance_cap() {
    let log = log();
    let projection = log.projection();
    let oversight = assessed(&projection, NATIONAL, "nof-2025-26");
    assert_eq!(oversight.quarter, q1());
    assert_eq!(oversight.quarters, vec![q1()], "only Q1 has figures");
    let ae = expected_scores(&log, "ae_4hr");
    let rtt = expected_scores(&log, "rtt_18wk");
    assert_eq!(ae.len(), 7, "RA8 sent no A&E");
    // RA3 and RA5 tie on A&E (80.0%) and share the best rank among them.
    assert_eq!(ae["RA3"].1, ae["RA5"].1);
    let mut averages: Vec<(String, f64)> = Vec::new();
    for org in ACUTE {
        let got = &oversight.organisations[org];
        assert_eq!(got.trust_type, Some(TrustType::Acute));
        let mut expected_scores = Vec::new();
        for (metric, table) in [("ae_4hr", &ae), ("rtt_18wk", &rtt)] {
            let scored = got.scores.iter().find(|s| s.metric == metric);
            match (table.get(org), scored) {
                (Some((figure, rank, of, score)), Some(s)) => {
                    assert!((s.figure - figure).abs() < 1e-9, "{org} {metric} figure");
                    assert_eq!((s.rank, s.of), (*rank, *of), "{org} {metric} rank");
                    assert!((s.score - score).abs() < 1e-12, "{org} {metric} score");
                    expected_scores.push(*score);
                }
                (None, None) => {}
                (want, got) => panic!("{org} {metric}: expected {want:?}, got {got:?}"),
            }
        }
        let average = expected_scores.iter().sum::<f64>() / expected_scores.len() as f64;
        assert!(
            (got.average.expect("scored") - average).abs() < 1e-12,
            "{org}: the average is over what was scored"
        );
        averages.push((org.to_owned(), average));
    }
    // Quartiles of eight: two to a segment, best averages first.
    averages.sort_by(|a, b| a.1.total_cmp(&b.1));
    for (i, (org, average)) in averages.iter().enumerate() {
        let better = averages.iter().filter(|(_, a)| a < average).count();
        let segment = 1 + (4 * better / averages.len()) as u8;
        assert_eq!(
            oversight.organisations[org].segment,
            Some(segment),
            "{org} ({i})"
        );
    }
    // RA1 and RA5 are in deficit: no better than segment 3, with the reason shown.
    for org in ["RA1", "RA5"] {
        let got = &oversight.organisations[org];
        let before = got.segment.expect("segmented");
        assert_eq!(got.adjusted, Some(before.max(3)), "{org}");
        assert_eq!(
            got.finance.is_some(),
            before < 3,
            "{org}: a reason when it moved"
        );
    }
    let ra2 = &oversight.organisations["RA2"];
    assert_eq!(ra2.adjusted, ra2.segment, "in surplus, not adjusted");
    assert!(oversight.organisations["RA1"]
        .finance_reason()
        .is_some_and(|r| r.contains("no higher than segment 3")));
    // 2025/26 scores these metrics for acute trusts only: the non-acute trusts' figures are
    // neither scored nor counted in the acute trusts' ranks.
    let rm1 = &oversight.organisations["RM1"];
    assert_eq!(rm1.trust_type, Some(TrustType::NonAcute));
    assert!(rm1.scores.is_empty());
    assert_eq!((rm1.segment, rm1.position), (None, None));
    // League table: within acute trusts, by placed segment then average.
    let mut table: Vec<(u8, f64, &str)> = ACUTE
        .iter()
        .map(|org| {
            let a = &oversight.organisations[*org];
            (a.placed.expect("placed"), a.average.expect("average"), *org)
        })
        .collect();
    table.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    for (i, (_, _, org)) in table.iter().enumerate() {
        let got = &oversight.organisations[*org];
        assert_eq!((got.position, got.of), (Some(i as u32 + 1), 8), "{org}");
    }
    // A region's view holds its own organisations, with their places in England's tables.
    let london = assessed(&projection, "Y56", "nof-2025-26");
    assert_eq!(
        london.organisations.keys().collect::<Vec<_>>(),
        ["RA1", "RA3", "RA5", "RA7", "RM1"]
    );
    assert_eq!(london.organisations["RA3"], oversight.organisations["RA3"]);
}

#[test]
fn the_same_log_under_2026_27_thresholds_and_under_trigger_points() {
    let log = log();
    let projection = log.projection();
    let quartiles = assessed(&projection, NATIONAL, "nof-2025-26");
    let thresholds = assessed(&projection, NATIONAL, "nof-2026-27");
    let Segmentation::Thresholds { upper } = methodologies_v1()[1].segmentation.clone() else {
        panic!("2026/27 segments by thresholds");
    };
    let mut differ = 0;
    for org in ACUTE {
        let average = thresholds.organisations[org].average.expect("scored");
        let segment = 1 + upper.iter().filter(|u| average > **u).count() as u8;
        assert_eq!(
            thresholds.organisations[org].segment,
            Some(segment),
            "{org}"
        );
        assert_eq!(
            thresholds.organisations[org].average, quartiles.organisations[org].average,
            "the same metrics scored"
        );
        if thresholds.organisations[org].segment != quartiles.organisations[org].segment {
            differ += 1;
        }
    }
    assert!(differ > 0, "thresholds and quartiles give two answers");
    let triggers = assessed(&projection, NATIONAL, "triggers-2019");
    for org in ACUTE.iter().chain(&NON_ACUTE) {
        let view = projection.view(org, GeographyMode::AsReported);
        let suggested = view
            .segment
            .expect("an organisation's view has a segment")
            .suggested;
        assert_eq!(
            triggers.organisations[*org].segment,
            Some(suggested),
            "{org}"
        );
        assert!(triggers.organisations[*org].scores.is_empty());
    }
}

#[test]
fn a_segment_5_decision_places_an_organisation_whatever_its_scores() {
    let mut log = log();
    log.push(Event::SegmentDecided(SegmentDecided {
        org: "RA7".into(),
        segment: 5,
        rationale: "Provider Improvement Programme".into(),
    }));
    let oversight = assessed(&log.projection(), NATIONAL, "nof-2025-26");
    let ra7 = &oversight.organisations["RA7"];
    assert_eq!(ra7.placed, Some(5));
    assert_ne!(ra7.adjusted, Some(5), "its scores alone do not say 5");
    assert_eq!(
        ra7.decided.as_ref().map(|d| d.rationale.as_str()),
        Some("Provider Improvement Programme")
    );
    assert_eq!(ra7.position, Some(ra7.of), "last in its table");
}

#[test]
fn ranked_improvement_and_a_redefinition_take_effect_from_their_entry() {
    let mut log = log();
    // A&E in the quarter before (2024/25 Q4) for three trusts.
    for (org, march) in [("RA1", 800), ("RA2", 600), ("RA3", 810)] {
        log.send(
            org,
            "ae-monthly",
            "2025-03",
            vec![("ae_4hr", ratio(march, 1000))],
        );
    }
    let improvement = Methodology {
        id: "ae-improvement".into(),
        name: "A&E improvement".into(),
        version: 1,
        metrics: vec![ScoredMetric {
            framework_id: None,
            metric: "ae_4hr".into(),
            method: ScoringMethod::RankedImprovement { periods_back: 1 },
            peer_groups: vec![TrustType::Acute],
        }],
        segmentation: Segmentation::Quartiles,
        finance: None,
        quarters: vec![q1()],
    };
    log.push(Event::MethodologyDefined(improvement.clone()));
    let before_redefinition = log.projection();
    let oversight = assessed(&before_redefinition, NATIONAL, "ae-improvement");
    // Changes: RA1 89.0 - 80.0 = +9.0; RA2 71.0 - 60.0 = +11.0; RA3 80.0 - 81.0 = -1.0.
    let change = |org: &str| {
        oversight.organisations[org]
            .scores
            .first()
            .map(|s| (s.rank, s.of))
    };
    assert_eq!(change("RA2"), Some((1, 3)));
    assert_eq!(change("RA1"), Some((2, 3)));
    assert_eq!(change("RA3"), Some((3, 3)));
    assert_eq!(change("RA4"), None, "no basis quarter, not scored");
    let ra1 = &oversight.organisations["RA1"].scores[0];
    assert!((ra1.figure - 9.0).abs() < 1e-9);

    log.push(Event::MethodologyDefined(Methodology {
        version: 2,
        segmentation: Segmentation::Thresholds {
            upper: [1.0, 2.0, 3.0],
        },
        ..improvement
    }));
    let after = assessed(&log.projection(), NATIONAL, "ae-improvement");
    assert_eq!(after.version, 2);
    assert_eq!(
        after.organisations["RA1"].segment,
        Some(3),
        "score 2.5: above 2.0, not above 3.0"
    );
    // The projection before the redefinition still answers version 1: a function of the log.
    assert_eq!(
        assessed(&before_redefinition, NATIONAL, "ae-improvement").version,
        1
    );
}

//! Golden byte vectors: envelopes of every event kind, as this schema version writes them. The
//! committed files must decode to the same events forever; a change to the types that breaks them
//! breaks every stored log. `UPDATE_GOLDEN=1` writes the files of a new event kind and never touches existing ones.

use std::path::PathBuf;

use proto_schema::*;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden")
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).expect("fixture time")
}

fn date(text: &str) -> Date {
    Date::parse(text).expect("fixture date")
}

/// One envelope of each event kind, named for its file.
fn fixtures() -> Vec<(&'static str, Envelope)> {
    let ret = Return {
        submission_id: "RJ1-ae-monthly-2019-01-v1".into(),
        org: "RJ1".into(),
        collection: "ae-monthly".into(),
        period: Period::parse("2019-01").expect("fixture period"),
        values: vec![
            ("ae_12hr_dta".into(), Value::Count(3)),
            (
                "ae_4hr".into(),
                Value::Ratio {
                    numerator: Halves::whole(17020),
                    denominator: Halves::whole(21289),
                },
            ),
            (
                "ambulance_cat1".into(),
                Value::Duration {
                    seconds: 430,
                    cases: 1200,
                },
            ),
            (
                "cancer_62d".into(),
                Value::Ratio {
                    numerator: Halves(41),
                    denominator: Halves(50),
                },
            ),
            (
                "finance_surplus".into(),
                Value::Money {
                    pence: -120_000_000,
                },
            ),
        ],
    };
    let events = vec![
        (
            "return_submitted",
            Event::ReturnSubmitted(ReturnSubmitted { revision: 2, ret }),
        ),
        (
            "region_defined",
            Event::RegionDefined(Region {
                code: "Y56".into(),
                name: "London".into(),
            }),
        ),
        (
            "system_defined",
            Event::SystemDefined(System {
                code: "QMJ".into(),
                name: "QMJ".into(),
                region: "Y56".into(),
            }),
        ),
        (
            "organisation_registered",
            Event::OrganisationRegistered(Organisation {
                code: "00C".into(),
                name: "NHS DARLINGTON CCG".into(),
                role: OrgRole::Commissioner,
                system: "QHM".into(),
                region: "Y63".into(),
                opened: date("2013-04-01"),
                closed: Some(date("2020-03-31")),
            }),
        ),
        (
            "metric_defined",
            Event::MetricDefined(data_standard_v1().remove(0)),
        ),
        (
            "organisation_moved",
            Event::OrganisationMoved(OrganisationMoved {
                code: "RQW".into(),
                system: "QMJ".into(),
                region: "Y56".into(),
                from: Period::parse("2020-04").expect("fixture period"),
            }),
        ),
        (
            "plan_submitted",
            Event::PlanSubmitted(PlanSubmitted {
                revision: 1,
                plan: Plan {
                    submission_id: "RJ1-plan-2019-20-v1".into(),
                    org: "RJ1".into(),
                    plan: "2019-20".into(),
                    trajectories: [
                        (
                            "ae_4hr".to_owned(),
                            [
                                (
                                    Period::parse("2019-04").expect("fixture period"),
                                    Value::Ratio {
                                        numerator: Halves::whole(17500),
                                        denominator: Halves::whole(21000),
                                    },
                                ),
                                (
                                    Period::parse("2019-05").expect("fixture period"),
                                    Value::Ratio {
                                        numerator: Halves(35601),
                                        denominator: Halves::whole(21000),
                                    },
                                ),
                            ]
                            .into(),
                        ),
                        (
                            "finance_surplus".to_owned(),
                            [(
                                Period::parse("2019-04").expect("fixture period"),
                                Value::Money { pence: -5_000_000 },
                            )]
                            .into(),
                        ),
                    ]
                    .into(),
                },
            }),
        ),
        (
            "segment_decided",
            Event::SegmentDecided(SegmentDecided {
                org: "RJ1".into(),
                segment: 3,
                rationale: "A&E below standard for six months; agreed support plan".into(),
            }),
        ),
        (
            "collection_defined",
            Event::CollectionDefined(collections_v1().remove(0)),
        ),
    ];
    events
        .into_iter()
        .enumerate()
        .map(|(i, (name, event))| {
            (
                name,
                Envelope::seal(
                    i as u64 + 1,
                    at("2026-11-22T10:00:00.250Z"),
                    "golden".into(),
                    event,
                )
                .expect("seal"),
            )
        })
        .collect()
}

#[test]
fn golden_envelopes_decode_to_the_same_events() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for (name, envelope) in fixtures() {
        let bin_path = golden_dir().join(format!("{name}.bin"));
        let json_path = golden_dir().join(format!("{name}.json"));
        // Only new files are written: an existing vector is history, never regenerated.
        if update && !bin_path.exists() {
            std::fs::write(&bin_path, envelope.encode().expect("encode")).expect("write golden");
            let json = serde_json::to_string_pretty(&envelope).expect("encode json");
            std::fs::write(&json_path, json + "\n").expect("write golden");
        }
        let bytes = std::fs::read(&bin_path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (golden vectors are committed; UPDATE_GOLDEN=1 writes new ones)",
                bin_path.display()
            )
        });
        assert_eq!(Envelope::decode(&bytes), Ok(envelope.clone()), "{name}.bin");
        assert_eq!(
            envelope.encode().expect("encode"),
            bytes,
            "{name}.bin: encoding changed"
        );
        let json = std::fs::read_to_string(&json_path).expect("golden json");
        assert_eq!(
            serde_json::from_str::<Envelope>(&json).expect("json decodes"),
            envelope,
            "{name}.json"
        );
    }
}

#[test]
fn every_event_kind_has_a_golden_vector() {
    let kinds: Vec<&str> = fixtures().iter().map(|(_, e)| e.event.kind()).collect();
    let names: Vec<&str> = fixtures().iter().map(|(n, _)| *n).collect();
    assert_eq!(kinds, names);
    assert_eq!(
        kinds.len(),
        9,
        "a new event kind needs a golden vector here"
    );
}

#[test]
fn a_flipped_bit_is_caught_by_the_checksum() {
    for (name, envelope) in fixtures() {
        let bytes = envelope.encode().expect("encode");
        // Flip a bit inside the sender, which is still valid UTF-8 afterwards.
        let pos = bytes
            .windows(6)
            .position(|w| w == b"golden")
            .expect("sender in bytes");
        let mut corrupt = bytes.clone();
        corrupt[pos] ^= 0x02;
        assert!(
            matches!(
                Envelope::decode(&corrupt),
                Err(DecodeError::ChecksumMismatch { .. })
            ),
            "{name}"
        );
    }
}

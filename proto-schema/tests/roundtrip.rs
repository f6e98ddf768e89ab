//! Codec round trips over generated returns and envelopes, in both encodings.

use proptest::prelude::*;
use proto_schema::*;

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        (any::<i32>(), any::<i32>()).prop_map(|(n, d)| Value::Ratio {
            numerator: Halves(n.into()),
            denominator: Halves(d.into())
        }),
        any::<i64>().prop_map(Value::Count),
        any::<i64>().prop_map(|pence| Value::Money { pence }),
        (any::<i64>(), any::<i64>())
            .prop_map(|(seconds, cases)| Value::Duration { seconds, cases }),
    ]
}

fn period() -> impl Strategy<Value = Period> {
    prop_oneof![
        (1900i32..=9999, 1u8..=12).prop_map(|(year, month)| Period::Month { year, month }),
        (1900i32..=9998, 1u8..=52).prop_map(|(year, week)| Period::Week { year, week }),
        (-25_567i64..2_900_000).prop_map(|d| Period::Day(Date::from_days_since_epoch(d))),
    ]
}

fn ret() -> impl Strategy<Value = Return> {
    (
        "[A-Z0-9]{3,5}",
        "[a-z-]{1,20}",
        "\\PC{0,64}",
        period(),
        prop::collection::btree_map("[a-z0-9_]{1,12}", value(), 1..8),
    )
        .prop_map(|(org, collection, submission_id, period, values)| Return {
            submission_id,
            org,
            collection,
            period,
            values: values.into_iter().collect(),
        })
}

proptest! {
    #[test]
    fn envelopes_round_trip_in_both_encodings(seq in 1u64.., ms in -2_208_988_800_000i64..253_370_764_800_000, revision in 1u32.., r in ret()) {
        let envelope = Envelope::seal(seq, Timestamp(ms), r.org.clone(), Event::ReturnSubmitted(ReturnSubmitted { revision, ret: r })).expect("seal");
        prop_assert_eq!(Envelope::decode(&envelope.encode().expect("encode")), Ok(envelope.clone()));
        let json = serde_json::to_string(&envelope).expect("encodes");
        prop_assert_eq!(serde_json::from_str::<Envelope>(&json).expect("decodes"), envelope);
    }

    #[test]
    fn return_forms_round_trip(r in ret()) {
        let form = ReturnForm::from(&r);
        prop_assert_eq!(decode_return_form(&encode_return_form(&form)), Ok(form.clone()));
        let json = serde_json::to_string(&form).expect("encodes");
        prop_assert_eq!(serde_json::from_str::<ReturnForm>(&json).expect("decodes"), form);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Envelope::decode(&bytes);
        let _ = decode_return_form(&bytes);
    }
}

fn point_type() -> impl Strategy<Value = PointType> {
    prop_oneof![
        Just(PointType::CommonCause),
        Just(PointType::SpecialCauseImprovement),
        Just(PointType::SpecialCauseConcern),
        Just(PointType::SpecialCauseNeutralHigh),
        Just(PointType::SpecialCauseNeutralLow),
    ]
}

proptest! {
    /// A chart's points are held as a sorted vector but read, written and looked up as the map
    /// from period to point type they used to be, so no consumer sees the difference.
    #[test]
    fn chart_points_behave_as_a_map_of_periods(
        points in prop::collection::vec((period(), point_type()), 0..40),
        asked in period(),
    ) {
        let map: std::collections::BTreeMap<Period, PointType> = points.iter().copied().collect();
        let chart: ChartPoints = points.iter().copied().collect();
        prop_assert_eq!(chart.len(), map.len());
        prop_assert!(chart.iter().map(|(p, t)| (p, t)).eq(map.iter()));
        prop_assert_eq!(chart.get(&asked), map.get(&asked));
        let postcard = postcard::to_allocvec(&chart).expect("postcard");
        prop_assert_eq!(&postcard, &postcard::to_allocvec(&map).expect("postcard"));
        prop_assert_eq!(&postcard::from_bytes::<ChartPoints>(&postcard).expect("decodes"), &chart);
        let json = serde_json::to_string(&chart).expect("json");
        prop_assert_eq!(&json, &serde_json::to_string(&map).expect("json"));
        prop_assert_eq!(&serde_json::from_str::<ChartPoints>(&json).expect("parses"), &chart);
    }
}

//! Checks of reference-data commands (`oversight.admin.<command>`): registering an organisation
//! and moving one to another system or region. Pure, and every reason is reported at once.

use proto_schema::{
    check_text, Event, Methodology, Reason, ReasonCode, ScoringMethod, Segmentation, System,
    TrustTypeSet, MAX_NAME_CHARS, MAX_RATIONALE_CHARS, UNASSIGNED,
};

use crate::reference::Reference;

/// The longest organisation code accepted, in bytes (ODS codes are 3 to 5; sites up to 9).
const MAX_ORG_CODE_BYTES: usize = 16;

/// What to do with a reference-data command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Append it.
    Append,
    /// It changes nothing: already in force since this seq.
    AlreadyInForce(u64),
}

/// Checks a segment decision: a known organisation, a segment from 1 to 4, or 5 (intensive
/// support) with a rationale. Returns the organisation's region, whose team may decide 1 to 4;
/// the national team decides any, and alone decides 5.
pub fn check_segment(
    decided: &proto_schema::SegmentDecided,
    reference: &Reference,
) -> Result<String, Vec<Reason>> {
    let mut reasons = check_text("rationale", &decided.rationale, MAX_RATIONALE_CHARS);
    if !(1..=5).contains(&decided.segment) {
        reasons.push(Reason::new(
            ReasonCode::SegmentOutOfRange,
            "segment",
            format!(
                "segment {} is not one of 1 (no support needs) to 4, or 5 (intensive support, decided by the national team)",
                decided.segment
            ),
        ));
    }
    if decided.segment == 5 && decided.rationale.trim().is_empty() {
        reasons.push(Reason::new(
            ReasonCode::RationaleRequired,
            "rationale",
            "a segment 5 decision needs a rationale: say why intensive support is needed",
        ));
    }
    let region = match reference.organisation(&decided.org) {
        Some(org) => Some(org.region.clone()),
        None => {
            reasons.push(Reason::new(
                ReasonCode::UnknownOrganisation,
                "org",
                format!(
                    "no organisation with ODS code `{}` is registered",
                    decided.org
                ),
            ));
            None
        }
    };
    match region {
        Some(region) if reasons.is_empty() => Ok(region),
        _ => Err(reasons),
    }
}

/// Checks a methodology against the data standard held now: every metric it scores (and its
/// finance metric) defined, each with a peer group, scores and thresholds within 1.00 to 4.00 and
/// in order, and a version above the one in force. The same definition again is a duplicate.
pub fn check_methodology(
    methodology: &Methodology,
    reference: &Reference,
) -> Result<Decision, Vec<Reason>> {
    let mut reasons = check_text("name", &methodology.name, MAX_NAME_CHARS);
    let mut bad = |field: &str, message: String| {
        reasons.push(Reason::new(
            ReasonCode::MalformedMethodology,
            field,
            message,
        ));
    };
    if !Methodology::is_valid_id(&methodology.id) {
        bad(
            "id",
            format!(
                "methodology id `{}` must be 1 to 40 lower-case letters, digits and `-`, such as nof-2025-26",
                proto_schema::printable(&methodology.id)
            ),
        );
    }
    if !methodology.numbers_are_finite() {
        bad(
            "metrics",
            "every bound, score and threshold must be a finite number".into(),
        );
    }
    let is_score = |score: f64| (1.0..=4.0).contains(&score);
    let mut seen = std::collections::BTreeSet::new();
    for (i, scored) in methodology.metrics.iter().enumerate() {
        let field = format!("metrics[{i}]");
        if reference.metric(&scored.metric).is_none() {
            bad(
                &field,
                format!(
                    "no metric `{}` in the data standard",
                    proto_schema::printable(&scored.metric)
                ),
            );
        }
        if !seen.insert(scored.metric.as_str()) {
            bad(&field, format!("`{}` is scored twice", scored.metric));
        }
        if scored.peer_groups.is_empty() {
            bad(
                &field,
                "no peer groups: name the trust types scored on it".into(),
            );
        }
        if let Some(id) = &scored.framework_id {
            reasons_of_text(&mut bad, &field, id);
        }
        match &scored.method {
            ScoringMethod::Bands { bands, otherwise }
                if !is_score(*otherwise) || bands.iter().any(|b| !is_score(b.score)) =>
            {
                bad(&field, "band scores must be within 1.00 to 4.00".into());
            }
            ScoringMethod::RankedImprovement { periods_back }
                if !(1..=20).contains(periods_back) =>
            {
                bad(
                    &field,
                    format!("periods_back {periods_back} must be 1 to 20 quarters"),
                );
            }
            _ => {}
        }
    }
    match &methodology.segmentation {
        Segmentation::Thresholds { upper } => {
            let ordered = upper.windows(2).all(|w| w[0] < w[1]);
            if !ordered || !upper.iter().all(|u| is_score(*u)) {
                bad(
                    "segmentation",
                    "thresholds must rise within 1.00 to 4.00 (segment 1's upper bound first)"
                        .into(),
                );
            }
        }
        Segmentation::Quartiles | Segmentation::Triggers => {}
    }
    if methodology.metrics.is_empty() && methodology.segmentation != Segmentation::Triggers {
        bad(
            "metrics",
            "no metrics to score: name at least one, or segment by triggers".into(),
        );
    }
    if let Some(finance) = &methodology.finance {
        if reference.metric(&finance.metric).is_none() {
            bad(
                "finance",
                format!(
                    "no metric `{}` in the data standard",
                    proto_schema::printable(&finance.metric)
                ),
            );
        }
        if !(1..=4).contains(&finance.no_better_than) {
            bad(
                "finance",
                format!("no_better_than {} must be 1 to 4", finance.no_better_than),
            );
        }
    }
    match reference.methodology(&methodology.id) {
        Some((held, seq)) if held == methodology => return Ok(Decision::AlreadyInForce(*seq)),
        Some((held, _)) if methodology.version <= held.version => bad(
            "version",
            format!(
                "version {} is not above version {} in force: raise the version to redefine {}",
                methodology.version, held.version, methodology.id
            ),
        ),
        _ if methodology.version == 0 => bad("version", "versions start at 1".into()),
        _ => {}
    }
    if reasons.is_empty() {
        Ok(Decision::Append)
    } else {
        Err(reasons)
    }
}

fn reasons_of_text(bad: &mut impl FnMut(&str, String), field: &str, text: &str) {
    for reason in check_text(field, text, MAX_NAME_CHARS) {
        bad(field, reason.message);
    }
}

/// Checks an organisation's trust type: it must be registered. The same type again is a
/// duplicate.
pub fn check_trust_type(
    set: &TrustTypeSet,
    reference: &Reference,
) -> Result<Decision, Vec<Reason>> {
    if reference.organisation(&set.org).is_none() {
        return Err(vec![Reason::new(
            ReasonCode::UnknownOrganisation,
            "org",
            format!(
                "no organisation with ODS code `{}` is registered",
                proto_schema::printable(&set.org)
            ),
        )]);
    }
    match reference.trust_type(&set.org) {
        Some((held, seq)) if held == set.trust_type => Ok(Decision::AlreadyInForce(seq)),
        _ => Ok(Decision::Append),
    }
}

/// Checks a registration or a move against the reference data held now.
pub fn check_reference(event: &Event, reference: &Reference) -> Result<Decision, Vec<Reason>> {
    let mut reasons = Vec::new();
    if let Event::SystemDefined(system) = event {
        return check_system(system, reference);
    }
    let (code, system, region) = match event {
        Event::OrganisationRegistered(org) => {
            reasons.extend(check_text("name", &org.name, MAX_NAME_CHARS));
            if let Some(held) = reference.organisation(&org.code) {
                if (&held.region, &held.system) != (&org.region, &org.system) {
                    reasons.push(Reason::new(
                        ReasonCode::RegistrationMoves,
                        "region",
                        format!(
                            "`{}` is registered in region {} (system {}); registering it in {} ({}) would rewrite where its past returns count: send oversight.admin.move_organisation with the period it moves from",
                            org.code, held.region, held.system, org.region, org.system
                        ),
                    ));
                }
            }
            if org.closed.is_some_and(|closed| closed < org.opened) {
                reasons.push(Reason::new(
                    ReasonCode::ClosedBeforeOpened,
                    "closed",
                    format!(
                        "closed {} is before opened {}",
                        org.closed.map(|d| d.to_string()).unwrap_or_default(),
                        org.opened
                    ),
                ));
            }
            (&org.code, &org.system, &org.region)
        }
        Event::OrganisationMoved(moved) => {
            if reference.organisation(&moved.code).is_none() {
                reasons.push(Reason::new(
                    ReasonCode::UnknownOrganisation,
                    "code",
                    format!(
                        "no organisation `{}` to move; register it first",
                        moved.code
                    ),
                ));
            }
            (&moved.code, &moved.system, &moved.region)
        }
        other => {
            return Err(vec![Reason::new(
                ReasonCode::MalformedPayload,
                "",
                format!("`{}` is not a reference-data command", other.kind()),
            )])
        }
    };
    let code_ok = !code.is_empty()
        && code.len() <= MAX_ORG_CODE_BYTES
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !code_ok {
        reasons.push(Reason::new(
            ReasonCode::MalformedOrganisationCode,
            "code",
            format!("organisation code `{code}` must be 1 to {MAX_ORG_CODE_BYTES} upper-case letters and digits"),
        ));
    }
    if region != UNASSIGNED && reference.region(region).is_none() {
        reasons.push(Reason::new(
            ReasonCode::UnknownRegion,
            "region",
            format!(
                "no region `{region}`: use one of the seven (Y56, Y58 to Y63) or `{UNASSIGNED}`"
            ),
        ));
    }
    if system != UNASSIGNED {
        match reference.system(system) {
            None => reasons.push(Reason::new(
                ReasonCode::UnknownSystem,
                "system",
                format!("no system `{system}`; use `{UNASSIGNED}` when it is not known"),
            )),
            Some(s) if s.region != *region => reasons.push(Reason::new(
                ReasonCode::UnknownSystem,
                "system",
                format!("system `{system}` is in region {}, not {region}", s.region),
            )),
            Some(_) => {}
        }
    }
    if !reasons.is_empty() {
        return Err(reasons);
    }
    if let Event::OrganisationRegistered(org) = event {
        if reference.organisation(&org.code) == Some(org) {
            if let Some(seq) = reference.placed_at(&org.code) {
                return Ok(Decision::AlreadyInForce(seq));
            }
        }
    }
    Ok(Decision::Append)
}

/// A system (STP/ICS) defined or renamed: its region must exist.
fn check_system(system: &System, reference: &Reference) -> Result<Decision, Vec<Reason>> {
    let mut reasons = check_text("name", &system.name, MAX_NAME_CHARS);
    if !well_formed(&system.code) {
        reasons.push(Reason::new(
            ReasonCode::MalformedOrganisationCode,
            "code",
            format!(
                "system code `{}` must be 1 to {MAX_ORG_CODE_BYTES} upper-case letters and digits",
                system.code
            ),
        ));
    }
    if reference.region(&system.region).is_none() {
        reasons.push(Reason::new(
            ReasonCode::UnknownRegion,
            "region",
            format!(
                "no region `{}`: use one of the seven (Y56, Y58 to Y63)",
                system.region
            ),
        ));
    }
    if !reasons.is_empty() {
        return Err(reasons);
    }
    match (
        reference.system(&system.code),
        reference.system_defined_at(&system.code),
    ) {
        (Some(known), Some(seq)) if known == system => Ok(Decision::AlreadyInForce(seq)),
        _ => Ok(Decision::Append),
    }
}

fn well_formed(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_ORG_CODE_BYTES
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_schema::{Date, Envelope, OrgRole, Organisation, Region, Timestamp};

    fn reference() -> Reference {
        let mut reference = Reference::default();
        let events = [
            Event::RegionDefined(Region {
                code: "Y56".into(),
                name: "London".into(),
            }),
            Event::SystemDefined(System {
                code: "QMJ".into(),
                name: "QMJ".into(),
                region: "Y56".into(),
            }),
            Event::OrganisationRegistered(site("RJ1", "QMJ", "Y56")),
        ];
        for (i, event) in events.into_iter().enumerate() {
            reference.apply_entry(
                &Envelope::seal(i as u64 + 1, Timestamp(0), "test".into(), event)
                    .expect("a test entry encodes"),
            );
        }
        reference
    }

    fn site(code: &str, system: &str, region: &str) -> Organisation {
        Organisation {
            code: code.into(),
            name: code.into(),
            role: OrgRole::Provider,
            system: system.into(),
            region: region.into(),
            opened: Date::parse("1948-07-05").expect("date"),
            closed: None,
        }
    }

    fn codes(result: Result<Decision, Vec<Reason>>) -> Vec<ReasonCode> {
        result
            .err()
            .unwrap_or_default()
            .iter()
            .map(|r| r.code)
            .collect()
    }

    #[test]
    fn a_new_site_is_appended_and_a_repeat_is_already_in_force() {
        let r = reference();
        let new = Event::OrganisationRegistered(site("NLO12", UNASSIGNED, "Y56"));
        assert_eq!(check_reference(&new, &r), Ok(Decision::Append));
        let again = Event::OrganisationRegistered(site("RJ1", "QMJ", "Y56"));
        assert_eq!(check_reference(&again, &r), Ok(Decision::AlreadyInForce(3)));
    }

    #[test]
    fn every_problem_is_named() {
        let r = reference();
        let bad = Event::OrganisationRegistered(Organisation {
            closed: Some(Date::parse("1900-01-01").expect("date")),
            ..site("nlo 12", "QXX", "Y99")
        });
        assert_eq!(
            codes(check_reference(&bad, &r)),
            [
                ReasonCode::ClosedBeforeOpened,
                ReasonCode::MalformedOrganisationCode,
                ReasonCode::UnknownRegion,
                ReasonCode::UnknownSystem
            ]
        );
        let wrong_region = Event::OrganisationRegistered(site("NLO12", "QMJ", UNASSIGNED));
        assert_eq!(
            codes(check_reference(&wrong_region, &r)),
            [ReasonCode::UnknownSystem]
        );
    }

    #[test]
    fn a_registration_that_would_move_an_organisation_is_refused() {
        let r = reference();
        let elsewhere = Event::OrganisationRegistered(site("RJ1", UNASSIGNED, UNASSIGNED));
        assert_eq!(
            codes(check_reference(&elsewhere, &r)),
            [ReasonCode::RegistrationMoves]
        );
        let renamed = Event::OrganisationRegistered(Organisation {
            name: "Guy's and St Thomas'".into(),
            ..site("RJ1", "QMJ", "Y56")
        });
        assert_eq!(check_reference(&renamed, &r), Ok(Decision::Append));
    }

    #[test]
    fn names_and_rationales_are_one_bounded_line() {
        let r = reference();
        let forged = Event::OrganisationRegistered(Organisation {
            name: "Trust\nFAKE LINE".into(),
            ..site("NLO12", "QMJ", "Y56")
        });
        assert_eq!(
            codes(check_reference(&forged, &r)),
            [ReasonCode::ControlCharacter]
        );
        let essay = proto_schema::SegmentDecided {
            org: "RJ1".into(),
            segment: 3,
            rationale: "x".repeat(MAX_RATIONALE_CHARS + 1),
        };
        let refused = check_segment(&essay, &r).expect_err("too long");
        assert_eq!(refused[0].code, ReasonCode::TextTooLong);
    }

    fn with_the_data_standard(mut r: Reference) -> Reference {
        let mut seq = 100;
        for metric in proto_schema::data_standard_v1() {
            seq += 1;
            r.apply_entry(
                &Envelope::seal(
                    seq,
                    Timestamp(0),
                    "test".into(),
                    Event::MetricDefined(metric),
                )
                .expect("a test entry encodes"),
            );
        }
        r
    }

    #[test]
    fn the_shipped_methodologies_are_accepted_and_a_repeat_is_a_duplicate() {
        let mut r = with_the_data_standard(reference());
        for (i, methodology) in proto_schema::methodologies_v1().into_iter().enumerate() {
            assert_eq!(check_methodology(&methodology, &r), Ok(Decision::Append));
            let seq = 200 + i as u64;
            r.apply_entry(
                &Envelope::seal(
                    seq,
                    Timestamp(0),
                    "test".into(),
                    Event::MethodologyDefined(methodology.clone()),
                )
                .expect("a test entry encodes"),
            );
            assert_eq!(
                check_methodology(&methodology, &r),
                Ok(Decision::AlreadyInForce(seq))
            );
        }
    }

    #[test]
    fn a_methodology_that_cannot_be_scored_is_refused_with_every_reason() {
        let r = with_the_data_standard(reference());
        let mut bad = proto_schema::methodologies_v1().remove(1);
        bad.id = "NOF 2026".into();
        bad.metrics[0].metric = "ae_4hours".into();
        bad.metrics[1].peer_groups.clear();
        bad.segmentation = Segmentation::Thresholds {
            upper: [2.5, 1.75, f64::NAN],
        };
        bad.version = 0;
        let reasons = check_methodology(&bad, &r).expect_err("refused");
        let fields: Vec<&str> = reasons.iter().map(|r| r.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "id",
                "metrics",
                "metrics[0]",
                "metrics[1]",
                "segmentation",
                "version"
            ],
            "{reasons:?}"
        );
        assert!(reasons
            .iter()
            .all(|r| r.code == ReasonCode::MalformedMethodology));
    }

    #[test]
    fn a_redefinition_must_raise_the_version() {
        let mut r = with_the_data_standard(reference());
        let shipped = proto_schema::methodologies_v1().remove(0);
        r.apply(&Event::MethodologyDefined(shipped.clone()));
        let mut changed = shipped.clone();
        changed.segmentation = Segmentation::Thresholds {
            upper: [1.5, 2.5, 3.5],
        };
        assert_eq!(
            codes(check_methodology(&changed, &r)),
            [ReasonCode::MalformedMethodology]
        );
        changed.version = 2;
        assert_eq!(check_methodology(&changed, &r), Ok(Decision::Append));
    }

    #[test]
    fn segment_5_needs_a_rationale_and_6_is_out_of_range() {
        let r = reference();
        let decided = |segment, rationale: &str| proto_schema::SegmentDecided {
            org: "RJ1".into(),
            segment,
            rationale: rationale.into(),
        };
        assert_eq!(check_segment(&decided(5, "PIP"), &r), Ok("Y56".to_owned()));
        let codes_of = |d| {
            check_segment(&d, &r)
                .err()
                .unwrap_or_default()
                .iter()
                .map(|reason| reason.code)
                .collect::<Vec<_>>()
        };
        assert_eq!(codes_of(decided(5, " ")), [ReasonCode::RationaleRequired]);
        assert_eq!(codes_of(decided(6, "x")), [ReasonCode::SegmentOutOfRange]);
    }

    #[test]
    fn a_trust_type_is_set_only_for_a_registered_organisation() {
        let r = reference();
        let set = |org: &str| TrustTypeSet {
            org: org.into(),
            trust_type: proto_schema::TrustType::Acute,
        };
        assert_eq!(check_trust_type(&set("RJ1"), &r), Ok(Decision::Append));
        assert_eq!(
            codes(check_trust_type(&set("RZZ"), &r)),
            [ReasonCode::UnknownOrganisation]
        );
    }
}

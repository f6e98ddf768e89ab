//! Checks of reference-data commands (`oversight.admin.<command>`): registering an organisation
//! and moving one to another system or region. Pure, and every reason is reported at once.

use proto_schema::{
    check_text, Event, Reason, ReasonCode, System, MAX_NAME_CHARS, MAX_RATIONALE_CHARS, UNASSIGNED,
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

/// Checks a regional team's segment decision: a known organisation, a segment from 1 to 4.
/// Returns the organisation's region, whose team alone may decide.
pub fn check_segment(
    decided: &proto_schema::SegmentDecided,
    reference: &Reference,
) -> Result<String, Vec<Reason>> {
    let mut reasons = check_text("rationale", &decided.rationale, MAX_RATIONALE_CHARS);
    if !(1..=4).contains(&decided.segment) {
        reasons.push(Reason::new(
            ReasonCode::SegmentOutOfRange,
            "segment",
            format!(
                "segment {} is not one of 1 (no support needs) to 4 (intensive support)",
                decided.segment
            ),
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
}

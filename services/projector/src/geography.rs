//! Where each organisation counts: its placements over time, folded from reference events.

use std::collections::HashMap;

use proto_schema::{Date, Event, GeographyMode, Period, NATIONAL, UNASSIGNED};
use serde::{Deserialize, Serialize};

/// An organisation's system and region from a date on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// First day in this place; `None` for the placement it was registered with.
    pub from: Option<Date>,
    pub system: String,
    pub region: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Geography {
    /// Each organisation's placements, in order of `from` (the registered one first).
    placements: HashMap<String, Vec<Placement>>,
}

impl Geography {
    /// Applies a reference event; returns the organisation whose placement changed, if any.
    pub fn apply(&mut self, event: &Event) -> Option<String> {
        match event {
            Event::OrganisationRegistered(org) => {
                let base = Placement {
                    from: None,
                    system: org.system.clone(),
                    region: org.region.clone(),
                };
                let placements = self.placements.entry(org.code.clone()).or_default();
                match placements.first_mut() {
                    Some(first) if first.from.is_none() => *first = base,
                    _ => placements.insert(0, base),
                }
                Some(org.code.clone())
            }
            Event::OrganisationMoved(moved) => {
                let placement = Placement {
                    from: Some(moved.from.first_day()),
                    system: moved.system.clone(),
                    region: moved.region.clone(),
                };
                let placements = self.placements.entry(moved.code.clone()).or_default();
                placements.retain(|p| p.from != placement.from);
                let at = placements.partition_point(|p| p.from < placement.from);
                placements.insert(at, placement);
                Some(moved.code.clone())
            }
            _ => None,
        }
    }

    /// Where `org` counts for `period`: as reported, the placement in force on the period's first
    /// day; currently, its latest placement.
    pub fn placement(&self, org: &str, period: Period, mode: GeographyMode) -> Option<&Placement> {
        let placements = self.placements.get(org)?;
        match mode {
            GeographyMode::Current => placements.last(),
            GeographyMode::AsReported => {
                let day = Some(period.first_day());
                placements
                    .iter()
                    .rev()
                    .find(|p| p.from.is_none() || p.from <= day)
                    .or(placements.first())
            }
        }
    }

    /// The scopes a figure of `org` for `period` counts in: England, its region (or
    /// `unassigned`), its system when it has one, and the organisation itself.
    pub fn scopes(&self, org: &str, period: Period, mode: GeographyMode) -> Vec<String> {
        let mut scopes = vec![NATIONAL.to_owned()];
        match self.placement(org, period, mode) {
            Some(p) if !is_unassigned(&p.region) => {
                scopes.push(p.region.clone());
                if !is_unassigned(&p.system) && p.system != p.region {
                    scopes.push(p.system.clone());
                }
            }
            _ => scopes.push(UNASSIGNED.to_owned()),
        }
        if !scopes.iter().any(|s| s == org) {
            scopes.push(org.to_owned());
        }
        scopes
    }

    pub fn organisations(&self) -> impl Iterator<Item = &str> {
        self.placements.keys().map(String::as_str)
    }
}

fn is_unassigned(code: &str) -> bool {
    code.is_empty() || code == UNASSIGNED
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_schema::{OrgRole, Organisation, OrganisationMoved};

    fn period(text: &str) -> Period {
        Period::parse(text).expect("period")
    }

    fn geography() -> Geography {
        let mut geo = Geography::default();
        geo.apply(&Event::OrganisationRegistered(Organisation {
            code: "RQW".into(),
            name: "THE PRINCESS ALEXANDRA HOSPITAL".into(),
            role: OrgRole::Provider,
            system: "QHG".into(),
            region: "Y61".into(),
            opened: Date::parse("1995-04-01").expect("date"),
            closed: None,
        }));
        geo.apply(&Event::OrganisationMoved(OrganisationMoved {
            code: "RQW".into(),
            system: "QMJ".into(),
            region: "Y56".into(),
            from: period("2020-04"),
        }));
        geo
    }

    #[test]
    fn as_reported_follows_the_period_and_current_the_latest_move() {
        let geo = geography();
        let before = period("2020-03");
        let after = period("2020-04");
        assert_eq!(
            geo.scopes("RQW", before, GeographyMode::AsReported),
            ["national", "Y61", "QHG", "RQW"]
        );
        assert_eq!(
            geo.scopes("RQW", after, GeographyMode::AsReported),
            ["national", "Y56", "QMJ", "RQW"]
        );
        assert_eq!(
            geo.scopes("RQW", before, GeographyMode::Current),
            ["national", "Y56", "QMJ", "RQW"]
        );
    }

    #[test]
    fn an_unknown_or_unplaced_organisation_is_unassigned_not_dropped() {
        let geo = geography();
        assert_eq!(
            geo.scopes("NLO12", period("2019-01"), GeographyMode::AsReported),
            ["national", "unassigned", "NLO12"]
        );
    }
}

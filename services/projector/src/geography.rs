//! Where each organisation counts: its placements over time, folded from reference events.

use rustc_hash::FxHashMap as HashMap;

use proto_schema::{Date, Event, GeographyMode, Period, UNASSIGNED};
use serde::{Deserialize, Serialize};

use crate::names::{Id, Names};

/// The ids of England and of the `unassigned` scope, interned first by every projection.
pub const NATIONAL_ID: Id = 0;
pub const UNASSIGNED_ID: Id = 1;

/// An organisation's system and region from a date on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// First day in this place; `None` for the placement it was registered with.
    pub from: Option<Date>,
    /// The region's id, or `None` when no reference file places it.
    pub region: Option<Id>,
    /// The system's id, when it has one.
    pub system: Option<Id>,
}

/// The scopes one figure counts in: England, a region or `unassigned`, perhaps a system, and the
/// organisation itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scopes {
    ids: [Id; 4],
    len: usize,
}

impl Scopes {
    fn push(&mut self, id: Id) {
        if self.len < self.ids.len() && !self.ids[..self.len].contains(&id) {
            self.ids[self.len] = id;
            self.len += 1;
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Id> + '_ {
        self.ids[..self.len].iter().copied()
    }

    pub fn contains(&self, id: Id) -> bool {
        self.ids[..self.len].contains(&id)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Geography {
    /// Each organisation's placements, in order of `from` (the registered one first).
    placements: HashMap<Id, Vec<Placement>>,
}

fn place(names: &mut Names, code: &str) -> Option<Id> {
    (!code.is_empty() && code != UNASSIGNED).then(|| names.id(code))
}

impl Geography {
    /// Applies a reference event; returns the organisation whose placement changed, if any.
    pub fn apply(&mut self, event: &Event, names: &mut Names) -> Option<Id> {
        match event {
            Event::OrganisationRegistered(org) => {
                let code = names.id(&org.code);
                let base = Placement {
                    from: None,
                    region: place(names, &org.region),
                    system: place(names, &org.system),
                };
                let placements = self.placements.entry(code).or_default();
                match placements.first_mut() {
                    Some(first) if first.from.is_none() => *first = base,
                    _ => placements.insert(0, base),
                }
                Some(code)
            }
            Event::OrganisationMoved(moved) => {
                let code = names.id(&moved.code);
                let placement = Placement {
                    from: Some(moved.from.first_day()),
                    region: place(names, &moved.region),
                    system: place(names, &moved.system),
                };
                let placements = self.placements.entry(code).or_default();
                placements.retain(|p| p.from != placement.from);
                let at = placements.partition_point(|p| p.from < placement.from);
                placements.insert(at, placement);
                Some(code)
            }
            _ => None,
        }
    }

    /// Where `org` counts for `period`: as reported, the placement in force on the period's first
    /// day; currently, its latest placement.
    pub fn placement(&self, org: Id, period: Period, mode: GeographyMode) -> Option<&Placement> {
        let placements = self.placements.get(&org)?;
        match mode {
            GeographyMode::Current => placements.last(),
            GeographyMode::AsReported => {
                if placements.len() == 1 {
                    return placements.first();
                }
                let day = Some(period.first_day());
                placements
                    .iter()
                    .rev()
                    .find(|p| p.from.is_none() || p.from <= day)
                    .or(placements.first())
            }
        }
    }

    /// The scopes a figure of `org` for `period` counts in.
    pub fn scopes(&self, org: Id, period: Period, mode: GeographyMode) -> Scopes {
        let mut scopes = Scopes {
            ids: [0; 4],
            len: 0,
        };
        scopes.push(NATIONAL_ID);
        match self.placement(org, period, mode) {
            Some(Placement {
                region: Some(region),
                system,
                ..
            }) => {
                scopes.push(*region);
                if let Some(system) = system {
                    scopes.push(*system);
                }
            }
            _ => scopes.push(UNASSIGNED_ID),
        }
        scopes.push(org);
        scopes
    }

    /// Whether `id` names a registered organisation.
    pub fn is_organisation(&self, id: Id) -> bool {
        self.placements.contains_key(&id)
    }

    /// Whether `org` has ever had more than one placement (only then can its scopes differ by
    /// period or geography).
    pub fn has_moved(&self, org: Id) -> bool {
        self.placements.get(&org).is_some_and(|p| p.len() > 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_schema::{OrgRole, Organisation, OrganisationMoved, NATIONAL};

    fn period(text: &str) -> Period {
        Period::parse(text).expect("period")
    }

    fn geography(names: &mut Names) -> Geography {
        names.id(NATIONAL);
        names.id(UNASSIGNED);
        let mut geo = Geography::default();
        geo.apply(
            &Event::OrganisationRegistered(Organisation {
                code: "RQW".into(),
                name: "THE PRINCESS ALEXANDRA HOSPITAL".into(),
                role: OrgRole::Provider,
                system: "QHG".into(),
                region: "Y61".into(),
                opened: Date::parse("1995-04-01").expect("date"),
                closed: None,
            }),
            names,
        );
        geo.apply(
            &Event::OrganisationMoved(OrganisationMoved {
                code: "RQW".into(),
                system: "QMJ".into(),
                region: "Y56".into(),
                from: period("2020-04"),
            }),
            names,
        );
        geo
    }

    fn named(names: &Names, scopes: Scopes) -> Vec<&str> {
        scopes.iter().map(|id| names.name(id)).collect()
    }

    #[test]
    fn as_reported_follows_the_period_and_current_the_latest_move() {
        let mut names = Names::default();
        let geo = geography(&mut names);
        let rqw = names.id("RQW");
        let before = period("2020-03");
        let after = period("2020-04");
        assert_eq!(
            named(&names, geo.scopes(rqw, before, GeographyMode::AsReported)),
            ["national", "Y61", "QHG", "RQW"]
        );
        assert_eq!(
            named(&names, geo.scopes(rqw, after, GeographyMode::AsReported)),
            ["national", "Y56", "QMJ", "RQW"]
        );
        assert_eq!(
            named(&names, geo.scopes(rqw, before, GeographyMode::Current)),
            ["national", "Y56", "QMJ", "RQW"]
        );
    }

    #[test]
    fn an_unknown_or_unplaced_organisation_is_unassigned_not_dropped() {
        let mut names = Names::default();
        let geo = geography(&mut names);
        let site = names.id("NLO12");
        assert_eq!(
            named(
                &names,
                geo.scopes(site, period("2019-01"), GeographyMode::AsReported)
            ),
            ["national", "unassigned", "NLO12"]
        );
    }
}

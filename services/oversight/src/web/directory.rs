//! Where a scope sits: its name, the trail from England down to it and the scopes below it, from
//! the reference data as it stands now.

use std::sync::{Arc, RwLock};

use ingest::Reference;
use proto_schema::{NATIONAL, UNASSIGNED};

/// The reference data the pages name scopes from, shared with intake in `oversight serve`.
pub type Directory = Arc<RwLock<Reference>>;

/// What kind of scope a page is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    England,
    Region,
    System,
    Organisation,
    Unassigned,
}

/// A scope's place in the geography.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub kind: ScopeKind,
    pub name: String,
    /// (scope, name) from England down to this scope, this one last.
    pub trail: Vec<(String, String)>,
    /// (scope, name) of the scopes one level down, by name.
    pub children: Vec<(String, String)>,
}

/// The place of `scope`, if the reference data knows it.
pub fn place_of(reference: &Reference, scope: &str) -> Option<Place> {
    let england = (NATIONAL.to_owned(), "England".to_owned());
    let by_name = |mut list: Vec<(String, String)>| {
        list.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        list
    };
    if scope == NATIONAL {
        return Some(Place {
            kind: ScopeKind::England,
            name: "England".into(),
            trail: vec![england],
            children: by_name(
                reference
                    .regions()
                    .map(|r| (r.code.clone(), r.name.clone()))
                    .collect(),
            ),
        });
    }
    if scope == UNASSIGNED {
        return Some(Place {
            kind: ScopeKind::Unassigned,
            name: "Organisations not in a system".into(),
            trail: vec![england, (UNASSIGNED.into(), "Not in a system".into())],
            children: by_name(
                reference
                    .organisations()
                    .filter(|o| reference.system(&o.system).is_none())
                    .map(|o| (o.code.clone(), o.name.clone()))
                    .collect(),
            ),
        });
    }
    if let Some(region) = reference.region(scope) {
        return Some(Place {
            kind: ScopeKind::Region,
            name: region.name.clone(),
            trail: vec![england, (region.code.clone(), region.name.clone())],
            children: by_name(
                reference
                    .systems()
                    .filter(|s| s.region == region.code)
                    .map(|s| (s.code.clone(), s.name.clone()))
                    .collect(),
            ),
        });
    }
    let region_step = |code: &str| {
        let name = reference
            .region(code)
            .map_or_else(|| code.to_owned(), |r| r.name.clone());
        (code.to_owned(), name)
    };
    if let Some(system) = reference.system(scope) {
        return Some(Place {
            kind: ScopeKind::System,
            name: system.name.clone(),
            trail: vec![
                england,
                region_step(&system.region),
                (system.code.clone(), system.name.clone()),
            ],
            children: by_name(
                reference
                    .organisations()
                    .filter(|o| o.system == system.code)
                    .map(|o| (o.code.clone(), o.name.clone()))
                    .collect(),
            ),
        });
    }
    let org = reference.organisation(scope)?;
    let mut trail = vec![england, region_step(&org.region)];
    if let Some(system) = reference.system(&org.system) {
        trail.push((system.code.clone(), system.name.clone()));
    }
    trail.push((org.code.clone(), org.name.clone()));
    Some(Place {
        kind: ScopeKind::Organisation,
        name: org.name.clone(),
        trail,
        children: Vec::new(),
    })
}

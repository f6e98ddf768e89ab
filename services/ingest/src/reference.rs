//! The reference data validation checks against, folded from reference events of the log.

use std::collections::HashMap;

use proto_schema::{
    Collection, Envelope, Event, Methodology, Metric, Organisation, Region, System, TrustType,
};

/// Of `known`, the one nearest to `typed` by edit distance, if it is within a typing slip (one
/// edit in a short name, two in a longer one); ties go to the first in order, so the answer
/// does not depend on a map's order.
fn closest<'a>(typed: &str, known: impl Iterator<Item = &'a String>) -> Option<&'a str> {
    let slips = if typed.chars().count() <= 4 { 1 } else { 2 };
    known
        .map(|name| (strsim::damerau_levenshtein(typed, name), name.as_str()))
        .filter(|(distance, _)| *distance <= slips)
        .min()
        .map(|(_, name)| name)
}

#[derive(Debug, Default, Clone)]
pub struct Reference {
    regions: HashMap<String, Region>,
    systems: HashMap<String, System>,
    organisations: HashMap<String, Organisation>,
    metrics: HashMap<String, Metric>,
    collections: HashMap<String, Collection>,
    /// The seq of the entry that last placed each organisation, to answer a repeated
    /// registration with the original receipt.
    placed_at: HashMap<String, u64>,
    /// The seq of the entry that last defined each system.
    system_defined_at: HashMap<String, u64>,
    /// Each methodology in force, with the seq that defined it.
    methodologies: HashMap<String, (Methodology, u64)>,
    /// Each organisation's trust type as set, with the seq that set it.
    trust_types: HashMap<String, (TrustType, u64)>,
}

impl Reference {
    /// Applies one event; returns, plans and segment decisions are ignored.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::RegionDefined(r) => {
                self.regions.insert(r.code.clone(), r.clone());
            }
            Event::SystemDefined(s) => {
                self.systems.insert(s.code.clone(), s.clone());
            }
            Event::OrganisationRegistered(o) => {
                self.organisations.insert(o.code.clone(), o.clone());
            }
            Event::MetricDefined(m) => {
                self.metrics.insert(m.id.clone(), m.clone());
            }
            Event::CollectionDefined(c) => {
                self.collections.insert(c.id.clone(), c.clone());
            }
            Event::OrganisationMoved(m) => {
                if let Some(org) = self.organisations.get_mut(&m.code) {
                    org.system = m.system.clone();
                    org.region = m.region.clone();
                }
            }
            Event::MethodologyDefined(m) => {
                self.methodologies.insert(m.id.clone(), (m.clone(), 0));
            }
            Event::TrustTypeSet(t) => {
                self.trust_types.insert(t.org.clone(), (t.trust_type, 0));
            }
            Event::ReturnSubmitted(_) | Event::PlanSubmitted(_) | Event::SegmentDecided(_) => {}
        }
    }

    /// Applies a log entry, remembering where each organisation was last placed.
    pub fn apply_entry(&mut self, envelope: &Envelope) {
        match &envelope.event {
            Event::OrganisationRegistered(o) => {
                self.placed_at.insert(o.code.clone(), envelope.seq);
            }
            Event::OrganisationMoved(m) => {
                self.placed_at.insert(m.code.clone(), envelope.seq);
            }
            Event::SystemDefined(s) => {
                self.system_defined_at.insert(s.code.clone(), envelope.seq);
            }
            _ => {}
        }
        self.apply(&envelope.event);
        match &envelope.event {
            Event::MethodologyDefined(m) => {
                if let Some(held) = self.methodologies.get_mut(&m.id) {
                    held.1 = envelope.seq;
                }
            }
            Event::TrustTypeSet(t) => {
                if let Some(held) = self.trust_types.get_mut(&t.org) {
                    held.1 = envelope.seq;
                }
            }
            _ => {}
        }
    }

    /// The methodology `id` in force, with the seq that defined it.
    pub fn methodology(&self, id: &str) -> Option<&(Methodology, u64)> {
        self.methodologies.get(id)
    }

    /// Every methodology in force.
    pub fn methodologies(&self) -> impl Iterator<Item = &Methodology> {
        self.methodologies.values().map(|(m, _)| m)
    }

    /// Whether the log defines any methodology: a log written before methodologies were data
    /// has none, and is given the shipped ones at start-up.
    pub fn has_methodologies(&self) -> bool {
        !self.methodologies.is_empty()
    }

    /// Whether any trust type is set: a log written before trust types were data has none.
    pub fn has_trust_types(&self) -> bool {
        !self.trust_types.is_empty()
    }

    /// `org`'s trust type as set, with the seq that set it.
    pub fn trust_type(&self, org: &str) -> Option<(TrustType, u64)> {
        self.trust_types.get(org).copied()
    }

    /// The seq of the entry that last registered or moved `code`.
    pub fn placed_at(&self, code: &str) -> Option<u64> {
        self.placed_at.get(code).copied()
    }

    /// The seq of the entry that last defined system `code`.
    pub fn system_defined_at(&self, code: &str) -> Option<u64> {
        self.system_defined_at.get(code).copied()
    }

    pub fn region(&self, code: &str) -> Option<&Region> {
        self.regions.get(code)
    }

    pub fn system(&self, code: &str) -> Option<&System> {
        self.systems.get(code)
    }

    pub fn organisation(&self, code: &str) -> Option<&Organisation> {
        self.organisations.get(code)
    }

    pub fn metric(&self, id: &str) -> Option<&Metric> {
        self.metrics.get(id)
    }

    /// Every region, in no particular order.
    pub fn regions(&self) -> impl Iterator<Item = &Region> {
        self.regions.values()
    }

    /// Every system, in no particular order.
    pub fn systems(&self) -> impl Iterator<Item = &System> {
        self.systems.values()
    }

    /// Every organisation ever registered, where it is placed now, in no particular order.
    pub fn organisations(&self) -> impl Iterator<Item = &Organisation> {
        self.organisations.values()
    }

    pub fn collection(&self, id: &str) -> Option<&Collection> {
        self.collections.get(id)
    }

    /// Whether the log defines any collection: a log written before collections were data has
    /// none, and is given data standard v1's at start-up.
    pub fn has_collections(&self) -> bool {
        !self.collections.is_empty()
    }

    /// The collection id most like `id`, when one is close enough to be what was meant.
    pub fn collection_like(&self, id: &str) -> Option<&str> {
        closest(id, self.collections.keys())
    }

    /// The collection that carries `metric`, if one does (for "belongs in" messages).
    pub fn collection_of(&self, metric: &str) -> Option<&str> {
        let mut holding: Vec<&str> = self
            .collections
            .values()
            .filter(|c| c.metrics.iter().any(|m| m == metric))
            .map(|c| c.id.as_str())
            .collect();
        holding.sort_unstable();
        holding.first().copied()
    }

    /// The metric id most like `id`, when one is close enough to be what was meant.
    pub fn metric_like(&self, id: &str) -> Option<&str> {
        closest(id, self.metrics.keys())
    }

    /// The organisation code `code` most likely meant: the same in capitals, or one close to it.
    pub fn organisation_like(&self, code: &str) -> Option<&str> {
        let upper = code.to_ascii_uppercase();
        if let Some((known, _)) = self.organisations.get_key_value(&upper) {
            return Some(known);
        }
        closest(&upper, self.organisations.keys())
    }

    /// (regions, systems, organisations, metrics), for start-up logs.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        (
            self.regions.len(),
            self.systems.len(),
            self.organisations.len(),
            self.metrics.len(),
        )
    }
}

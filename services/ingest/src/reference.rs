//! The reference data validation checks against, folded from reference events of the log.

use std::collections::HashMap;

use proto_schema::{Envelope, Event, Metric, Organisation, Region, System};

#[derive(Debug, Default, Clone)]
pub struct Reference {
    regions: HashMap<String, Region>,
    systems: HashMap<String, System>,
    organisations: HashMap<String, Organisation>,
    metrics: HashMap<String, Metric>,
    /// The seq of the entry that last placed each organisation, to answer a repeated
    /// registration with the original receipt.
    placed_at: HashMap<String, u64>,
    /// The seq of the entry that last defined each system.
    system_defined_at: HashMap<String, u64>,
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
            Event::OrganisationMoved(m) => {
                if let Some(org) = self.organisations.get_mut(&m.code) {
                    org.system = m.system.clone();
                    org.region = m.region.clone();
                }
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

//! The reference data validation checks against, folded from reference events of the log.

use std::collections::HashMap;

use proto_schema::{Event, Metric, Organisation, Region, System};

#[derive(Debug, Default, Clone)]
pub struct Reference {
    regions: HashMap<String, Region>,
    systems: HashMap<String, System>,
    organisations: HashMap<String, Organisation>,
    metrics: HashMap<String, Metric>,
}

impl Reference {
    /// Applies one event; returns are ignored.
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
            Event::ReturnSubmitted(_) => {}
        }
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

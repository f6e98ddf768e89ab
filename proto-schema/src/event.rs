//! The events of the log. Variants are only ever appended: postcard names a variant by its index,
//! so reordering would change the meaning of every stored envelope (the golden vectors guard it).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::calendar::Period;
use crate::methodology::{Methodology, TrustTypeSet};
use crate::plan::PlanSubmitted;
use crate::reference::{Collection, Metric, Organisation, Region, System};
use crate::submission::Return;

/// A regional team's decision on an organisation's oversight segment, 1 (no support needs) to 4
/// (intensive support), shown beside the suggestion the triggers make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentDecided {
    pub org: String,
    pub segment: u8,
    /// Why, in the team's words (may be empty).
    #[serde(default)]
    pub rationale: String,
}

/// An organisation placed in another system (and so perhaps another region) from a period on.
/// Returns for earlier periods stay where they were reported; a view under today's geography
/// counts them in the new place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationMoved {
    pub code: String,
    pub system: String,
    pub region: String,
    /// The first period in the new place.
    pub from: Period,
}

/// A return accepted into the log, with its revision for its (organisation, collection, period).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnSubmitted {
    /// 1 for the first return of its (organisation, collection, period), then 2, 3, ...
    pub revision: u32,
    #[serde(rename = "return")]
    pub ret: Return,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub enum Event {
    ReturnSubmitted(ReturnSubmitted),
    RegionDefined(Region),
    SystemDefined(System),
    OrganisationRegistered(Organisation),
    MetricDefined(Metric),
    OrganisationMoved(OrganisationMoved),
    PlanSubmitted(PlanSubmitted),
    SegmentDecided(SegmentDecided),
    CollectionDefined(Collection),
    MethodologyDefined(Methodology),
    TrustTypeSet(TrustTypeSet),
}

impl Event {
    /// The event's kind as JSON names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::ReturnSubmitted(_) => "return_submitted",
            Event::RegionDefined(_) => "region_defined",
            Event::SystemDefined(_) => "system_defined",
            Event::OrganisationRegistered(_) => "organisation_registered",
            Event::MetricDefined(_) => "metric_defined",
            Event::OrganisationMoved(_) => "organisation_moved",
            Event::PlanSubmitted(_) => "plan_submitted",
            Event::SegmentDecided(_) => "segment_decided",
            Event::CollectionDefined(_) => "collection_defined",
            Event::MethodologyDefined(_) => "methodology_defined",
            Event::TrustTypeSet(_) => "trust_type_set",
        }
    }

    /// Whether the event changes reference data (geography or the data standard).
    pub fn is_reference(&self) -> bool {
        !matches!(
            self,
            Event::ReturnSubmitted(_) | Event::PlanSubmitted(_) | Event::SegmentDecided(_)
        )
    }
}

/// The JSON shape: the payload's fields with a `kind` beside them.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum EventJsonRef<'a> {
    ReturnSubmitted(&'a ReturnSubmitted),
    RegionDefined(&'a Region),
    SystemDefined(&'a System),
    OrganisationRegistered(&'a Organisation),
    MetricDefined(&'a Metric),
    OrganisationMoved(&'a OrganisationMoved),
    PlanSubmitted(&'a PlanSubmitted),
    SegmentDecided(&'a SegmentDecided),
    CollectionDefined(&'a Collection),
    MethodologyDefined(&'a Methodology),
    TrustTypeSet(&'a TrustTypeSet),
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum EventJson {
    ReturnSubmitted(ReturnSubmitted),
    RegionDefined(Region),
    SystemDefined(System),
    OrganisationRegistered(Organisation),
    MetricDefined(Metric),
    OrganisationMoved(OrganisationMoved),
    PlanSubmitted(PlanSubmitted),
    SegmentDecided(SegmentDecided),
    CollectionDefined(Collection),
    MethodologyDefined(Methodology),
    TrustTypeSet(TrustTypeSet),
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() {
            return Event::serialize(self, s);
        }
        match self {
            Event::ReturnSubmitted(e) => EventJsonRef::ReturnSubmitted(e),
            Event::RegionDefined(e) => EventJsonRef::RegionDefined(e),
            Event::SystemDefined(e) => EventJsonRef::SystemDefined(e),
            Event::OrganisationRegistered(e) => EventJsonRef::OrganisationRegistered(e),
            Event::MetricDefined(e) => EventJsonRef::MetricDefined(e),
            Event::OrganisationMoved(e) => EventJsonRef::OrganisationMoved(e),
            Event::PlanSubmitted(e) => EventJsonRef::PlanSubmitted(e),
            Event::SegmentDecided(e) => EventJsonRef::SegmentDecided(e),
            Event::CollectionDefined(e) => EventJsonRef::CollectionDefined(e),
            Event::MethodologyDefined(e) => EventJsonRef::MethodologyDefined(e),
            Event::TrustTypeSet(e) => EventJsonRef::TrustTypeSet(e),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Event, D::Error> {
        if !d.is_human_readable() {
            return Event::deserialize(d);
        }
        Ok(match EventJson::deserialize(d)? {
            EventJson::ReturnSubmitted(e) => Event::ReturnSubmitted(e),
            EventJson::RegionDefined(e) => Event::RegionDefined(e),
            EventJson::SystemDefined(e) => Event::SystemDefined(e),
            EventJson::OrganisationRegistered(e) => Event::OrganisationRegistered(e),
            EventJson::MetricDefined(e) => Event::MetricDefined(e),
            EventJson::OrganisationMoved(e) => Event::OrganisationMoved(e),
            EventJson::PlanSubmitted(e) => Event::PlanSubmitted(e),
            EventJson::SegmentDecided(e) => Event::SegmentDecided(e),
            EventJson::CollectionDefined(e) => Event::CollectionDefined(e),
            EventJson::MethodologyDefined(e) => Event::MethodologyDefined(e),
            EventJson::TrustTypeSet(e) => Event::TrustTypeSet(e),
        })
    }
}

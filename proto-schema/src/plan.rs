//! A plan: one organisation's trajectory per metric and period, for a planning round (the single
//! financial and operational plan). Plans follow the rules of returns: a client-chosen submission
//! id makes a retry safe, and a later plan for the same (organisation, plan) is a new revision that
//! replaces the earlier trajectory whole.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::calendar::Period;
use crate::envelope::{decode_versioned, DecodeError, SCHEMA_VERSION};
use crate::submission::values_in_order;
use crate::value::Value;

fn current_schema_version() -> u16 {
    SCHEMA_VERSION
}

/// A plan as submitted on `oversight.plan.<org>`, before validation:
///
/// ```json
/// {"submission_id": "RJ1-plan-2019-20-v1", "org": "RJ1", "plan": "2019-20",
///  "trajectories": {"ae_4hr": {"2019-04": {"numerator": 17500, "denominator": 21000}}}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanForm {
    #[serde(default = "current_schema_version")]
    pub schema_version: u16,
    pub submission_id: String,
    pub org: String,
    /// The planning round, such as `2019-20`: its latest revision counts.
    pub plan: String,
    /// Metric id to its trajectory, in the order given; duplicates kept for validation.
    #[serde(with = "values_in_order")]
    pub trajectories: Vec<(String, Trajectory)>,
}

/// One metric's planned figures: period (as written) to value, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Trajectory(#[serde(with = "values_in_order")] pub Vec<(String, Value)>);

/// A validated plan, as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub submission_id: String,
    pub org: String,
    pub plan: String,
    /// metric id -> period -> planned figure.
    pub trajectories: BTreeMap<String, BTreeMap<Period, Value>>,
}

/// A plan accepted into the log, with its revision for its (organisation, plan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSubmitted {
    pub revision: u32,
    pub plan: Plan,
}

impl From<&Plan> for PlanForm {
    fn from(p: &Plan) -> PlanForm {
        PlanForm {
            schema_version: SCHEMA_VERSION,
            submission_id: p.submission_id.clone(),
            org: p.org.clone(),
            plan: p.plan.clone(),
            trajectories: p
                .trajectories
                .iter()
                .map(|(metric, periods)| {
                    let points = periods
                        .iter()
                        .map(|(period, value)| (period.to_string(), *value))
                        .collect();
                    (metric.clone(), Trajectory(points))
                })
                .collect(),
        }
    }
}

/// Encodes a plan form in postcard, the default wire form of `oversight.plan.<org>`.
pub fn encode_plan_form(form: &PlanForm) -> Vec<u8> {
    // Encoding plain owned data into a Vec cannot fail.
    postcard::to_stdvec(form).unwrap_or_default()
}

/// Decodes a postcard plan form, checking the schema version first.
pub fn decode_plan_form(bytes: &[u8]) -> Result<PlanForm, DecodeError> {
    decode_versioned(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Halves;

    const EXAMPLE: &str = r#"{"submission_id": "RJ1-plan-2019-20-v1", "org": "RJ1",
        "plan": "2019-20",
        "trajectories": {"ae_4hr": {"2019-04": {"numerator": 17500, "denominator": 21000},
                                    "2019-05": {"numerator": 17800, "denominator": 21000}},
                         "finance_surplus": {"2019-04": {"pence": -5000000}}}}"#;

    #[test]
    fn reads_the_readme_example_and_round_trips() {
        let form: PlanForm = serde_json::from_str(EXAMPLE).expect("decodes");
        assert_eq!(form.plan, "2019-20");
        assert_eq!(form.trajectories.len(), 2);
        assert_eq!(form.trajectories[0].1 .0.len(), 2);
        assert_eq!(
            form.trajectories[0].1 .0[1],
            (
                "2019-05".to_owned(),
                Value::Ratio {
                    numerator: Halves::whole(17800),
                    denominator: Halves::whole(21000)
                }
            )
        );
        let bytes = encode_plan_form(&form);
        assert_eq!(decode_plan_form(&bytes), Ok(form.clone()));
        let json = serde_json::to_string(&form).expect("encodes");
        assert_eq!(serde_json::from_str::<PlanForm>(&json).expect("back"), form);
    }

    #[test]
    fn keeps_duplicate_periods_for_validation_and_refuses_unknown_fields() {
        let json = r#"{"submission_id":"a","org":"RJ1","plan":"p",
            "trajectories":{"ae_12hr_dta":{"2019-04":{"count":1},"2019-04":{"count":2}}}}"#;
        let form: PlanForm = serde_json::from_str(json).expect("decodes");
        assert_eq!(form.trajectories[0].1 .0.len(), 2);
        let extra = r#"{"submission_id":"a","org":"RJ1","plan":"p","trajectories":{},"x":1}"#;
        assert!(serde_json::from_str::<PlanForm>(extra).is_err());
    }
}

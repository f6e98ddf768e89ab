//! The NATS subjects of the public interface (listed in ARCHITECTURE.md, "Subjects"), in one
//! place.

/// A scope or organisation code as typed, in the form the subjects use: `national` and
/// `unassigned` in lower case, ODS codes (regions, systems, organisations) in capitals.
pub fn canonical_code(typed: &str) -> String {
    let typed = typed.trim();
    let lower = typed.to_ascii_lowercase();
    if lower == proto_schema::NATIONAL || lower == proto_schema::UNASSIGNED {
        lower
    } else {
        typed.to_ascii_uppercase()
    }
}

/// The reply subjects of a user's requests: a trust's account may receive replies only there.
pub fn inbox_prefix(user: &str) -> String {
    format!("_INBOX_{user}")
}

/// Prefix of `oversight.submit.<org>`.
pub const SUBMIT_PREFIX: &str = "oversight.submit.";
/// Every organisation's submit subject.
pub const SUBMIT_ALL: &str = "oversight.submit.*";
/// Prefix of `oversight.plan.<org>`.
pub const PLAN_PREFIX: &str = "oversight.plan.";
/// Every organisation's plan subject.
pub const PLAN_ALL: &str = "oversight.plan.*";

/// The plan subject of one organisation.
pub fn plan(org: &str) -> String {
    format!("{PLAN_PREFIX}{org}")
}

/// Prefix of the reference-data commands, `oversight.admin.<command>`.
pub const ADMIN_PREFIX: &str = "oversight.admin.";
pub const ADMIN_ALL: &str = "oversight.admin.*";
/// Registers (or re-registers) an organisation: an `Organisation`.
pub const REGISTER_ORGANISATION: &str = "register_organisation";
/// Defines (or renames) a system in a region: a `System`.
pub const DEFINE_SYSTEM: &str = "define_system";
/// A decision on an organisation's segment, 1 to 4 by its regional team, any (and 5) by the
/// national team: a `SegmentDecided`.
pub const DECIDE_SEGMENT: &str = "segment";
/// Moves an organisation from a period on: an `OrganisationMoved`.
pub const MOVE_ORGANISATION: &str = "move_organisation";
/// Defines (or, with a higher version, redefines) an oversight methodology: a `Methodology`.
pub const DEFINE_METHODOLOGY: &str = "define_methodology";
/// Sets an organisation's trust type, the peer group it is ranked in: a `TrustTypeSet`.
pub const SET_TRUST_TYPE: &str = "set_trust_type";
/// Looks organisations up, changing nothing: a list of codes, answered with the `Organisation`
/// in force for each code the service knows (the others are left out).
pub const LOOK_UP_ORGANISATIONS: &str = "organisations";

pub fn admin(command: &str) -> String {
    format!("{ADMIN_PREFIX}{command}")
}

/// Alerts of one scope.
pub fn alert(scope: &str) -> String {
    format!("oversight.alert.{scope}")
}

/// Committed envelopes, in seq order.
pub const LOG_EVENTS: &str = "oversight.log.events";
/// Catch-up reads: `{from, max}` -> envelopes.
pub const LOG_READ: &str = "oversight.log.read";
/// Every organisation's returns subject, `oversight.returns.<org>`: what it has sent.
pub const RETURNS_ALL: &str = "oversight.returns.*";
pub const RETURNS_PREFIX: &str = "oversight.returns.";

/// The subject of one organisation's returns as the log holds them.
pub fn returns(org: &str) -> String {
    format!("{RETURNS_PREFIX}{}", canonical_code(org))
}

/// The submit subject of one organisation.
pub fn submit(org: &str) -> String {
    format!("{SUBMIT_PREFIX}{org}")
}

/// Queue groups, so several instances share the work.
pub const INGEST_QUEUE: &str = "oversight-ingest";
pub const LOG_READ_QUEUE: &str = "oversight-log-read";

/// Every scope's snapshot subject, `oversight.view.<scope>.snapshot`.
pub const VIEW_SNAPSHOT_ALL: &str = "oversight.view.*.snapshot";
pub const VIEW_QUEUE: &str = "oversight-view";

pub fn view_snapshot(scope: &str) -> String {
    format!("oversight.view.{scope}.snapshot")
}

/// Deltas of one scope, postcard.
pub fn view_delta(scope: &str) -> String {
    format!("oversight.view.{scope}.delta")
}

/// The same deltas in JSON, for consumers that cannot read postcard.
pub fn view_delta_json(scope: &str) -> String {
    format!("oversight.view.{scope}.delta.json")
}

/// The scope named by a snapshot subject.
pub fn scope_of_snapshot(subject: &str) -> Option<&str> {
    subject
        .strip_prefix("oversight.view.")?
        .strip_suffix(".snapshot")
        .filter(|scope| !scope.is_empty() && !scope.contains('.'))
}

//! Who may do what (contract 6): the NATS accounts of each role, the subjects each user may use,
//! and the service's own second check of the sender the NATS server names.
//!
//! The services run in the [`SERVICES`] account and export their subjects; every other role is an
//! account that imports only what it may use, with `share: true`, so the server adds a
//! `Nats-Request-Info` header naming the requester's account and user to every request. A request
//! without that header came from inside the services' account.

use proto_schema::{Reason, ReasonCode};
use serde::Deserialize;

/// The services themselves (`oversight serve`, `oversight project`, operators' tools).
pub const SERVICES: &str = "OVERSIGHT";
/// Trusts and CCGs: one user per organisation, named by its ODS code.
pub const SUBMITTERS: &str = "SUBMITTERS";
/// Regional oversight teams: one user per region, `region-<code>`.
pub const REGIONS: &str = "REGIONS";
/// The national (corporate) team: every view.
pub const CORPORATE: &str = "CORPORATE";
/// The data-standards team: reference-data commands.
pub const DATA_STANDARDS: &str = "DATA_STANDARDS";

/// The header the NATS server adds to requests that cross into the services' account.
pub const REQUEST_INFO_HEADER: &str = "Nats-Request-Info";

/// The user of a regional team.
pub fn region_user(region: &str) -> String {
    format!("region-{region}")
}

pub use crate::subjects::inbox_prefix;

/// The sender of a request, as the NATS server names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Requester {
    #[serde(rename = "acc")]
    pub account: String,
    #[serde(default)]
    pub user: String,
}

impl Requester {
    /// The requester named by the server, or `None` for a request from inside the services'
    /// account (no header). A header that cannot be read names nobody allowed: an empty account.
    pub fn of(headers: Option<&async_nats::HeaderMap>) -> Option<Requester> {
        let info = headers?.get(REQUEST_INFO_HEADER)?;
        Some(serde_json::from_str(info.as_str()).unwrap_or(Requester {
            account: String::new(),
            user: String::new(),
        }))
    }
}

fn not_permitted(message: String) -> Reason {
    Reason::new(ReasonCode::NotPermitted, "", message)
}

/// A return on `oversight.submit.<org>`: only the organisation's own user may send it.
pub fn may_submit(requester: Option<&Requester>, org: &str) -> Result<(), Reason> {
    match requester {
        None => Ok(()),
        Some(r) if r.account == SUBMITTERS && r.user == org => Ok(()),
        Some(r) => Err(not_permitted(format!(
            "user `{}` of account `{}` may not submit for {org}; only {org}'s own user may",
            r.user, r.account
        ))),
    }
}

/// An organisation's returns on `oversight.returns.<org>`: a trust or CCG reads only its own;
/// the NATS permissions keep each regional team to its region's organisations.
pub fn may_read_returns(requester: Option<&Requester>, org: &str) -> Result<(), String> {
    match requester {
        Some(r) if r.account == SUBMITTERS && r.user != org => Err(format!(
            "user `{}` may not read {org}'s returns; only {org}'s own user, its region and the national team may",
            r.user
        )),
        Some(r) if r.account == DATA_STANDARDS || r.account.is_empty() => Err(format!(
            "user `{}` of account `{}` may not read organisations' returns",
            r.user, r.account
        )),
        _ => Ok(()),
    }
}

/// A segment decision: the team of the organisation's region may decide 1 to 4; the national
/// team may decide any segment, and only it may place an organisation in segment 5.
pub fn may_decide_segment(
    requester: Option<&Requester>,
    region: &str,
    segment: u8,
) -> Result<(), Reason> {
    match requester {
        None => Ok(()),
        Some(r) if r.account == CORPORATE => Ok(()),
        Some(r) if segment == 5 => Err(not_permitted(format!(
            "user `{}` of account `{}` may not place an organisation in segment 5; only the national team ({CORPORATE}) may",
            r.user, r.account
        ))),
        Some(r) if r.account == REGIONS && r.user == region_user(region) => Ok(()),
        Some(r) => Err(not_permitted(format!(
            "user `{}` of account `{}` may not decide segments in {region}; only {}'s team may",
            r.user,
            r.account,
            region_user(region)
        ))),
    }
}

/// A reference-data command: only the data-standards role may send one.
pub fn may_change_reference(requester: Option<&Requester>) -> Result<(), Reason> {
    match requester {
        None => Ok(()),
        Some(r) if r.account == DATA_STANDARDS => Ok(()),
        Some(r) => Err(not_permitted(format!(
            "user `{}` of account `{}` may not change reference data; only the data-standards role may",
            r.user, r.account
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(account: &str, user: &str) -> Requester {
        Requester {
            account: account.into(),
            user: user.into(),
        }
    }

    #[test]
    fn a_trust_submits_only_for_itself() {
        assert!(may_submit(Some(&from(SUBMITTERS, "RJ1")), "RJ1").is_ok());
        assert!(may_submit(Some(&from(SUBMITTERS, "RJ1")), "RJW").is_err());
        assert!(may_submit(Some(&from(REGIONS, "RJ1")), "RJ1").is_err());
        assert!(may_submit(None, "RJW").is_ok(), "the services' own account");
    }

    #[test]
    fn only_data_standards_change_reference_data() {
        assert!(may_change_reference(Some(&from(DATA_STANDARDS, "data-standards"))).is_ok());
        assert!(may_change_reference(Some(&from(CORPORATE, "corporate"))).is_err());
        assert!(may_change_reference(Some(&from(SUBMITTERS, "RJ1"))).is_err());
        assert!(may_change_reference(Some(&from("", ""))).is_err());
    }

    #[test]
    fn the_header_the_server_sends_is_read() {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(
            REQUEST_INFO_HEADER,
            r#"{"start":"2026-11-23T01:04:15.2Z","host":"127.0.0.1","id":7,"acc":"SUBMITTERS","user":"RJ1","kind":"Client"}"#,
        );
        assert_eq!(Requester::of(Some(&headers)), Some(from(SUBMITTERS, "RJ1")));
        assert_eq!(Requester::of(None), None);
    }
}

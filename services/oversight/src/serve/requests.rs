//! Intake's requests, each read once from its subject and checked before the writer sees it:
//! returns, plans, reference-data commands, segment decisions and look-ups.

use std::sync::RwLock;

use async_nats::Message;
use ingest::admin::{check_reference, Decision};
use ingest::writer::Work;
use ingest::{validate, Reference};
use proto_schema::{
    Event, Organisation, OrganisationMoved, Reason, ReasonCode, Receipt, System, Timestamp,
};

use crate::config::Config;
use crate::roles::{self, Requester};
use crate::subjects;
use crate::wire::{Encoding, ServiceError, Status};

/// Who reference-data commands from inside the services' account are recorded as sent by;
/// commands through the data-standards role are recorded under the user the server names.
const ADMIN_SENDER: &str = "oversight-admin";

/// What a message on one of intake's subjects asks for, read from its subject once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request<'a> {
    /// `oversight.submit.<org>`
    Return { org: &'a str },
    /// `oversight.plan.<org>`
    Plan { org: &'a str },
    /// `oversight.admin.segment`, a regional team's decision.
    DecideSegment,
    /// `oversight.admin.organisations`, a look-up that changes nothing.
    LookUpOrganisations,
    /// `oversight.admin.<command>`, reference data.
    Admin { command: &'a str },
}

impl<'a> Request<'a> {
    fn from_subject(subject: &'a str) -> Result<Request<'a>, Reason> {
        if let Some(org) = subject.strip_prefix(subjects::SUBMIT_PREFIX) {
            return names_an_organisation(subject, org).map(|org| Request::Return { org });
        }
        if let Some(org) = subject.strip_prefix(subjects::PLAN_PREFIX) {
            return names_an_organisation(subject, org).map(|org| Request::Plan { org });
        }
        match subject.strip_prefix(subjects::ADMIN_PREFIX) {
            Some(subjects::DECIDE_SEGMENT) => Ok(Request::DecideSegment),
            Some(subjects::LOOK_UP_ORGANISATIONS) => Ok(Request::LookUpOrganisations),
            Some(command) => Ok(Request::Admin { command }),
            None => Err(Reason::new(
                ReasonCode::MalformedSubject,
                "",
                format!("`{subject}` is not oversight.submit.<org>"),
            )),
        }
    }

    /// What it is, for messages.
    fn what(self) -> &'static str {
        match self {
            Request::Return { .. } => "return",
            Request::Plan { .. } => "plan",
            Request::DecideSegment => "segment decision",
            Request::LookUpOrganisations => "look-up",
            Request::Admin { .. } => "command",
        }
    }
}

/// The organisation a submit or plan subject names: one token, not a wildcard (a client may
/// publish on `oversight.submit.*` literally).
fn names_an_organisation<'a>(subject: &str, org: &'a str) -> Result<&'a str, Reason> {
    if org.is_empty() || org.contains(['*', '>', '.']) {
        return Err(Reason::new(
            ReasonCode::MalformedSubject,
            "",
            format!("`{subject}` names no organisation: send on oversight.submit.<ODS code>, such as oversight.submit.RJ1"),
        ));
    }
    Ok(org)
}

/// Everything that can be said about a message before the writer sees it: its subject, its
/// size, who sent it, and its content.
pub(super) fn check_request(
    message: &Message,
    reference: &RwLock<Reference>,
    config: &Config,
) -> Result<Checked, Vec<Reason>> {
    let request = Request::from_subject(&message.subject).map_err(|r| vec![r])?;
    let max = config.intake.max_payload_bytes as usize;
    if message.payload.len() > max {
        return Err(vec![Reason::new(
            ReasonCode::PayloadTooLarge,
            "",
            format!(
                "the {} is {} bytes; at most {max} are accepted",
                request.what(),
                message.payload.len()
            ),
        )]);
    }
    let requester = Requester::of(message.headers.as_ref());
    let encoding = Encoding::of(message.headers.as_ref());
    let read = || {
        reference
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    match request {
        Request::Return { org } => {
            roles::may_submit(requester.as_ref(), org).map_err(|reason| vec![reason])?;
            let form = encoding
                .decode_return(&message.payload)
                .map_err(|r| vec![r])?;
            validate(form, org, &read(), Timestamp::now().date())
                .map(|ret| Checked::Append(Work::Return(ret)))
        }
        Request::Plan { org } => {
            roles::may_submit(requester.as_ref(), org).map_err(|reason| vec![reason])?;
            let form = encoding
                .decode_plan(&message.payload)
                .map_err(|r| vec![r])?;
            ingest::validate_plan(form, org, &read()).map(|plan| Checked::Append(Work::Plan(plan)))
        }
        Request::DecideSegment => check_segment(message, requester, reference),
        Request::LookUpOrganisations => Ok(Checked::Reply(look_up_organisations(
            encoding,
            &message.payload,
            &read(),
        ))),
        Request::Admin { command } => check_admin(command, message, requester, reference),
    }
}

/// What intake does with a message: hand work to the writer, or answer at once.
pub(super) enum Checked {
    Append(Work),
    Answer(Receipt),
    /// A look-up's answer, or why it has none.
    Reply(Result<Vec<u8>, ServiceError>),
}

/// The organisations in force among the codes asked for, so a client (the importer) can tell
/// which it must register before it sends their returns, instead of having them refused.
fn look_up_organisations(
    encoding: Encoding,
    payload: &[u8],
    reference: &Reference,
) -> Result<Vec<u8>, ServiceError> {
    let codes: Vec<String> = encoding.decode(payload).map_err(|why| {
        ServiceError::new(
            Status::BadRequest,
            format!("a look-up is a list of organisation codes: {why}"),
        )
    })?;
    let known: Vec<&Organisation> = codes
        .iter()
        .filter_map(|code| reference.organisation(code))
        .collect();
    Ok(encoding.encode(&known))
}

/// A reference-data command on `oversight.admin.<command>`.
fn check_admin(
    command: &str,
    message: &Message,
    requester: Option<Requester>,
    reference: &RwLock<Reference>,
) -> Result<Checked, Vec<Reason>> {
    roles::may_change_reference(requester.as_ref()).map_err(|reason| vec![reason])?;
    let encoding = Encoding::of(message.headers.as_ref());
    let bad = |why: String| {
        let code = match encoding {
            Encoding::Json => ReasonCode::InvalidJson,
            Encoding::Postcard => ReasonCode::MalformedPayload,
        };
        vec![Reason::new(code, "", why)]
    };
    let event = match command {
        subjects::REGISTER_ORGANISATION => Event::OrganisationRegistered(
            encoding
                .decode::<Organisation>(&message.payload)
                .map_err(|why| bad(format!("not an organisation: {why}")))?,
        ),
        subjects::DEFINE_SYSTEM => Event::SystemDefined(
            encoding
                .decode::<System>(&message.payload)
                .map_err(|why| bad(format!("not a system: {why}")))?,
        ),
        subjects::MOVE_ORGANISATION => Event::OrganisationMoved(
            encoding
                .decode::<OrganisationMoved>(&message.payload)
                .map_err(|why| bad(format!("not a move: {why}")))?,
        ),
        subjects::DEFINE_METHODOLOGY => Event::MethodologyDefined(
            encoding
                .decode::<proto_schema::Methodology>(&message.payload)
                .map_err(|why| bad(format!("not a methodology: {why}")))?,
        ),
        subjects::SET_TRUST_TYPE => Event::TrustTypeSet(
            encoding
                .decode::<proto_schema::TrustTypeSet>(&message.payload)
                .map_err(|why| bad(format!("not a trust type: {why}")))?,
        ),
        other => {
            return Err(vec![Reason::new(
                ReasonCode::MalformedSubject,
                "",
                format!(
                    "no admin command `{other}`: use {}, {}, {}, {}, {} or {}",
                    subjects::REGISTER_ORGANISATION,
                    subjects::MOVE_ORGANISATION,
                    subjects::DEFINE_SYSTEM,
                    subjects::DEFINE_METHODOLOGY,
                    subjects::SET_TRUST_TYPE,
                    subjects::DECIDE_SEGMENT
                ),
            )])
        }
    };
    let reference = reference
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let decision = match &event {
        Event::MethodologyDefined(m) => ingest::admin::check_methodology(m, &reference)?,
        Event::TrustTypeSet(t) => ingest::admin::check_trust_type(t, &reference)?,
        _ => check_reference(&event, &reference)?,
    };
    Ok(match decision {
        Decision::Append => Checked::Append(Work::Reference {
            sender: requester
                .map(|r| r.user)
                .filter(|user| !user.is_empty())
                .unwrap_or_else(|| ADMIN_SENDER.to_owned()),
            event,
        }),
        Decision::AlreadyInForce(seq) => Checked::Answer(Receipt::accepted(seq, 1, true)),
    })
}

/// A regional team's segment decision on `oversight.admin.segment`.
fn check_segment(
    message: &Message,
    requester: Option<Requester>,
    reference: &RwLock<Reference>,
) -> Result<Checked, Vec<Reason>> {
    let encoding = Encoding::of(message.headers.as_ref());
    let decided = encoding
        .decode::<proto_schema::SegmentDecided>(&message.payload)
        .map_err(|why| {
            let code = match encoding {
                Encoding::Json => ReasonCode::InvalidJson,
                Encoding::Postcard => ReasonCode::MalformedPayload,
            };
            vec![Reason::new(
                code,
                "",
                format!("not a segment decision: {why}"),
            )]
        })?;
    let region = {
        let reference = reference
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        ingest::admin::check_segment(&decided, &reference)?
    };
    roles::may_decide_segment(requester.as_ref(), &region, decided.segment)
        .map_err(|reason| vec![reason])?;
    Ok(Checked::Append(Work::Reference {
        sender: requester
            .map(|r| r.user)
            .filter(|user| !user.is_empty())
            .unwrap_or_else(|| roles::region_user(&region)),
        event: Event::SegmentDecided(decided),
    }))
}

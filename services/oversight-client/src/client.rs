//! The Rust client of the service: requests on its subjects in either encoding, typed errors a
//! caller can act on (refused, not permitted, out of reach), and receipts.

use std::time::{Duration, Instant};

use async_nats::client::RequestErrorKind;
use bytes::Bytes;
use proto_schema::{
    encode_plan_form, encode_return_form, LogEntries, LogReadRequest, PlanForm, Receipt,
    ReturnForm, ReturnsPage, ReturnsRequest, SnapshotRequest, View,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::subjects;
use crate::wire::{Encoding, SERVICE_ERROR, SERVICE_ERROR_CODE};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to NATS at {url}: {message} (is nats-server running there?)")]
    Connect { url: String, message: String },
    #[error("NATS at {url} refused the user and password: {message} (check --user and --password, or NATS_USER and NATS_PASSWORD)")]
    Authentication { url: String, message: String },
    #[error("not permitted: {message}; this user may not send on {subject} (a trust or CCG sends only for itself, a regional team reads only its region)")]
    NotPermitted { subject: String, message: String },
    #[error("nobody answers on {subject}: is `oversight serve` running against this NATS server?")]
    NoResponders { subject: String },
    #[error("no answer on {subject} in time; the return may or may not be stored, so send it again with the same submission id")]
    TimedOut { subject: String },
    #[error("request on {subject} failed: {message}")]
    Request { subject: String, message: String },
    #[error("cannot read the reply on {subject}: {message}")]
    Decode { subject: String, message: String },
    #[error("the service answered {code}: {message}")]
    Service { code: String, message: String },
}

/// Where and as whom to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsTarget {
    pub url: String,
    /// With `password`, when the server requires a user (a trust's or CCG's is its ODS code).
    pub user: Option<String>,
    pub password: Option<String>,
    /// PEM file of the certificate authorities to trust; makes the connection TLS.
    pub tls_ca_file: Option<std::path::PathBuf>,
}

impl NatsTarget {
    pub fn anonymous(url: &str) -> NatsTarget {
        NatsTarget {
            url: url.to_owned(),
            user: None,
            password: None,
            tls_ca_file: None,
        }
    }
}

/// A connection to NATS, speaking the oversight subjects.
#[derive(Debug, Clone)]
pub struct Client {
    nats: async_nats::Client,
    /// The permission violations the server reported on this connection, latest last: a request
    /// the server refused to deliver is answered by nobody, so without these it would only time
    /// out.
    violations: tokio::sync::watch::Receiver<Vec<String>>,
}

/// How many permission violations a connection remembers.
const VIOLATIONS_HELD: usize = 16;

/// A sender of the server's permission violations, for a connection's event callback.
fn violation_channel() -> (
    std::sync::Arc<tokio::sync::watch::Sender<Vec<String>>>,
    tokio::sync::watch::Receiver<Vec<String>>,
) {
    let (tx, rx) = tokio::sync::watch::channel(Vec::new());
    (std::sync::Arc::new(tx), rx)
}

fn note_violation(violations: &tokio::sync::watch::Sender<Vec<String>>, event: &async_nats::Event) {
    if let async_nats::Event::ServerError(async_nats::ServerError::Other(message)) = event {
        if message.to_lowercase().contains("permissions violation") {
            violations.send_modify(|held| {
                held.push(message.clone());
                let excess = held.len().saturating_sub(VIOLATIONS_HELD);
                held.drain(..excess);
            });
        }
    }
}

/// Waits until the server reports a permission violation naming `subject`.
async fn violation_on(
    mut violations: tokio::sync::watch::Receiver<Vec<String>>,
    subject: &str,
) -> String {
    let quoted = format!("\"{subject}\"");
    loop {
        if violations.changed().await.is_err() {
            return std::future::pending().await;
        }
        if let Some(message) = violations
            .borrow_and_update()
            .iter()
            .rev()
            .find(|m| m.contains(&quoted) || m.ends_with(subject))
        {
            return message.clone();
        }
    }
}

impl Client {
    /// Connects without credentials, with `timeout` for connecting and for each request.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Client, ClientError> {
        Client::connect_as(&NatsTarget::anonymous(url), timeout).await
    }

    /// Connects as the user `args` name (if any), over TLS when it names a CA file.
    pub async fn connect_as(args: &NatsTarget, timeout: Duration) -> Result<Client, ClientError> {
        let (violations_tx, violations) = violation_channel();
        let mut options = async_nats::ConnectOptions::new()
            .name("oversight-client")
            .connection_timeout(timeout)
            .request_timeout(Some(timeout))
            .event_callback(move |event| {
                let violations = std::sync::Arc::clone(&violations_tx);
                async move { note_violation(&violations, &event) }
            });
        if let (Some(user), Some(password)) = (&args.user, &args.password) {
            options = options
                .user_and_password(user.clone(), password.clone())
                .custom_inbox_prefix(subjects::inbox_prefix(user));
        }
        if let Some(ca) = &args.tls_ca_file {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        let nats = options
            .connect(&args.url)
            .await
            .map_err(|e| match e.kind() {
                async_nats::ConnectErrorKind::AuthorizationViolation
                | async_nats::ConnectErrorKind::Authentication => ClientError::Authentication {
                    url: args.url.clone(),
                    message: e.to_string(),
                },
                _ => ClientError::Connect {
                    url: args.url.clone(),
                    message: e.to_string(),
                },
            })?;
        Ok(Client { nats, violations })
    }

    /// Speaks the oversight subjects over a connection made elsewhere (whose permission
    /// violations it does not see: its requests time out instead).
    pub fn over(nats: async_nats::Client) -> Client {
        let (_, violations) = violation_channel();
        Client { nats, violations }
    }

    pub fn nats(&self) -> &async_nats::Client {
        &self.nats
    }

    /// Sends raw bytes on `subject` in `encoding` and returns the reply's bytes.
    pub async fn request(
        &self,
        subject: String,
        encoding: Encoding,
        payload: Vec<u8>,
    ) -> Result<Bytes, ClientError> {
        let mut violations = self.violations.clone();
        violations.mark_unchanged();
        let request = self.nats.request_with_headers(
            subject.clone(),
            encoding.request_headers(),
            payload.into(),
        );
        let reply = tokio::select! {
            reply = request => reply,
            message = violation_on(violations, &subject) => {
                return Err(ClientError::NotPermitted { subject, message });
            }
        };
        let reply = reply.map_err(|e| match e.kind() {
            RequestErrorKind::NoResponders => ClientError::NoResponders {
                subject: subject.clone(),
            },
            RequestErrorKind::TimedOut => ClientError::TimedOut {
                subject: subject.clone(),
            },
            _ => ClientError::Request {
                subject: subject.clone(),
                message: e.to_string(),
            },
        })?;
        if let Some(headers) = &reply.headers {
            if let Some(message) = headers.get(SERVICE_ERROR) {
                let code = headers
                    .get(SERVICE_ERROR_CODE)
                    .map(|c| c.to_string())
                    .unwrap_or_default();
                return Err(ClientError::Service {
                    code,
                    message: message.to_string(),
                });
            }
        }
        Ok(reply.payload)
    }

    /// Submits one return in postcard, once.
    pub async fn submit(&self, form: &ReturnForm) -> Result<Receipt, ClientError> {
        self.postcard(subjects::submit(&form.org), encode_return_form(form))
            .await
    }

    /// Sends a reference-data command (`oversight.admin.<command>`) in postcard, retrying while
    /// the service is busy.
    pub async fn admin<T: Serialize>(
        &self,
        command: &str,
        body: &T,
    ) -> Result<Receipt, ClientError> {
        let subject = subjects::admin(command);
        let body = Encoding::Postcard.encode(body);
        retry_busy(20, || self.postcard(subject.clone(), body.clone())).await
    }

    /// The organisations the service knows among `codes`, as in force now.
    pub async fn look_up_organisations(
        &self,
        codes: &[String],
    ) -> Result<Vec<proto_schema::Organisation>, ClientError> {
        self.postcard(
            subjects::admin(subjects::LOOK_UP_ORGANISATIONS),
            Encoding::Postcard.encode(&codes),
        )
        .await
    }

    /// A postcard request and its decoded postcard reply.
    async fn postcard<R: DeserializeOwned>(
        &self,
        subject: String,
        body: Vec<u8>,
    ) -> Result<R, ClientError> {
        let reply = self
            .request(subject.clone(), Encoding::Postcard, body)
            .await?;
        Encoding::Postcard
            .decode(&reply)
            .map_err(|message| ClientError::Decode { subject, message })
    }

    /// Submits a JSON return as is (the service reports every problem with it) and decodes the JSON
    /// receipt.
    pub async fn submit_json(&self, org: &str, json: Vec<u8>) -> Result<Receipt, ClientError> {
        self.json_receipt(subjects::submit(org), json).await
    }

    /// Submits one plan in postcard, once.
    pub async fn submit_plan(&self, form: &PlanForm) -> Result<Receipt, ClientError> {
        self.postcard(subjects::plan(&form.org), encode_plan_form(form))
            .await
    }

    /// Submits a JSON plan as is and decodes the JSON receipt.
    pub async fn submit_plan_json(&self, org: &str, json: Vec<u8>) -> Result<Receipt, ClientError> {
        self.json_receipt(subjects::plan(org), json).await
    }

    async fn json_receipt(&self, subject: String, json: Vec<u8>) -> Result<Receipt, ClientError> {
        let reply = self.request(subject.clone(), Encoding::Json, json).await?;
        Encoding::Json
            .decode(&reply)
            .map_err(|message| ClientError::Decode { subject, message })
    }

    /// One scope's view (`oversight.view.<scope>.snapshot`), in postcard: every page of it, all
    /// at the first page's seq, when it is too large for one message.
    pub async fn snapshot(
        &self,
        scope: &str,
        request: &SnapshotRequest,
    ) -> Result<View, ClientError> {
        let mut view = self.snapshot_page(scope, request).await?;
        while let Some(after) = view.more_after.clone() {
            let next = SnapshotRequest {
                as_of_seq: Some(view.seq),
                as_of: None,
                after_metric: Some(after),
                ..request.clone()
            };
            let page = self.snapshot_page(scope, &next).await?;
            view.absorb_page(page);
        }
        Ok(view)
    }

    /// One message's worth of a scope's view: the whole view, or its first page (`more_after`
    /// says where the next resumes).
    pub async fn snapshot_page(
        &self,
        scope: &str,
        request: &SnapshotRequest,
    ) -> Result<View, ClientError> {
        self.postcard(
            subjects::view_snapshot(scope),
            Encoding::Postcard.encode(request),
        )
        .await
    }

    /// An organisation's returns as the log holds them, newest first.
    pub async fn returns(
        &self,
        org: &str,
        request: &ReturnsRequest,
    ) -> Result<ReturnsPage, ClientError> {
        self.postcard(subjects::returns(org), Encoding::Postcard.encode(request))
            .await
    }

    /// Reads up to `max` log entries from seq `from`.
    pub async fn read_log(&self, from: u64, max: u32) -> Result<LogEntries, ClientError> {
        self.postcard(
            subjects::LOG_READ.to_owned(),
            Encoding::Postcard.encode(&LogReadRequest { from, max }),
        )
        .await
    }
}

/// Retries `attempt` while the service answers "busy", waiting as it asks, at most `attempts` times.
pub async fn retry_busy<F, Fut>(attempts: u32, mut attempt: F) -> Result<Receipt, ClientError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Receipt, ClientError>>,
{
    let mut receipt = attempt().await?;
    for _ in 1..attempts {
        let Receipt::Busy { retry_after_ms } = receipt else {
            break;
        };
        tokio::time::sleep(Duration::from_millis(u64::from(retry_after_ms.max(1)))).await;
        receipt = attempt().await?;
    }
    Ok(receipt)
}

/// A submission id derived from the return's content: the same figures give the same id (a
/// resend is recognised as a duplicate), changed figures a new one (a new revision).
pub fn content_submission_id(form: &ReturnForm) -> String {
    let mut unnamed = form.clone();
    unnamed.submission_id = String::new();
    format!(
        "{}-{}-{}-{:08x}",
        form.org,
        form.collection,
        form.period,
        proto_schema::crc32(&encode_return_form(&unnamed))
    )
}

/// Polls the log until the service answers (it seeds an empty log first).
pub async fn wait_until_serving(client: &Client) -> anyhow::Result<()> {
    use anyhow::Context;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.read_log(1, 1).await {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => {
                return Err(e).context("the service did not start within 30 s")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

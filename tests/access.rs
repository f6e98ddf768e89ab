//! Access control (contract 6) with the generated nats-server configuration, against a real
//! nats-server: each role reaches only what is its own, and the service checks the sender again.

use std::time::Duration;

use futures_util::StreamExt;
use oversight::client::{Client, ClientError};
use oversight::config::NatsArgs;
use oversight::deploy::{NatsConfig, CORPORATE_USER, DATA_STANDARDS_USER, SERVICE_USER};
use proto_schema::{
    OrgRole, Organisation, ReasonCode, Receipt, ReturnForm, ReturnsRequest, SnapshotRequest, View,
    NATIONAL,
};

use crate::harness::{ae_return, data_dir, run_ok, NatsServer, Service};

/// A London trust, and one in the South West.
const LONDON_TRUST: &str = "RJ1";
const SOUTH_WEST_TRUST: &str = "R0D";

struct Deployment {
    nats: NatsServer,
    config: NatsConfig,
    _service: Service,
    _tmp: tempfile::TempDir,
}

impl Deployment {
    /// The generated configuration, changed by `edit` (to misconfigure it on purpose), served.
    async fn start(edit: impl FnOnce(String) -> String) -> Deployment {
        let tmp = tempfile::tempdir().expect("tempdir");
        let config =
            NatsConfig::generate(&ingest::seed::ReferenceFiles::bundled(), "127.0.0.1:4222")
                .expect("generate");
        let conf = tmp.path().join("nats-server.conf");
        std::fs::write(&conf, edit(config.server_conf().expect("conf"))).expect("write conf");
        let nats = NatsServer::start(&["-c", &conf.display().to_string()])
            .unwrap_or_else(|e| panic!("{e:#}"));
        let service_toml = tmp.path().join("oversight.toml");
        let service_user = config.user(SERVICE_USER).expect("service user");
        std::fs::write(
            &service_toml,
            format!(
                "version = 1\n[nats]\nuser = \"{SERVICE_USER}\"\npassword = \"{}\"\n",
                service_user.password
            ),
        )
        .expect("service config");
        let service = Service::start_with(
            &nats.url(),
            &data_dir(tmp.path()),
            &["--config", &service_toml.display().to_string()],
            "warn",
        );
        let deployment = Deployment {
            nats,
            config,
            _service: service,
            _tmp: tmp,
        };
        let operator = deployment.client(SERVICE_USER).await;
        oversight::client::wait_until_serving(&operator)
            .await
            .expect("serving");
        // And the views, which answer snapshots once they have caught up with the log.
        crate::harness::views_settled(&operator).await;
        deployment
    }

    async fn client(&self, user: &str) -> Client {
        let password = self
            .config
            .user(user)
            .unwrap_or_else(|| panic!("no user {user}"))
            .password
            .clone();
        let args = NatsArgs {
            user: Some(user.to_owned()),
            password: Some(password),
            ..NatsArgs::anonymous(&self.nats.url())
        };
        Client::connect_as(&args.target(), Duration::from_secs(2))
            .await
            .unwrap_or_else(|e| panic!("{user} connects: {e}"))
    }

    async fn last_seq(&self) -> u64 {
        self.client(SERVICE_USER)
            .await
            .read_log(1, 1)
            .await
            .expect("log")
            .last_seq
    }
}

fn return_of(org: &str, id: &str) -> ReturnForm {
    let mut form = ae_return(id, "2021-01", 1000);
    form.org = org.to_owned();
    form
}

async fn snapshot(client: &Client, scope: &str) -> Result<View, oversight::client::ClientError> {
    client.snapshot(scope, &SnapshotRequest::default()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trust_submits_only_for_itself_and_cannot_change_reference_data() {
    let deployment = Deployment::start(|conf| conf).await;
    let trust = deployment.client(LONDON_TRUST).await;
    let before = deployment.last_seq().await;

    let own = trust
        .submit(&return_of(LONDON_TRUST, "own-1"))
        .await
        .expect("own return");
    assert!(
        matches!(
            own,
            Receipt::Accepted {
                duplicate: false,
                ..
            }
        ),
        "{own:?}"
    );
    // Another trust's subject: the server refuses the publish and says so, at once rather than
    // when the request would time out.
    let asked = std::time::Instant::now();
    let other = trust.submit(&return_of(SOUTH_WEST_TRUST, "other-1")).await;
    assert!(
        matches!(&other, Err(ClientError::NotPermitted { subject, .. }) if subject.ends_with(SOUTH_WEST_TRUST)),
        "{other:?}"
    );
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    // Its own subject naming another organisation in the return: rejected by the service.
    let mut mislabelled = return_of(SOUTH_WEST_TRUST, "other-2");
    mislabelled.org = SOUTH_WEST_TRUST.into();
    let json = serde_json::to_vec(&mislabelled).expect("json");
    let answer = trust
        .request(
            oversight::subjects::submit(LONDON_TRUST),
            oversight::wire::Encoding::Json,
            json,
        )
        .await
        .expect("an answer on its own subject");
    let receipt: Receipt = serde_json::from_slice(&answer).expect("receipt");
    assert!(
        matches!(&receipt, Receipt::Rejected { reasons } if reasons[0].code == ReasonCode::OrgMismatch),
        "{receipt:?}"
    );
    // Reference data is the data-standards role's.
    let org = Organisation {
        code: "ZZZ1".into(),
        name: "Not a trust".into(),
        role: OrgRole::Provider,
        system: "unassigned".into(),
        region: "Y56".into(),
        opened: proto_schema::Date::parse("2020-01-01").expect("date"),
        closed: None,
    };
    let admin = trust.admin("register_organisation", &org).await;
    assert!(
        matches!(admin, Err(ClientError::NotPermitted { .. })),
        "{admin:?}"
    );

    // The same from the command line: its own exit status, and words that say what happened.
    let password = deployment
        .config
        .user(LONDON_TRUST)
        .expect("trust user")
        .password
        .clone();
    let url = deployment.nats.url();
    let submit_as = |password: &str, org: &str| {
        crate::exit_status::oversight(&[
            "submit",
            "--nats",
            &url,
            "--user",
            LONDON_TRUST,
            "--password",
            password,
            "--timeout",
            "5",
            "--org",
            org,
            "--collection",
            "ae-monthly",
            "--period",
            "2021-02",
            "--value",
            "ae_12hr_dta=1",
        ])
    };
    let (code, stderr) = submit_as(&password, SOUTH_WEST_TRUST);
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains("not permitted"), "{stderr}");
    let (code, stderr) = submit_as("not-the-password", LONDON_TRUST);
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains("refused the user and password"), "{stderr}");

    assert_eq!(
        deployment.last_seq().await,
        before + 1,
        "only the trust's own return was appended"
    );

    let standards = deployment.client(DATA_STANDARDS_USER).await;
    let registered = standards
        .admin("register_organisation", &org)
        .await
        .expect("data standards may");
    assert!(
        matches!(registered, Receipt::Accepted { .. }),
        "{registered:?}"
    );
    let page = deployment
        .client(SERVICE_USER)
        .await
        .read_log(before + 2, 1)
        .await
        .expect("log");
    assert_eq!(
        page.entries[0].sender, DATA_STANDARDS_USER,
        "recorded as sent by the user the server named"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_checks_the_sender_again_when_nats_lets_too_much_through() {
    // Misconfigured on purpose: RJ1 may publish on every submit subject, and trusts may send
    // admin commands.
    let deployment = Deployment::start(|conf| {
        conf.replace(
            "allow: [\"oversight.submit.RJ1\", \"oversight.plan.RJ1\", \"oversight.returns.RJ1\"]",
            "allow: [\"oversight.submit.*\", \"oversight.admin.*\", \"oversight.returns.*\"]",
        )
        .replacen(
            "{service: {account: OVERSIGHT, subject: \"oversight.submit.*\"}, share: true}",
            "{service: {account: OVERSIGHT, subject: \"oversight.submit.*\"}, share: true}\n      {service: {account: OVERSIGHT, subject: \"oversight.admin.*\"}, share: true}",
            1,
        )
    })
    .await;
    let trust = deployment.client(LONDON_TRUST).await;
    let before = deployment.last_seq().await;
    let receipt = trust
        .submit(&return_of(SOUTH_WEST_TRUST, "sneaky-1"))
        .await
        .expect("the service answers");
    assert!(
        matches!(&receipt, Receipt::Rejected { reasons } if reasons[0].code == ReasonCode::NotPermitted),
        "{receipt:?}"
    );
    let moved = proto_schema::OrganisationMoved {
        code: LONDON_TRUST.into(),
        system: String::new(),
        region: "Y58".into(),
        from: proto_schema::Period::parse("2021-01").expect("period"),
    };
    let receipt = trust
        .admin("move_organisation", &moved)
        .await
        .expect("the service answers");
    assert!(
        matches!(&receipt, Receipt::Rejected { reasons } if reasons[0].code == ReasonCode::NotPermitted),
        "{receipt:?}"
    );
    assert_eq!(deployment.last_seq().await, before, "nothing appended");
    let others = trust
        .returns(SOUTH_WEST_TRUST, &ReturnsRequest::default())
        .await;
    assert!(
        matches!(&others, Err(ClientError::Service { code, .. }) if code == "403"),
        "{others:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trust_reads_its_own_returns_its_region_and_corporate_read_them_and_no_one_else() {
    let deployment = Deployment::start(|conf| conf).await;
    let trust = deployment.client(LONDON_TRUST).await;
    let mut sent = Vec::new();
    for (id, period) in [("r-1", "2021-01"), ("r-2", "2021-02"), ("r-1b", "2021-01")] {
        let mut form = return_of(LONDON_TRUST, id);
        form.period = period.into();
        match trust.submit(&form).await.expect("submit") {
            Receipt::Accepted { seq, .. } => sent.push(seq),
            other => panic!("{id}: {other:?}"),
        }
    }
    let south_west = deployment.client(SOUTH_WEST_TRUST).await;
    south_west
        .submit(&return_of(SOUTH_WEST_TRUST, "sw-1"))
        .await
        .expect("submit");

    let own = trust
        .returns(LONDON_TRUST, &ReturnsRequest::default())
        .await
        .expect("a trust reads its own returns");
    let listed: Vec<(u64, &str, u32, bool)> = own
        .returns
        .iter()
        .map(|r| (r.seq, r.ret.submission_id.as_str(), r.revision, r.in_force))
        .collect();
    assert_eq!(
        listed,
        [
            (sent[2], "r-1b", 2, true),
            (sent[1], "r-2", 1, true),
            (sent[0], "r-1", 1, false)
        ]
    );
    assert!(own.returns.iter().all(|r| r.sender == LONDON_TRUST));

    let refused = trust
        .returns(SOUTH_WEST_TRUST, &ReturnsRequest::default())
        .await;
    assert!(
        matches!(refused, Err(ClientError::NotPermitted { .. })),
        "a trust must not read another's returns: {refused:?}"
    );
    let london = deployment.client("region-Y56").await;
    let region_reads = london
        .returns(LONDON_TRUST, &ReturnsRequest::default())
        .await
        .expect("London's team reads its trust's returns");
    assert_eq!(region_reads.returns.len(), 3);
    let refused = london
        .returns(SOUTH_WEST_TRUST, &ReturnsRequest::default())
        .await;
    assert!(
        matches!(refused, Err(ClientError::NotPermitted { .. })),
        "London's team must not read the South West's returns: {refused:?}"
    );
    let corporate = deployment.client(CORPORATE_USER).await;
    let all = corporate
        .returns(SOUTH_WEST_TRUST, &ReturnsRequest::default())
        .await
        .expect("corporate reads every organisation's returns");
    assert_eq!(all.returns.len(), 1);
    assert_eq!(all.returns[0].ret.submission_id, "sw-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regional_team_reads_only_its_region_and_corporate_reads_all() {
    let deployment = Deployment::start(|conf| conf).await;
    let london = deployment.client("region-Y56").await;
    let corporate = deployment.client(CORPORATE_USER).await;

    for scope in ["Y56", LONDON_TRUST] {
        let view = snapshot(&london, scope).await;
        assert!(view.is_ok(), "London reads {scope}: {view:?}");
    }
    for scope in ["Y58", NATIONAL, SOUTH_WEST_TRUST] {
        let view = snapshot(&london, scope).await;
        assert!(view.is_err(), "London must not read {scope}: {view:?}");
    }
    for scope in [NATIONAL, "Y56", "Y58", SOUTH_WEST_TRUST] {
        let view = snapshot(&corporate, scope).await;
        assert!(view.is_ok(), "corporate reads {scope}: {view:?}");
    }

    // Deltas: London's team subscribes to its own region and (refused) to the South West's.
    let mut london_own = london
        .nats()
        .subscribe(oversight::subjects::view_delta("Y56"))
        .await
        .expect("subscribe");
    let mut london_other = london
        .nats()
        .subscribe(oversight::subjects::view_delta("Y58"))
        .await
        .expect("the client sends it; the server refuses it");
    let mut corporate_other = corporate
        .nats()
        .subscribe(oversight::subjects::view_delta("Y58"))
        .await
        .expect("subscribe");
    london.nats().flush().await.expect("flush");
    corporate.nats().flush().await.expect("flush");

    let south_west = deployment.client(SOUTH_WEST_TRUST).await;
    south_west
        .submit(&return_of(SOUTH_WEST_TRUST, "sw-1"))
        .await
        .expect("submit");
    let london_trust = deployment.client(LONDON_TRUST).await;
    london_trust
        .submit(&return_of(LONDON_TRUST, "ldn-1"))
        .await
        .expect("submit");

    let wait = Duration::from_secs(10);
    let seen = tokio::time::timeout(wait, corporate_other.next()).await;
    assert!(
        matches!(seen, Ok(Some(_))),
        "corporate sees the South West's delta"
    );
    let own = tokio::time::timeout(wait, london_own.next()).await;
    assert!(matches!(own, Ok(Some(_))), "London sees its own delta");
    // Both deltas were published by now; the refused subscription never delivers.
    let other = tokio::time::timeout(Duration::from_secs(1), london_other.next()).await;
    assert!(
        !matches!(other, Ok(Some(_))),
        "London must not see the South West's delta"
    );
}

/// A segment decision comes only from the team of the organisation's region: another region's
/// team is refused by the service, a trust by NATS itself, and London's is recorded as its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_organisation_s_regional_team_decides_its_segment() {
    let deployment = Deployment::start(|conf| conf).await;
    let decision = proto_schema::SegmentDecided {
        org: LONDON_TRUST.into(),
        segment: 3,
        rationale: "A&E below standard".into(),
    };
    let before = deployment.last_seq().await;

    let south_west = deployment.client("region-Y58").await;
    let receipt = south_west
        .admin("segment", &decision)
        .await
        .expect("the service answers");
    assert!(
        matches!(&receipt, Receipt::Rejected { reasons } if reasons[0].code == ReasonCode::NotPermitted),
        "{receipt:?}"
    );
    let trust = deployment.client(LONDON_TRUST).await;
    assert!(trust.admin("segment", &decision).await.is_err());
    assert_eq!(deployment.last_seq().await, before, "nothing appended");

    let london = deployment.client("region-Y56").await;
    let receipt = london
        .admin("segment", &decision)
        .await
        .expect("the service answers");
    assert!(matches!(receipt, Receipt::Accepted { .. }), "{receipt:?}");
    let page = deployment
        .client(SERVICE_USER)
        .await
        .read_log(before + 1, 1)
        .await
        .expect("log");
    assert_eq!(page.entries[0].sender, "region-Y56");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_and_wrong_passwords_are_refused() {
    let deployment = Deployment::start(|conf| conf).await;
    let anonymous = Client::connect(&deployment.nats.url(), Duration::from_secs(2)).await;
    assert!(anonymous.is_err(), "no credentials");
    let wrong = NatsArgs {
        user: Some(LONDON_TRUST.into()),
        password: Some("not-the-password".into()),
        ..NatsArgs::anonymous(&deployment.nats.url())
    };
    let refused = Client::connect_as(&wrong.target(), Duration::from_secs(2)).await;
    assert!(refused.is_err(), "wrong password");
}

#[test]
fn the_example_configuration_is_one_nats_server_accepts() {
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nats/example.conf");
    let bin = std::env::var(natsd::NATS_SERVER_BIN).unwrap_or("nats-server".into());
    run_ok(
        std::process::Command::new(&bin)
            .arg("-t")
            .arg("-c")
            .arg(&example),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_5_is_the_national_team_s_decision_and_needs_a_rationale() {
    let deployment = Deployment::start(|conf| conf).await;
    let intensive = |rationale: &str| proto_schema::SegmentDecided {
        org: LONDON_TRUST.into(),
        segment: 5,
        rationale: rationale.into(),
    };
    let before = deployment.last_seq().await;
    let codes = |receipt: &Receipt| match receipt {
        Receipt::Rejected { reasons } => reasons.iter().map(|r| r.code).collect::<Vec<_>>(),
        other => panic!("expected a rejection, got {other:?}"),
    };

    let london = deployment.client("region-Y56").await;
    let receipt = london
        .admin("segment", &intensive("Recovery support programme"))
        .await
        .expect("the service answers");
    assert_eq!(codes(&receipt), [ReasonCode::NotPermitted]);

    let corporate = deployment.client(CORPORATE_USER).await;
    let receipt = corporate
        .admin("segment", &intensive("  "))
        .await
        .expect("the service answers");
    assert!(codes(&receipt).contains(&ReasonCode::RationaleRequired));
    assert_eq!(deployment.last_seq().await, before, "nothing appended");

    let receipt = corporate
        .admin("segment", &intensive("Recovery support programme"))
        .await
        .expect("the service answers");
    assert!(matches!(receipt, Receipt::Accepted { .. }), "{receipt:?}");
    // The national team may also decide 1 to 4 anywhere; a region only in its own.
    let receipt = corporate
        .admin(
            "segment",
            &proto_schema::SegmentDecided {
                org: SOUTH_WEST_TRUST.into(),
                segment: 2,
                rationale: "Reviewed at the national panel".into(),
            },
        )
        .await
        .expect("the service answers");
    assert!(matches!(receipt, Receipt::Accepted { .. }), "{receipt:?}");
    let page = deployment
        .client(SERVICE_USER)
        .await
        .read_log(before + 1, 2)
        .await
        .expect("log");
    assert!(page.entries.iter().all(|e| e.sender == CORPORATE_USER));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_data_standards_team_defines_methodologies_and_trust_types() {
    let deployment = Deployment::start(|conf| conf).await;
    let mut methodology = proto_schema::methodologies_v1()
        .into_iter()
        .find(|m| m.id == "nof-2025-26")
        .expect("shipped");
    methodology.id = "nof-2025-26-trial".into();
    methodology.name = "A trial of the 2025/26 framework without finance".into();
    methodology.finance = None;
    let trust_type = proto_schema::TrustTypeSet {
        org: "RP4".into(),
        trust_type: proto_schema::TrustType::Acute,
    };
    let before = deployment.last_seq().await;

    // A trust may not publish on the admin subjects at all; a region is told not permitted.
    let trust = deployment.client(LONDON_TRUST).await;
    assert!(trust
        .admin("define_methodology", &methodology)
        .await
        .is_err());
    assert!(trust.admin("set_trust_type", &trust_type).await.is_err());
    assert_eq!(deployment.last_seq().await, before, "nothing appended");

    let data_standards = deployment.client(DATA_STANDARDS_USER).await;
    let mut malformed = methodology.clone();
    malformed.metrics[0].metric = "ae_4hrs".into();
    malformed.id = "NOF 2025".into();
    match data_standards
        .admin("define_methodology", &malformed)
        .await
        .expect("the service answers")
    {
        Receipt::Rejected { reasons } => {
            assert!(reasons
                .iter()
                .all(|r| r.code == ReasonCode::MalformedMethodology));
            let fields: Vec<&str> = reasons.iter().map(|r| r.field.as_str()).collect();
            assert!(
                fields.contains(&"id") && fields.contains(&"metrics[0]"),
                "{fields:?}"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(deployment.last_seq().await, before, "nothing appended");

    for receipt in [
        data_standards
            .admin("define_methodology", &methodology)
            .await
            .expect("the service answers"),
        data_standards
            .admin("set_trust_type", &trust_type)
            .await
            .expect("the service answers"),
    ] {
        assert!(matches!(receipt, Receipt::Accepted { .. }), "{receipt:?}");
    }
    let operator = deployment.client(SERVICE_USER).await;
    let page = operator.read_log(before + 1, 2).await.expect("log");
    assert!(matches!(
        &page.entries[0].event,
        proto_schema::Event::MethodologyDefined(m) if m.id == "nof-2025-26-trial"
    ));
    assert!(matches!(
        &page.entries[1].event,
        proto_schema::Event::TrustTypeSet(t) if t.org == "RP4"
    ));
    // The new methodology answers snapshots at once.
    crate::harness::views_settled(&operator).await;
    let view = operator
        .snapshot(
            NATIONAL,
            &SnapshotRequest {
                methodology: Some("nof-2025-26-trial".into()),
                ..SnapshotRequest::default()
            },
        )
        .await
        .expect("snapshot");
    let oversight = view.oversight.expect("assessed");
    assert_eq!(oversight.methodology, "nof-2025-26-trial");
}

//! Reconciliation with published figures: after importing real NHS England A&E files, England's
//! and each region's figures equal the file's own totals, and a consumer that followed the live
//! deltas during the import holds exactly the final snapshot.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use oversight::client::Client;
use oversight::import::{self, ae};
use oversight::subjects;
use oversight::wire::Encoding;
use proto_schema::{Delta, Halves, Receipt, SnapshotRequest, Value, View, NATIONAL};

use crate::harness::{data_dir, http_get, nats, serving_client, views_at, views_settled, Service};

fn published(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/data/ae")
        .join(name)
}

async fn snapshot(client: &Client, scope: &str) -> View {
    client
        .snapshot(scope, &SnapshotRequest::default())
        .await
        .expect("snapshot")
}

fn ratio(view: &View, metric: &str, period: &str) -> (i64, i64) {
    let period = proto_schema::Period::parse(period).expect("period");
    match view.metrics[metric][&period].summary.total {
        Value::Ratio {
            numerator: Halves(n),
            denominator: Halves(d),
        } => (n / 2, d / 2),
        other => panic!("{metric}: not a ratio: {other:?}"),
    }
}

fn count(view: &View, metric: &str, period: &str) -> i64 {
    let period = proto_schema::Period::parse(period).expect("period");
    match view.metrics[metric][&period].summary.total {
        Value::Count(n) => n,
        other => panic!("{metric}: not a count: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monthly_file_adds_up_to_its_total_row_in_england_and_each_region() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    views_settled(&client).await;

    // A consumer that snapshots England, then follows its deltas through the import.
    let mut deltas = client
        .nats()
        .subscribe(subjects::view_delta(NATIONAL))
        .await
        .expect("subscribe");
    let mut live = snapshot(&client, NATIONAL).await;

    let path = published("Monthly-AE-April-2025.csv");
    let text = import::read(&path).expect("the published file");
    let parsed = ae::parse("Monthly-AE-April-2025.csv", &text).expect("parses");
    let by_region: BTreeMap<String, (i64, i64)> =
        parsed.rows.iter().fold(BTreeMap::new(), |mut sums, row| {
            let entry = sums.entry(row.site.region.clone()).or_insert((0, 0));
            if let Some((
                _,
                Value::Ratio {
                    numerator,
                    denominator,
                },
            )) = row.form.values.iter().find(|(m, _)| m == "ae_4hr")
            {
                entry.0 += numerator.0 / 2;
                entry.1 += denominator.0 / 2;
            }
            sums
        });
    let report = import::submit_all(&client, parsed.rows.clone())
        .await
        .expect("import");
    assert!(report.rejected.is_empty(), "{report}");
    assert_eq!(report.accepted, parsed.rows.len());
    assert!(
        !report.registered.is_empty(),
        "walk-in centres are not in ODS"
    );
    // The importer registers them before sending their returns: none was refused on the way.
    let (status, scrape) = http_get(service.metrics_addr, "/metrics").expect("scrape");
    assert_eq!(status, 200);
    let refused_unknown = scrape
        .lines()
        .find(|line| {
            line.starts_with("oversight_returns_rejected_total{reason=\"unknown_organisation\"}")
        })
        .expect("the unknown_organisation counter is exported");
    assert!(
        refused_unknown.ends_with(" 0"),
        "registering a site is not a refused return: {refused_unknown}"
    );
    views_settled(&client).await;

    let total = &parsed.totals["2025-04"];
    let england = snapshot(&client, NATIONAL).await;
    assert_eq!(
        ratio(&england, "ae_4hr", "2025-04"),
        (total.attendances - total.over_4_hours, total.attendances)
    );
    assert_eq!(total.attendances, 2_295_820, "the published total row");
    assert_eq!(
        count(&england, "ae_12hr_dta", "2025-04"),
        total.waits_12_hours_dta.unwrap_or(-1)
    );
    assert_eq!(
        count(&england, "ae_emergency_admissions", "2025-04"),
        total.admissions
    );
    for (region, sums) in &by_region {
        let view = snapshot(&client, region).await;
        assert_eq!(ratio(&view, "ae_4hr", "2025-04"), *sums, "region {region}");
    }
    assert_eq!(by_region.len(), 7);

    while live.seq < england.last_change_seq {
        let message = tokio::time::timeout(Duration::from_secs(10), deltas.next())
            .await
            .expect("a delta in time")
            .expect("subscription open");
        let delta: Delta = Encoding::Postcard
            .decode(&message.payload)
            .expect("a delta");
        live.apply_delta(&delta).expect("no gap");
    }
    assert_eq!(
        live.metrics, england.metrics,
        "live consumer equals the final snapshot"
    );
    assert_eq!(
        live.spc, england.spc,
        "and so do its SPC charts, kept current by the deltas"
    );
    assert!(england.spc.contains_key("ae_4hr"));

    // The same file again changes nothing.
    let again = import::submit_all(&client, parsed.rows.clone())
        .await
        .expect("re-import");
    assert_eq!(again.duplicates, again.returns, "{again}");
    assert!(again.superseded.is_empty(), "{again}");

    // A trust corrects its figures after the file was published: re-importing the file is
    // still all duplicates, and the report names the row whose figures are no longer in force.
    let row = parsed
        .rows
        .iter()
        .find(|row| row.form.org == "RJ1")
        .expect("RJ1 in the file");
    let mut corrected = row.form.clone();
    corrected.submission_id = "RJ1-ae-monthly-2025-04-corrected".into();
    if let Some((_, Value::Count(n))) = corrected
        .values
        .iter_mut()
        .find(|(m, _)| m == "ae_12hr_dta")
    {
        *n += 1;
    }
    let receipt = client.submit(&corrected).await.expect("correction");
    assert!(
        matches!(receipt, Receipt::Accepted { revision: 2, .. }),
        "{receipt:?}"
    );
    let after = import::submit_all(&client, parsed.rows.clone())
        .await
        .expect("re-import after the correction");
    assert_eq!(after.duplicates, after.returns, "{after}");
    assert_eq!(
        after.superseded,
        vec![(row.line, "RJ1".to_owned(), "2025-04".to_owned())],
        "{after}"
    );
    assert!(
        after.to_string().contains("replaced by a later revision"),
        "{after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_2016_2019_file_gives_the_published_england_figure_for_january_2019() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;

    let path = published("ae_attendances_2016_2019.csv");
    let text = import::read(&path).expect("the published file");
    let parsed = ae::parse("ae_attendances_2016_2019.csv", &text).expect("parses");
    let report = import::submit_all(&client, parsed.rows)
        .await
        .expect("import");
    // Two trusts have rows after their ODS close date; those are refused, and named.
    let refused: Vec<&str> = report
        .rejected
        .iter()
        .map(|(_, org, _)| org.as_str())
        .collect();
    assert!(
        refused.iter().all(|org| *org == "RY1" || *org == "RR1"),
        "{report}"
    );
    views_settled(&client).await;

    let england = snapshot(&client, NATIONAL).await;
    let (within, attendances) = ratio(&england, "ae_4hr", "2019-01");
    assert_eq!(attendances, 2_113_413);
    assert_eq!(attendances - within, 330_696);
    let percent = england.metrics["ae_4hr"]
        [&proto_schema::Period::parse("2019-01").expect("period")]
        .summary
        .value;
    assert_eq!(format!("{percent:.2}"), "84.35");

    // England's % within 4 hours by month, as a Making Data Count chart: the winters stand out.
    let months: Vec<(proto_schema::Period, f64)> = england.metrics["ae_4hr"]
        .iter()
        .map(|(period, cell)| (*period, cell.summary.value))
        .collect();
    let values: Vec<f64> = months.iter().map(|(_, v)| *v).collect();
    let chart = projector::spc::chart(
        &values,
        projector::spc::Direction::Increase,
        Some(95.0),
        &projector::spc::Options::default(),
    )
    .expect("chart");
    let concerns: Vec<String> = months
        .iter()
        .zip(&chart.points)
        .filter(|(_, p)| p.point_type == projector::spc::PointType::SpecialCauseConcern)
        .map(|((period, value), p)| format!("{period} {value:.2}% {:?}", p.special_cause))
        .collect();
    eprintln!(
        "England ae_4hr, {} months: mean {:.2}%, limits {:.2}%..{:.2}%, assurance {:?}; concerns: {concerns:#?}",
        months.len(),
        chart.points[0].mean,
        chart.points[0].lower_limit,
        chart.points[0].upper_limit,
        chart.assurance
    );
    let winter = |period: &proto_schema::Period| {
        let text = period.to_string();
        ["-12", "-01", "-02", "-03"]
            .iter()
            .any(|m| text.ends_with(m))
    };
    for ((period, _), point) in months.iter().zip(&chart.points) {
        if point.point_type == projector::spc::PointType::SpecialCauseConcern {
            assert!(winter(period), "{period} is a concern outside winter");
        }
    }
    for season in ["2017-01", "2018-01", "2019-01"] {
        let period = proto_schema::Period::parse(season).expect("period");
        let at = months
            .iter()
            .position(|(p, _)| *p == period)
            .expect("month");
        assert_eq!(
            chart.points[at].point_type,
            projector::spc::PointType::SpecialCauseConcern,
            "the winter of {season} is flagged"
        );
    }
    assert_eq!(
        chart.assurance,
        Some(projector::spc::Assurance::ConsistentFail),
        "95% is above the upper process limit"
    );
    // The view carries the same chart, in NHSRplotthedots' words.
    let shown = &england.spc["ae_4hr"];
    assert_eq!(shown.variation, chart.points[35].point_type);
    assert_eq!(shown.assurance, chart.assurance);
    for ((period, _), point) in months.iter().zip(&chart.points) {
        assert_eq!(shown.points[period], point.point_type, "{period}");
    }
    let json = serde_json::to_value(&england).expect("json");
    assert_eq!(
        json["spc"]["ae_4hr"]["points"]["2019-01"],
        "special_cause_concern"
    );
    assert_eq!(json["spc"]["ae_4hr"]["assurance"], "consistent_fail");

    // Sites no reference file knows count in England and show under `unassigned`.
    let unassigned = snapshot(&client, "unassigned").await;
    assert!(
        !unassigned.metrics.is_empty(),
        "unassigned sites are shown, not dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancer_halves_and_rtt_totals_arrive_exactly() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;

    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/data");
    let text = import::read(&data.join("cancer/gold_62d_trust_month.csv")).expect("file");
    let rows = import::cancer::parse("gold_62d_trust_month.csv", &text).expect("parses");
    assert!(rows
        .iter()
        .all(|r| !r.form.org.eq_ignore_ascii_case("total")));
    // Σ in halves over the providers rows for March 2025 (27,120.5 patients), straight from the file.
    let (mut within, mut patients) = (0i64, 0i64);
    for row in rows.iter().filter(|r| r.form.period == "2025-03") {
        if let Value::Ratio {
            numerator,
            denominator,
        } = row.form.values[0].1
        {
            within += numerator.0;
            patients += denominator.0;
        }
    }
    assert!(
        patients % 2 == 1 || within % 2 == 1,
        "the month has half patients in it"
    );
    let report = import::submit_all(&client, rows)
        .await
        .expect("cancer import");
    assert!(report.rejected.is_empty(), "{report}");

    let text = import::read(&data.join("rtt/rtt_incomplete_provider_clean.csv")).expect("file");
    let rtt = import::rtt::parse("rtt_incomplete_provider_clean.csv", &text).expect("parses");
    assert_eq!(rtt.len(), 150, "one all-functions row per provider");
    let report = import::submit_all(&client, rtt).await.expect("rtt import");
    assert!(report.rejected.is_empty(), "{report}");
    views_settled(&client).await;

    let england = snapshot(&client, NATIONAL).await;
    let period = proto_schema::Period::parse("2025-03").expect("period");
    assert_eq!(
        england.metrics["cancer_62d"][&period].summary.total,
        Value::Ratio {
            numerator: Halves(within),
            denominator: Halves(patients)
        }
    );
    assert!(england.metrics.contains_key("rtt_18wk"));
    assert!(england.metrics.contains_key("rtt_52wk"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_resume_from_their_checkpoint_with_the_same_figures() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = data_dir(tmp.path());
    let args = ["--checkpoint-every", "1000"];
    let mut service = Service::start_with(&nats.url(), &data, &args, "info");
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    let text = import::read(&published("ae_attendances_2016_2019.csv")).expect("file");
    let parsed = ae::parse("ae_attendances_2016_2019.csv", &text).expect("parses");
    import::submit_all(&client, parsed.rows)
        .await
        .expect("import");
    let last = views_settled(&client).await;
    let before = snapshot(&client, NATIONAL).await;
    service.terminate();

    let store =
        event_log::CheckpointStore::open(&data.join("views.redb")).expect("checkpoint file");
    let checkpoint = store.latest().expect("readable").expect("a checkpoint");
    assert_eq!(
        checkpoint.seq, last,
        "stopping saves a checkpoint at the last seq"
    );
    drop(store);

    let started = std::time::Instant::now();
    let _service = Service::start_with(&nats.url(), &data, &args, "info");
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    // The views answer once they have resumed; intake may be up a moment before them.
    let after = views_at(&client, before.seq).await;
    eprintln!("restart to serving views: {:?}", started.elapsed());
    assert_eq!(after.seq, before.seq);
    assert_eq!(after.metrics, before.metrics);
    let log = std::fs::read_to_string(data.with_extension("log")).expect("serve log");
    assert!(
        log.contains("views resumed from their checkpoint"),
        "the restart used the checkpoint:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ods_file_already_held_changes_nothing_and_a_changed_row_is_recorded() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    let reference = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/reference");
    let text = import::read(&reference.join("etr.csv")).expect("etr.csv");

    let file =
        import::ods::parse("etr.csv", &text, import::ods::role_of("etr.csv")).expect("parses");
    let report = import::ods::submit(&client, file).await.expect("import");
    assert_eq!(
        report.duplicates, report.returns,
        "the seeded file again: {report}"
    );

    // RJ1 closes; a new trust opens in a new London system.
    let mut changed: Vec<String> = text.lines().map(str::to_owned).collect();
    let rj1 = changed
        .iter()
        .position(|l| l.starts_with("\"RJ1\""))
        .expect("RJ1 row");
    let mut fields: Vec<String> = changed[rj1].split(',').map(str::to_owned).collect();
    fields[11] = "\"20250331\"".into();
    changed[rj1] = fields.join(",");
    let mut new_trust = fields.clone();
    new_trust[0] = "\"RZZ\"".into();
    new_trust[1] = "\"A NEW LONDON TRUST\"".into();
    new_trust[3] = "\"QZZ\"".into();
    new_trust[10] = "\"20250401\"".into();
    new_trust[11] = "\"\"".into();
    changed.push(new_trust.join(","));
    let file = import::ods::parse(
        "etr.csv",
        &changed.join("\n"),
        proto_schema::OrgRole::Provider,
    )
    .expect("parses");
    let report = import::ods::submit(&client, file).await.expect("import");
    assert_eq!(
        report.accepted, 3,
        "RJ1's closure, system QZZ and RZZ: {report}"
    );
    assert!(report.rejected.is_empty(), "{report}");

    // The new trust can submit; RJ1 cannot for a month after its closure.
    let mut ret = crate::harness::ae_return("RZZ-2025-04", "2025-04", 1000);
    ret.org = "RZZ".into();
    assert!(matches!(
        client.submit(&ret).await.expect("submit"),
        proto_schema::Receipt::Accepted { .. }
    ));
    let late = crate::harness::ae_return("RJ1-2025-05", "2025-05", 1000);
    match client.submit(&late).await.expect("submit") {
        proto_schema::Receipt::Rejected { reasons } => {
            assert_eq!(
                reasons[0].code,
                proto_schema::ReasonCode::OrganisationNotOpen
            )
        }
        other => panic!("expected organisation_not_open, got {other:?}"),
    }
}

/// NHS England's provider spreadsheet, as a workbook and as the CSV analysts save it as: the
/// command-line import reads both, takes the month from the file's name or `--period`, and
/// refuses clearly when neither gives it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_spreadsheet_imports_from_the_workbook_and_from_its_csv() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(5)).await;
    let rows: Vec<Vec<&str>> = vec![
        vec!["Title:", "A&E Attendances and Emergency Admissions"],
        vec![],
        vec![
            "Code",
            "Region",
            "Name",
            "Total attendances",
            "Total Attendances > 4 hours",
            "Percentage in 4 hours or less (all)",
            "Total Emergency Admissions via A&E",
            "Number of patients spending >12 hours from decision to admit to admission",
        ],
        vec![
            "-", "-", "England", "32,044", "8,693", "72.9%", "6,020", "120",
        ],
        vec![
            "RJ1",
            "NHS England London",
            "Guy's and St Thomas'",
            "20,043",
            "5,193",
            "74.1%",
            "3,120",
            "120",
        ],
        vec![
            "R0D",
            "NHS England South West",
            "University Hospitals Dorset",
            "12,001",
            "3,500",
            "70.8%",
            "2,900",
            "-",
        ],
    ];
    let xlsx = tmp.path().join("AE-by-provider-September-2025.xlsx");
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (r, cells) in rows.iter().enumerate() {
        for (c, text) in cells.iter().enumerate() {
            match text.replace(',', "").parse::<f64>() {
                Ok(n) => sheet.write_number(r as u32, c as u16, n).map(|_| ()),
                Err(_) => sheet.write_string(r as u32, c as u16, *text).map(|_| ()),
            }
            .expect("cell");
        }
    }
    workbook.save(&xlsx).expect("save the workbook");
    let csv: String = rows
        .iter()
        .map(|cells| {
            cells
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect();
    let unnamed = tmp.path().join("provider-sheet.csv");
    std::fs::write(&unnamed, &csv).expect("csv");

    let url = nats.url();
    let import = |file: &std::path::Path, extra: &[&str]| {
        let mut args = vec!["import", "ae", "--nats", &url];
        args.extend_from_slice(extra);
        let file = file.display().to_string();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_oversight"));
        command.args(&args).arg(file);
        command.output().expect("import")
    };
    let out = import(&xlsx, &[]);
    assert!(out.status.success(), "{out:?}");
    let refused = import(&unnamed, &[]);
    assert_eq!(refused.status.code(), Some(4), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--period"),
        "{refused:?}"
    );
    let out = import(&unnamed, &["--period", "2025-08"]);
    assert!(out.status.success(), "{out:?}");
    views_settled(&client).await;

    let london = snapshot(&client, "Y56").await;
    for month in ["2025-09", "2025-08"] {
        assert_eq!(
            ratio(&london, "ae_4hr", month),
            (20_043 - 5_193, 20_043),
            "{month}"
        );
        assert_eq!(count(&london, "ae_12hr_dta", month), 120, "{month}");
    }
    let england = snapshot(&client, NATIONAL).await;
    assert_eq!(
        ratio(&england, "ae_4hr", "2025-09"),
        (32_044 - 8_693, 32_044)
    );
    // `-` is no figure: the South West trust returned no 12-hour count, so England's is RJ1's.
    assert_eq!(count(&england, "ae_12hr_dta", "2025-09"), 120);
    assert_eq!(count(&england, "ae_emergency_admissions", "2025-09"), 6_020);
}

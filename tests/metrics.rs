//! Metrics: a real Prometheus scrapes a running `oversight serve`; promtool checks the exposition
//! and the deploy/prometheus rules.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use proto_schema::{Receipt, Value};

use crate::harness::{
    ae_return, data_dir, debian_tool, free_loopback_addr, http_get, nats, run_ok, serving_client,
    url_encode, Service,
};

fn deploy_prometheus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prometheus")
}

/// A Prometheus server on loopback, killed on drop.
struct Prometheus {
    child: Child,
    addr: std::net::SocketAddr,
}

impl Prometheus {
    fn start(dir: &Path, target: std::net::SocketAddr) -> Prometheus {
        let rules = deploy_prometheus().join("rules.yml");
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: oversight-serve\n    static_configs:\n      - targets: [\"{target}\"]\n",
                rules.display()
            ),
        )
        .expect("prometheus config");
        let addr = free_loopback_addr();
        let log = std::fs::File::create(dir.join("prometheus.log")).expect("log file");
        let child = debian_tool("prometheus", "prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let prometheus = Prometheus { child, addr };
        for _ in 0..200 {
            if matches!(http_get(addr, "/-/ready"), Ok((200, _))) {
                return prometheus;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("prometheus did not become ready within 20 s");
    }

    /// The value of an instant query with one result, or `None` when it has no result.
    fn query(&self, expr: &str) -> Option<f64> {
        let (status, body) = http_get(
            self.addr,
            &format!("/api/v1/query?query={}", url_encode(expr)),
        )
        .expect("query prometheus");
        assert_eq!(status, 200, "query `{expr}`: {body}");
        let json: serde_json::Value = serde_json::from_str(&body).expect("query json");
        let results = json["data"]["result"].as_array().expect("result array");
        assert!(results.len() <= 1, "`{expr}` gave several series: {body}");
        results.first().map(|r| {
            r["value"][1]
                .as_str()
                .and_then(|v| v.parse().ok())
                .expect("a number")
        })
    }

    /// Waits until `expr` has been scraped with exactly `expected`; returns what it last saw.
    fn wait_for(&self, expr: &str, expected: f64) -> Option<f64> {
        let mut seen = None;
        for _ in 0..150 {
            seen = self.query(expr);
            if seen == Some(expected) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        seen
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_sees_exactly_the_returns_accepted() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(5)).await;
    let prometheus = Prometheus::start(tmp.path(), service.metrics_addr);

    // The service is up and scraped before anything is submitted.
    assert_eq!(
        prometheus.wait_for("up{job=\"oversight-serve\"}", 1.0),
        Some(1.0)
    );
    let accepted = "oversight_returns_accepted_total";
    // Counters are scraped at zero before their first event, labels included, so rate() and the
    // alert rules work from the start.
    for counter in [
        accepted,
        "oversight_returns_busy_total",
        "oversight_returns_rejected_total{reason=\"unknown_organisation\"}",
        "oversight_returns_rejected_total{reason=\"period_not_ended\"}",
        "oversight_group_commit_failures_total",
        "oversight_nats_reconnects_total",
        "oversight_alerts_published_total{kind=\"return_overdue\"}",
        "oversight_views_snapshot_requests_total{outcome=\"as_of\"}",
        "oversight_log_index_sweeps_total",
    ] {
        assert_eq!(
            prometheus.query(counter),
            Some(0.0),
            "{counter} before any return (seeding is not a return)"
        );
    }

    let submitted = 37;
    for month in 0..submitted {
        let period = format!("{}-{:02}", 2017 + month / 12, month % 12 + 1);
        let receipt = client
            .submit(&ae_return(&format!("metrics-{period}"), &period, 1000))
            .await
            .expect("submit");
        assert!(
            matches!(
                receipt,
                Receipt::Accepted {
                    duplicate: false,
                    ..
                }
            ),
            "{receipt:?}"
        );
    }
    // A duplicate and a rejection are counted apart from the accepted.
    client
        .submit(&ae_return("metrics-2017-01", "2017-01", 1000))
        .await
        .expect("duplicate");
    let mut bad = ae_return("metrics-bad", "2018-06", 1000);
    bad.values.push(("ae_4hour".into(), Value::Count(1)));
    let rejected = client.submit(&bad).await.expect("rejection");
    assert!(matches!(rejected, Receipt::Rejected { .. }), "{rejected:?}");

    assert_eq!(
        prometheus.wait_for(accepted, f64::from(submitted)),
        Some(f64::from(submitted)),
        "the accepted counter moved by exactly the number submitted"
    );
    assert_eq!(
        prometheus.wait_for("oversight_returns_duplicate_total", 1.0),
        Some(1.0)
    );
    assert_eq!(
        prometheus.wait_for(
            "oversight_returns_rejected_total{reason=\"unknown_metric\"}",
            1.0
        ),
        Some(1.0)
    );
    assert_eq!(
        prometheus.wait_for("oversight_returns_received_total", f64::from(submitted + 2)),
        Some(f64::from(submitted + 2))
    );
    // Every accepted return and the duplicate went through a commit.
    let commits = prometheus
        .query("oversight_group_commit_seconds_count")
        .expect("commit histogram scraped");
    assert!(
        (1.0..=f64::from(submitted + 1)).contains(&commits),
        "{commits} commits"
    );
    let last_seq = client.read_log(1, 1).await.expect("log").last_seq as f64;
    assert_eq!(
        prometheus.wait_for("oversight_log_last_seq", last_seq),
        Some(last_seq)
    );
    assert_eq!(
        prometheus.wait_for("oversight_views_applied_seq", last_seq),
        Some(last_seq),
        "the views report the seq they applied"
    );
    assert_eq!(prometheus.query("oversight_nats_connected"), Some(1.0));

    // Every query of the operators' dashboard is one Prometheus accepts.
    for expr in dashboard_queries() {
        let concrete = expr
            .replace("$__rate_interval", "1m")
            .replace("$instance", ".*");
        let (status, body) = http_get(
            prometheus.addr,
            &format!("/api/v1/query?query={}", url_encode(&concrete)),
        )
        .expect("query prometheus");
        assert_eq!(status, 200, "dashboard query `{expr}`: {body}");
    }
}

fn dashboard_queries() -> Vec<String> {
    let path = deploy_prometheus().join("../grafana/oversight-operations.json");
    let text = std::fs::read_to_string(&path).expect("dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("dashboard is JSON");
    let queries: Vec<String> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|panel| panel["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|target| target["expr"].as_str().map(str::to_owned))
        .collect();
    assert!(queries.len() > 10, "{} queries", queries.len());
    queries
}

/// The metric names in `text`, histogram series by their base name.
fn metric_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("oversight_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_count", "_sum"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        names.push(base.to_owned());
        rest = &tail[end..];
    }
    names
}

#[test]
fn the_dashboard_and_the_alert_rules_name_only_metrics_the_services_expose() {
    let rules = std::fs::read_to_string(deploy_prometheus().join("rules.yml")).expect("rules");
    let mut used = metric_names(&rules);
    for query in dashboard_queries() {
        used.extend(metric_names(&query));
    }
    for name in &used {
        assert!(
            oversight::metrics::ALL.contains(&name.as_str()),
            "`{name}` is not a metric the services expose"
        );
    }
    // The operators see every metric somewhere.
    let unused: Vec<_> = oversight::metrics::ALL
        .iter()
        .filter(|name| !used.iter().any(|u| u == *name))
        .collect();
    assert!(
        unused.iter().all(|name| [
            event_log::metrics::INDEX_SWEEPS,
            ingest::metrics::ADMIN_COMMANDS,
            oversight::metrics::NATS_DISCONNECTS,
        ]
        .contains(name)),
        "not on the dashboard nor in a rule: {unused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exposition_passes_promtool() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(5)).await;
    // Some of every kind of metric: a return, a snapshot, a rejection.
    client
        .submit(&ae_return("promtool-1", "2019-01", 500))
        .await
        .expect("submit");
    // The views start after intake: wait for them to answer, then ask them once more.
    crate::harness::views_settled(&client).await;
    client
        .snapshot(proto_schema::NATIONAL, &Default::default())
        .await
        .expect("snapshot");
    let (status, exposition) = http_get(service.metrics_addr, "/metrics").expect("scrape");
    assert_eq!(status, 200);
    for name in [
        "oversight_returns_received_total",
        "oversight_returns_accepted_total",
        "oversight_group_commit_batch_size_bucket",
        "oversight_group_commit_seconds_bucket",
        "oversight_log_last_seq",
        "oversight_log_file_bytes",
        "oversight_views_applied_seq",
        "oversight_views_snapshot_requests_total",
        "oversight_build_info",
        "oversight_nats_connected",
    ] {
        assert!(
            exposition.contains(&format!("\n{name}")),
            "{name} missing from:\n{exposition}"
        );
    }
    assert!(exposition.contains("# HELP oversight_returns_accepted_total"));

    let mut check = debian_tool("promtool", "prometheus")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    {
        use std::io::Write;
        let mut stdin = check.stdin.take().expect("stdin");
        stdin
            .write_all(exposition.as_bytes())
            .expect("feed promtool");
    }
    let out = check.wait_with_output().expect("promtool output");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_alert_rules_pass_promtool_and_their_unit_tests() {
    let dir = deploy_prometheus();
    for args in [
        vec!["check", "config", "prometheus.yml"],
        vec!["check", "rules", "rules.yml"],
        vec!["test", "rules", "rules.test.yml"],
    ] {
        run_ok(
            debian_tool("promtool", "prometheus")
                .args(&args)
                .current_dir(&dir),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = data_dir(tmp.path());
    let mut service = Service::start_with(&nats.url(), &data, &["--log-format", "json"], "info");
    serving_client(&nats.url(), Duration::from_secs(5)).await;
    service.terminate();
    let log = std::fs::read_to_string(data.with_extension("log")).expect("service log");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(lines
        .iter()
        .all(|l| l["level"].is_string() && l["fields"].is_object()));
    assert!(
        lines.iter().any(|l| l["fields"]["message"] == "serving"),
        "{log}"
    );
    assert!(
        lines.iter().any(|l| l["fields"]["message"] == "stopped"),
        "{log}"
    );
}

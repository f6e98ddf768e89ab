//! The web pages in a real browser: Debian's Chromium driven by Playwright for Python
//! (`tests/browser/pages.py`). London's page shows the snapshot's figures, an open page changes
//! without a reload when a return is committed and heals after the server restarts, the pages
//! work with JavaScript off, and axe-core finds no serious or critical violation. Screenshots of
//! London's page and of a metric chart are written to `target/web-screenshots/`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use oversight::import::{self, ae};
use proto_schema::{Halves, Period, Receipt, SnapshotRequest, Value};

use crate::harness::{ae_return, data_dir, nats, serving_client, views_settled, Service};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The system Chromium: the real binary where Debian keeps it, else whatever is on the path.
fn chromium() -> PathBuf {
    for candidate in ["/usr/lib/chromium/chromium", "/usr/bin/chromium"] {
        if Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    panic!("Chromium is not installed: run `bash deploy/install-deps.sh` (Debian's `chromium` package)");
}

/// The browser, driven one command at a time.
struct Browser {
    child: Child,
    commands: ChildStdin,
    answers: BufReader<ChildStdout>,
}

impl Browser {
    fn start(base: &str) -> Browser {
        let axe = root().join("tests/browser/vendor/axe-core/axe.min.js");
        let mut child = Command::new("python3")
            .arg(root().join("tests/browser/pages.py"))
            .arg(base)
            .arg(&axe)
            .arg(chromium())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run python3 ({e}): run `bash deploy/install-deps.sh` (Python 3 with Playwright)")
            });
        let commands = child.stdin.take().expect("stdin");
        let answers = BufReader::new(child.stdout.take().expect("stdout"));
        Browser {
            child,
            commands,
            answers,
        }
    }

    fn send(&mut self, command: &str) {
        writeln!(self.commands, "{command}").expect("the browser takes a command");
        self.commands.flush().expect("flush");
    }

    fn answer(&mut self, command: &str) -> serde_json::Value {
        let mut line = String::new();
        let read = self.answers.read_line(&mut line).expect("read an answer");
        assert!(
            read > 0,
            "the browser driver ended at `{command}`: is Playwright installed? run `bash deploy/install-deps.sh` (PyPI `playwright`)"
        );
        let answer: serde_json::Value = serde_json::from_str(&line).expect("JSON answer");
        assert!(
            answer.get("error").is_none(),
            "`{command}` failed in the browser: {answer}"
        );
        answer
    }

    fn ask(&mut self, command: &str) -> serde_json::Value {
        self.send(command);
        self.answer(command)
    }

    fn value(answer: &serde_json::Value, metric: &str) -> String {
        answer["values"][metric]
            .as_str()
            .unwrap_or_else(|| panic!("no {metric} on the page: {answer}"))
            .to_owned()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = writeln!(self.commands, "quit");
        let _ = self.commands.flush();
        std::thread::sleep(Duration::from_millis(200));
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ratio(numerator: i64, denominator: i64) -> Value {
    Value::Ratio {
        numerator: Halves::whole(numerator),
        denominator: Halves::whole(denominator),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_in_a_browser_show_the_figures_live_and_pass_axe() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = data_dir(tmp.path());
    let mut service = Service::start_with_web(&nats.url(), &data, &[]);
    let web_addr = service.web_addr;
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    for name in [
        "Monthly-AE-April-2025.csv",
        "Monthly-AE-May-2025.csv",
        "Monthly-AE-June-2025-1-1.csv",
    ] {
        let text = import::read(&root().join("deploy/data/ae").join(name)).expect("file");
        let parsed = ae::parse(name, &text).expect("parses");
        let report = import::submit_all(&client, parsed.rows)
            .await
            .expect("import");
        assert!(report.rejected.is_empty(), "{report}");
    }
    views_settled(&client).await;
    let london = client
        .snapshot("Y56", &SnapshotRequest::default())
        .await
        .expect("London");
    let june = Period::parse("2025-06").expect("period");
    let mut browser = Browser::start(&format!("http://{web_addr}"));

    // London's page shows the snapshot's June figures.
    let page = browser.ask("values /scope/Y56");
    let share = london.metrics["ae_4hr"][&june].summary.value;
    assert_eq!(Browser::value(&page, "ae_4hr"), format!("{share:.1}%"));
    for metric in ["ae_12hr_dta", "ae_emergency_admissions"] {
        let total = london.metrics[metric][&june].summary.total;
        let Value::Count(n) = total else {
            panic!("{metric} is a count")
        };
        assert_eq!(
            Browser::value(&page, metric),
            proto_schema::show_headline(&total, n as f64),
            "{metric}, in thousands"
        );
    }
    let plain = browser.ask("nojs /scope/Y56");
    assert_eq!(Browser::value(&plain, "ae_4hr"), format!("{share:.1}%"));
    assert_eq!(
        plain["scripts_ran"], false,
        "a plain page without JavaScript"
    );

    // Accessibility: axe-core on England's, London's, a trust's, its returns, a metric page and
    // the league tables.
    let trust = london.metrics["ae_4hr"][&june]
        .organisations
        .keys()
        .find(|code| code.starts_with('R'))
        .expect("a London trust")
        .clone();
    for path in [
        "/".to_owned(),
        "/scope/Y56".to_owned(),
        format!("/scope/{trust}"),
        format!("/scope/{trust}/returns"),
        "/scope/Y56/ae_4hr".to_owned(),
        "/oversight".to_owned(),
        "/scope/Y56/oversight?methodology=nof-2026-27".to_owned(),
        format!("/scope/{trust}/oversight"),
    ] {
        let found = browser.ask(&format!("axe {path}"));
        assert_eq!(
            found["violations"],
            serde_json::json!([]),
            "serious or critical violations on {path}"
        );
    }
    let shots = root().join("target/web-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot directory");
    for (path, file) in [
        ("/scope/Y56", "london.png"),
        ("/scope/Y56/ae_4hr", "london-ae_4hr.png"),
        ("/scope/RJ1/returns", "rj1-returns.png"),
        ("/scope/Y56/oversight", "london-oversight.png"),
    ] {
        let file = shots.join(file);
        browser.ask(&format!("screenshot {path} {}", file.display()));
        assert!(file.metadata().is_ok_and(|m| m.len() > 10_000), "{file:?}");
    }

    // An open page changes when a return is committed over NATS, without a reload.
    let open = browser.ask("open_live /scope/RJ1");
    let before = Browser::value(&open, "ae_4hr");
    let mut revised = ae_return("browser-1", "2025-06", 20_000);
    revised.values[0].1 = ratio(15_000, 20_000);
    browser.send("wait_value ae_4hr 75.0% 5000");
    let receipt = client.submit(&revised).await.expect("submit");
    assert!(matches!(receipt, Receipt::Accepted { .. }), "{receipt:?}");
    let changed = browser.answer("wait_value");
    assert_ne!(before, "75.0%");
    assert_eq!(changed["not_reloaded"], true);
    eprintln!("commit -> page updated: {} ms", changed["ms"]);

    // The server restarts under the open page: the page heals by itself and shows the next change.
    service.terminate();
    let _service = Service::start_serving_web_on(&nats.url(), &data, &[], "warn", web_addr);
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    views_settled(&client).await;
    let mut again = ae_return("browser-2", "2025-06", 20_000);
    again.values[0].1 = ratio(16_000, 20_000);
    browser.send("wait_value ae_4hr 80.0% 15000");
    let receipt = client
        .submit(&again)
        .await
        .expect("submit after the restart");
    assert!(matches!(receipt, Receipt::Accepted { .. }), "{receipt:?}");
    let healed = browser.answer("wait_value");
    assert_eq!(healed["not_reloaded"], true, "healed without a reload");
}

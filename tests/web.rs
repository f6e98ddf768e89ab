//! The web pages, over real HTTP from a real `oversight serve`: after importing NHS England's
//! April to June 2025 A&E files, London's page shows the JSON snapshot's figures and England's
//! equal the published TOTAL row; the CSV carries the same totals; an as-of page shows an earlier
//! point and says so; bad addresses get a page that says what is wrong.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use oversight::client::Client;
use oversight::import::{self, ae};
use proto_schema::{Halves, Period, SnapshotRequest, Value, View, NATIONAL};

use crate::harness::{ae_return, data_dir, http_get, nats, serving_client, views_settled, Service};

fn published(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/data/ae")
        .join(name)
}

async fn import_file(client: &Client, name: &str) -> ae::Parsed {
    let text = import::read(&published(name)).expect("the published file");
    let parsed = ae::parse(name, &text).expect("parses");
    let report = import::submit_all(client, parsed.rows.clone())
        .await
        .expect("import");
    assert!(report.rejected.is_empty(), "{report}");
    parsed
}

/// The text of `field` in the row of `metric` on a page.
fn field_of(page: &str, metric: &str, field: &str) -> String {
    let row_start = page
        .find(&format!("data-metric=\"{metric}\""))
        .unwrap_or_else(|| panic!("no row for {metric} on the page"));
    let row = &page[row_start..];
    let row = &row[..row.find("</tr>").expect("the row ends")];
    let at = row
        .find(&format!("data-field=\"{field}\""))
        .unwrap_or_else(|| panic!("no {field} in the row of {metric}"));
    // The cell's first words, inside whatever tags they start in (a period is in a <time>).
    let mut text = &row[at..];
    loop {
        text = &text[text.find('>').expect("tag ends") + 1..];
        if !text.trim_start().starts_with('<') {
            break;
        }
    }
    text[..text.find('<').expect("text ends")].trim().to_owned()
}

/// A published count as the pages write it: `38,683`.
fn in_thousands(count: impl Into<i64>) -> String {
    proto_schema::show_headline(&Value::Count(count.into()), 0.0)
}

fn summary(view: &View, metric: &str, period: &str) -> (Value, f64) {
    let period = Period::parse(period).expect("period");
    let cell = &view.metrics[metric][&period];
    (cell.summary.total, cell.summary.value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn london_and_england_pages_show_the_views_figures_and_the_published_totals() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let service = Service::start_with_web(&nats.url(), &data_dir(tmp.path()), &[]);
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    views_settled(&client).await;
    import_file(&client, "Monthly-AE-April-2025.csv").await;
    import_file(&client, "Monthly-AE-May-2025.csv").await;
    let may_seq = views_settled(&client).await;
    let june = import_file(&client, "Monthly-AE-June-2025-1-1.csv").await;
    views_settled(&client).await;

    let london = client
        .snapshot("Y56", &SnapshotRequest::default())
        .await
        .expect("London's snapshot");
    let (status, page) = http_get(service.web_addr, "/scope/Y56").expect("London's page");
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("<h1>London</h1>"),
        "one h1, the region's name"
    );
    assert!(page.contains("href=\"#maincontent\""), "a skip link");
    assert_eq!(page.matches("<main").count(), 1);
    let (total, value) = summary(&london, "ae_4hr", "2025-06");
    assert!(matches!(total, Value::Ratio { .. }));
    assert_eq!(field_of(&page, "ae_4hr", "period"), "June 2025");
    assert!(
        page.contains("<time datetime=\"2025-06\">June 2025</time>"),
        "the period in words, with its code for machines"
    );
    assert_eq!(field_of(&page, "ae_4hr", "value"), format!("{value:.1}%"));
    for metric in ["ae_12hr_dta", "ae_emergency_admissions"] {
        let (total, _) = summary(&london, metric, "2025-06");
        let Value::Count(n) = total else {
            panic!("{metric} is a count")
        };
        assert_eq!(
            field_of(&page, metric, "value"),
            proto_schema::show_headline(&total, n as f64),
            "{metric}, in thousands"
        );
    }
    assert!(
        page.contains("href=\"/\">England</a>"),
        "the breadcrumbs lead back to England"
    );
    assert!(
        page.contains("data-alert=\"standard_missed\""),
        "London's latest alerts: the 4-hour standard missed"
    );
    let missed = page
        .find(": the standard is missed")
        .expect("alerts in the reference data's words");
    let before = &page[..missed];
    assert!(
        ["April 2025", "May 2025", "June 2025"]
            .iter()
            .any(|month| before.ends_with(month)),
        "the alert names its month in words: {}",
        &before[before.len().saturating_sub(60)..]
    );
    assert!(
        page.contains("data-field=\"children\"") && page.contains("href=\"/scope/QMJ\""),
        "links down to London's systems"
    );

    let (status, page) = http_get(service.web_addr, "/").expect("England's page");
    assert_eq!(status, 200);
    let total = &june.totals["2025-06"];
    let published_share =
        (total.attendances - total.over_4_hours) as f64 / total.attendances as f64 * 100.0;
    assert_eq!(
        field_of(&page, "ae_4hr", "value"),
        format!("{published_share:.1}%")
    );
    assert_eq!(
        field_of(&page, "ae_12hr_dta", "value"),
        in_thousands(total.waits_12_hours_dta.expect("published"))
    );
    assert_eq!(
        field_of(&page, "ae_emergency_admissions", "value"),
        in_thousands(total.admissions)
    );
    for region in ["Y56", "Y58", "Y59", "Y60", "Y61", "Y62", "Y63"] {
        assert!(
            page.contains(&format!("href=\"/scope/{region}\"")),
            "{region}"
        );
    }

    // The CSV: the scope's own total, then each organisation's figure.
    let (status, csv) = http_get(service.web_addr, "/scope/national.csv").expect("CSV");
    assert_eq!(status, 200);
    let row = csv
        .lines()
        .find(|line| line.starts_with("national,ae_4hr,2025-06,,"))
        .expect("England's June total in the CSV");
    let fields: Vec<&str> = row.split(',').collect();
    assert_eq!(
        (fields[5], fields[6]),
        (
            (total.attendances - total.over_4_hours)
                .to_string()
                .as_str(),
            total.attendances.to_string().as_str()
        ),
        "{row}"
    );
    let organisations = csv
        .lines()
        .filter(|line| line.starts_with("national,ae_4hr,2025-06,") && !line.contains(",,"))
        .count();
    let england = client
        .snapshot(NATIONAL, &SnapshotRequest::default())
        .await
        .expect("England");
    let june_period = Period::parse("2025-06").expect("period");
    assert_eq!(
        organisations,
        england.metrics["ae_4hr"][&june_period].organisations.len()
    );

    // The same rows as a spreadsheet, figures as numbers.
    let (status, xlsx) =
        crate::harness::http_get_bytes(service.web_addr, "/scope/national.xlsx").expect("xlsx");
    assert_eq!(status, 200);
    let mut workbook = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(xlsx))
        .expect("a workbook calamine reads");
    use calamine::{DataType, Reader};
    let sheet = workbook
        .worksheet_range("national")
        .expect("a sheet named after the scope");
    assert_eq!(
        sheet.height(),
        csv.lines().count(),
        "as many rows as the CSV"
    );
    let june_total = sheet
        .rows()
        .find(|row| row[1] == "ae_4hr" && row[2] == "2025-06" && row[3].is_empty())
        .expect("England's June total in the spreadsheet");
    assert_eq!(
        (june_total[5].as_f64(), june_total[6].as_f64()),
        (
            Some((total.attendances - total.over_4_hours) as f64),
            Some(total.attendances as f64)
        )
    );

    let (status, narrowed) = http_get(
        service.web_addr,
        "/scope/national.csv?metrics=ae_4hr&from=2025-06",
    )
    .expect("narrowed CSV");
    assert_eq!(status, 200);
    let rows: Vec<&str> = narrowed.lines().skip(1).collect();
    assert_eq!(
        rows.len(),
        organisations + 1,
        "June's total and each organisation"
    );
    assert!(rows
        .iter()
        .all(|row| row.starts_with("national,ae_4hr,2025-06,")));

    // As it stood before June was imported: May is the latest, and the page says it is not now.
    let (status, page) =
        http_get(service.web_addr, &format!("/scope/Y56?as_of_seq={may_seq}")).expect("as-of");
    assert_eq!(status, 200, "{page}");
    assert_eq!(field_of(&page, "ae_4hr", "period"), "May 2025");
    assert!(
        page.contains("data-field=\"as-of\""),
        "labelled as the past"
    );
    assert!(page.contains("Not the figures now"));
    let (status, page) =
        http_get(service.web_addr, "/scope/Y56?geography=current").expect("current geography");
    assert_eq!(status, 200);
    assert!(page.contains("where its organisation is now"));

    // An organisation's page: its place in the geography, and no links down.
    let org = london.metrics["ae_4hr"][&june_period]
        .organisations
        .keys()
        .find(|code| code.starts_with('R'))
        .expect("a London trust")
        .clone();
    let (status, page) = http_get(service.web_addr, &format!("/scope/{org}")).expect("trust");
    assert_eq!(status, 200);
    assert!(page.contains("href=\"/scope/Y56\">London</a>"), "{org}");
    let Value::Ratio {
        numerator: Halves(n),
        denominator: Halves(d),
    } = london.metrics["ae_4hr"][&june_period].organisations[&org]
    else {
        panic!("a ratio")
    };
    assert_eq!(
        field_of(&page, "ae_4hr", "value"),
        format!("{:.1}%", n as f64 / d as f64 * 100.0)
    );

    // A metric's page: the chart, the series as a table, and the ranking on the latest period.
    let (status, page) = http_get(service.web_addr, "/scope/Y56/ae_4hr").expect("metric page");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("data-field=\"chart\""), "an XmR chart");
    let june_row = &page[page
        .find("data-period=\"2025-06\"")
        .expect("June in the table")..];
    let june_value = &june_row[june_row.find("data-field=\"value\">").expect("value") + 19..];
    assert_eq!(
        &june_value[..june_value.find('<').expect("ends")],
        format!("{value:.1}%")
    );
    let mut by_share: Vec<(f64, &String)> = london.metrics["ae_4hr"][&june_period]
        .organisations
        .iter()
        .filter_map(|(org, value)| match value {
            Value::Ratio {
                numerator,
                denominator,
            } if denominator.0 > 0 => Some((numerator.as_f64() / denominator.as_f64(), org)),
            _ => None,
        })
        .collect();
    by_share.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let ranking = &page[page.find("data-field=\"ranking\"").expect("a ranking")..];
    let ranked: Vec<&str> = ranking
        .split("data-organisation=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').expect("ends")])
        .collect();
    let expected: Vec<&str> = by_share.iter().map(|(_, org)| org.as_str()).collect();
    assert_eq!(ranked, expected, "best first, as sorted here");
    let (status, page) = http_get(service.web_addr, "/scope/Y56/ae_4hour").expect("unknown");
    assert_eq!(status, 404);
    assert!(page.contains("did you mean ae_4hr"), "{page}");

    // Addresses that cannot be shown say why, with the right status.
    let (status, page) = http_get(service.web_addr, "/scope/NOPE").expect("unknown");
    assert_eq!(status, 404);
    assert!(page.contains("no scope `NOPE`"), "{page}");
    let (status, page) = http_get(service.web_addr, "/?as_of=yesterday").expect("bad time");
    assert_eq!(status, 400);
    assert!(page.contains("as_of=yesterday is not a time"), "{page}");
    let (status, _) = http_get(service.web_addr, "/assets/nhsuk-frontend.min.css").expect("css");
    assert_eq!(status, 200);
}

/// One server-sent event: its name, its data and when it arrived.
struct Sent {
    event: String,
    data: String,
    at: Instant,
}

/// Opens `path` as an event stream and hands each event over as it arrives, until the server
/// closes the connection.
fn open_events(addr: SocketAddr, path: &str) -> mpsc::Receiver<Sent> {
    let (sender, receiver) = mpsc::channel();
    let mut stream = TcpStream::connect(addr).expect("connect to the web pages");
    // HTTP/1.0: the body is the rest of the connection, no chunks to undo.
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .expect("request");
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stream).lines();
        for line in lines.by_ref() {
            match line {
                Ok(line) if line.is_empty() => break,
                Ok(_) => {}
                Err(_) => return,
            }
        }
        let (mut event, mut data) = (String::new(), String::new());
        for line in lines {
            let Ok(line) = line else { return };
            if line.is_empty() {
                if !data.is_empty() {
                    let sent = Sent {
                        event: std::mem::take(&mut event),
                        data: std::mem::take(&mut data),
                        at: Instant::now(),
                    };
                    if sender.send(sent).is_err() {
                        return;
                    }
                }
            } else if let Some(name) = line.strip_prefix("event:") {
                event = name.trim().to_owned();
            } else if let Some(more) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(more.strip_prefix(' ').unwrap_or(more));
            }
        }
    });
    receiver
}

fn next_figures(events: &mpsc::Receiver<Sent>) -> Sent {
    loop {
        let sent = events
            .recv_timeout(Duration::from_secs(10))
            .expect("figures within 10 s");
        if sent.event == "figures" {
            return sent;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_page_is_sent_its_figures_after_each_commit_and_again_after_a_restart() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = data_dir(tmp.path());
    let mut service = Service::start_with_web(&nats.url(), &data, &[]);
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    let receipt = client
        .submit(&ae_return("live-1", "2025-06", 1_000))
        .await
        .expect("submit");
    assert!(matches!(receipt, proto_schema::Receipt::Accepted { .. }));
    views_settled(&client).await;

    let (status, page) = http_get(service.web_addr, "/scope/Y56").expect("London's page");
    assert_eq!(status, 200);
    assert!(
        page.contains("data-live=\"/live/Y56\""),
        "the page asks for live figures"
    );
    assert!(page.contains("src=\"/assets/live.js\""));
    let (status, script) = http_get(service.web_addr, "/assets/live.js").expect("script");
    assert_eq!(status, 200);
    assert!(script.contains("EventSource"));

    let events = open_events(service.web_addr, "/live/Y56");
    let first = next_figures(&events);
    assert_eq!(field_of(&first.data, "ae_4hr", "value"), "80.0%");

    // A revision over NATS: the open page is sent the new figure, without asking.
    let mut revised = ae_return("live-2", "2025-06", 1_000);
    revised.values[0].1 = Value::Ratio {
        numerator: Halves::whole(900),
        denominator: Halves::whole(1_000),
    };
    let sent = Instant::now();
    let receipt = client.submit(&revised).await.expect("revise");
    assert!(matches!(receipt, proto_schema::Receipt::Accepted { .. }));
    let update = next_figures(&events);
    assert_eq!(field_of(&update.data, "ae_4hr", "value"), "90.0%");
    let took = update.at - sent;
    eprintln!(
        "commit to figures sent to the page: {} ms",
        took.as_millis()
    );
    assert!(took < Duration::from_secs(5), "{took:?}");

    // The server restarts where the page expects it: a page connecting again is sent the
    // figures as they are, and then the next change.
    let web_addr = service.web_addr;
    service.terminate();
    assert!(
        events.recv_timeout(Duration::from_secs(10)).is_err(),
        "the stream ends with the server"
    );
    let _service = Service::start_serving_web_on(&nats.url(), &data, &[], "warn", web_addr);
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    views_settled(&client).await;
    let events = open_events(web_addr, "/live/Y56");
    assert_eq!(
        field_of(&next_figures(&events).data, "ae_4hr", "value"),
        "90.0%"
    );
    let mut again = ae_return("live-3", "2025-06", 1_000);
    again.values[0].1 = Value::Ratio {
        numerator: Halves::whole(950),
        denominator: Halves::whole(1_000),
    };
    client.submit(&again).await.expect("revise again");
    assert_eq!(
        field_of(&next_figures(&events).data, "ae_4hr", "value"),
        "95.0%"
    );

    let (status, _) = http_get(web_addr, "/live/NOPE").expect("unknown scope");
    assert_eq!(status, 404, "an unknown scope is refused, not retried");
    let (status, _) = http_get(web_addr, "/live/Y56?as_of_seq=5").expect("past");
    assert_eq!(status, 400, "the past does not change");
}

/// An `oversight web` child process, killed on drop.
struct WebPages(std::process::Child);

impl Drop for WebPages {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `path` until it answers 200; its body.
fn page_when_served(addr: SocketAddr, path: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((200, body)) = http_get(addr, path) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{path} was not served within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversight_web_serves_the_pages_from_another_process_and_follows_the_reference_data() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    let receipt = client
        .submit(&ae_return("apart-1", "2025-06", 1_000))
        .await
        .expect("submit");
    assert!(matches!(receipt, proto_schema::Receipt::Accepted { .. }));
    views_settled(&client).await;

    let addr = crate::harness::free_loopback_addr();
    let log = std::fs::File::create(tmp.path().join("web.log")).expect("log file");
    let _pages = WebPages(
        std::process::Command::new(env!("CARGO_BIN_EXE_oversight"))
            .args([
                "web",
                "--nats",
                &nats.url(),
                "--web-addr",
                &addr.to_string(),
            ])
            .env("RUST_LOG", "warn")
            .stderr(log)
            .spawn()
            .expect("start oversight web"),
    );
    let page = page_when_served(addr, "/scope/Y56");
    assert_eq!(field_of(&page, "ae_4hr", "value"), "80.0%");
    assert!(
        page.contains("<h1>London</h1>"),
        "named from the log's reference data"
    );

    // An organisation registered while the pages run is placed and named on them.
    let org = proto_schema::Organisation {
        code: "ZZW1".into(),
        name: "A new walk-in centre".into(),
        role: proto_schema::OrgRole::Provider,
        system: "QMJ".into(),
        region: "Y56".into(),
        opened: proto_schema::Date::parse("2020-01-01").expect("date"),
        closed: None,
    };
    let registered = client
        .admin("register_organisation", &org)
        .await
        .expect("register");
    assert!(
        matches!(registered, proto_schema::Receipt::Accepted { .. }),
        "{registered:?}"
    );
    let mut form = ae_return("apart-2", "2025-06", 500);
    form.org = "ZZW1".into();
    let receipt = client.submit(&form).await.expect("submit");
    assert!(
        matches!(receipt, proto_schema::Receipt::Accepted { .. }),
        "{receipt:?}"
    );
    views_settled(&client).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = page_when_served(addr, "/scope/ZZW1");
        if page.contains("<h1>A new walk-in centre</h1>") {
            assert!(page.contains("href=\"/scope/QMJ\""), "placed in its system");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new organisation was not named: {page}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(["web", "--nats", &nats.url(), "--web-addr", "0.0.0.0:0"])
        .output()
        .expect("run oversight web");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("loopback"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One HTTP/1.0 request with `headers` and `body`: the status, the response's headers (lower-case
/// names) and its body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    use std::io::Read;
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Signs in; the session cookie (`name=value`) and the whole `Set-Cookie` header.
fn sign_in(addr: SocketAddr, user: &str, password: &str) -> Option<(String, String)> {
    let body = format!("user={user}&password={password}&next=%2Fscope%2FY56");
    let (status, headers, _) = http(
        addr,
        "POST",
        "/sign-in",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &body,
    );
    if status != 303 {
        return None;
    }
    let set = header(&headers, "set-cookie")?.to_owned();
    let cookie = set.split(';').next()?.to_owned();
    Some((cookie, set))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_web_users_every_page_needs_signing_in_and_each_user_sees_its_own_scopes() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let users = tmp.path().join("web-users.csv");
    let hash = |p: &str| oversight::web::access::hash_password(p).expect("hash");
    std::fs::write(
        &users,
        format!(
            "user,password_hash,scope\ncorporate,{},national\nlondon,{},Y56\nrj1,{},RJ1\n",
            hash("corporate-pass"),
            hash("london-pass"),
            hash("rj1-pass")
        ),
    )
    .expect("users file");
    let service = Service::start_with_web(
        &nats.url(),
        &data_dir(tmp.path()),
        &["--web-users", users.to_str().expect("utf-8")],
    );
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    for (org, id) in [("RJ1", "access-1"), ("RJ1", "access-2"), ("RAL", "ral-1")] {
        let mut form = ae_return(id, "2025-06", 1_000);
        form.org = org.into();
        client.submit(&form).await.expect("submit");
    }
    views_settled(&client).await;
    let addr = service.web_addr;
    let south_west_trust = client
        .look_up_organisations(&["RA9".into(), "RK9".into(), "RH8".into()])
        .await
        .expect("look up")
        .into_iter()
        .find(|org| org.region == "Y58")
        .expect("a South West trust")
        .code;

    // Nothing is readable without signing in; the sign-in form and the styles are.
    for path in [
        "/",
        "/scope/Y56",
        "/scope/Y56.csv",
        "/scope/Y56.xlsx",
        "/scope/Y56/ae_4hr",
        "/scope/RJ1/returns",
        "/live/Y56",
    ] {
        let (status, headers, body) = http(addr, "GET", path, &[], "");
        assert_eq!(status, 303, "{path}");
        assert!(
            header(&headers, "location").is_some_and(|l| l.starts_with("/sign-in?next=")),
            "{path}"
        );
        assert!(!body.contains("data-metric"), "{path}");
    }
    assert_eq!(http(addr, "GET", "/sign-in", &[], "").0, 200);
    assert_eq!(
        http(addr, "GET", "/assets/nhsuk-frontend.min.css", &[], "").0,
        200
    );

    // A wrong password is refused.
    let (status, _, body) = http(
        addr,
        "POST",
        "/sign-in",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "user=london&password=not-it&next=%2F",
    );
    assert_eq!(status, 401);
    assert!(body.contains("The user name or password is wrong"));
    assert!(sign_in(addr, "nobody", "london-pass").is_none());

    let get = |cookie: &str, path: &str| http(addr, "GET", path, &[("Cookie", cookie)], "").0;
    let (london, set_cookie) = sign_in(addr, "london", "london-pass").expect("London signs in");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert_eq!(get(&london, "/"), 200);
    assert_eq!(get(&london, "/scope/Y56"), 200);
    assert_eq!(get(&london, "/scope/RJ1"), 200, "a London trust");
    assert_eq!(get(&london, "/scope/QMJ"), 200, "a London system");
    assert_eq!(get(&london, "/scope/Y58"), 403, "the South West");
    assert_eq!(
        get(&london, &format!("/scope/{south_west_trust}")),
        403,
        "a South West trust"
    );
    assert_eq!(get(&london, "/scope/Y58.csv"), 403);
    assert_eq!(get(&london, "/scope/Y58.xlsx"), 403);
    assert_eq!(get(&london, "/live/Y58"), 403);

    let (rj1, _) = sign_in(addr, "rj1", "rj1-pass").expect("RJ1 signs in");
    assert_eq!(get(&rj1, "/scope/RJ1"), 200, "its own organisation");
    assert_eq!(get(&rj1, "/"), 200, "England");
    assert_eq!(get(&rj1, "/scope/RAL"), 403, "another trust");
    assert_eq!(get(&rj1, "/scope/Y56"), 403, "its region is not its own");

    // A trust's user sees its own returns, which one is counted, and not another trust's.
    let (status, _, own) = http(addr, "GET", "/scope/RJ1/returns", &[("Cookie", &rj1)], "");
    assert_eq!(status, 200, "{own}");
    let row = |submission: &str| {
        let at = own
            .find(&format!("data-submission=\"{submission}\""))
            .unwrap_or_else(|| panic!("{submission} is listed: {own}"));
        own[at..]
            .split("</tr>")
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(row("access-2").contains("In force"), "{}", row("access-2"));
    assert!(row("access-1").contains("Replaced"), "{}", row("access-1"));
    assert!(own.find("access-2") < own.find("access-1"), "newest first");
    assert!(
        !own.contains("ral-1"),
        "another trust's return is not listed"
    );
    assert_eq!(
        get(&rj1, "/scope/RAL/returns"),
        403,
        "another trust's returns"
    );
    assert_eq!(
        get(&london, "/scope/RJ1/returns"),
        200,
        "its region's trust"
    );

    let (corporate, _) = sign_in(addr, "corporate", "corporate-pass").expect("corporate");
    assert_eq!(get(&corporate, "/scope/Y58"), 200);
    assert_eq!(get(&corporate, &format!("/scope/{south_west_trust}")), 200);

    // Signing out ends the session.
    let (status, _, _) = http(addr, "POST", "/sign-out", &[("Cookie", &london)], "");
    assert_eq!(status, 303);
    assert_eq!(get(&london, "/scope/Y56"), 303, "signed out");
    assert_eq!(get(&rj1, "/scope/RJ1"), 200, "other sessions go on");
}

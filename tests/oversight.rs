//! The Oversight Framework over the real published files: scores, segments and league tables in
//! the views, checked against a ranking this test computes from the raw CSV on its own.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use oversight::client::Client;
use oversight::import::{self, ae};
use proto_schema::{Assessed, Oversight, Quarter, SnapshotRequest, NATIONAL};

use crate::harness::{data_dir, nats, serving_client, views_settled, Service};

const JUNE_2025: &str = "Monthly-AE-June-2025-1-1.csv";

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// Each organisation's (attendances, attendances over 4 hours) in a monthly A&E file, read
/// straight from its columns: every `A&E attendances ...` and every `Attendances over 4hrs ...`.
fn attendances_in(path: &str) -> BTreeMap<String, (i64, i64)> {
    let mut reader = csv::Reader::from_path(repo_file(path)).expect("the published file");
    let headers = reader.headers().expect("headers").clone();
    let columns = |prefix: &str| -> Vec<usize> {
        headers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.starts_with(prefix))
            .map(|(i, _)| i)
            .collect()
    };
    let (all, over) = (columns("A&E attendances"), columns("Attendances over 4hrs"));
    let code = headers
        .iter()
        .position(|h| h == "Org Code")
        .expect("Org Code");
    let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for row in reader.records() {
        let row = row.expect("row");
        let sum = |cols: &[usize]| -> i64 {
            cols.iter()
                .map(|i| row[*i].trim().parse::<i64>().expect("a count"))
                .sum()
        };
        let entry = out.entry(row[code].trim().to_owned()).or_default();
        entry.0 += sum(&all);
        entry.1 += sum(&over);
    }
    out
}

/// The trust types the service seeds by default, read from the bundled file.
fn default_trust_types() -> BTreeMap<String, String> {
    let mut reader =
        csv::Reader::from_path(repo_file("deploy/reference/trust_types.csv")).expect("file");
    reader
        .records()
        .map(|row| {
            let row = row.expect("row");
            (row[0].to_owned(), row[1].to_owned())
        })
        .collect()
}

/// Imports June 2025's published A&E file, every row accepted.
async fn import_june_2025(client: &Client) {
    let text = import::read(&repo_file(&format!("deploy/data/ae/{JUNE_2025}"))).expect("file");
    let parsed = ae::parse(JUNE_2025, &text).expect("parses");
    let report = import::submit_all(client, parsed.rows)
        .await
        .expect("import");
    assert!(report.rejected.is_empty(), "{report}");
}

async fn assessed(client: &Client, scope: &str, methodology: &str, quarter: Quarter) -> Oversight {
    client
        .snapshot(
            scope,
            &SnapshotRequest {
                methodology: Some(methodology.into()),
                quarter: Some(quarter),
                ..SnapshotRequest::default()
            },
        )
        .await
        .expect("snapshot")
        .oversight
        .expect("the view carries the assessment")
}

fn ae_score(assessed: &Assessed) -> Option<&proto_schema::MetricScored> {
    assessed.scores.iter().find(|s| s.metric == "ae_4hr")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_june_2025_league_table_of_four_hour_performance_is_the_one_the_raw_file_gives() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    let before_import = views_settled(&client).await;
    import_june_2025(&client).await;
    views_settled(&client).await;
    let q1 = Quarter::parse("2025-26-q1").expect("quarter");

    // Independently: acute trusts with attendances, ranked on the share within 4 hours, ties
    // sharing the best rank, compared exactly as fractions.
    let types = default_trust_types();
    let acute: Vec<(String, i64, i64)> = attendances_in(&format!("deploy/data/ae/{JUNE_2025}"))
        .into_iter()
        .filter(|(org, (all, _))| *all > 0 && types.get(org).map(String::as_str) == Some("acute"))
        .map(|(org, (all, over))| (org, all - over, all))
        .collect();
    let better = |(_, an, ad): &(String, i64, i64), (_, bn, bd): &(String, i64, i64)| {
        i128::from(*an) * i128::from(*bd) > i128::from(*bn) * i128::from(*ad)
    };
    let n = acute.len();
    assert!(n > 100, "June 2025 has {n} acute trusts with attendances");
    let expected_rank: BTreeMap<&str, usize> = acute
        .iter()
        .map(|a| {
            let rank = 1 + acute.iter().filter(|b| better(b, a)).count();
            (a.0.as_str(), rank)
        })
        .collect();

    let national = assessed(&client, NATIONAL, "nof-2025-26", q1).await;
    assert_eq!(national.quarter, q1);
    assert_eq!(national.quarters, vec![q1], "the only quarter with figures");
    let scored: BTreeMap<&str, &Assessed> = national
        .organisations
        .iter()
        .filter(|(_, a)| ae_score(a).is_some())
        .map(|(org, a)| (org.as_str(), a))
        .collect();
    assert_eq!(
        scored.keys().copied().collect::<Vec<_>>(),
        expected_rank.keys().copied().collect::<Vec<_>>(),
        "exactly the acute trusts with attendances are scored on A&E"
    );
    for (org, within, all) in &acute {
        let score = ae_score(scored[org.as_str()]).expect("scored");
        let rank = expected_rank[org.as_str()];
        assert_eq!(score.framework_id, None, "{org}");
        assert_eq!((score.rank as usize, score.of as usize), (rank, n), "{org}");
        let share = 100.0 * *within as f64 / *all as f64;
        assert!(
            (score.figure - share).abs() < 1e-9,
            "{org}: {}",
            score.figure
        );
        let expected_score = 1.0 + 3.0 * (rank - 1) as f64 / (n - 1) as f64;
        assert!((score.score - expected_score).abs() < 1e-9, "{org}");
    }
    // The per-metric league table is the independent sort, best first.
    let mut by_service: Vec<(&str, u32)> = scored
        .iter()
        .map(|(org, a)| (*org, ae_score(a).expect("scored").rank))
        .collect();
    by_service.sort_by_key(|(org, rank)| (*rank, *org));
    let mut by_hand = acute.clone();
    by_hand.sort_by(|a, b| {
        (i128::from(b.1) * i128::from(a.2))
            .cmp(&(i128::from(a.1) * i128::from(b.2)))
            .then(a.0.cmp(&b.0))
    });
    assert_eq!(
        by_service.iter().map(|(org, _)| *org).collect::<Vec<_>>(),
        by_hand.iter().map(|a| a.0.as_str()).collect::<Vec<_>>()
    );

    // Non-acute trusts that run minor units are not in A&E's peer group.
    let minor_units: Vec<String> = attendances_in(&format!("deploy/data/ae/{JUNE_2025}"))
        .into_iter()
        .filter(|(org, (all, _))| {
            *all > 0 && types.get(org).map(String::as_str) == Some("non_acute")
        })
        .map(|(org, _)| org)
        .collect();
    assert!(!minor_units.is_empty());
    for org in &minor_units {
        assert!(ae_score(&national.organisations[org]).is_none(), "{org}");
    }

    // The aggregated league table: by segment, then average score, within trust type; with
    // one metric scored, the average is that metric's score.
    let mut table: Vec<(&str, &Assessed)> = scored.iter().map(|(o, a)| (*o, *a)).collect();
    table.sort_by_key(|(org, a)| (a.position, *org));
    assert_eq!(table[0].1.position, Some(1));
    for (org, a) in &table {
        assert_eq!(a.average, Some(ae_score(a).expect("scored").score), "{org}");
        assert_eq!(a.of as usize, n, "{org}");
        assert_eq!(a.placed, a.adjusted, "no decisions: {org}");
        assert!(a.finance.is_none(), "no finance returns: {org}");
    }
    for pair in table.windows(2) {
        let (a, b) = (pair[0].1, pair[1].1);
        let key = |x: &Assessed| (x.placed, x.average.map(|v| (v * 1e9).round() as i64));
        assert!(key(a) <= key(b), "{} before {}", pair[0].0, pair[1].0);
        assert_eq!(
            a.position == b.position,
            key(a) == key(b),
            "ties share a position"
        );
    }
    // Quartiles: a better average never sits in a worse segment, and all four are used.
    let segments: Vec<u8> = table.iter().filter_map(|(_, a)| a.segment).collect();
    assert_eq!(segments.len(), n);
    assert!(segments.windows(2).all(|w| w[0] <= w[1]));
    for segment in 1..=4u8 {
        let count = segments.iter().filter(|s| **s == segment).count();
        assert!(
            count.abs_diff(n / 4) <= 2 + n / 20,
            "segment {segment}: {count} of {n}"
        );
    }

    // A region's view holds its own organisations, ranked among all of England.
    let london = assessed(&client, "Y56", "nof-2025-26", q1).await;
    assert!(!london.organisations.is_empty());
    assert!(london.organisations.len() < national.organisations.len());
    for (org, a) in &london.organisations {
        assert_eq!(Some(a), national.organisations.get(org), "{org}");
    }

    // The same log under 2026/27: the same scores, segments by its fixed thresholds.
    let thresholds = assessed(&client, NATIONAL, "nof-2026-27", q1).await;
    for (org, a) in &scored {
        let b = &thresholds.organisations[*org];
        assert_eq!(b.average, a.average, "{org}");
        let average = b.average.expect("scored");
        let expected = match average {
            x if x <= 1.75 => 1,
            x if x <= 2.5 => 2,
            x if x <= 3.25 => 3,
            _ => 4,
        };
        assert_eq!(b.segment, Some(expected), "{org}: {average}");
    }
    // With one ranked metric the scores are spread evenly from 1 to 4, so the 2026/27 thresholds
    // fall where the quartiles do; where they differ is shown on a constructed log in
    // services/projector/tests/methodologies.rs.

    // And under the trigger points: each organisation's segment is today's suggested one.
    let triggers = assessed(&client, NATIONAL, "triggers-2019", q1).await;
    for org in ["RJ1", "RF4", "RCX"] {
        let own = client
            .snapshot(org, &SnapshotRequest::default())
            .await
            .expect("snapshot");
        let suggested = own.segment.expect("a segment").suggested;
        assert_eq!(
            triggers.organisations[org].segment,
            Some(suggested),
            "{org}"
        );
        assert!(triggers.organisations[org].scores.is_empty());
    }

    // As of before the import nothing was scored; an unknown methodology is named as such.
    let earlier = client
        .snapshot(
            NATIONAL,
            &SnapshotRequest {
                as_of_seq: Some(before_import),
                methodology: Some("nof-2025-26".into()),
                quarter: Some(q1),
                ..SnapshotRequest::default()
            },
        )
        .await
        .expect("as-of snapshot")
        .oversight
        .expect("assessed");
    assert!(earlier.organisations.values().all(|a| a.scores.is_empty()));
    let unknown = client
        .snapshot(
            NATIONAL,
            &SnapshotRequest {
                methodology: Some("nof-2024-25".into()),
                ..SnapshotRequest::default()
            },
        )
        .await
        .expect_err("no such methodology");
    let message = unknown.to_string();
    assert!(
        message.contains("nof-2024-25") && message.contains("nof-2025-26"),
        "{message}"
    );
}

/// The organisation codes of a league table on a page, in the order the page lists them.
fn rows_of(page: &str, trust_type: &str) -> Vec<String> {
    let start = page
        .find(&format!("data-trust-type=\"{trust_type}\""))
        .unwrap_or_else(|| panic!("no {trust_type} table on the page"));
    let table = &page[start..start + page[start..].find("</table>").expect("table ends")];
    table
        .split("data-org=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').expect("attribute ends")].to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_league_table_pages_list_the_views_positions_and_say_why_a_segment_was_placed() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let service = Service::start_with_web(&nats.url(), &data_dir(tmp.path()), &[]);
    let web = service.web_addr;
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    import_june_2025(&client).await;
    let decided = client
        .admin(
            oversight::subjects::DECIDE_SEGMENT,
            &proto_schema::SegmentDecided {
                org: "RJ1".into(),
                segment: 5,
                rationale: "Recovery support programme".into(),
            },
        )
        .await
        .expect("decide");
    assert!(matches!(decided, proto_schema::Receipt::Accepted { .. }));
    views_settled(&client).await;
    let q1 = Quarter::parse("2025-26-q1").expect("quarter");
    let national = assessed(&client, NATIONAL, "nof-2025-26", q1).await;

    let (status, page) =
        crate::harness::http_get(web, "/oversight?quarter=2025-26-q1").expect("page");
    assert_eq!(status, 200, "{page}");
    let mut expected: Vec<(&String, &Assessed)> = national
        .organisations
        .iter()
        .filter(|(_, a)| a.trust_type == Some(proto_schema::TrustType::Acute))
        .collect();
    expected.sort_by_key(|(org, a)| (a.position.is_none(), a.position, *org));
    let expected: Vec<String> = expected.into_iter().map(|(org, _)| org.clone()).collect();
    assert_eq!(rows_of(&page, "acute"), expected);
    assert_eq!(
        expected.last().map(String::as_str),
        Some("RJ1"),
        "segment 5 comes last"
    );
    assert!(page.contains("Decided: 5, Recovery support programme"));
    assert_eq!(national.organisations["RJ1"].placed, Some(5));
    // How final the quarter's figures are: June's A&E window as the view holds it, closed (the
    // file came long after its deadline); April and May had no returns.
    let june = proto_schema::Period::parse("2025-06").expect("period");
    let view = client
        .snapshot(NATIONAL, &proto_schema::SnapshotRequest::default())
        .await
        .expect("England");
    let c = &view.completeness["ae-monthly"][&june];
    let windows = page
        .split("data-field=\"quarter-windows\"")
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .expect("the quarter's windows");
    let june_cell = windows
        .split("data-period=\"2025-06\"")
        .nth(1)
        .and_then(|rest| rest.split("</td>").next())
        .expect("June");
    assert!(june_cell.contains("data-state=\"closed\""), "{june_cell}");
    assert!(
        june_cell.contains(&format!("{} of {} in", c.received, c.expected)),
        "{june_cell}"
    );
    assert!(c.received > 100, "England's trusts are in");
    let april_cell = windows
        .split("data-period=\"2025-04\"")
        .nth(1)
        .and_then(|rest| rest.split("</td>").next())
        .expect("April");
    assert!(april_cell.contains("no returns"), "{april_cell}");

    // A region's page lists its own organisations only, in the same order.
    let london = assessed(&client, "Y56", "nof-2025-26", q1).await;
    let (status, page) = crate::harness::http_get(web, "/scope/Y56/oversight").expect("page");
    assert_eq!(status, 200);
    let listed = rows_of(&page, "acute");
    assert!(listed
        .iter()
        .all(|org| london.organisations.contains_key(org)));
    assert_eq!(
        listed,
        expected
            .iter()
            .filter(|org| london.organisations.contains_key(*org))
            .cloned()
            .collect::<Vec<_>>()
    );

    // Why did it move: RJ1 alone returned the quarter before, so scored best there.
    let march = crate::harness::ae_return("rj1-2025-03", "2025-03", 10_000);
    let receipt = client.submit(&march).await.expect("submit");
    assert!(matches!(receipt, proto_schema::Receipt::Accepted { .. }));
    views_settled(&client).await;
    let now = ae_score(&national.organisations["RJ1"])
        .expect("scored")
        .score;
    let (status, page) =
        crate::harness::http_get(web, "/scope/RJ1/oversight?quarter=2025-26-q1").expect("page");
    assert_eq!(status, 200);
    assert!(page.contains("Since quarter 4 of 2024/25"), "{page}");
    let row = &page[page
        .find("data-field=\"scores-moved\"")
        .expect("what moved")..];
    let row = &row[row.find("data-metric=\"ae_4hr\"").expect("A&E moved")..];
    let cell = |field: &str| {
        let at = &row[row.find(&format!("data-field=\"{field}\"")).expect(field)..];
        let at = &at[at.find('>').expect("tag") + 1..];
        at[..at.find('<').expect("text")].trim().to_owned()
    };
    assert_eq!(cell("then"), "1.00");
    assert_eq!(cell("now"), format!("{now:.2}"));

    let (status, page) =
        crate::harness::http_get(web, "/oversight?methodology=nof-2024-25").expect("page");
    assert_eq!(status, 404);
    assert!(page.contains("nof-2025-26"), "names the known ones");
    let (status, _) = crate::harness::http_get(web, "/oversight?quarter=2025-q5").expect("page");
    assert_eq!(status, 400);
}

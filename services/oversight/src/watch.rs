//! `oversight watch <scope>`: a live table of one scope, kept current by the snapshot-and-delta
//! protocol: snapshot, apply each delta in order, and on a gap take a fresh snapshot.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use futures_util::StreamExt;
use proto_schema::{
    show_headline, show_standard, Alert, Delta, GeographyMode, SnapshotRequest, Standard, Value,
    Variance, View, WindowState,
};

use crate::client::Client;
use crate::subjects;
use crate::wire::Encoding;

/// The most organisation codes listed as failing on one line.
const FAILING_LISTED: usize = 6;

/// The most recent alerts shown under the table.
const ALERTS_SHOWN: usize = 5;

/// How often the table is redrawn at most.
const REDRAW_EVERY: Duration = Duration::from_millis(250);

/// Shows the table until interrupted; with `once`, prints it once and returns.
pub async fn run(
    client: &Client,
    scope: &str,
    geography: GeographyMode,
    once: bool,
) -> anyhow::Result<()> {
    // The table shows each metric's latest period (its chart is drawn from the whole series):
    // asking for only that keeps a large scope's snapshot within one NATS message.
    let request = SnapshotRequest {
        geography,
        last: Some(1),
        ..SnapshotRequest::default()
    };
    let mut deltas = client.nats().subscribe(subjects::view_delta(scope)).await?;
    let mut alert_feed = client.nats().subscribe(subjects::alert(scope)).await?;
    let mut alerts: Vec<Alert> = Vec::new();
    let mut view = client.snapshot(scope, &request).await?;
    let terminal = std::io::stdout().is_terminal();
    if !shown(draw(&view, &alerts, terminal, None))? || once {
        return Ok(());
    }
    let mut dirty = false;
    let mut note = None;
    let mut tick = tokio::time::interval(REDRAW_EVERY);
    loop {
        tokio::select! {
            message = deltas.next() => {
                let Some(message) = message else { break };
                let delta: Delta = match Encoding::Postcard.decode(&message.payload) {
                    Ok(delta) => delta,
                    Err(why) => {
                        note = Some(format!("an unreadable delta ({why}); snapshot taken again"));
                        view = client.snapshot(scope, &request).await?;
                        dirty = true;
                        continue;
                    }
                };
                // Deltas describe the geography as reported; another geography is re-read.
                let applied = match geography {
                    GeographyMode::AsReported => view.apply_delta(&delta).is_ok(),
                    GeographyMode::Current => false,
                };
                if !applied {
                    if geography == GeographyMode::AsReported {
                        note = Some(format!("missed a delta after seq {}; snapshot taken again", view.last_change_seq));
                    }
                    view = client.snapshot(scope, &request).await?;
                }
                dirty = true;
            }
            message = alert_feed.next() => {
                let Some(message) = message else { break };
                if let Ok(alert) = Encoding::Json.decode::<Alert>(&message.payload) {
                    alerts.push(alert);
                    if alerts.len() > ALERTS_SHOWN {
                        alerts.remove(0);
                    }
                    dirty = true;
                }
            }
            _ = tick.tick() => {
                if dirty {
                    if !shown(draw(&view, &alerts, terminal, note.take()))? {
                        break;
                    }
                    dirty = false;
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    Ok(())
}

/// Whether the table reached its reader: false once the reader has gone (`watch ... | head`
/// closing the pipe), which ends the watch quietly rather than as an error.
fn shown(drawn: std::io::Result<()>) -> std::io::Result<bool> {
    match drawn {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(error) => Err(error),
    }
}

fn draw(
    view: &View,
    alerts: &[Alert],
    terminal: bool,
    note: Option<String>,
) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if terminal {
        // Home and clear, so the table updates in place.
        write!(out, "\x1b[H\x1b[2J")?;
    }
    write!(out, "{}", render(view))?;
    for alert in alerts {
        writeln!(
            out,
            "ALERT seq {}: {}",
            alert.seq,
            proto_schema::printable(&alert.message)
        )?;
    }
    if let Some(note) = note {
        writeln!(out, "({note})")?;
    }
    if !terminal {
        writeln!(out)?;
    }
    out.flush()
}

/// The table: per metric, its latest period, the scope's figure, the standard, whether it is met,
/// and the organisations whose own figure misses it.
pub fn render(view: &View) -> String {
    let geography = match view.geography {
        GeographyMode::AsReported => "as reported",
        GeographyMode::Current => "current geography",
    };
    let mut text = format!("{} ({geography}), log seq {}\n", view.scope, view.seq);
    text.push_str(&format!(
        "{:<24} {:<10} {:>14} {:>14} {:>4} {:>10}  {:<16} {}\n",
        "metric", "period", "value", "standard", "met", "vs plan", "spc", "organisations failing"
    ));
    if view.metrics.is_empty() {
        text.push_str("(no returns yet)\n");
    }
    for (metric, periods) in &view.metrics {
        let Some((period, cell)) = periods.iter().max_by_key(|(p, _)| p.end_order()) else {
            continue;
        };
        let summary = &cell.summary;
        let standard = summary
            .standard
            .map(|standard| show_standard(standard, summary.total.kind()))
            .unwrap_or_else(|| "-".into());
        let met = match summary.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        let failing = summary
            .standard
            .map(|standard| failing(standard, cell.organisations.iter()))
            .unwrap_or_default();
        let vs_plan = view
            .variance
            .get(metric)
            .and_then(|periods| periods.get(period))
            .map(|variance| show_variance(&summary.total, variance))
            .unwrap_or_else(|| "-".into());
        text.push_str(&format!(
            "{:<24} {:<10} {:>14} {:>14} {:>4} {:>10}  {:<16} {}\n",
            metric,
            period.to_string(),
            show_headline(&summary.total, summary.value),
            standard,
            met,
            vs_plan,
            view.spc
                .get(metric)
                .map(show_spc)
                .unwrap_or_else(|| "-".into()),
            failing
        ));
    }
    for (collection, periods) in &view.received {
        let Some((period, received)) = periods.iter().max_by_key(|(p, _)| p.end_order()) else {
            continue;
        };
        let missing: Vec<&str> = view
            .missing
            .get(collection)
            .and_then(|m| m.get(period))
            .map(|cell| cell.organisations.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let count = match received.summary.total {
            Value::Count(n) => n,
            _ => 0,
        };
        let listed = missing
            .iter()
            .take(FAILING_LISTED)
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        let more = if missing.len() > FAILING_LISTED {
            " ..."
        } else {
            ""
        };
        // "140 of 150 in, provisional until 2025-05-15", "150 of 150 in, closed (3 after the
        // deadline)": whether the figure above is final.
        let window = view
            .completeness
            .get(collection)
            .and_then(|c| c.get(period))
            .map(|c| {
                let state = match c.state {
                    WindowState::Closed if c.after_close > 0 => {
                        format!("closed ({} after the deadline)", c.after_close)
                    }
                    WindowState::Closed => "closed".to_owned(),
                    state => format!("{} until {}", state.as_str(), c.closes),
                };
                (format!(" of {}", c.expected), format!(", {state}"))
            })
            .unwrap_or_default();
        let (of, state) = window;
        if missing.is_empty() {
            text.push_str(&format!(
                "returns {collection} {period}: {count}{of} in{state}\n"
            ));
        } else {
            text.push_str(&format!(
                "returns {collection} {period}: {count}{of} in{state}, {} overdue: {listed}{more}\n",
                missing.len()
            ));
        }
    }
    if let Some(segment) = &view.segment {
        let decided = segment
            .decided
            .as_ref()
            .map(|d| format!("; decided {} by {}", d.segment, d.by))
            .unwrap_or_default();
        text.push_str(&format!(
            "segment: suggested {}{decided}\n",
            segment.suggested
        ));
        for trigger in &segment.triggers {
            text.push_str(&format!("  +{} {}\n", trigger.points, trigger.detail));
        }
    }
    text
}

/// The variation icon and the assurance, in a word each.
fn show_spc(spc: &proto_schema::Spc) -> String {
    use proto_schema::{Assurance, PointType};
    let variation = match spc.variation {
        PointType::CommonCause => "common",
        PointType::SpecialCauseImprovement => "improving",
        PointType::SpecialCauseConcern => "CONCERN",
        PointType::SpecialCauseNeutralHigh => "high",
        PointType::SpecialCauseNeutralLow => "low",
    };
    match spc.assurance {
        Some(Assurance::ConsistentPass) => format!("{variation}, pass"),
        Some(Assurance::ConsistentFail) => format!("{variation}, FAIL"),
        Some(Assurance::Inconsistent) => format!("{variation}, hit&miss"),
        None => variation.to_owned(),
    }
}

fn failing<'a>(standard: Standard, rows: impl Iterator<Item = (&'a String, &'a Value)>) -> String {
    let mut total = 0;
    let mut codes = Vec::new();
    for (org, value) in rows {
        total += 1;
        if standard.is_met_by(value) == Some(false) {
            codes.push(org.as_str());
        }
    }
    if codes.is_empty() {
        return format!("none of {total}");
    }
    let listed = codes
        .iter()
        .take(FAILING_LISTED)
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let more = if codes.len() > FAILING_LISTED {
        " ..."
    } else {
        ""
    };
    format!("{} of {total}: {listed}{more}", codes.len())
}

/// Actual minus plan, and how many of the scope's organisations planned it when not all did.
fn show_variance(total: &Value, variance: &Variance) -> String {
    let shown = proto_schema::show_variance(total.kind(), variance.value);
    if variance.organisations == variance.of {
        shown
    } else {
        format!("{shown} ({} of {})", variance.organisations, variance.of)
    }
}

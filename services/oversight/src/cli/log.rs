//! `oversight log`: log entries in seq order, one line each for people or as JSON.

use std::time::Duration;

use proto_schema::{Envelope, Event};

use crate::client::Client;
use crate::config::NatsArgs;

#[derive(Debug, clap::Args)]
pub struct LogArgs {
    #[command(flatten)]
    nats: NatsArgs,
    /// First seq to print.
    #[arg(long, default_value_t = 1)]
    from: u64,
    /// Most entries to print.
    #[arg(long, default_value_t = 50)]
    max: u64,
    /// Print the entries as JSON (the oversight.log.read layout), one reply per line.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: LogArgs) -> anyhow::Result<()> {
    let client = Client::connect_as(&args.nats.target(), Duration::from_secs(10)).await?;
    let mut from = args.from.max(1);
    let mut remaining = args.max;
    while remaining > 0 {
        let page = client.read_log(from, remaining.min(1000) as u32).await?;
        if args.json {
            println!("{}", serde_json::to_string(&page)?);
        } else {
            for envelope in &page.entries {
                // Text stored before control characters were refused is shown escaped, so no
                // entry can forge a line or colour the terminal.
                println!("{}", proto_schema::printable(&describe(envelope)));
            }
        }
        let Some(last) = page.entries.last() else {
            break;
        };
        remaining -= page.entries.len() as u64;
        from = last.seq + 1;
        if last.seq >= page.last_seq {
            break;
        }
    }
    Ok(())
}

/// One line per entry, for people.
fn describe(envelope: &Envelope) -> String {
    let what = match &envelope.event {
        Event::ReturnSubmitted(s) => {
            let r = &s.ret;
            let values: Vec<String> = r.values.iter().map(|(id, v)| format!("{id} {v}")).collect();
            format!(
                "{} {} {} rev {} [{}]: {}",
                r.org,
                r.collection,
                r.period,
                s.revision,
                r.submission_id,
                values.join(", ")
            )
        }
        Event::RegionDefined(r) => format!("{} {}", r.code, r.name),
        Event::SystemDefined(s) => format!("{} in {}", s.code, s.region),
        Event::OrganisationRegistered(o) => {
            let closed = o
                .closed
                .map(|d| format!(", closed {d}"))
                .unwrap_or_default();
            format!(
                "{} {} ({:?}, {} {}, opened {}{closed})",
                o.code, o.name, o.role, o.region, o.system, o.opened
            )
        }
        Event::MetricDefined(m) => format!("{} ({}): {}", m.id, m.kind, m.name),
        Event::OrganisationMoved(m) => {
            format!("{} to {} {} from {}", m.code, m.region, m.system, m.from)
        }
        Event::PlanSubmitted(s) => {
            let p = &s.plan;
            let metrics: Vec<String> = p
                .trajectories
                .iter()
                .map(|(id, points)| {
                    let first = points.keys().next().map(|p| p.to_string());
                    let last = points.keys().last().map(|p| p.to_string());
                    format!(
                        "{id} {}..{}",
                        first.unwrap_or_default(),
                        last.unwrap_or_default()
                    )
                })
                .collect();
            format!(
                "{} plan {} rev {} [{}]: {}",
                p.org,
                p.plan,
                s.revision,
                p.submission_id,
                metrics.join(", ")
            )
        }
        Event::SegmentDecided(d) => {
            format!("{} segment {}: {}", d.org, d.segment, d.rationale)
        }
        Event::CollectionDefined(c) => format!(
            "{} ({:?}, due {} working days after): {}",
            c.id,
            c.period_kind,
            c.due_working_days,
            c.metrics.join(", ")
        ),
        Event::MethodologyDefined(m) => format!(
            "{} v{} ({}): {}",
            m.id,
            m.version,
            m.name,
            m.metrics
                .iter()
                .map(|s| s.metric.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Event::TrustTypeSet(t) => format!("{} {}", t.org, t.trust_type.id()),
    };
    format!(
        "{:>8}  {}  {:<14}  {:<24}  {what}",
        envelope.seq,
        envelope.recorded_at,
        envelope.sender,
        envelope.event.kind()
    )
}

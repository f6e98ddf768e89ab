//! The `oversight` command's subcommands, one module each: their arguments and what they do.
//! The binary parses the command line, sets up logging and the runtime, and calls these.

pub mod backup;
pub mod deploy;
pub mod import;
pub mod log;
pub mod project;
pub mod submit;
pub mod verify;
pub mod watch;
pub mod web;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use proto_schema::Receipt;

use crate::exit::Exit;

/// Completes on the first SIGINT or SIGTERM; a second one exits at once. The handlers are in
/// place when this returns, not when the future is first awaited: a signal that arrives while the
/// service is still starting is then a graceful shutdown once it has started, where the default
/// action would have ended the process with nothing shut down in order.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{signal, SignalKind};
    let handlers = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    async move {
        let (Ok(mut term), Ok(mut int)) = handlers else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        tokio::spawn(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            eprintln!("second signal: exiting without waiting");
            std::process::exit(130);
        });
    }
}

pub(crate) fn report_receipt(receipt: &Receipt, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string(receipt)?);
    } else {
        print_receipt(receipt);
    }
    Ok(match receipt {
        Receipt::Accepted { .. } => ExitCode::SUCCESS,
        Receipt::Rejected { .. } => Exit::Rejected.code(),
        Receipt::Busy { .. } => Exit::Retry.code(),
    })
}

pub(crate) fn read_input(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buffer = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buffer)
            .context("reading the return from standard input")?;
        Ok(buffer)
    } else {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

fn print_receipt(receipt: &Receipt) {
    match receipt {
        Receipt::Accepted {
            seq,
            revision,
            duplicate: false,
            ..
        } => println!("accepted: seq {seq}, revision {revision}"),
        Receipt::Accepted {
            seq,
            revision,
            duplicate: true,
            ..
        } => {
            println!("accepted: seq {seq}, revision {revision} (already accepted earlier with this submission id; nothing new stored)")
        }
        Receipt::Rejected { reasons } => {
            println!(
                "rejected, nothing stored ({} reason{}):",
                reasons.len(),
                if reasons.len() == 1 { "" } else { "s" }
            );
            for r in reasons {
                let field = if r.field.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", r.field)
                };
                println!("  {}{field}: {}", r.code, r.message);
            }
        }
        Receipt::Busy { retry_after_ms } => {
            println!("busy: the service is at capacity; try again in {retry_after_ms} ms")
        }
    }
    if let Receipt::Accepted { notices, .. } = receipt {
        for notice in notices {
            println!("  note ({}): {}", notice.code.as_str(), notice.message);
        }
    }
}

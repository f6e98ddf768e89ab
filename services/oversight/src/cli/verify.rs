//! `oversight verify --data DIR`: walks a log whole (every entry's checksum, the chain of links,
//! the look-ups) and says where it is damaged, without changing anything.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use event_log::LogError;

use crate::exit::Exit;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The data directory holding oversight.redb: a stopped service's, or a backup. (A running
    /// service verified its log when it started, and holds the file.)
    #[arg(long, default_value = "oversight-data")]
    data: PathBuf,
}

/// Exit 0 when every entry, link and look-up holds; 6 (naming the first bad seq) when not.
pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let path = args.data.join("oversight.redb");
    let show_progress = std::io::stderr().is_terminal();
    let outcome = event_log::verify_file(&path, |walked, last| {
        if show_progress && last > 0 {
            eprint!("\rverifying: {walked} of {last} entries");
        }
    });
    if show_progress {
        eprintln!();
    }
    match outcome {
        Ok(verified) => {
            println!(
                "{}: {} entries verified; head {}",
                path.display(),
                verified.entries,
                event_log::hex(&verified.head)
            );
            if verified.unlinked > 0 {
                println!(
                    "  its entries were written before links were kept: each checksum holds; \
                     `oversight serve` links them the next time it starts"
                );
            }
            Ok(match verified.lookup_damage {
                None => {
                    println!("  every entry, link and look-up holds");
                    ExitCode::SUCCESS
                }
                Some(why) => {
                    println!(
                        "  the entries hold, but the look-up tables do not agree with them: {why}; \
                         `oversight serve` rebuilds them from the entries when it starts (check the disk)"
                    );
                    Exit::Failed.code()
                }
            })
        }
        Err(error @ LogError::InUse { .. }) => Err(anyhow::anyhow!(
            "{error}: stop it first, or verify a backup (`oversight backup`)"
        )),
        Err(error) => {
            println!("{}: {error}", path.display());
            if let Some(seq) = first_bad_seq(&error) {
                println!("  first bad seq: {seq}");
            }
            Ok(Exit::Failed.code())
        }
    }
}

fn first_bad_seq(error: &LogError) -> Option<u64> {
    match *error {
        LogError::Corrupt { seq, .. }
        | LogError::NewerSchema { seq, .. }
        | LogError::Misplaced { seq, .. }
        | LogError::ChainBroken { seq }
        | LogError::LinkMissing { seq } => Some(seq),
        LogError::NotDense { count, .. } => Some(count + 1),
        _ => None,
    }
}

//! `oversight-fuzz`: runs every fuzz target (or one) for a number of executions or seconds each
//! and prints what it did; exit 1 on a failure, whose input is written beside the corpus.
//!
//!   cargo run --release -p oversight-fuzz -- --executions 10000000

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "Mutation fuzzing of every decoder that reads outside input")]
struct Args {
    /// Only this target (see --list).
    #[arg(long)]
    target: Option<String>,
    /// Executions per target.
    #[arg(long, default_value_t = 1_000_000)]
    executions: u64,
    /// At most this many seconds per target.
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    /// Seed of the mutator, so a run can be repeated.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// List the targets and stop.
    #[arg(long)]
    list: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let targets: Vec<_> = oversight_fuzz::targets()
        .into_iter()
        .filter(|t| args.target.as_deref().is_none_or(|name| name == t.name))
        .collect();
    if args.list || targets.is_empty() {
        for target in oversight_fuzz::targets() {
            println!("{}", target.name);
        }
        return if targets.is_empty() {
            ExitCode::from(3)
        } else {
            ExitCode::SUCCESS
        };
    }
    println!(
        "{:<20} {:>12} {:>10} {:>12}  outcome",
        "target", "executions", "seconds", "per second"
    );
    let mut failed = false;
    for target in targets {
        let dir = oversight_fuzz::corpus_dir(target.name);
        let corpus = match oversight_fuzz::read_corpus(&dir) {
            Ok(corpus) => corpus,
            Err(error) => {
                eprintln!("error: cannot read the corpus {}: {error}", dir.display());
                return ExitCode::from(4);
            }
        };
        let run = oversight_fuzz::run(
            target,
            &corpus,
            args.executions,
            Duration::from_secs(args.seconds),
            args.seed,
        );
        let secs = run.elapsed.as_secs_f64();
        let outcome = match &run.failure {
            None => "ok".to_owned(),
            Some((input, why)) => {
                failed = true;
                let path = dir.with_file_name(format!("{}-failure.bin", target.name));
                let saved = std::fs::write(&path, input)
                    .map(|()| format!(" (input in {})", path.display()))
                    .unwrap_or_default();
                format!("FAILED: {why}{saved}")
            }
        };
        println!(
            "{:<20} {:>12} {:>10.1} {:>12.0}  {outcome}",
            run.target,
            run.executions,
            secs,
            run.executions as f64 / secs.max(1e-9)
        );
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

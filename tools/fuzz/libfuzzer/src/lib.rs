//! One libFuzzer binary per `oversight-fuzz` target: a panic that escapes a target, or a property
//! of the decoded value that does not hold, is a crash libFuzzer records with its input.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use oversight_fuzz::Target;

/// Runs the named target on one input.
pub fn run(name: &str, input: &[u8]) {
    static TARGETS: OnceLock<Vec<Target>> = OnceLock::new();
    let targets = TARGETS.get_or_init(|| {
        // libfuzzer-sys aborts at any panic, even one the code under test catches and turns into
        // an error (the importers guard the spreadsheet reader so): say it, and abort below only
        // for a panic that escapes the target.
        std::panic::set_hook(Box::new(|info| eprintln!("{info}")));
        oversight_fuzz::targets()
    });
    let Some(target) = targets.iter().find(|t| t.name == name) else {
        eprintln!("no fuzz target named {name}");
        std::process::abort();
    };
    match catch_unwind(AssertUnwindSafe(|| (target.run)(input))) {
        Ok(Ok(())) => {}
        Ok(Err(why)) => {
            eprintln!("{name}: {why}");
            std::process::abort();
        }
        Err(_) => {
            eprintln!("{name}: a panic escaped the target");
            std::process::abort();
        }
    }
}

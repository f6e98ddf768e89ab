//! One libFuzzer binary per `oversight-fuzz` target: a panic, or a property of the decoded value
//! that does not hold, is a crash libFuzzer records with its input.

use std::sync::OnceLock;

use oversight_fuzz::Target;

/// Runs the named target on one input.
pub fn run(name: &str, input: &[u8]) {
    static TARGETS: OnceLock<Vec<Target>> = OnceLock::new();
    let targets = TARGETS.get_or_init(oversight_fuzz::targets);
    let Some(target) = targets.iter().find(|t| t.name == name) else {
        panic!("no fuzz target named {name}");
    };
    if let Err(why) = (target.run)(input) {
        panic!("{name}: {why}");
    }
}

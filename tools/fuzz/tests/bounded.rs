//! The bounded run of every fuzz target that the suite does on each change (the long runs are
//! `oversight-fuzz --executions N`): the corpus, then mutations of it, with no panic and every
//! property holding.

use std::time::Duration;

#[test]
fn every_target_survives_a_bounded_run_from_its_corpus() {
    for target in oversight_fuzz::targets() {
        let corpus = oversight_fuzz::read_corpus(&oversight_fuzz::corpus_dir(target.name))
            .unwrap_or_else(|e| panic!("the corpus of {}: {e}", target.name));
        assert!(!corpus.is_empty(), "{} has a corpus", target.name);
        let run = oversight_fuzz::run(target, &corpus, 20_000, Duration::from_secs(20), 7);
        if let Some((input, why)) = &run.failure {
            panic!(
                "{}: {why} on {:?}",
                target.name,
                String::from_utf8_lossy(input)
            );
        }
        assert!(run.executions >= corpus.len() as u64);
    }
}

/// An input libFuzzer found: a damaged cell reference that made the spreadsheet reader panic.
#[test]
fn a_workbook_found_damaged_by_fuzzing_is_refused_with_an_error() {
    let path = oversight_fuzz::corpus_dir("import_sheet").join("cell-reference-overflow.xlsx");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let refused = oversight::import::ae_sheet::Table::from_workbook_bytes("damaged.xlsx", &bytes)
        .expect_err("a damaged workbook is refused");
    assert!(refused.to_string().starts_with("damaged.xlsx"), "{refused}");
}

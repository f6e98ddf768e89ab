//! Fuzzing every decoder that reads input from outside the process: each target is fed inputs
//! made from a committed corpus (`tools/fuzz/corpus/<target>/`) by mutation — bit and byte
//! flips, insertions and deletions, splices of two inputs, truncation, and for text the
//! replacement of numbers and punctuation with ones that are known to break parsers. A target
//! fails on a panic, or when a property of what it decoded does not hold (a postcard value
//! encodes back to one that decodes the same).
//!
//! Run here (`oversight-fuzz`, and the suite's bounded run) this is mutation fuzzing without
//! coverage feedback, needing nothing but the crate. The same targets are fuzzed with coverage
//! feedback by libFuzzer (`tools/fuzz/libfuzzer`, built with SanitizerCoverage on stable Rust and
//! no sanitizer, as cargo-fuzz does with `--sanitizer none`; `deploy/fuzz.sh`). The corpus holds
//! real inputs of every shape (the golden log entries, the README's JSON, the published files),
//! so both start from deep in each format rather than from random bytes.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oversight::import::{ae, ae_sheet, cancer, ods, rtt};
use oversight_client::wire::Encoding;
use proto_schema::{
    decode_plan_form, decode_return_form, encode_return_form, Envelope, LogReadRequest,
    Organisation, OrganisationMoved, ReturnsRequest, SegmentDecided, SnapshotRequest, System,
};

/// One decoder under test.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    /// Decodes the input; `Err` when a property of the decoded value does not hold.
    pub run: fn(&[u8]) -> Result<(), String>,
}

fn text(input: &[u8]) -> String {
    String::from_utf8_lossy(input).into_owned()
}

/// Every target.
pub fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "envelope_postcard",
            run: |input| {
                if let Ok(envelope) = Envelope::decode(input) {
                    let again = envelope.encode().map_err(|e| e.to_string())?;
                    if Envelope::decode(&again).as_ref() != Ok(&envelope) {
                        return Err("a decoded entry does not encode back to itself".into());
                    }
                }
                Ok(())
            },
        },
        Target {
            name: "return_postcard",
            run: |input| {
                if let Ok(form) = decode_return_form(input) {
                    if decode_return_form(&encode_return_form(&form)).as_ref() != Ok(&form) {
                        return Err("a decoded return does not encode back to itself".into());
                    }
                }
                Ok(())
            },
        },
        Target {
            name: "return_json",
            run: |input| {
                let _ = Encoding::Json.decode_return(input);
                let _ = Encoding::Postcard.decode_return(input);
                Ok(())
            },
        },
        Target {
            name: "plan",
            run: |input| {
                let _ = Encoding::Json.decode_plan(input);
                let _ = decode_plan_form(input);
                Ok(())
            },
        },
        Target {
            name: "requests",
            run: |input| {
                for encoding in [Encoding::Json, Encoding::Postcard] {
                    let _ = encoding.decode::<SnapshotRequest>(input);
                    let _ = encoding.decode::<LogReadRequest>(input);
                    let _ = encoding.decode::<ReturnsRequest>(input);
                    let _ = encoding.decode::<Organisation>(input);
                    let _ = encoding.decode::<System>(input);
                    let _ = encoding.decode::<OrganisationMoved>(input);
                    let _ = encoding.decode::<SegmentDecided>(input);
                    let _ = encoding.decode::<Vec<String>>(input);
                }
                Ok(())
            },
        },
        Target {
            name: "import_ae",
            run: |input| {
                let text = text(input);
                let _ = ae::parse_for("Monthly-AE-April-2025.csv", &text, None);
                let _ = ae::parse_for("ae.csv", &text, Some("2025-10"));
                if let Ok(table) = ae_sheet::Table::from_csv(&text) {
                    let _ = ae_sheet::parse("AE-by-provider-October-2025.csv", &table, None);
                }
                Ok(())
            },
        },
        Target {
            name: "import_sheet",
            run: |input| {
                if let Ok(table) = ae_sheet::Table::from_workbook_bytes("sheet.xlsx", input) {
                    let _ = ae_sheet::parse("AE-by-provider-September-2025.xlsx", &table, None);
                }
                Ok(())
            },
        },
        Target {
            name: "import_cancer_rtt",
            run: |input| {
                let text = text(input);
                let _ = cancer::parse("cancer.csv", &text);
                let _ = rtt::parse("rtt.csv", &text);
                Ok(())
            },
        },
        Target {
            name: "import_ods",
            run: |input| {
                let text = text(input);
                let _ = ods::parse("etr.csv", &text, ods::role_of("etr.csv"));
                let _ = ods::parse("eccg.csv", &text, ods::role_of("eccg.csv"));
                Ok(())
            },
        },
    ]
}

/// The committed corpus of a target.
pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

/// The inputs in `dir` (each file one input).
pub fn read_corpus(dir: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    let mut inputs = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    for path in paths {
        inputs.push(std::fs::read(path)?);
    }
    Ok(inputs)
}

/// Bytes and tokens that break parsers, spliced into inputs.
const INTERESTING: &[&[u8]] = &[
    b"0",
    b"-1",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"18446744073709551616",
    b"1e308",
    b"1e-308",
    b"0.5",
    b"17020.0000000000000001",
    b"NaN",
    b"null",
    b"true",
    b"\"\"",
    b"{}",
    b"[]",
    b"\\u0000",
    b"\\ud800",
    b"\"\\n\"",
    b",",
    b":",
    b"\"",
    b"\n",
    b"\r\n",
    b"%",
    b"-",
    b"2019-02-30",
    b"2019-W53",
    b"\xff",
    b"\xc3\x28",
    b"\x00",
];

/// A new input made from the corpus.
pub fn mutate(rng: &mut fastrand::Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut input = if corpus.is_empty() {
        Vec::new()
    } else {
        corpus[rng.usize(..corpus.len())].clone()
    };
    for _ in 0..rng.usize(1..=4) {
        let len = input.len();
        match rng.u8(..8) {
            0 if len > 0 => {
                let at = rng.usize(..len);
                input[at] ^= 1 << rng.u8(..8);
            }
            1 if len > 0 => {
                let at = rng.usize(..len);
                input[at] = rng.u8(..);
            }
            2 => {
                let at = rng.usize(..=len);
                let token = INTERESTING[rng.usize(..INTERESTING.len())];
                input.splice(at..at, token.iter().copied());
            }
            3 if len > 0 => {
                let at = rng.usize(..len);
                let end = (at + rng.usize(1..=16)).min(len);
                input.drain(at..end);
            }
            4 if len > 0 => input.truncate(rng.usize(..len)),
            5 if !corpus.is_empty() && len > 0 => {
                let other = &corpus[rng.usize(..corpus.len())];
                if !other.is_empty() {
                    let cut = rng.usize(..len);
                    let from = rng.usize(..other.len());
                    input.truncate(cut);
                    input.extend_from_slice(&other[from..]);
                }
            }
            6 if len > 0 => {
                // A number in text replaced by another.
                if let Some(at) = input.iter().position(|b| b.is_ascii_digit()) {
                    let token = INTERESTING[rng.usize(..3)];
                    let end = input[at..]
                        .iter()
                        .position(|b| !b.is_ascii_digit())
                        .map_or(input.len(), |n| at + n);
                    input.splice(at..end, token.iter().copied());
                }
            }
            _ => {
                let at = rng.usize(..=len);
                let noise: Vec<u8> = (0..rng.usize(1..=8)).map(|_| rng.u8(..)).collect();
                input.splice(at..at, noise);
            }
        }
    }
    input
}

/// What a run of one target did.
#[derive(Debug, Clone)]
pub struct Run {
    pub target: &'static str,
    pub executions: u64,
    pub elapsed: Duration,
    /// The first input that failed, and why.
    pub failure: Option<(Vec<u8>, String)>,
}

/// Runs `target` on mutations of `corpus` (the corpus itself first) until `executions` or
/// `limit`, whichever comes first; stops at the first failure.
pub fn run(target: Target, corpus: &[Vec<u8>], executions: u64, limit: Duration, seed: u64) -> Run {
    let mut rng = fastrand::Rng::with_seed(seed);
    let started = Instant::now();
    let mut done = 0;
    let mut failure = None;
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    while done < executions && started.elapsed() < limit {
        let input = match corpus.get(done as usize) {
            Some(seed_input) => seed_input.clone(),
            None => mutate(&mut rng, corpus),
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| (target.run)(&input)));
        done += 1;
        let why = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(why)) => why,
            Err(panic) => format!(
                "panicked: {}",
                panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default()
            ),
        };
        failure = Some((input, why));
        break;
    }
    std::panic::set_hook(previous_hook);
    Run {
        target: target.name,
        executions: done,
        elapsed: started.elapsed(),
        failure,
    }
}

//! The hostile-input corpus (tests/malformed/, see its README): every entry goes through
//! the path a user's input takes and must give exactly its expected error text (located as
//! `file:line:column` where the input has a place), never panic and never hang.
//!
//! - `cases/*`: a case file, loaded like `pss-harness run` does (`loader::load_file`);
//! - `manifests/*`: `pss-harness check --level baseline` (`input::read_file`, then
//!   `check::check_text`; one human line per object);
//! - `reviews/*`: a request body for `serve`'s `/validate` (`serve::decode_review`, PSA in a
//!   namespace enforcing `restricted`);
//! - `policies/*`: a Kyverno policy file (`PolicySet::load`);
//! - `generated/*`: inputs too big to commit (5 MiB, deep nesting, alias amplification),
//!   built here and read through the same functions (`input::read_bounded` is what
//!   `read_file` does after opening the file);
//! - `accepted/{manifests,reviews,policies}/*`: hostile-looking inputs that are valid as the
//!   API server's decoder reads them (a `null` list or template is absent): they must be
//!   answered, and exactly as expected, not refused.
//!
//! `<entry>.expected` holds the expected text. `MALFORMED_BLESS=1` writes the actual text
//! of entries whose expectation is missing (review it before committing).
//! `MALFORMED_TIMES=1` prints each entry's time: the per-entry times recorded in
//! docs/robustness.md. The test itself only asserts that an entry answers within a
//! generous watchdog (30 s), so it does not flake on a loaded machine.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use pss::{Level, LevelVersion, Version};
use pss_harness::error::Error;
use pss_harness::manifest::Source;
use pss_harness::policy::{self, PolicySet};
use pss_harness::profile::Profile;
use pss_harness::serve::{self, Engine};
use pss_harness::{check, input, limits, loader};

/// Generous on purpose: in a debug build the alias bombs and the 250,000-node input take
/// about 2 s (serde-saphyr's generic deserializers are compiled unoptimised in this
/// crate), more on a loaded shared machine; in release each entry takes milliseconds.
const WATCHDOG: Duration = Duration::from_secs(30);
const CORPUS: &str = "tests/malformed";

/// Which entry point an entry goes through.
#[derive(Debug, Clone, Copy)]
enum Entry {
    Case,
    Manifest,
    Review,
    Policy,
}

impl Entry {
    fn of_dir(dir: &str) -> Option<Entry> {
        Some(match dir {
            "cases" => Entry::Case,
            "manifests" => Entry::Manifest,
            "reviews" => Entry::Review,
            "policies" => Entry::Policy,
            _ => return None,
        })
    }
}

/// What an entry produced: its text, and whether it was refused (an error anywhere).
struct Answer {
    text: String,
    refused: bool,
}

fn error_text(e: &Error) -> String {
    match e {
        Error::Located(l) => match &l.help {
            Some(help) => format!("{l}\nhelp: {help}"),
            None => l.to_string(),
        },
        other => other.to_string(),
    }
}

fn refused(text: String) -> Answer {
    Answer {
        text,
        refused: true,
    }
}

/// The entry point of `entry` on the text of `label` (already read within bounds).
fn answer_text(entry: Entry, label: &Path, text: &str) -> Answer {
    match entry {
        Entry::Case => match loader::load_str(label, text, "malformed") {
            Ok(cases) => Answer {
                text: format!("loaded {} cases", cases.len()),
                refused: false,
            },
            Err(e) => refused(error_text(&Error::Located(e))),
        },
        Entry::Manifest => {
            let policy = LevelVersion::new(Level::Baseline, Version::Latest);
            match check::check_text(label, text, policy, false) {
                Ok(records) => Answer {
                    text: records
                        .iter()
                        .map(check::human_line)
                        .collect::<Vec<_>>()
                        .join("\n"),
                    refused: records.is_empty() || records.iter().any(|r| r.error.is_some()),
                },
                Err(e) => refused(error_text(&Error::Located(e))),
            }
        }
        Entry::Policy => match policy::load_text(&Source::new(label, text)) {
            Ok(p) => Answer {
                text: format!("loaded {} policies", p.len()),
                refused: false,
            },
            Err(e) => refused(error_text(&Error::Located(e))),
        },
        Entry::Review => review(text.as_bytes()),
    }
}

/// `serve`'s answer to a request body.
fn review(body: &[u8]) -> Answer {
    let engine = Engine::for_profile(&Profile::Psa, &[], None).expect("a PSA engine");
    let labels = BTreeMap::from([(
        "pod-security.kubernetes.io/enforce".to_owned(),
        "restricted".to_owned(),
    )]);
    match serve::decode_review(&engine, body, &labels, vec![]) {
        Ok((review, _)) => Answer {
            text: review.to_string(),
            refused: review["response"]["allowed"] != true,
        },
        Err(e) => refused(e),
    }
}

/// A committed entry, read as the CLI reads files.
fn answer_file(entry: Entry, path: &Path) -> Answer {
    match entry {
        Entry::Review => match std::fs::read(path) {
            Ok(body) => review(&body),
            Err(e) => refused(format!("{}: {e}", path.display())),
        },
        Entry::Case => {
            let stem = "malformed";
            match loader::load_file(path, stem, false) {
                Ok(cases) => Answer {
                    text: format!("loaded {} cases", cases.len()),
                    refused: false,
                },
                Err(e) => refused(error_text(&e)),
            }
        }
        Entry::Policy => match PolicySet::load(&[path.to_path_buf()]) {
            Ok(set) => Answer {
                text: format!("loaded {} policies", set.policies.len()),
                refused: false,
            },
            Err(e) => refused(error_text(&e)),
        },
        Entry::Manifest => match input::read_file(path) {
            Ok(text) => answer_text(entry, path, &text),
            Err(e) => refused(error_text(&e)),
        },
    }
}

/// A generated entry: bytes named `label`, read within bounds like a file of that size.
fn answer_bytes(entry: Entry, label: &Path, bytes: &[u8]) -> Answer {
    if let Entry::Review = entry {
        return review(bytes);
    }
    match input::read_bounded(bytes, label, Some(bytes.len() as u64)) {
        Ok(text) => answer_text(entry, label, &text),
        Err(e) => refused(error_text(&e)),
    }
}

/// Run `work` on its own thread; a panic or no answer within the watchdog fails.
fn guarded(name: &str, work: impl FnOnce() -> Answer + Send + 'static) -> Result<Answer, Failed> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let start = Instant::now();
            let answer = catch_unwind(AssertUnwindSafe(work));
            let _ = tx.send((answer, start.elapsed()));
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    match rx.recv_timeout(WATCHDOG) {
        Err(_) => Err(format!("no answer within {WATCHDOG:?}: hangs").into()),
        Ok((Err(_), _)) => Err("panicked".into()),
        Ok((Ok(answer), elapsed)) => {
            if std::env::var_os("MALFORMED_TIMES").is_some() {
                eprintln!("time\t{name}\t{:.2} ms", elapsed.as_secs_f64() * 1e3);
            }
            Ok(answer)
        }
    }
}

/// Compare with `<expected>`; with `MALFORMED_BLESS=1`, write a missing expectation.
fn judge(answer: &Answer, expected: &Path, refuse: bool) -> Result<(), Failed> {
    if answer.refused != refuse {
        let what = if refuse { "accepted" } else { "refused" };
        return Err(format!(
            "{what}, unlike the other entries of its folder:\n{}",
            answer.text
        )
        .into());
    }
    let want = match std::fs::read_to_string(expected) {
        Ok(text) => text,
        Err(_) if std::env::var_os("MALFORMED_BLESS").is_some() => {
            std::fs::write(expected, format!("{}\n", answer.text))
                .map_err(|e| format!("{}: {e}", expected.display()))?;
            return Ok(());
        }
        Err(e) => {
            return Err(format!("{}: {e}\nactual:\n{}", expected.display(), answer.text).into());
        }
    };
    if want.trim_end_matches('\n') != answer.text {
        return Err(format!("expected:\n{want}\nactual:\n{}\n", answer.text).into());
    }
    Ok(())
}

/// The committed entries: refused ones in `<kind>/`, accepted ones in `accepted/<kind>/`.
fn committed(root: &Path) -> Vec<Trial> {
    let mut trials = Vec::new();
    let folders = ["cases", "manifests", "reviews", "policies"]
        .map(|d| (d.to_owned(), d, true))
        .into_iter()
        .chain(["manifests", "reviews", "policies"].map(|d| (format!("accepted/{d}"), d, false)));
    for (dir, kind, refuse) in folders {
        let entry = Entry::of_dir(kind).expect("a corpus folder");
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(CORPUS).join(&dir))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| Path::new(CORPUS).join(&dir).join(e.file_name()))
            .filter(|p| p.extension().is_some_and(|e| e != "expected"))
            .collect();
        files.sort();
        for path in files {
            let name = path
                .strip_prefix(CORPUS)
                .unwrap_or(&path)
                .display()
                .to_string();
            let expected = path.with_extension("expected");
            trials.push(Trial::test(name.clone(), move || {
                let answer = guarded(&name, move || answer_file(entry, &path))?;
                judge(&answer, &expected, refuse)
            }));
        }
    }
    trials
}

/// A pod manifest whose annotation value makes it `size` bytes.
fn big_manifest(size: usize) -> Vec<u8> {
    let head = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    a: ";
    let tail = "\nspec: {containers: [{name: c}]}\n";
    let mut out = head.as_bytes().to_vec();
    out.resize(size - tail.len(), b'x');
    out.extend_from_slice(tail.as_bytes());
    out
}

/// The generated entries: name, entry point, bytes, expected text.
fn generated() -> Vec<(&'static str, Entry, Vec<u8>, String)> {
    let five_mib = 5 << 20;
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes();
    // One 1 MiB value, anchored once and aliased nine times: 10 MiB of values.
    let mut amplified =
        b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    a: &a ".to_vec();
    amplified.resize(amplified.len() + (1 << 20), b'x');
    amplified.extend_from_slice(b"\n  annotations: {");
    for i in 0..9 {
        amplified.extend_from_slice(format!("b{i}: *a, ").as_bytes());
    }
    amplified.extend_from_slice(b"}\nspec: {containers: [{name: c}]}\n");
    let mut many_nodes = b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  x:\n".to_vec();
    for _ in 0..(limits::MAX_NODES + 10) {
        many_nodes.extend_from_slice(b"  - 1\n");
    }
    let big_review = {
        let object = String::from_utf8(big_manifest(five_mib)).unwrap_or_default();
        format!(
            r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{"uid":"u","object":{}}}}}"#,
            serde_json::json!(object)
        )
    };
    let deep_review = format!(
        r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{"uid":"u","resource":{{"group":"","version":"v1","resource":"pods"}},"operation":"CREATE","object":{}1{}}}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let over = "input is 5.0 MiB, over the 4 MiB limit";
    vec![
        (
            "manifest-5mib.yaml",
            Entry::Manifest,
            big_manifest(five_mib),
            format!("generated/manifest-5mib.yaml: {over}"),
        ),
        (
            "case-5mib.yaml",
            Entry::Case,
            big_manifest(five_mib),
            format!("generated/case-5mib.yaml: {over}"),
        ),
        (
            "policy-5mib.yaml",
            Entry::Policy,
            big_manifest(five_mib),
            format!("generated/policy-5mib.yaml: {over}"),
        ),
        (
            "review-5mib.json",
            Entry::Review,
            big_review.into_bytes(),
            "the request body is 5.0 MiB, over the 4 MiB limit".into(),
        ),
        (
            "manifest-nested-10000.json",
            Entry::Manifest,
            deep(10_000),
            "generated/manifest-nested-10000.json:1:33: nested deeper than the limit of 32 levels"
                .into(),
        ),
        (
            "review-nested-200.json",
            Entry::Review,
            deep_review.into_bytes(),
            "not an AdmissionReview: recursion limit exceeded at line 1 column 295".into(),
        ),
        (
            "manifest-value-amplification.yaml",
            Entry::Manifest,
            amplified,
            "generated/manifest-value-amplification.yaml:7:69: more than 8.0 MiB of text in \
             values, over the limit (an alias counts its text at every use)"
                .into(),
        ),
        (
            "manifest-250k-nodes.yaml",
            Entry::Manifest,
            many_nodes,
            // The 250,001st node: 12 before the list, so item 249,989 on line 5 + 249,988.
            "generated/manifest-250k-nodes.yaml:249993:5: more than 250000 YAML nodes, over \
             the limit (an alias counts its nodes at every use)"
                .into(),
        ),
    ]
}

fn generated_trials() -> Vec<Trial> {
    generated()
        .into_iter()
        .map(|(name, entry, bytes, want)| {
            let name = format!("generated/{name}");
            Trial::test(name.clone(), move || {
                let label = PathBuf::from(&name);
                let answer = guarded(&name, move || answer_bytes(entry, &label, &bytes))?;
                if !answer.refused || answer.text != want {
                    return Err(format!("expected:\n{want}\nactual:\n{}", answer.text).into());
                }
                Ok(())
            })
        })
        .collect()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // Entries are named relative to the repository root, as the expectations spell them.
    if let Err(e) = std::env::set_current_dir(&root) {
        eprintln!("cannot enter {}: {e}", root.display());
        std::process::exit(2);
    }
    let mut trials = committed(&root);
    let count = trials
        .iter()
        .filter(|t| !t.name().starts_with("accepted/"))
        .count();
    trials.extend(generated_trials());
    trials.push(Trial::test(
        "corpus has at least 50 refused entries",
        move || match count >= 50 {
            true => Ok(()),
            false => Err(format!("only {count} committed entries").into()),
        },
    ));
    libtest_mimic::run(&Arguments::from_args(), trials).exit();
}

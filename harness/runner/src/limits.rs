//! The resource bounds on every input the harness reads: case files, manifests, policy and
//! configuration files, `check`'s inputs and `serve`'s request bodies.
//!
//! A hostile input must end in a clear error, not in unbounded memory or a stack overflow.
//! The size bound is ours (checked before parsing); the structural bounds are
//! serde-saphyr budgets, set here explicitly so they are documented values, and their
//! breaches are reworded from the parser's `Debug` form into sentences.
//!
//! | bound | value | why |
//! | --- | --- | --- |
//! | input size | 4 MiB | the API server takes at most 3 MiB per request; one object is smaller |
//! | nesting depth | 32 | a CronJob's deepest fields (affinity terms) are about 20 levels down in a case file; the parser recurses per level and, in a debug build, overflows a 2 MiB thread stack past about 50 |
//! | YAML nodes (aliases expanded) | 250,000 | also stops alias bombs ("billion laughs") |
//! | scalar text (aliases expanded) | 8 MiB | twice the input: bounds copies made by aliases |
//! | documents per file | 1,024 | |
//!
//! JSON bodies (`serve`) are read by serde_json, whose own nesting limit is 128.

use serde_saphyr::budget::BudgetBreach;

/// The largest input read, in bytes.
pub const MAX_INPUT_BYTES: usize = 4 << 20;
/// The deepest nesting of YAML collections.
pub const MAX_DEPTH: usize = 32;
/// The most YAML nodes (scalars, sequences, mappings) in one input, aliases expanded.
pub const MAX_NODES: usize = 250_000;
/// The most scalar text in one input, aliases expanded.
pub const MAX_SCALAR_BYTES: usize = 2 * MAX_INPUT_BYTES;
/// The most YAML documents in one input.
pub const MAX_DOCUMENTS: usize = 1_024;

/// The options every YAML parse of the runner uses.
pub fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_nodes: MAX_NODES,
            max_total_scalar_bytes: MAX_SCALAR_BYTES,
            max_documents: MAX_DOCUMENTS,
            max_reader_input_bytes: Some(MAX_INPUT_BYTES),
            flow_nesting_limit: MAX_DEPTH,
        },
    }
}

/// `5.0 MiB`, `312 KiB`, `17 bytes`.
pub fn human_size(bytes: u64) -> String {
    const KIB: u64 = 1 << 10;
    const MIB: u64 = 1 << 20;
    match bytes {
        b if b >= MIB => format!("{:.1} MiB", b as f64 / MIB as f64),
        b if b >= KIB => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// The size error: `input is 6.2 MiB, over the 4 MiB limit` (`None`: the size is unknown,
/// e.g. a pipe that was read up to the limit).
pub fn too_large(size: Option<u64>) -> String {
    over_limit("input", size)
}

/// [`too_large`] about `what` (`the request body is ...`).
pub fn over_limit(what: &str, size: Option<u64>) -> String {
    let limit = human_size(MAX_INPUT_BYTES as u64).replace(".0 ", " ");
    match size {
        Some(size) => format!("{what} is {}, over the {limit} limit", human_size(size)),
        None => format!("{what} is over the {limit} limit"),
    }
}

/// The parser's alias limits (replay, expansion, anchors) and its budget's, in one sentence.
const ALIAS_BOMB: &str =
    "aliases expand too far (an alias bomb?): the input is over the alias limits";

/// A sentence for a YAML error that is a breached bound (through alias and snippet
/// wrappers), or `None` for any other error.
pub fn yaml_limit_message(err: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::Error as E;
    let mut err = err;
    while let E::AliasError { error, .. } | E::WithSnippet { error, .. } = err {
        err = error;
    }
    let text = match err {
        E::Budget { breach, .. } => breach_message(breach),
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. } => ALIAS_BOMB.into(),
        E::RecursiveReferencesRequireWeakTypes { .. } => {
            "an alias refers to a node that contains it: the expansion never ends".into()
        }
        // The scanner's own nesting limit (set to ours), met before the budget when flow
        // collections open faster than events are read (`[[[[...`).
        E::ExternalMessage { msg, .. } if msg == "recursion limit exceeded" => {
            breach_message(&BudgetBreach::Depth { depth: MAX_DEPTH })
        }
        _ => return None,
    };
    Some(text)
}

fn breach_message(breach: &BudgetBreach) -> String {
    match breach {
        BudgetBreach::Depth { .. } => {
            format!("nested deeper than the limit of {MAX_DEPTH} levels")
        }
        BudgetBreach::Nodes { .. } => format!(
            "more than {MAX_NODES} YAML nodes, over the limit (an alias counts its nodes at every use)"
        ),
        BudgetBreach::ScalarBytes { .. } => format!(
            "more than {} of text in values, over the limit (an alias counts its text at every use)",
            human_size(MAX_SCALAR_BYTES as u64)
        ),
        BudgetBreach::Documents { .. } => {
            format!("more than {MAX_DOCUMENTS} documents, over the limit")
        }
        BudgetBreach::InputBytes { .. } => too_large(None),
        BudgetBreach::Aliases { .. }
        | BudgetBreach::Anchors { .. }
        | BudgetBreach::AliasAnchorRatio { .. }
        | BudgetBreach::RecordedAnchorEvents { .. }
        | BudgetBreach::RecordedAnchorBytes { .. }
        | BudgetBreach::MergeKeys { .. } => ALIAS_BOMB.into(),
        other => format!("the input is over a parser limit ({other:?})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> serde_saphyr::Error {
        match crate::yaml::parse_documents(text) {
            Ok(_) => panic!("parsed"),
            Err(e) => e,
        }
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(5 << 20), "5.0 MiB");
        assert_eq!(human_size(6_500_000), "6.2 MiB");
        assert_eq!(human_size(2048), "2 KiB");
        assert_eq!(human_size(17), "17 bytes");
        assert_eq!(
            too_large(Some(5 << 20)),
            "input is 5.0 MiB, over the 4 MiB limit"
        );
        assert_eq!(too_large(None), "input is over the 4 MiB limit");
    }

    /// Regression: at serde-saphyr's default depth (64) the recursive parse overflowed a
    /// 2 MiB thread stack (test threads, tokio workers) in a debug build.
    #[test]
    fn the_deepest_allowed_input_fits_a_small_thread_stack() {
        let flow = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        let block: String = (0..MAX_DEPTH)
            .map(|i| format!("{}- \n", "  ".repeat(i)))
            .collect();
        let parsed = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let path = std::path::Path::new("deep.yaml");
                let policy = "baseline:latest".parse().unwrap();
                let case = format!(
                    "control: privileged\ncases:\n- name: a\n  pod: {{x: {}}}\n  expect: {{}}\n",
                    &flow[4..flow.len() - 4]
                );
                let loaded = crate::loader::load_str(path, &case, "x").unwrap_err();
                [
                    crate::yaml::parse_documents(&flow).is_ok(),
                    crate::yaml::parse_documents(&block).is_ok(),
                    crate::check::check_text(path, &flow, policy, false).is_ok(),
                    loaded.message.starts_with("unknown field `x`"),
                ]
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(parsed, [true; 4]);
    }

    #[test]
    fn breaches_become_sentences() {
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert_eq!(
            yaml_limit_message(&parse(&deep)).as_deref(),
            Some("nested deeper than the limit of 32 levels")
        );
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let msg = yaml_limit_message(&parse(&bomb)).unwrap();
        assert!(
            msg.contains("over the limit") || msg.contains("alias"),
            "{msg}"
        );
        assert_eq!(yaml_limit_message(&parse("a: [")), None);
    }
}

//! `pss-harness`: see `pss-harness --help` and docs/cases.md.

fn main() -> std::process::ExitCode {
    pss_harness::cli::main()
}

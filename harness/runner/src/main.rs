//! `pss-harness`: see `pss-harness --help` and docs/cases.md.

fn main() -> std::process::ExitCode {
    // ring is the only rustls provider in the build; reqwest needs it installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    pss_harness::cli::main()
}

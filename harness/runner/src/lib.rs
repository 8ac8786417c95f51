//! # pss-harness: the Pod Security policy test harness
//!
//! A policy author writes a YAML case (docs/cases.md), runs one command, sees it as its own
//! test, and pins its denial message in a golden snapshot. The flow of one trial:
//!
//! ```text
//! cases/*.yaml --load--> Case --expand--> Scenario --Target::admit--> Outcome
//!     --judge--> TrialResult --> report
//! ```
//!
//! - [`loader`] reads case files into [`case::Case`]s with located errors ([`error`]);
//! - [`scenario`] expands a case into scenarios (version x kind x profile);
//! - [`target`] answers admission requests (in-process PSA and Kyverno, the latter with
//!   the [`policy`] files of the case);
//! - [`judge`] compares an outcome with the expectation; [`golden`] pins the messages;
//! - [`run`] executes scenarios in parallel; [`report`] renders results;
//! - [`harness`] turns the suite into libtest-mimic trials; [`cli`] is the binary.

pub mod case;
pub mod certify;
pub mod check;
pub mod check_admission;
pub mod check_kyverno;
pub mod cli;
pub mod cli_cluster;
pub mod cli_diff;
pub mod cluster;
pub mod control;
pub mod coverage;
pub mod diff;
pub mod error;
pub mod fuzzing;
pub mod generate;
pub mod golden;
pub mod harness;
pub mod input;
pub mod judge;
pub mod limits;
pub mod loader;
pub mod manifest;
pub mod namespace_case;
pub mod policy;
pub mod profile;
pub mod profile_file;
pub mod psa_config;
pub mod report;
pub mod run;
pub mod scenario;
pub mod serve;
pub mod target;
pub mod upstream;
pub mod versions;
pub mod yaml;

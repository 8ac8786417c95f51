//! A request body for serve's /validate (any bytes), answered by a PSA and a Kyverno engine.
//! The invariants are in `pss_harness::fuzzing::admission_review`; a broken one is a crash here.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = pss_harness::fuzzing::admission_review(data) {
        panic!("{broken}");
    }
});

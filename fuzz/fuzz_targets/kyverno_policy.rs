//! A Kyverno policy file (any bytes): loaded and admitted, then every admitted policy evaluated at every line.
//! The invariants are in `pss_harness::fuzzing::kyverno_policy`; a broken one is a crash here.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = pss_harness::fuzzing::kyverno_policy(data) {
        panic!("{broken}");
    }
});

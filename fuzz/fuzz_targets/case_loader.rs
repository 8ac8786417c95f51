//! A case file (any bytes): loaded, then its first scenarios run in-process.
//! The invariants are in `pss_harness::fuzzing::case_loader`; a broken one is a crash here.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = pss_harness::fuzzing::case_loader(data) {
        panic!("{broken}");
    }
});

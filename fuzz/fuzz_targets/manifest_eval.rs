//! A manifest stream (any bytes): check's reader, the strict reader, the JSON readers, and evaluation at every level and version.
//! The invariants are in `pss_harness::fuzzing::manifest_eval`; a broken one is a crash here.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = pss_harness::fuzzing::manifest_eval(data) {
        panic!("{broken}");
    }
});

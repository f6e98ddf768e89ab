#![no_main]

libfuzzer_sys::fuzz_target!(|input: &[u8]| oversight_libfuzzer::run("return_postcard", input));

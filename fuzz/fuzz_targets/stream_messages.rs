#![no_main]

#[path = "../checks_exchanges.rs"]
#[allow(dead_code)] // each target uses one of the shared checks
mod checks_exchanges;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks_exchanges::stream_messages(data));

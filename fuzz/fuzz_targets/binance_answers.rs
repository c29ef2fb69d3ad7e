#![no_main]

#[path = "../checks_exchanges.rs"]
mod checks_exchanges;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks_exchanges::binance_answers(data));

#![no_main]

#[path = "../checks_server.rs"]
#[allow(dead_code)] // each target uses one of the shared checks
mod checks_server;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks_server::resend_webhook(data));

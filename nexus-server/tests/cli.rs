//! The `nexus` binary as an operator runs it.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

const NEXUS: &str = env!("CARGO_BIN_EXE_nexus");

#[test]
fn a_bad_bind_address_exits_non_zero_naming_the_variable() {
    let out = Command::new(NEXUS)
        .env("NEXUS_BIND", "nonsense")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "NEXUS_BIND: expected an IP address and port like 127.0.0.1:8080 or [::]:8080, got \"nonsense\""
        ),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing printed as if it had started"
    );
}

#[test]
fn serve_is_the_default_and_answers_health_checks() {
    let mut child = Command::new(NEXUS)
        .env("NEXUS_BIND", "127.0.0.1:0")
        .env("NEXUS_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("nexus: listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();

    let response = get(&addr, "/healthz");
    let _ = child.kill();
    let _ = child.wait();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"status\":\"ok\""), "{response}");
}

#[test]
fn openapi_subcommand_prints_the_document() {
    let out = Command::new(NEXUS).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(spec["info"]["title"], "Nexus API");
}

fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

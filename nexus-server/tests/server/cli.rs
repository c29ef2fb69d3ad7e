//! The `nexus` binary as an operator runs it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::NEXUS;

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
fn a_bad_database_url_exits_non_zero_naming_the_variable() {
    let out = Command::new(NEXUS)
        .env("NEXUS_DATABASE_URL", "mysql://db/nexus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("NEXUS_DATABASE_URL: expected sqlite://PATH or postgres://"),
        "{stderr}"
    );
}

#[test]
fn serve_is_the_default_and_answers_health_checks() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Server(
        Command::new(NEXUS)
            .env("NEXUS_BIND", "127.0.0.1:0")
            .env("NEXUS_LOG", "warn")
            .env("NEXUS_DATA_DIR", data.path())
            .env_remove("NEXUS_DATABASE_URL")
            .env_remove("NEXUS_MASTER_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("nexus: listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();

    let health = get(&addr, "/healthz");
    let ready = get(&addr, "/readyz");
    drop(child);
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"status\":\"ok\""), "{health}");
    assert!(
        ready.starts_with("HTTP/1.1 200"),
        "the embedded SQLite database answers: {ready}"
    );
    // The embedded default made its database and master key in the data directory.
    assert!(data.path().join("nexus.db").exists());
    assert!(data.path().join("master.key").exists());
}

#[test]
fn openapi_subcommand_prints_the_document() {
    let out = Command::new(NEXUS).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(spec["info"]["title"], "Nexus API");
}

/// Kills the server however the test ends, so a failed assertion never leaves it running.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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

#[test]
fn logs_are_json_lines_with_the_request_id() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Server(
        Command::new(NEXUS)
            .env("NEXUS_BIND", "127.0.0.1:0")
            .env("NEXUS_LOG", "info")
            .env("NEXUS_DATA_DIR", data.path())
            .env_remove("NEXUS_LOG_FORMAT")
            .env_remove("NEXUS_DATABASE_URL")
            .env_remove("NEXUS_MASTER_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("nexus: listening on http://")
        .unwrap()
        .to_owned();
    let mut stream = TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "GET /healthz?token=secret-in-query HTTP/1.1\r\nHost: {addr}\r\nX-Request-Id: trace-abc-123\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response
            .to_ascii_lowercase()
            .contains("x-request-id: trace-abc-123"),
        "{response}"
    );
    let _ = child.0.kill();
    let mut stderr = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let request = lines
        .iter()
        .find(|l| l["fields"]["message"] == "request")
        .unwrap_or_else(|| panic!("no request line in {stderr}"));
    assert_eq!(request["span"]["request_id"], "trace-abc-123");
    assert_eq!(request["span"]["path"], "/healthz");
    assert_eq!(request["fields"]["status"], 200);
    assert!(
        !stderr.contains("secret-in-query"),
        "query strings are never logged"
    );
}

fn post_json(addr: &str, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// A fresh start makes its folders, database, master key and emails readable by its user
/// only, whatever the umask.
#[cfg(unix)]
#[test]
fn the_files_a_fresh_server_creates_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let (data, outbox) = (tmp.path().join("data"), tmp.path().join("outbox"));
    let mut child = Server(
        Command::new(NEXUS)
            .env("NEXUS_BIND", "127.0.0.1:0")
            .env("NEXUS_LOG", "warn")
            .env("NEXUS_DATA_DIR", &data)
            .env("NEXUS_EMAIL_OUTBOX", &outbox)
            .env_remove("NEXUS_DATABASE_URL")
            .env_remove("NEXUS_MASTER_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("nexus: listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    // A sign-up writes the database and emails a verification link to the outbox.
    let answer = post_json(
        &addr,
        "/api/v1/auth/signup",
        r#"{"email":"files@example.com","password":"correct horse battery"}"#,
    );
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    // The email is queued, then written a moment later by the delivery task.
    let written = || {
        std::fs::read_dir(&outbox)
            .map(|dir| dir.map(|e| e.unwrap().path()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    for _ in 0..100 {
        if !written().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let emails = written();
    assert_eq!(emails.len(), 1, "{emails:?}");
    let mut private = vec![
        (data.clone(), 0o700),
        (outbox.clone(), 0o700),
        (emails[0].clone(), 0o600),
    ];
    for file in ["nexus.db", "nexus.db-wal", "nexus.db-shm", "master.key"] {
        private.push((data.join(file), 0o600));
    }
    for (path, expected) in private {
        assert_eq!(mode(&path), expected, "{}", path.display());
    }
    drop(child);
}

/// A master key file others may read is refused at start-up, naming the file and the fix.
#[cfg(unix)]
#[test]
fn a_master_key_file_others_may_read_stops_the_server() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().unwrap();
    let key = data.path().join("master.key");
    std::fs::write(&key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Command::new(NEXUS)
        .env("NEXUS_BIND", "127.0.0.1:0")
        .env("NEXUS_LOG", "warn")
        .env("NEXUS_DATA_DIR", data.path())
        .env_remove("NEXUS_DATABASE_URL")
        .env_remove("NEXUS_MASTER_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "it did not start");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!(
            "nexus: {0}: the master key file may be read or written by others (mode 0644); \
             make it readable by the server's user only: chmod 600 {0}",
            key.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("AAAAAAAA"), "the key is never printed");
    assert!(!data.path().join("nexus.db").exists(), "nothing was opened");
}

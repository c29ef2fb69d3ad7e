//! Hostile input at the running server (SQLite), over raw TCP so that anything can be sent:
//! huge and deeply nested JSON, numbers beyond every range, invalid UTF-8 in bodies, paths
//! and query strings, over-long paths and query strings, invented methods, odd and
//! malformed headers, missing and wrong content types on every endpoint that reads a body.
//! Every answer must be a 4xx (the statuses each case allows are listed), never a 5xx;
//! the application answers with its JSON error, and only a request head hyper itself
//! refuses (bad bytes in the request line, a URI over 64 KiB, too many headers, a
//! malformed `Content-Length`) gets hyper's bare status and a closed connection. The
//! series in `/metrics` must stay bounded: a second round with other invented methods and
//! paths adds none.

use std::time::Duration;

use nexus_exchanges::mock::binance::BinanceMock;
use nexus_server::api::{ApiState, AuthSettings};
use nexus_server::auth::limits::AuthLimits;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Backend, Http, Outbox, Served, TestDb};

/// A signal source the server knows (its secret is never sent: no case may be accepted).
const SOURCE_SECRET: &str = "0123456789abcdef-hostile";

/// Who answers a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum By {
    /// The application: a JSON error body with a `code`, and an `X-Request-Id`.
    App,
    /// hyper, refusing the request head before the application sees it: a bare status,
    /// no body, and the connection closed.
    Hyper,
}

struct Case {
    name: String,
    request: Vec<u8>,
    allowed: &'static [u16],
    by: By,
}

/// One answer read off the socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A request: the head as given (`Host` and `Connection: close` added), a
/// `Content-Length` for the body unless `headers` set one, then the body.
fn request(method: &str, target: &[u8], headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(target.len() + body.len() + 256);
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target);
    out.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    let sets_length = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length"));
    if !sets_length && (!body.is_empty() || method == "POST" || method == "PATCH") {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Sends `raw` on a connection of its own and reads the answer until the server closes.
async fn send(addr: &str, raw: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before reading a whole body it refuses: the answer
    // is what matters, not whether every byte was written.
    let _ = stream.write_all(raw).await;
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("the server answers within a minute");
    parse(&bytes)
}

fn parse(bytes: &[u8]) -> Answer {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer head in {:?}", String::from_utf8_lossy(bytes)));
    let head = std::str::from_utf8(&bytes[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = bytes[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_text = std::str::from_utf8(&rest[..eol]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
        rest = &rest[eol + 2 + size + 2..];
    }
    out
}

/// The server with a verified user who owns a bot, a known signal source, and a local
/// Binance to check keys against (no case may reach the internet).
struct Hostile {
    addr: String,
    http: Http,
    token: String,
    user_id: String,
    bot_id: String,
    _served: Served,
    _binance: std::sync::Arc<BinanceMock>,
    _db: TestDb,
}

async fn start() -> Hostile {
    let db = TestDb::open(Backend::Sqlite).await;
    let outbox = Outbox::new(&db.path().join("outbox"));
    let store = std::sync::Arc::clone(&db.store);
    let sender = outbox.sender();
    let (binance, venues) = crate::support::local_venues().await;
    let served = Served::start(|url| {
        let mut state = ApiState::new(store, sender, AuthSettings::new(url))
            .with_venues(std::sync::Arc::new(venues))
            .with_signal_sources(nexus_server::api::signals::SignalSources::single(
                "tv",
                SOURCE_SECRET,
            ));
        // Hundreds of requests from one address: the sign-in rate limits would answer 429
        // before the handlers' own checks, which the cases mean to reach.
        state.limits = AuthLimits::unlimited();
        state
    })
    .await;
    let http = Http::new(served.url.clone());
    let email = "mallory@example.com";
    let password = "correct horse battery";
    let (status, answer) = http
        .post(
            "/api/v1/auth/signup",
            &json!({"email": email, "password": password}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let verify = json!({"token": outbox.token(email, "Confirm"), "password": password});
    assert_eq!(
        http.post("/api/v1/auth/verify", &verify, None).await.0,
        StatusCode::OK
    );
    let (status, session) = http
        .post(
            "/api/v1/auth/login",
            &json!({"email": email, "password": password}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["token"].as_str().unwrap().to_owned();
    let (status, me) = http.get("/api/v1/me", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let bot = json!({"exchange": "paper", "symbol": "BTC/USDT", "strategy": "trend_breakout"});
    let (status, bot) = http.post("/api/v1/bots", &bot, Some(&token)).await;
    assert_eq!(status, StatusCode::CREATED, "{bot}");
    Hostile {
        addr: served.url.trim_start_matches("http://").to_owned(),
        http,
        token,
        user_id: me["id"].as_str().unwrap().to_owned(),
        bot_id: bot["id"].as_str().unwrap().to_owned(),
        _served: served,
        _binance: binance,
        _db: db,
    }
}

/// An operation that reads a JSON body.
struct Reader {
    method: &'static str,
    path: String,
    /// Sent with the session (the caller's own, so the body is what is refused).
    signed_in: bool,
    /// A body with `NUMBER` in a field: where a number or decimal is expected, or in a
    /// string field (refused as the document says: a number is not a string).
    number_body: Option<&'static str>,
    /// What `99999999999999999999999999999` there may get: 422 where the value is out of
    /// range, 400 in a string field. (`1e400` is beyond what serde_json reads: always
    /// 400.)
    huge_allowed: &'static [u16],
}

const HUGE: &str = "99999999999999999999999999999";

fn readers(h: &Hostile) -> Vec<Reader> {
    let reader = |method, path: &str, signed_in, number_body: &'static str, huge_allowed| Reader {
        method,
        path: path.to_owned(),
        signed_in,
        number_body: Some(number_body).filter(|b| !b.is_empty()),
        huge_allowed,
    };
    vec![
        reader(
            "POST",
            "/api/v1/auth/signup",
            false,
            r#"{"email":"a@example.com","password":NUMBER}"#,
            &[400],
        ),
        reader(
            "POST",
            "/api/v1/auth/verify",
            false,
            r#"{"token":NUMBER}"#,
            &[400],
        ),
        reader(
            "POST",
            "/api/v1/auth/login",
            false,
            r#"{"email":"a@example.com","password":NUMBER}"#,
            &[400],
        ),
        reader(
            "POST",
            "/api/v1/auth/password/forgot",
            false,
            // Its one field is a string, and any text gets the same 202.
            "",
            &[],
        ),
        reader(
            "POST",
            "/api/v1/auth/password/reset",
            false,
            // The token is checked first: this one is unknown.
            r#"{"token":"t","password":NUMBER}"#,
            &[400],
        ),
        // Google sign-in is not configured here: only a body that does not read gets
        // anything but 404.
        reader(
            "POST",
            "/api/v1/auth/oauth/google/link",
            false,
            r#"{"token":NUMBER,"password":NUMBER}"#,
            &[400],
        ),
        reader(
            "POST",
            "/api/v1/signals",
            false,
            r#"{"source":"tv","action":"entry","exchange":"paper","symbol":"BTC/USDT","idempotency_key":NUMBER}"#,
            &[400],
        ),
        reader(
            "POST",
            "/api/v1/exchange-keys",
            true,
            r#"{"exchange":"binance","key":"k","secret":NUMBER}"#,
            &[400],
        ),
        reader(
            "POST",
            "/api/v1/bots",
            true,
            r#"{"exchange":"paper","symbol":"BTC/USDT","strategy":"trend_breakout","sizing":{"method":{"type":"percent_of_equity","percent":NUMBER}}}"#,
            &[422],
        ),
        reader(
            "PATCH",
            &format!("/api/v1/bots/{}", h.bot_id),
            true,
            r#"{"pyramid":{"max_adds":1,"levels":[{"trigger":{"percent":NUMBER},"size_multiplier":1}]},"gate":{"max_data_age_secs":NUMBER}}"#,
            &[422],
        ),
        reader(
            "PATCH",
            &format!("/api/v1/admin/users/{}/role", h.user_id),
            true,
            r#"{"role":NUMBER}"#,
            &[400],
        ),
    ]
}

/// The cases of one round; `round` varies the invented methods and paths.
fn cases(h: &Hostile, round: usize) -> Vec<Case> {
    let bearer = format!("Bearer {}", h.token);
    let mut cases = Vec::new();
    let mut add = |name: String, request: Vec<u8>, allowed: &'static [u16], by: By| {
        cases.push(Case {
            name,
            request,
            allowed,
            by,
        });
    };
    let json_type: &[u8] = b"application/json";
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_field = format!(
        r#"{{"email":{}1{},"password":"correct horse","strategy_config":{}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000),
        "{\"a\":".repeat(5_000),
        "}".repeat(5_000)
    );
    let big = |size: usize| format!(r#"{{"email":"{}@example.com"}}"#, "a".repeat(size));

    for reader in readers(h) {
        let auth: Vec<(&str, &[u8])> = if reader.signed_in {
            vec![("Authorization", bearer.as_bytes())]
        } else {
            Vec::new()
        };
        let with = |extra: &[(&'static str, &'static [u8])]| {
            let mut headers = auth.clone();
            headers.extend_from_slice(extra);
            headers
        };
        let (m, p) = (reader.method, reader.path.as_str());
        let label = |what: &str| format!("{m} {p}: {what}");
        let send_json = |body: &[u8]| {
            request(
                m,
                p.as_bytes(),
                &with(&[("Content-Type", b"application/json")]),
                body,
            )
        };

        // Content types: none, and the wrong ones.
        add(
            label("no Content-Type"),
            request(m, p.as_bytes(), &auth, br#"{"email":"a@example.com"}"#),
            &[415],
            By::App,
        );
        for content_type in [
            &b"text/plain"[..],
            b"application/xml",
            b"multipart/form-data; boundary=x",
            b"application/x-www-form-urlencoded",
            b"application/json-but-not",
            b"\xff\xfe/\xfd",
        ] {
            let mut headers = auth.clone();
            headers.push(("Content-Type", content_type));
            add(
                label(&format!(
                    "Content-Type {}",
                    String::from_utf8_lossy(content_type)
                )),
                request(m, p.as_bytes(), &headers, b"<a>1</a>"),
                &[415],
                By::App,
            );
        }
        // Sizes: 100 KB and 1 MB (the limit is 64 KiB).
        for size in [100_000, 1_000_000] {
            add(
                label(&format!("{size}-byte JSON")),
                send_json(big(size).as_bytes()),
                &[413],
                By::App,
            );
        }
        // Deep nesting, whole and inside a field.
        add(
            label("JSON 10,000 deep"),
            send_json(deep.as_bytes()),
            &[400],
            By::App,
        );
        add(
            label("fields 10,000 deep"),
            send_json(deep_field.as_bytes()),
            &[400],
            By::App,
        );
        // Numbers beyond range.
        if let Some(body) = reader.number_body {
            let beyond = body.replace("NUMBER", "1e400");
            add(
                label("1e400"),
                send_json(beyond.as_bytes()),
                &[400],
                By::App,
            );
            let huge = body.replace("NUMBER", HUGE);
            add(
                label(HUGE),
                send_json(huge.as_bytes()),
                reader.huge_allowed,
                By::App,
            );
        }
        // The wrong types where strings and enums are expected.
        add(
            label("wrong types"),
            send_json(br#"{"email":{"$ne":""},"password":[1],"token":{},"source":[],"role":{"admin":true},"exchange":7,"symbol":null,"name":[]}"#),
            &[400],
            By::App,
        );
        // Not JSON, not UTF-8, and JSON of the wrong shape.
        for (what, body) in [
            (
                "invalid UTF-8",
                &b"{\"email\":\"\xff\xfe\xfd\",\"token\":\"\xc3\x28\"}"[..],
            ),
            (
                "a lone surrogate",
                br#"{"email":"\ud800@x.io","source":"\udfff"}"#,
            ),
            ("truncated JSON", br#"{"email":"#),
            ("JSON null", b"null"),
            ("a JSON array", b"[1,2,3]"),
            ("an empty body", b""),
        ] {
            add(label(what), send_json(body), &[400], By::App);
        }
    }
    // Operations without a body, with wrong content types and no session.
    for path in ["/api/v1/auth/refresh", "/api/v1/auth/logout"] {
        for content_type in [
            &b"text/plain"[..],
            b"application/xml",
            b"multipart/form-data",
        ] {
            add(
                format!("POST {path}: {}", String::from_utf8_lossy(content_type)),
                request(
                    "POST",
                    path.as_bytes(),
                    &[("Content-Type", content_type)],
                    b"x",
                ),
                &[401],
                By::App,
            );
        }
    }

    // Invented and odd methods, on known and unknown paths.
    let methods: [&str; 4] = if round == 0 {
        ["PROPFIND", "FOO", "get", "MKCOL"]
    } else {
        ["BREW", "X-ODD-METHOD-WITH-A-LONG-NAME", "post", "LOCK"]
    };
    for method in methods {
        for (path, allowed) in [
            ("/api/v1/bots", &[405][..]),
            ("/healthz", &[405]),
            ("/api/v1/no-such-thing", &[404]),
        ] {
            add(
                format!("{method} {path}"),
                request(method, path.as_bytes(), &[], b""),
                allowed,
                By::App,
            );
        }
    }
    for method in ["TRACE", "OPTIONS", "CONNECT", "PUT"] {
        add(
            format!("{method} /api/v1/bots"),
            request(method, b"/api/v1/bots", &[], b""),
            &[405],
            By::App,
        );
    }
    add(
        "a method with a space".to_owned(),
        b"GE T /healthz HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        &[400],
        By::Hyper,
    );
    add(
        "not HTTP at all".to_owned(),
        b"\x00\x01\x02\xff garbage\r\n\r\n".to_vec(),
        &[400],
        By::Hyper,
    );

    // Paths and query strings: invalid UTF-8, raw and percent-encoded, and over-long.
    let junk = format!("junk-{round}");
    let mut raw_path = format!("/api/v1/{junk}/").into_bytes();
    raw_path.extend_from_slice(b"\xff\xfe\xfd");
    add(
        "raw invalid bytes in the path".to_owned(),
        request("GET", &raw_path, &[], b""),
        &[400],
        By::Hyper,
    );
    add(
        "raw invalid bytes in the query".to_owned(),
        request("GET", b"/api/v1/bots?after=\xff\xfe", &[], b""),
        &[400],
        By::Hyper,
    );
    let signed_in = [("Authorization", bearer.as_bytes())];
    for (what, target, allowed) in [
        // poem refuses a path that does not decode as UTF-8 before routing.
        (
            "percent-encoded invalid UTF-8 path",
            format!("/api/v1/{junk}/%FF%FE"),
            &[400][..],
        ),
        (
            "percent-encoded invalid UTF-8 id",
            "/api/v1/bots/%FF%FE".to_owned(),
            &[400],
        ),
        (
            "percent-encoded invalid UTF-8 query",
            "/api/v1/bots?after=%FF&limit=%FE".to_owned(),
            &[400],
        ),
        ("limit 1e400", "/api/v1/bots?limit=1e400".to_owned(), &[400]),
        (
            "limit 99999999999999999999999999999",
            format!("/api/v1/bots?limit={HUGE}"),
            &[400],
        ),
        ("limit -1", "/api/v1/bots?limit=-1".to_owned(), &[400]),
        ("limit 0", "/api/v1/bots?limit=0".to_owned(), &[422]),
        (
            "a 60 KB path",
            format!("/api/v1/{junk}/{}", "a".repeat(60_000)),
            &[404],
        ),
        (
            "a 60 KB query",
            format!("/api/v1/bots?limit={}", "9".repeat(60_000)),
            &[400],
        ),
    ] {
        add(
            what.to_owned(),
            request("GET", target.as_bytes(), &signed_in, b""),
            allowed,
            By::App,
        );
    }
    for (what, target) in [
        (
            "a 100 KB path",
            format!("/api/v1/{junk}/{}", "a".repeat(100_000)),
        ),
        (
            "a 100 KB query",
            format!("/api/v1/bots?limit={}", "9".repeat(100_000)),
        ),
    ] {
        add(
            what.to_owned(),
            request("GET", target.as_bytes(), &signed_in, b""),
            &[414],
            By::Hyper,
        );
    }

    // Malformed credentials and odd headers, where a session is needed.
    let long_token = format!("Bearer {}", "t".repeat(10_000));
    for (what, headers) in [
        ("no Authorization", vec![]),
        ("an empty Authorization", vec![("Authorization", &b""[..])]),
        ("Bearer without a token", vec![("Authorization", b"Bearer")]),
        (
            "lowercase bearer, forged",
            vec![("authorization", b"bearer forged")],
        ),
        (
            "Basic credentials",
            vec![("Authorization", b"Basic !!!not-base64")],
        ),
        (
            "invalid UTF-8 in Authorization",
            vec![("Authorization", b"Bearer \xff\xfe\xfd")],
        ),
        (
            "a 10 KB token",
            vec![("Authorization", long_token.as_bytes())],
        ),
        (
            "a malformed cookie",
            vec![("Cookie", b"nexus_session=%%%; ;;; =x; nexus_csrf")],
        ),
        (
            "invalid UTF-8 in the cookie",
            vec![("Cookie", b"nexus_session=\xff\xfe")],
        ),
        (
            "an empty session cookie",
            vec![("Cookie", b"nexus_session=")],
        ),
        (
            "an uppercase header name",
            vec![("AUTHORIZATION", b"Bearer forged")],
        ),
        (
            "an odd X-Request-Id",
            vec![("X-Request-Id", b"../../etc/passwd\xff")],
        ),
    ] {
        add(
            format!("GET /api/v1/me with {what}"),
            request("GET", b"/api/v1/me", &headers, b""),
            &[401],
            By::App,
        );
    }
    add(
        "a header name with a control byte".to_owned(),
        request("GET", b"/api/v1/me", &[("X-\x7fOdd", b"1")], b""),
        &[400],
        By::Hyper,
    );
    add(
        "a forged cookie on a write, without CSRF".to_owned(),
        request(
            "POST",
            b"/api/v1/bots",
            &[
                ("Cookie", b"nexus_session=forged; nexus_csrf=a"),
                ("Content-Type", json_type),
            ],
            b"{}",
        ),
        &[401, 403],
        By::App,
    );
    let many: Vec<(String, Vec<u8>)> = (0..150)
        .map(|i| (format!("X-Many-{i}"), b"1".to_vec()))
        .collect();
    let many: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    add(
        "150 headers".to_owned(),
        request("GET", b"/api/v1/me", &many, b""),
        &[431],
        By::Hyper,
    );
    for (what, length) in [
        ("a Content-Length that is not a number", &b"abc"[..]),
        ("a negative Content-Length", b"-1"),
        ("two Content-Lengths", b"2, 3"),
    ] {
        add(
            format!("POST /api/v1/auth/login with {what}"),
            request(
                "POST",
                b"/api/v1/auth/login",
                &[("Content-Type", json_type), ("Content-Length", length)],
                b"{}",
            ),
            &[400],
            By::Hyper,
        );
    }
    add(
        "a signed signal with a malformed signature".to_owned(),
        request(
            "POST",
            b"/api/v1/signals",
            &[
                ("Content-Type", json_type),
                ("X-Nexus-Signature", b"sha256=\xff\xfezz"),
            ],
            br#"{"source":"tv","action":"entry","exchange":"paper","symbol":"BTC/USDT"}"#,
        ),
        &[401],
        By::App,
    );
    add(
        "a signal with a wrong token".to_owned(),
        request(
            "POST",
            b"/api/v1/signals",
            &[("Content-Type", json_type)],
            br#"{"source":"tv","token":"guess","action":"entry","exchange":"paper","symbol":"BTC/USDT"}"#,
        ),
        &[401],
        By::App,
    );
    cases
}

/// The series `/metrics` shows: its lines that are not comments.
async fn series(h: &Hostile) -> Vec<String> {
    h.http
        .text("/metrics")
        .await
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.rsplit_once(' ').map_or(l, |(name, _)| name).to_owned())
        .collect()
}

/// Sends every case of `round`; what went wrong, one line per case.
async fn run_round(h: &Hostile, round: usize) -> Vec<String> {
    let mut wrong = Vec::new();
    for case in cases(h, round) {
        let answer = send(&h.addr, &case.request).await;
        let body = String::from_utf8_lossy(&answer.body);
        if !case.allowed.contains(&answer.status) {
            wrong.push(format!(
                "{}: {} is not one of {:?}: {body}",
                case.name, answer.status, case.allowed
            ));
            continue;
        }
        match case.by {
            By::App => {
                let code = serde_json::from_slice::<Value>(&answer.body)
                    .ok()
                    .filter(|json| json["message"].is_string())
                    .and_then(|json| json["code"].as_str().map(str::to_owned));
                if answer.header("x-request-id").is_none() || code.is_none_or(|c| c.is_empty()) {
                    wrong.push(format!(
                        "{}: not the application's JSON error: {answer:?}",
                        case.name
                    ));
                }
            }
            By::Hyper => {
                if answer.header("x-request-id").is_some() || !answer.body.is_empty() {
                    wrong.push(format!(
                        "{}: not hyper's bare refusal: {answer:?}",
                        case.name
                    ));
                }
            }
        }
    }
    wrong
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_4xx_answers_and_add_no_metric_series() {
    let h = start().await;
    // The first round makes every (method, status) pair the cases answer with exist.
    let wrong = run_round(&h, 0).await;
    assert!(wrong.is_empty(), "{wrong:#?}");
    let _ = series(&h).await;
    let before = series(&h).await;
    for line in &before {
        assert!(!line.contains("junk"), "a path became a label: {line}");
        if let Some(labels) = line.strip_prefix("nexus_http_requests_total{") {
            let method = labels
                .split(',')
                .find_map(|l| l.strip_prefix("method=\""))
                .unwrap();
            let method = method.trim_end_matches(['"', '}']);
            assert!(
                [
                    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
                    "other"
                ]
                .contains(&method),
                "an invented method became a label: {line}"
            );
        }
    }
    assert!(
        before
            .iter()
            .any(|l| l.contains("method=\"other\"") && l.contains("status=\"405\"")),
        "invented methods count as other: {before:#?}"
    );
    // A second round with other invented methods, paths and bodies adds no series.
    let wrong = run_round(&h, 1).await;
    assert!(wrong.is_empty(), "{wrong:#?}");
    let _ = series(&h).await;
    let after = series(&h).await;
    let added: Vec<_> = after.iter().filter(|l| !before.contains(l)).collect();
    assert!(added.is_empty(), "series added: {added:#?}");
    assert_eq!(after.len(), before.len());
}

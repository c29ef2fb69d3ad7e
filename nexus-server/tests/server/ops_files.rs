//! The operations files against the server they watch (docs/operations.md): every metric
//! and label the alert rules (`deploy/prometheus/alerts.yml`) and the Grafana dashboard
//! (`deploy/grafana/nexus.json`) query exists in a fresh server's `/metrics`, on SQLite
//! and PostgreSQL; every alert has a summary, a description, a runbook that exists and
//! promtool tests that fire and that stay quiet. And the store's migrations keep to
//! expand/contract, so old and new instances can share a database during a rolling
//! upgrade: a destructive statement in a new migration fails here until it is allowed on
//! purpose.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

use crate::support::{Http, NEXUS, Schema, postgres};

/// Where `runbook_url`s point: the repository's `docs/runbooks/` on GitHub (Cargo.toml's
/// `repository`).
const RUNBOOK_BASE: &str = "https://github.com/nexus-trading/nexus/blob/main/";

/// The alerts issue 22 asks for, by rule name.
const ALERTS: [&str; 14] = [
    "NexusHighErrorRate",
    "NexusHighApiLatency",
    "NexusQueueBacklog",
    "NexusQueueStalled",
    "NexusDeadLettersGrowing",
    "NexusNoSchedulerLeader",
    "NexusMarketDataStale",
    "NexusMarketDataStreamUnstable",
    "NexusExchangeBanned",
    "NexusExchangeRateLimited",
    "NexusSlowOrders",
    "NexusEmailsFailing",
    "NexusLlmBudgetSpent",
    "NexusInstanceDown",
];

/// Labels Prometheus adds to every scraped series: never in `/metrics` itself.
const TARGET_LABELS: [&str; 2] = ["instance", "job"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

// --- The queries --------------------------------------------------------------------------

/// One alerting rule of alerts.yml.
struct Rule {
    alert: String,
    expr: String,
    annotations: BTreeMap<String, String>,
}

fn alert_rules() -> Vec<Rule> {
    let doc: Yaml = serde_yaml::from_str(&read("deploy/prometheus/alerts.yml")).unwrap();
    let mut rules = Vec::new();
    for group in doc["groups"].as_sequence().expect("alerts.yml: groups") {
        for rule in group["rules"].as_sequence().expect("alerts.yml: rules") {
            let alert = rule["alert"]
                .as_str()
                .unwrap_or_else(|| panic!("alerts.yml: a rule that is not an alert: {rule:?}"));
            let expr = rule["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("alerts.yml: {alert} has no expr"));
            let annotations = rule["annotations"]
                .as_mapping()
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    let text = |y: &Yaml| y.as_str().unwrap_or_default().to_owned();
                    (text(k), text(v))
                })
                .collect();
            rules.push(Rule {
                alert: alert.to_owned(),
                expr: expr.to_owned(),
                annotations,
            });
        }
    }
    rules
}

/// Every query of the dashboard, each with where it is: the panels' `targets[].expr`
/// (rows' own panels included) and the template variables' queries.
fn dashboard_queries() -> Vec<(String, String)> {
    fn walk(panels: &[Json], out: &mut Vec<(String, String)>) {
        for panel in panels {
            let title = panel["title"].as_str().unwrap_or("(untitled)");
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push((format!("panel {title:?}"), expr.to_owned()));
                }
            }
            if let Some(inner) = panel["panels"].as_array() {
                walk(inner, out);
            }
        }
    }
    let dashboard: Json = serde_json::from_str(&read("deploy/grafana/nexus.json")).unwrap();
    let mut out = Vec::new();
    walk(
        dashboard["panels"].as_array().expect("nexus.json: panels"),
        &mut out,
    );
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(query) = variable["definition"].as_str().filter(|q| !q.is_empty()) {
            out.push((format!("variable {}", variable["name"]), query.to_owned()));
        }
    }
    out
}

/// `label op "value"` inside a selector's braces.
#[derive(Debug, PartialEq, Eq)]
struct Matcher {
    label: String,
    op: String,
    value: String,
}

/// A `nexus_*` series selector of a query.
#[derive(Debug, PartialEq, Eq)]
struct Selector {
    metric: String,
    matchers: Vec<Matcher>,
}

/// What a PromQL query asks of the server: its `nexus_*` selectors, and the labels it
/// groups or matches by (`by`, `without`, `on`, `ignoring`, `group_left`, `group_right`).
#[derive(Debug, Default, PartialEq, Eq)]
struct Query {
    selectors: Vec<Selector>,
    grouping: Vec<String>,
}

const fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// The index after the string literal that opens at `start`.
fn skip_string(c: &[char], start: usize) -> usize {
    let quote = c[start];
    let mut i = start + 1;
    while i < c.len() && c[i] != quote {
        i += if c[i] == '\\' { 2 } else { 1 };
    }
    i + 1
}

/// The matchers from `start` (just inside `{`) to the closing `}`, and the index after it.
fn matchers(c: &[char], start: usize) -> (Vec<Matcher>, usize) {
    let mut out = Vec::new();
    let mut i = start;
    loop {
        while i < c.len() && (c[i].is_whitespace() || c[i] == ',') {
            i += 1;
        }
        if i >= c.len() || c[i] == '}' {
            return (out, i + 1);
        }
        let from = i;
        while i < c.len() && is_ident(c[i]) {
            i += 1;
        }
        let label: String = c[from..i].iter().collect();
        while i < c.len() && c[i].is_whitespace() {
            i += 1;
        }
        let from = i;
        while i < c.len() && matches!(c[i], '=' | '!' | '~') {
            i += 1;
        }
        let op: String = c[from..i].iter().collect();
        while i < c.len() && c[i].is_whitespace() {
            i += 1;
        }
        assert!(
            i < c.len() && matches!(c[i], '"' | '\'' | '`') && !label.is_empty(),
            "cannot read the matchers of {:?}",
            c.iter().collect::<String>()
        );
        let end = skip_string(c, i);
        let mut value = String::new();
        let mut chars = c[i + 1..end - 1].iter();
        while let Some(&ch) = chars.next() {
            value.push(if ch == '\\' {
                chars.next().copied().unwrap_or('\\')
            } else {
                ch
            });
        }
        out.push(Matcher { label, op, value });
        i = end;
    }
}

/// Reads what `expr` asks of the server. String literals are skipped (a legend or a
/// label value naming a metric is not a query of it).
fn parse_query(expr: &str) -> Query {
    let c: Vec<char> = expr.chars().collect();
    let mut query = Query::default();
    let mut i = 0;
    while i < c.len() {
        if matches!(c[i], '"' | '\'' | '`') {
            i = skip_string(&c, i);
            continue;
        }
        if !is_ident(c[i]) || (i > 0 && is_ident(c[i - 1])) {
            i += 1;
            continue;
        }
        let from = i;
        while i < c.len() && is_ident(c[i]) {
            i += 1;
        }
        let word: String = c[from..i].iter().collect();
        let mut next = i;
        while next < c.len() && c[next].is_whitespace() {
            next += 1;
        }
        let opens = |ch: char| c.get(next) == Some(&ch);
        if word.starts_with("nexus_") {
            let mut found = Vec::new();
            if opens('{') {
                (found, i) = matchers(&c, next + 1);
            }
            query.selectors.push(Selector {
                metric: word,
                matchers: found,
            });
        } else if matches!(
            word.as_str(),
            "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
        ) && opens('(')
        {
            let close = c[next..]
                .iter()
                .position(|&ch| ch == ')')
                .map_or(c.len(), |p| next + p);
            let inside: String = c[next + 1..close].iter().collect();
            query.grouping.extend(
                inside
                    .split(',')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned),
            );
            i = close;
        } else if opens('{') {
            // Another metric's selector (`up{job="nexus"}`): not the server's.
            (_, i) = matchers(&c, next + 1);
        }
    }
    query
}

// --- The server's /metrics -----------------------------------------------------------------

/// Each sample name of an exposition with the label sets it is shown with.
type Exported = BTreeMap<String, Vec<BTreeMap<String, String>>>;

fn exported(text: &str) -> Exported {
    let mut out = Exported::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let c: Vec<char> = line.chars().collect();
        let end = c
            .iter()
            .position(|&ch| ch == '{' || ch == ' ')
            .unwrap_or(c.len());
        let name: String = c[..end].iter().collect();
        let labels = if c.get(end) == Some(&'{') {
            matchers(&c, end + 1)
                .0
                .into_iter()
                .map(|m| (m.label, m.value))
                .collect()
        } else {
            BTreeMap::new()
        };
        out.entry(name).or_default().push(labels);
    }
    out
}

/// What in `expr` (from `source`) the server does not export: a metric, a label, or a
/// label value matched exactly.
fn problems(source: &str, expr: &str, exported: &Exported) -> Vec<String> {
    let query = parse_query(expr);
    let mut problems = Vec::new();
    let mut labels: BTreeSet<&str> = TARGET_LABELS.into();
    for selector in &query.selectors {
        let metric = &selector.metric;
        let Some(series) = exported.get(metric) else {
            problems.push(format!("{source}: {metric} is not in /metrics"));
            continue;
        };
        labels.extend(series.iter().flat_map(|s| s.keys().map(String::as_str)));
        for m in selector
            .matchers
            .iter()
            .filter(|m| !TARGET_LABELS.contains(&m.label.as_str()))
        {
            let values: BTreeSet<&str> = series
                .iter()
                .filter_map(|s| s.get(&m.label).map(String::as_str))
                .collect();
            if values.is_empty() {
                problems.push(format!("{source}: {metric} has no label {}", m.label));
            } else if m.op == "=" && !values.contains(m.value.as_str()) {
                problems.push(format!(
                    "{source}: {metric}{{{}=\"{}\"}} matches nothing; its values are {values:?}",
                    m.label, m.value
                ));
            }
        }
    }
    for label in &query.grouping {
        if !labels.contains(label.as_str()) {
            problems.push(format!(
                "{source}: groups or matches by {label}, a label none of its metrics has"
            ));
        }
    }
    problems
}

/// Kills the server however the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh `nexus serve` on port 0 (over `database`, or SQLite in `data`) with the LLM
/// advisor configured (never called: no bot asks), and its address.
fn serve(data: &Path, database: Option<&str>) -> (Server, String) {
    let mut command = Command::new(NEXUS);
    command
        .arg("serve")
        .env("NEXUS_BIND", "127.0.0.1:0")
        .env("NEXUS_LOG", "warn")
        .env("NEXUS_DATA_DIR", data)
        .env("NEXUS_LLM_PROVIDER", "openai")
        .env("NEXUS_OPENAI_API_KEY", "sk-ops-files-never-used")
        .env("NEXUS_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        .env_remove("NEXUS_ENGINE")
        .env_remove("NEXUS_METRICS_TOKEN")
        .env_remove("NEXUS_MASTER_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    match database {
        Some(url) => command.env("NEXUS_DATABASE_URL", url),
        None => command.env_remove("NEXUS_DATABASE_URL"),
    };
    let mut server = Server(command.spawn().unwrap());
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("nexus: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (server, addr)
}

/// Checks every query of the alert rules and the dashboard against a fresh server's
/// `/metrics`. Series the engine registers as it starts may be missing from the first
/// scrapes: what is missing after 30 s fails the test.
async fn every_query_is_served(data: &Path, database: Option<&str>) {
    let queries: Vec<(String, String)> = alert_rules()
        .into_iter()
        .map(|r| (format!("alert {}", r.alert), r.expr))
        .chain(dashboard_queries())
        .collect();
    let (_server, base) = serve(data, database);
    let http = Http::new(base);
    let mut missing = Vec::new();
    for _ in 0..150 {
        let text = http.text("/metrics").await;
        let exported = exported(&text);
        missing = queries
            .iter()
            .flat_map(|(source, expr)| problems(source, expr, &exported))
            .collect();
        if missing.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "queried but not served ({}):\n{}",
        database.map_or("SQLite", |_| "PostgreSQL"),
        missing.join("\n")
    );
}

#[tokio::test]
async fn every_metric_the_alerts_and_the_dashboard_query_is_served() {
    let data = tempfile::tempdir().unwrap();
    every_query_is_served(data.path(), None).await;
    if let Some(url) = postgres("ops_files") {
        let schema = Schema::empty(&url);
        let data = tempfile::tempdir().unwrap();
        every_query_is_served(data.path(), Some(&schema.url())).await;
    }
}

#[test]
fn the_alerts_and_the_dashboard_query_what_an_operator_needs() {
    let rules = alert_rules();
    let names: Vec<&str> = rules.iter().map(|r| r.alert.as_str()).collect();
    assert_eq!(names, ALERTS, "alerts.yml's alerts, in order");
    let queried = |queries: &mut dyn Iterator<Item = String>| -> BTreeSet<String> {
        queries
            .flat_map(|expr| parse_query(&expr).selectors)
            .map(|s| s.metric)
            .collect()
    };
    let by_alerts = queried(&mut rules.iter().map(|r| r.expr.clone()));
    let dashboard = dashboard_queries();
    assert!(dashboard.len() >= 25, "{} queries", dashboard.len());
    let by_dashboard = queried(&mut dashboard.into_iter().map(|(_, e)| e));
    // What each part of issue 22 watches: if a file stops querying one, this says so.
    for metric in [
        "nexus_http_requests_total",
        "nexus_http_request_duration_seconds_bucket",
        "nexus_jobs_queued",
        "nexus_jobs_oldest_age_seconds",
        "nexus_jobs_dead",
        "nexus_scheduler_leader",
        "nexus_market_data_last_update_timestamp_seconds",
        "nexus_market_data_upstream_calls_total",
        "nexus_market_data_stream_events_total",
        "nexus_exchange_errors_total",
        "nexus_market_data_errors_total",
        "nexus_signal_to_order_seconds_bucket",
        "nexus_emails_total",
        "nexus_llm_budget_usd",
        "nexus_llm_spent_today_usd",
    ] {
        assert!(by_alerts.contains(metric), "no alert queries {metric}");
        assert!(
            by_dashboard.contains(metric),
            "the dashboard shows no {metric}"
        );
    }
    for metric in [
        "nexus_signals_total",
        "nexus_plans_total",
        "nexus_orders_total",
        "nexus_job_duration_seconds_bucket",
        "nexus_llm_calls_total",
        "nexus_llm_tokens_total",
        "nexus_llm_cost_usd_total",
        "nexus_build_info",
        "nexus_market_data_stream_fallbacks_total",
    ] {
        assert!(
            by_dashboard.contains(metric),
            "the dashboard shows no {metric}"
        );
    }
}

#[test]
fn every_alert_has_its_runbook_and_promtool_tests_both_ways() {
    let tests: Yaml = serde_yaml::from_str(&read("deploy/prometheus/tests.yml")).unwrap();
    // alertname -> (a case where it fires, a case where it must not).
    let mut cases: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for test in tests["tests"].as_sequence().expect("tests.yml: tests") {
        for case in test["alert_rule_test"].as_sequence().into_iter().flatten() {
            let name = case["alertname"].as_str().unwrap().to_owned();
            let fires = case["exp_alerts"]
                .as_sequence()
                .is_some_and(|a| !a.is_empty());
            let seen = cases.entry(name).or_default();
            if fires {
                seen.0 = true;
            } else {
                seen.1 = true;
            }
        }
    }
    for rule in alert_rules() {
        let alert = &rule.alert;
        for key in ["summary", "description", "runbook_url"] {
            assert!(
                rule.annotations
                    .get(key)
                    .is_some_and(|v| !v.trim().is_empty()),
                "{alert} has no {key}"
            );
        }
        let url = &rule.annotations["runbook_url"];
        let page = url
            .strip_prefix(RUNBOOK_BASE)
            .filter(|p| p.starts_with("docs/runbooks/") && p.ends_with(".md"))
            .unwrap_or_else(|| {
                panic!("{alert}: runbook_url {url} is not {RUNBOOK_BASE}docs/runbooks/….md")
            });
        let text = read(page);
        assert!(
            text.contains(alert.as_str()),
            "{page} does not name the alert {alert} it is the runbook of"
        );
        assert_eq!(
            cases.get(alert),
            Some(&(true, true)),
            "{alert}: tests.yml needs a case where it fires and one where it does not"
        );
    }
    let index = read("docs/runbooks/README.md");
    for entry in std::fs::read_dir(repo().join("docs/runbooks")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name != "README.md" {
            assert!(
                index.contains(&format!("({name})")),
                "docs/runbooks/README.md does not link {name}"
            );
        }
    }
}

#[test]
fn queries_are_read_as_prometheus_reads_them() {
    let q = parse_query(
        r#"sum by (exchange) (increase(nexus_exchange_errors_total{class="rate_limited", exchange!~"pa\"per"}[5m])) > 0 and on (exchange) up{job="nexus_x"}"#,
    );
    assert_eq!(
        q.selectors,
        [Selector {
            metric: "nexus_exchange_errors_total".to_owned(),
            matchers: vec![
                Matcher {
                    label: "class".to_owned(),
                    op: "=".to_owned(),
                    value: "rate_limited".to_owned(),
                },
                Matcher {
                    label: "exchange".to_owned(),
                    op: "!~".to_owned(),
                    value: "pa\"per".to_owned(),
                },
            ],
        }]
    );
    assert_eq!(q.grouping, ["exchange", "exchange"]);
    let q = parse_query(
        "histogram_quantile(0.95, sum without (instance) (rate(nexus_http_request_duration_seconds_bucket[$__rate_interval]))) # not_nexus_x",
    );
    assert_eq!(q.selectors.len(), 1);
    assert_eq!(q.grouping, ["instance"]);

    let served = exported(
        "# TYPE nexus_jobs_queued gauge\nnexus_jobs_queued{type=\"email\"} 0\nnexus_scheduler_leader 1\n",
    );
    assert!(
        problems(
            "t",
            "max by (type) (nexus_jobs_queued{type=\"email\"})",
            &served
        )
        .is_empty()
    );
    assert_eq!(
        problems("t", "nexus_jobs_queued{type=\"mail\"}", &served).len(),
        1,
        "an exact value the server never shows"
    );
    assert_eq!(
        problems("t", "sum by (kind) (nexus_jobs_queued)", &served).len(),
        1
    );
    assert_eq!(
        problems("t", "nexus_jobs_queued{kind=~\".+\"}", &served).len(),
        1
    );
    assert_eq!(problems("t", "nexus_jobs_queued_total", &served).len(), 1);
    assert!(
        problems(
            "t",
            "max(nexus_scheduler_leader{instance=~\"$instance\"})",
            &served
        )
        .is_empty()
    );
}

// --- Migrations: expand, then contract ----------------------------------------------------

/// Migrations that were released before the expand/contract rule, with why each is
/// destructive. A new file is never listed here by default: a destructive change is made
/// in two releases (add the new shape and write both; drop the old one a release later,
/// when no running instance reads it), and the file that contracts is added here on
/// purpose, with its reason.
const ALLOWED: [(&str, &str); 10] = [
    (
        "postgres/0012_session_lifetime.sql",
        "sessions.started_at became NOT NULL without a default, before rolling upgrades were supported",
    ),
    (
        "postgres/0014_billing.sql",
        "subscriptions.stripe_customer_id moved to billing_customers, and effective_plan became NOT NULL, before rolling upgrades were supported",
    ),
    (
        "postgres/0015_email.sql",
        "drops the email_log of 0001, which no release ever wrote",
    ),
    (
        "postgres/0016_alerts.sql",
        "drops the alert_preferences of 0001, which no release ever wrote",
    ),
    (
        "postgres/0017_llm.sql",
        "drops the llm_usage of 0001, which no release ever wrote",
    ),
    (
        "sqlite/0012_session_lifetime.sql",
        "rebuilds auth_tokens (drop and rename) to widen a CHECK, which SQLite cannot alter; SQLite runs one instance",
    ),
    (
        "sqlite/0014_billing.sql",
        "rebuilds subscriptions (drop and rename) to widen a CHECK; SQLite runs one instance",
    ),
    (
        "sqlite/0015_email.sql",
        "drops the email_log of 0001, which no release ever wrote",
    ),
    (
        "sqlite/0016_alerts.sql",
        "drops the alert_preferences of 0001, which no release ever wrote",
    ),
    (
        "sqlite/0017_llm.sql",
        "drops the llm_usage of 0001, which no release ever wrote",
    ),
];

/// What in `sql` would break an instance of the previous release still running on the
/// database: dropping or renaming what it reads, changing a column's type, or requiring
/// a value it does not write.
fn destructive(sql: &str) -> Vec<String> {
    let text: String = sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase();
    let statements: Vec<String> = text
        .split(';')
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .collect();
    let column_after = |statement: &str, words: &str| -> Option<String> {
        statement
            .split(words)
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
    };
    // Columns given a default somewhere in the file: requiring them is safe.
    let defaulted: BTreeSet<String> = statements
        .iter()
        .filter(|s| s.contains(" DEFAULT "))
        .filter_map(|s| column_after(s, "ADD COLUMN ").or_else(|| column_after(s, "ALTER COLUMN ")))
        .collect();
    let mut found = Vec::new();
    for s in &statements {
        let mut say = |what: &str| found.push(format!("{what}: {s}"));
        if s.contains("DROP TABLE") {
            say("drops a table");
        }
        if s.contains("DROP COLUMN") {
            say("drops a column");
        }
        if s.contains(" RENAME ") {
            say("renames");
        }
        if s.contains("ALTER COLUMN ") && (s.contains(" TYPE ") || s.contains(" SET DATA TYPE ")) {
            say("changes a column's type");
        }
        if s.contains("SET NOT NULL")
            && column_after(s, "ALTER COLUMN ").is_none_or(|c| !defaulted.contains(&c))
        {
            say("requires a column with no default");
        }
        if s.contains("ADD COLUMN ") && s.contains("NOT NULL") && !s.contains(" DEFAULT ") {
            say("adds a required column with no default");
        }
    }
    found
}

#[test]
fn migrations_only_expand_unless_allowed_by_name() {
    let mut flagged = BTreeMap::new();
    let mut files = 0;
    for backend in ["postgres", "sqlite"] {
        let dir = repo().join("nexus-store/migrations").join(backend);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "sql") {
                files += 1;
                let name = format!("{backend}/{}", path.file_name().unwrap().to_string_lossy());
                let found = destructive(&std::fs::read_to_string(&path).unwrap());
                if !found.is_empty() {
                    flagged.insert(name, found);
                }
            }
        }
    }
    assert!(files >= 34, "{files} migration files read");
    let allowed: BTreeMap<&str, &str> = ALLOWED.into_iter().collect();
    let unexpected: Vec<String> = flagged
        .iter()
        .filter(|(name, _)| !allowed.contains_key(name.as_str()))
        .map(|(name, found)| format!("{name}:\n  {}", found.join("\n  ")))
        .collect();
    assert!(
        unexpected.is_empty(),
        "destructive statements in migrations (expand in one release, contract in a later one; \
         docs/operations.md#upgrades), or list the file in ALLOWED with why:\n{}",
        unexpected.join("\n")
    );
    for (name, why) in allowed {
        let exists = repo().join("nexus-store/migrations").join(name).exists();
        assert!(exists, "ALLOWED lists {name}, which does not exist");
        assert!(
            flagged.contains_key(name),
            "ALLOWED lists {name} ({why}), which has nothing destructive: remove it"
        );
    }
}

#[test]
fn destructive_statements_are_told_from_additive_ones() {
    for sql in [
        "ALTER TABLE bots DROP COLUMN paused_reason;",
        "DROP TABLE bots;",
        "ALTER TABLE bots RENAME COLUMN label TO name;",
        "alter table bots rename to robots;",
        "ALTER TABLE bots ALTER COLUMN qty TYPE NUMERIC(20, 8);",
        "ALTER TABLE bots ALTER COLUMN qty SET DATA TYPE TEXT;",
        "ALTER TABLE bots ADD COLUMN note TEXT;\nALTER TABLE bots ALTER COLUMN note SET NOT NULL;",
        "ALTER TABLE bots ADD COLUMN weight INTEGER NOT NULL;",
    ] {
        assert_eq!(destructive(sql).len(), 1, "{sql}");
    }
    for sql in [
        "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, kind TEXT NOT NULL);",
        "ALTER TABLE bots ADD COLUMN note TEXT;",
        "ALTER TABLE bots ADD COLUMN weight INTEGER NOT NULL DEFAULT 1;",
        "ALTER TABLE bots ADD COLUMN note TEXT DEFAULT '';\nALTER TABLE bots ALTER COLUMN note SET NOT NULL;",
        "CREATE INDEX bots_kind ON bots (kind);\nDROP INDEX bots_old;",
        "-- DROP TABLE bots; is what we will not do\nSELECT 1;",
    ] {
        assert!(destructive(sql).is_empty(), "{sql}: {:?}", destructive(sql));
    }
}

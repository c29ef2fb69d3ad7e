//! `nexus regime` as a user runs it: real candles in, one row per candle out; bad input
//! fails with the line and nothing printed as if it were valid.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::NEXUS;

fn real_candles() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/btc_usdt_1d_2017-08_2021-06.csv")
}

fn regime(args: &[&str]) -> Output {
    Command::new(NEXUS)
        .arg("regime")
        .args(args)
        .output()
        .unwrap()
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn prints_one_csv_row_per_candle() {
    let out = regime(&["--candles", real_candles().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "timestamp,regime,confidence,raw,close,ema_fast,ema_slow,adx,atr,volatility,drawdown"
    );
    assert_eq!(lines.len(), 1 + 1414, "a header and one row per candle");
    assert_eq!(lines[1], "2017-08-17T00:00:00Z,unknown,,,,,,,,,");
    let crash = lines.iter().find(|l| l.starts_with("2020-03-16")).unwrap();
    let fields: Vec<&str> = crash.split(',').collect();
    assert_eq!(fields.len(), 11);
    assert!(["bear", "volatile"].contains(&fields[1]), "{crash}");
    assert_eq!(fields[4], "5028.97", "the close is the candle's");
}

#[test]
fn json_output_and_a_config_file_change_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        &dir,
        "regime.toml",
        "confirm_bars = 1\nrisk_off_confirm_bars = 1\nexit_band = 0.0\n",
    );
    let candles = real_candles();
    let candles = candles.to_str().unwrap();
    let default = regime(&["--candles", candles, "--format", "json"]);
    let twitchy = regime(&[
        "--candles",
        candles,
        "--format",
        "json",
        "--config",
        &config,
    ]);
    let rows = |out: &Output| -> Vec<serde_json::Value> {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (default, twitchy) = (rows(&default), rows(&twitchy));
    assert_eq!(default.len(), 1414);
    assert_eq!(default[0]["regime"], serde_json::Value::Null);
    let last = &default[1413];
    assert_eq!(last["timestamp"], "2021-06-30T00:00:00Z");
    assert!(last["indicators"]["adx"].is_f64());
    let changes = |rows: &[serde_json::Value]| {
        rows.windows(2)
            .filter(|w| w[0]["regime"] != w[1]["regime"])
            .count()
    };
    assert!(
        changes(&twitchy) > changes(&default),
        "without hysteresis the regime changes more often"
    );
}

#[test]
fn bad_input_fails_with_the_line_and_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let header = "timestamp,open,high,low,close,volume\n";
    let cases = [
        ("empty.csv", String::new(), "line 1: the file is empty"),
        (
            "missing.csv",
            "timestamp,open,high,low,volume\n1,1,1,1,1\n".to_owned(),
            "line 1: missing column \"close\"",
        ),
        (
            "number.csv",
            format!("{header}2021-01-01,1,2,1,2,5\n2021-01-02,1,2,1,x,5\n"),
            "line 3: close: invalid price \"x\"",
        ),
        (
            "order.csv",
            format!("{header}2021-01-02,1,2,1,2,5\n2021-01-01,1,2,1,2,5\n"),
            "line 3: timestamp 2021-01-01T00:00:00+00:00 is not after the previous row's",
        ),
    ];
    for (name, text, message) in cases {
        let path = write(&dir, name, &text);
        let out = regime(&["--candles", &path]);
        assert!(!out.status.success(), "{name}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains(&format!("{path}: {message}")),
            "{name}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{name}: nothing printed as if valid");
    }
    let out = regime(&["--candles", "/nonexistent/candles.csv"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("/nonexistent/candles.csv: cannot read")
    );
}

#[test]
fn a_bad_config_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let candles = real_candles();
    let candles = candles.to_str().unwrap();
    let cases = [
        (
            "range.toml",
            "confirm_bars = 0\n",
            "confirm_bars (0) must be between 1 and 10000",
        ),
        (
            "typo.toml",
            "confirm_bar = 3\n",
            "unknown field `confirm_bar`",
        ),
        (
            "order.toml",
            "fast_period = 80\n",
            "fast_period (80) must be less than slow_period (55)",
        ),
    ];
    for (name, text, message) in cases {
        let path = write(&dir, name, text);
        let out = regime(&["--candles", candles, "--config", &path]);
        assert!(!out.status.success(), "{name}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(message), "{name}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

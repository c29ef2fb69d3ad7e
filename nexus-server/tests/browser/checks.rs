//! What every page must pass, at each width: no horizontal scrolling, and axe-core finding no
//! serious or critical accessibility violation. axe-core is vendored for these tests only
//! (vendor/README.md) and injected with WebDriver's execute script, which the pages' CSP
//! (`script-src 'self'`) does not govern.

use serde_json::{Value, json};

use crate::webdriver::Browser;

/// axe-core, as `npm pack axe-core@4.14.1` ships it.
const AXE: &str = include_str!("vendor/axe.min.js");
/// Its version (vendor/README.md).
pub const AXE_VERSION: &str = "4.14.1";

/// The widths every page is checked at: a small phone, a laptop.
pub const WIDTHS: [u32; 2] = [375, 1280];
/// The height of the page while it is checked.
pub const HEIGHT: u32 = 900;

/// The themes every page is checked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Self; 2] = [Self::Light, Self::Dark];

    /// The theme cookie's value, which is also `<html data-theme>`'s.
    pub fn value(self) -> &'static str {
        match self {
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }
}

/// The problems of the page the browser shows, checked at each of [`WIDTHS`] without
/// reloading it (a page shown after a form stays as it is): one line per problem, naming
/// `what` the page is; empty when it passes.
pub async fn here(browser: &Browser, what: &str) -> Vec<String> {
    inject_axe(browser).await;
    let mut problems = Vec::new();
    for width in WIDTHS {
        browser.set_viewport(width, HEIGHT).await;
        let at = format!("{what} at {width} px");
        problems.extend(overflow(browser, &at).await);
        problems.extend(accessibility(browser, &at).await);
    }
    problems
}

/// Puts axe-core into the page unless it is there (a navigation removes it).
async fn inject_axe(browser: &Browser) {
    let present = browser
        .script("return typeof window.axe === 'object';", json!([]))
        .await;
    if present == true {
        return;
    }
    let script = format!("{AXE}\n;return window.axe.version;");
    let version = browser.script(&script, json!([])).await;
    assert_eq!(version, AXE_VERSION, "axe-core did not load");
}

/// Whether the page is wider than the window (`scrollWidth > innerWidth`), with the elements
/// that stick out.
async fn overflow(browser: &Browser, at: &str) -> Vec<String> {
    let found = browser
        .script(
            "const root = document.documentElement;
             if (root.scrollWidth <= window.innerWidth) return null;
             const describe = el => el.tagName.toLowerCase()
                 + (el.id ? '#' + el.id : '')
                 + Array.from(el.classList).map(c => '.' + c).join('');
             const wide = [];
             for (const el of document.body.querySelectorAll('*')) {
                 const right = el.getBoundingClientRect().right;
                 if (right > window.innerWidth + 0.5 && wide.length < 8) {
                     wide.push(describe(el) + ' (to ' + Math.round(right) + ' px)');
                 }
             }
             return {scroll: root.scrollWidth, inner: window.innerWidth, wide: wide};",
            json!([]),
        )
        .await;
    if found.is_null() {
        return Vec::new();
    }
    vec![format!(
        "{at}: scrolls sideways: {} px wide in a {} px window; sticking out: {}",
        found["scroll"],
        found["inner"],
        found["wide"]
            .as_array()
            .map(|w| w
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default()
    )]
}

/// axe-core's serious and critical violations on the page: each one's id, impact and help,
/// and the selectors of the failing elements with what is wrong with them.
async fn accessibility(browser: &Browser, at: &str) -> Vec<String> {
    let result = browser
        .script_async(
            "const done = arguments[arguments.length - 1];
             window.axe.run(document, {resultTypes: ['violations']}).then(r => done({
                 violations: r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => ({
                         id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
                         nodes: v.nodes.map(n => ({
                             target: n.target.map(String).join(' '),
                             summary: (n.failureSummary || '').replace(/\\s*\\n\\s*/g, ' '),
                         })),
                     })),
             }), e => done({error: String(e)}));",
            json!([]),
        )
        .await;
    if let Some(error) = result.get("error") {
        return vec![format!("{at}: axe-core failed: {error}")];
    }
    let violations = result["violations"].as_array().cloned().unwrap_or_default();
    violations
        .iter()
        .map(|v| {
            let nodes: Vec<String> = v["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| {
                    format!(
                        "\n      {}: {}",
                        n["target"].as_str().unwrap_or("?"),
                        n["summary"].as_str().unwrap_or("")
                    )
                })
                .collect();
            format!(
                "{at}: {} ({}): {} <{}>{}",
                v["id"].as_str().unwrap_or("?"),
                v["impact"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or("?"),
                v["url"].as_str().unwrap_or("?"),
                nodes.concat()
            )
        })
        .collect()
}

/// Fails listing `problems`, if any.
pub fn assert_none(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

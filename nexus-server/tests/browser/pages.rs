//! Every page, in both themes, at 375 px and 1280 px: no horizontal scrolling and no serious
//! or critical axe-core violation. With `NEXUS_WRITE_SCREENSHOTS=1`, the main pages' PNGs
//! at both widths go to docs/screenshots/.
//!
//! A new page is one line in [`PAGES`].

use std::path::PathBuf;

use nexus_core::ports::accounts::Role;
use reqwest::StatusCode;

use crate::app::{App, SESSION_COOKIE, THEME_COOKIE};
use crate::checks::{self, Theme, WIDTHS};
use crate::webdriver::Browser;

/// Who looks at a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// Signed out.
    Visitor,
    /// A signed-in user (not an administrator).
    User,
    /// A signed-in administrator.
    Admin,
}

/// What a page answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// 200.
    Found,
    /// 404, the friendly page.
    NotFound,
    /// 403, the friendly page.
    Forbidden,
}

/// A page to check.
struct Page {
    /// Its path; `{bot}` stands for the id of a Paper bot of the user's.
    path: &'static str,
    who: Who,
    answer: Answer,
    /// Its screenshots' name (`docs/screenshots/<name>-<width>.png`), for the main pages.
    shot: Option<&'static str>,
}

const fn page(path: &'static str, who: Who, answer: Answer, shot: Option<&'static str>) -> Page {
    Page {
        path,
        who,
        answer,
        shot,
    }
}

use Answer::{Forbidden, Found, NotFound};
use Who::{Admin, User, Visitor};

/// Every page of the web app. Add yours here.
const PAGES: &[Page] = &[
    page("/", Visitor, Found, Some("landing")),
    page("/signup", Visitor, Found, None),
    page("/login", Visitor, Found, Some("login")),
    page("/forgot", Visitor, Found, None),
    page("/reset?token=x", Visitor, Found, None),
    page("/verify-email?token=x", Visitor, Found, None),
    page("/ui/components", Visitor, Found, Some("components")),
    page("/no-such-page", Visitor, NotFound, None),
    page("/app", User, Found, Some("dashboard")),
    page("/no-such-page", User, NotFound, None),
    page("/app/bots", User, Found, Some("bots")),
    page("/app/bots/new", User, Found, None),
    page("/app/bots/{bot}", User, Found, Some("bot")),
    page("/app/keys", User, Found, None),
    page("/app/billing", User, Found, None),
    page("/app/settings", User, Found, Some("settings")),
    page("/admin", User, Forbidden, None),
    page("/admin", Admin, Found, None),
    page("/admin/users", Admin, Found, None),
    page("/admin/audit", Admin, Found, None),
    page("/admin/gate", Admin, Found, None),
    page("/admin/emails", Admin, Found, None),
    page("/admin/queue", Admin, Found, None),
    page("/admin/billing", Admin, Found, None),
    page("/admin/llm", Admin, Found, None),
];

/// Set to `1`, [`every_page_fits_and_passes_axe`] writes the main pages' screenshots.
const SCREENSHOTS_VAR: &str = "NEXUS_WRITE_SCREENSHOTS";
/// The tallest screenshot: long pages are cut there.
const SHOT_MAX_HEIGHT: u32 = 1800;
/// The shortest screenshot.
const SHOT_MIN_HEIGHT: u32 = 600;

fn screenshots_dir() -> Option<PathBuf> {
    std::env::var(SCREENSHOTS_VAR)
        .is_ok_and(|v| v == "1")
        .then(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots"))
}

#[test]
fn every_page_fits_and_passes_axe() {
    crate::serially(async {
        let name = "every_page_fits_and_passes_axe";
        let Some(browser) = Browser::open(name).await else {
            return;
        };
        checks_catch_a_bad_page(&browser).await;
        let app = App::start().await;
        let user = app.user("ada@example.com", Role::User).await;
        let admin = app.user("grace@example.com", Role::Admin).await;
        let bot = app.paper_bot(&user).await;
        let shots = screenshots_dir();
        if let Some(dir) = &shots {
            std::fs::create_dir_all(dir).unwrap();
        }
        // Cookies are set for the server's site, so the browser starts there.
        browser.goto(&app.at("/healthz")).await;

        let mut problems = Vec::new();
        let mut checked = 0;
        for page in PAGES {
            let path = page.path.replace("{bot}", &bot);
            let token = match page.who {
                Visitor => None,
                User => Some(user.as_str()),
                Admin => Some(admin.as_str()),
            };
            let what = format!("{path} ({:?})", page.who);
            let status = app.status(&path, token).await;
            let expected = match page.answer {
                Found => StatusCode::OK,
                NotFound => StatusCode::NOT_FOUND,
                Forbidden => StatusCode::FORBIDDEN,
            };
            if status != expected {
                problems.push(format!("{what}: answers {status}, not {expected}"));
                continue;
            }
            match token {
                Some(token) => browser.set_cookie(SESSION_COOKIE, token, true).await,
                None => browser.delete_cookie(SESSION_COOKIE).await,
            }
            for theme in Theme::ALL {
                browser.set_cookie(THEME_COOKIE, theme.value(), false).await;
                browser.goto(&app.at(&path)).await;
                let shown = browser
                    .script(
                        "return document.documentElement.dataset.theme || '';",
                        serde_json::json!([]),
                    )
                    .await;
                assert_eq!(shown, theme.value(), "{what}: the theme cookie is ignored");
                let what = format!("{what}, {} theme", theme.value());
                problems.extend(checks::here(&browser, &what).await);
                if let (Some(dir), Some(shot), Theme::Light) = (&shots, page.shot, theme) {
                    for width in WIDTHS {
                        screenshot(&browser, width, &dir.join(format!("{shot}-{width}.png"))).await;
                    }
                }
            }
            checked += 1;
        }
        crate::note(&format!(
            "checked {checked} of {} pages at {WIDTHS:?} px in both themes with axe-core {}",
            PAGES.len(),
            checks::AXE_VERSION
        ));
        drop(browser);
        app.stop().await;
        checks::assert_none(&problems);
    });
}

/// The checks can fail: a page made to break each of them is caught, with the element.
async fn checks_catch_a_bad_page(browser: &Browser) {
    let page = "<!doctype html><html lang='en'><title>Bad</title><main><h1>Bad</h1>\
        <p style='color:%23aaa;background:%23fff'>Faint text</p><input id='nameless'>\
        <div id='wide' style='width:2000px'>Too wide</div></main>";
    browser.goto(&format!("data:text/html,{page}")).await;
    let caught = checks::here(browser, "a bad page").await;
    for expected in [
        "at 375 px: scrolls sideways",
        "at 1280 px: scrolls sideways",
        "div#wide",
        "color-contrast (serious)",
        "label (critical)",
        "#nameless",
    ] {
        assert!(
            caught.iter().any(|p| p.contains(expected)),
            "{expected:?} not among {caught:#?}"
        );
    }
}

/// Writes a PNG of the page at `width`, as tall as the page (within [`SHOT_MIN_HEIGHT`]
/// and [`SHOT_MAX_HEIGHT`]).
async fn screenshot(browser: &Browser, width: u32, file: &std::path::Path) {
    // Without a scrollbar, as phones show pages.
    browser
        .script(
            "document.documentElement.style.scrollbarWidth = 'none';",
            serde_json::json!([]),
        )
        .await;
    // Small first: a page shorter than the window is as tall as the window.
    browser.set_viewport(width, SHOT_MIN_HEIGHT).await;
    let tall = browser
        .script(
            "return document.documentElement.scrollHeight;",
            serde_json::json!([]),
        )
        .await;
    let tall = u32::try_from(tall.as_u64().unwrap()).unwrap();
    browser
        .set_viewport(width, tall.clamp(SHOT_MIN_HEIGHT, SHOT_MAX_HEIGHT))
        .await;
    std::fs::write(file, browser.screenshot().await).unwrap();
    crate::note(&format!("wrote {}", file.display()));
}

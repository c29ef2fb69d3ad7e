//! What a person does, in Chromium, finding fields by their visible labels and buttons by
//! their text: sign up, confirm the address through the emailed link, sign in, add a Paper
//! bot, find it on the dashboard, see its order arrive there live after a signal and on
//! the bot's page, pause it, change the alert preferences, switch to dark mode and find it
//! kept after a reload, sign out. The pages met on the way that only a form leads to (its
//! answer, its errors, a message after a redirect) are checked as every page is
//! (checks.rs).

use serde_json::json;

use crate::app::{App, SIGNAL_SOURCE, THEME_COOKIE};
use crate::checks;
use crate::webdriver::Browser;

const EMAIL: &str = "ada@example.com";
const BOT: &str = "My paper bot";
const PASSWORD: &str = "correct horse battery";

#[test]
fn a_person_signs_up_runs_a_paper_bot_and_signs_out() {
    crate::serially(async {
        let name = "a_person_signs_up_runs_a_paper_bot_and_signs_out";
        let Some(browser) = Browser::open(name).await else {
            return;
        };
        let app = App::start().await;
        let b = &browser;
        let mut problems = Vec::new();

        // Sign up.
        b.goto(&app.at("/signup")).await;
        b.type_into(&b.field("Email").await, EMAIL).await;
        b.type_into(&b.field("Password").await, PASSWORD).await;
        b.click(&b.button("Sign up").await).await;
        b.wait_until(
            "the sign-up's answer",
            "return document.body.innerText.includes('Check your inbox');",
        )
        .await;
        assert!(
            b.find("form[action='/signup']").await.is_none(),
            "the form is gone"
        );
        problems.extend(checks::here(b, "/signup after signing up").await);

        // The emailed link, then the password.
        let token = app.outbox.token_when_sent(EMAIL, "Confirm").await;
        b.goto(&app.at(&format!("/verify-email?token={token}")))
            .await;
        b.type_into(&b.field("Password").await, PASSWORD).await;
        b.click(&b.button("Confirm").await).await;
        b.wait_for_path("/login").await;
        let text = b.text().await;
        assert!(
            text.contains("Your email address is confirmed"),
            "the confirmation is shown: {text}"
        );
        problems.extend(checks::here(b, "/login with a message").await);

        // A wrong password first: the error is shown, and the address is kept.
        b.type_into(&b.field("Email").await, EMAIL).await;
        b.type_into(&b.field("Password").await, "not the password")
            .await;
        b.click(&b.button("Sign in").await).await;
        b.wait_until(
            "the sign-in's error",
            "return document.querySelector('.alert.danger, [aria-invalid=true]') !== null;",
        )
        .await;
        let email = b.field("Email").await;
        assert_eq!(b.attribute(&email, "value").await.as_deref(), Some(EMAIL));
        problems.extend(checks::here(b, "/login with an error").await);

        // Sign in.
        b.type_into(&b.field("Password").await, PASSWORD).await;
        b.click(&b.button("Sign in").await).await;
        b.wait_for_path("/app").await;
        assert!(
            b.find("form[action='/logout']").await.is_some(),
            "signed in: {}",
            b.text().await
        );

        // A Paper bot that follows the outside signals, made with the form.
        b.goto(&app.at("/app/bots/new")).await;
        b.type_into(&b.field("Name").await, BOT).await;
        b.choose(&b.field("Exchange").await, "paper").await;
        b.type_into(&b.field("Symbol").await, "BTC/USDT").await;
        b.choose(&b.field("Strategy").await, "webhook").await;
        // Daily candles: the simulated market's history classifies them at once.
        b.choose(&b.field("Interval").await, "1d").await;
        let more = b
            .find("details.more > summary")
            .await
            .expect("advanced options");
        b.click(&more).await;
        let source = format!(r#"{{"source": "{SIGNAL_SOURCE}"}}"#);
        b.type_into(&b.field("Strategy parameters (JSON)").await, &source)
            .await;
        // Whatever the simulated market's regime, the entry goes through.
        b.type_into(
            &b.field("Gate policy (JSON)").await,
            r#"{"entry_regimes": ["bull", "sideways", "bear", "volatile"]}"#,
        )
        .await;
        b.click(&b.button("Create bot").await).await;
        b.wait_until(
            "the new bot's page",
            "return location.pathname.startsWith('/app/bots/') \
             && document.body.innerText.includes('Bot created.');",
        )
        .await;
        let bot_page = b.path().await;
        problems.extend(checks::here(b, "a new bot's page").await);

        // On the dashboard, with its market's regime once the engine has classified it
        // (a signal before that is skipped: the gate knows no regime yet).
        let mut classified = false;
        for _ in 0..60 {
            b.goto(&app.at("/app")).await;
            let text = b.text().await;
            assert!(text.contains(BOT), "the dashboard lists the bot: {text}");
            if ["Bull", "Bear", "Sideways", "Volatile"]
                .iter()
                .any(|r| text.contains(r))
            {
                classified = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        assert!(classified, "the market's regime shows: {}", b.text().await);

        // A signal, the dashboard left open: the event stream brings its order in without
        // a reload, well before the 30 s refresh for prices could.
        b.script("window.nexusNotReloaded = true; return true;", json!([]))
            .await;
        app.signal("entry", "browser-entry-1").await;
        b.wait_until(
            "the signal's order on the open dashboard",
            "return document.querySelectorAll(\"[aria-label='Recent orders'] tbody tr\").length > 0;",
        )
        .await;
        assert_eq!(
            b.script("return window.nexusNotReloaded === true;", json!([]))
                .await,
            json!(true),
            "the dashboard updated in place"
        );

        // Its order shows on the bot's page too.
        let mut ordered = false;
        for _ in 0..60 {
            b.goto(&app.at(&bot_page)).await;
            let rows = b
                .script(
                    "return document.querySelectorAll('#orders tbody tr').length;",
                    json!([]),
                )
                .await;
            if rows.as_u64().unwrap_or(0) > 0 {
                ordered = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        assert!(ordered, "the signal's order shows: {}", b.text().await);
        problems.extend(checks::here(b, "a bot's page with its order").await);

        // Pause it: the page says so.
        b.click(&b.button(&format!("Pause {BOT}")).await).await;
        b.wait_until(
            "the paused bot",
            "return Array.from(document.querySelectorAll('button'))
                 .some(b => b.textContent.trim().startsWith('Resume'));",
        )
        .await;

        // Alert preferences: the daily summary, kept.
        b.goto(&app.at("/app/settings")).await;
        let daily = b.field("Daily summary").await;
        let was = b
            .script("return arguments[0].checked;", json!([daily.reference()]))
            .await;
        b.click(&daily).await;
        b.click(&b.button("Save alert preferences").await).await;
        b.wait_until(
            "the saved preferences",
            "return document.body.innerText.includes('Alert preferences saved.');",
        )
        .await;
        let daily = b.field("Daily summary").await;
        let now = b
            .script("return arguments[0].checked;", json!([daily.reference()]))
            .await;
        assert_ne!(was, now, "the daily summary choice was saved");

        // Dark mode: the header's toggle, kept after a reload.
        let toggle = b.button("Dark mode").await;
        assert_eq!(
            b.attribute(&toggle, "aria-pressed").await.as_deref(),
            Some("false")
        );
        b.click(&toggle).await;
        b.wait_until(
            "the dark theme",
            "return document.documentElement.dataset.theme === 'dark' \
             && document.readyState === 'complete';",
        )
        .await;
        assert_eq!(
            b.path().await,
            "/app/settings",
            "the toggle comes back to the page"
        );
        assert_eq!(b.cookie(THEME_COOKIE).await.as_deref(), Some("dark"));
        b.reload().await;
        assert_eq!(theme(b).await, "dark", "kept after a reload");
        let toggle = b.button("Dark mode").await;
        assert_eq!(
            b.attribute(&toggle, "aria-pressed").await.as_deref(),
            Some("true")
        );
        // And back.
        b.click(&toggle).await;
        b.wait_until(
            "the light theme",
            "return document.documentElement.dataset.theme === 'light' \
             && document.readyState === 'complete';",
        )
        .await;
        let toggle = b.button("Dark mode").await;
        assert_eq!(
            b.attribute(&toggle, "aria-pressed").await.as_deref(),
            Some("false")
        );

        // Sign out: back to the sign-in page, and the app is closed again.
        b.click(&b.button("Sign out").await).await;
        b.wait_for_path("/login").await;
        let text = b.text().await;
        assert!(text.contains("You are signed out"), "{text}");
        assert!(b.find("form[action='/logout']").await.is_none());
        b.goto(&app.at("/app")).await;
        assert_eq!(b.path().await, "/login?next=%2Fapp");

        drop(browser);
        app.stop().await;
        checks::assert_none(&problems);
    });
}

/// `<html data-theme>`.
async fn theme(b: &Browser) -> String {
    b.script(
        "return document.documentElement.dataset.theme || '';",
        json!([]),
    )
    .await
    .as_str()
    .unwrap()
    .to_owned()
}

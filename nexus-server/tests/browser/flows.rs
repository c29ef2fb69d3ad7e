//! What a person does, in Chromium, finding fields by their visible labels and buttons by
//! their text: sign up, confirm the address through the emailed link, sign in, switch to
//! dark mode and find it kept after a reload, sign out. The pages met on the way that only
//! a form leads to (its answer, its errors, a message after a redirect) are checked as
//! every page is (checks.rs).

use serde_json::json;

use crate::app::{App, THEME_COOKIE};
use crate::checks;
use crate::webdriver::Browser;

const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery";

#[test]
fn sign_up_confirm_sign_in_dark_mode_sign_out() {
    crate::serially(async {
        let name = "sign_up_confirm_sign_in_dark_mode_sign_out";
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
        assert_eq!(b.path().await, "/app", "the toggle comes back to the page");
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

//! "Forgot password?" in Chromium: from the sign-in page to the mailed link (received by a real
//! SMTP server, `aiosmtpd`) to "Choose a new password", and signing in with the new password.

use std::time::Duration;

use super::{Session, browser_available};
use crate::common::{Backend, SmtpServer, TestServer};
use crate::mail::mail_to;

async fn forgot_password_in_the_browser(backend: Backend) {
    if !browser_available() {
        return;
    }
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    let server = TestServer::start_with(backend, mail_to(&smtp)).await;
    server
        .create_user("ada@example.com", "user-password-1")
        .await;
    let s = Session::start().await;
    s.goto(&format!("{}/ui/login", server.url)).await;
    s.click("#forgot-password").await;
    s.fill("#email", "ada@example.com").await;
    s.click("#send-link").await;
    s.wait_for_text(
        "#reset-notice",
        "a link to choose a new password is on its way",
    )
    .await;

    let mails = smtp.wait_for(1, Duration::from_secs(20)).await;
    let link = mails
        .first()
        .and_then(|m| m.reset_link())
        .expect("the mailed link");
    s.goto(&link).await;
    s.wait_for_text("h1", "Choose a new password").await;
    s.fill("#new_password", "a-new-password-1").await;
    s.fill("#confirm_password", "a-new-password-2").await;
    s.click("#set-password").await;
    s.wait_for_text("#reset-error", "The two passwords differ")
        .await;
    s.fill("#new_password", "a-new-password-1").await;
    s.fill("#confirm_password", "a-new-password-1").await;
    s.click("#set-password").await;
    s.wait_for_text(".notice", "Your new password is set").await;
    s.screenshot("password-reset-done").await;
    s.login(&server, "ada@example.com", "a-new-password-1")
        .await;
    s.close().await;
}

crate::on_both_databases!(forgot_password_in_the_browser);

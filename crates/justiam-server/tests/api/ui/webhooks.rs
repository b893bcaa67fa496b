//! Administration → Webhooks in the browser: create a webhook, then edit its URL and events
//! (a private address refused beside the field, what was typed kept), each step checked against
//! what the API then answers.

use super::{Session, browser_available};
use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestServer};

async fn edit_a_webhook_in_the_browser(backend: Backend) {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let s = Session::start().await;
    s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // Public addresses as IP literals: checked without DNS, never reached (no event fires).
    s.click("#nav-webhooks").await;
    s.wait_for_path("/ui/admin/webhooks").await;
    s.fill("#url", "https://1.1.1.1/hooks/justiam").await;
    s.fill("#events", "user.deleted").await;
    s.click("#create-webhook").await;
    s.wait_for_text("#webhook-secret", "Copy the signing secret now")
        .await;
    let created = admin
        .list_webhooks(&Default::default())
        .await
        .expect("list");
    let [webhook] = created.data.as_slice() else {
        panic!("one webhook: {:?}", created.data);
    };
    let id = webhook.id;
    let hint = webhook.secret_hint.clone();

    s.click(&format!("tr[data-webhook-id='{id}'] a")).await;
    s.wait_for_path(&format!("/ui/admin/webhooks/{id}")).await;
    s.click("#edit-webhook").await;
    s.wait_for_path(&format!("/ui/admin/webhooks/{id}/edit"))
        .await;
    assert_eq!(s.value("#url").await, "https://1.1.1.1/hooks/justiam");
    assert_eq!(s.value("#events").await, "user.deleted");

    // A loopback target is refused beside the URL, and the typed events are kept.
    s.fill("#url", "http://127.0.0.1:9/hook").await;
    s.fill("#events", "login.failed token.*").await;
    s.click("#save-webhook").await;
    s.wait_for_text("#url-error", "loopback, link-local or private address")
        .await;
    assert_eq!(s.value("#url").await, "http://127.0.0.1:9/hook");
    assert_eq!(s.value("#events").await, "login.failed token.*");
    let unchanged = admin.get_webhook(id).await.expect("get");
    assert_eq!(unchanged.url, "https://1.1.1.1/hooks/justiam");
    assert_eq!(unchanged.events, ["user.deleted"]);

    // An unknown event is refused beside the events.
    s.fill("#url", "https://8.8.8.8/hooks/new").await;
    s.fill("#events", "login.failed no.such").await;
    s.click("#save-webhook").await;
    s.wait_for_text("#events-error", "no.such").await;
    assert_eq!(s.value("#url").await, "https://8.8.8.8/hooks/new");

    // Saved: shown on the webhook's page and answered by the API; the secret kept.
    s.fill("#events", "login.failed token.*").await;
    s.click("#save-webhook").await;
    s.wait_for_text(".notice", "Saved.").await;
    s.wait_for_text("#webhook-url", "https://8.8.8.8/hooks/new")
        .await;
    s.wait_for_text("#webhook-events", "login.failed token.*")
        .await;
    let edited = admin.get_webhook(id).await.expect("get");
    assert_eq!(edited.url, "https://8.8.8.8/hooks/new");
    assert_eq!(edited.events, ["login.failed", "token.*"]);
    assert_eq!(edited.secret_hint, hint, "an empty secret keeps the secret");
    s.close().await;
}

crate::on_both_databases!(edit_a_webhook_in_the_browser);

//! Webhooks: where events are POSTed, and the deliveries of their log.

use uuid::Uuid;

use crate::error::{CoreError, CoreResult};
use crate::time::Millis;

/// The events a webhook may subscribe to (the contract's list, which the document states too).
pub use justiam_types::rules::WEBHOOK_EVENT_TYPES as EVENT_TYPES;
/// The longest webhook URL accepted.
pub use justiam_types::rules::WEBHOOK_URL_MAX_CHARS as URL_MAX_CHARS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    /// The secret's last characters.
    pub secret_hint: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// One delivery of a webhook's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub event_type: String,
    /// `pending`, `sending`, `sent` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub created_at: Millis,
    pub next_attempt_at: Millis,
    pub done_at: Option<Millis>,
    pub last_error: Option<String>,
    /// The HTTP status the target answered last.
    pub last_status: Option<i64>,
    /// The JSON body delivered.
    pub body: String,
}

/// The list of events: at least one, each of [`EVENT_TYPES`], no repeats (sorted).
pub fn parse_events(events: &[String]) -> CoreResult<Vec<String>> {
    if events.is_empty() {
        return Err(CoreError::validation(
            "events",
            "events must list at least one event type",
        ));
    }
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        // Exactly as listed (not trimmed): the document's enum admits nothing else.
        let event = event.as_str();
        if !EVENT_TYPES.contains(&event) {
            return Err(CoreError::validation(
                "events",
                format!(
                    "events: {event:?} is not an event type; use one of {}",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
        out.push(event.to_owned());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// An absolute `http` or `https` URL with a host, without credentials or fragment. (Where it
/// points is checked by the server, which resolves it.)
pub fn parse_webhook_url(raw: &str) -> CoreResult<url::Url> {
    let invalid = |rule: &str| CoreError::validation("url", format!("url {rule}"));
    if raw.chars().count() > URL_MAX_CHARS {
        return Err(invalid("must be at most 2048 characters"));
    }
    let url = url::Url::parse(raw)
        .map_err(|e| invalid(&format!("must be an absolute http(s) URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must use http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry a user name or password"));
    }
    if url.fragment().is_some() {
        return Err(invalid("must not have a fragment (#…)"));
    }
    if !crate::model::application::documented(crate::model::application::Rule::WebhookUrl, raw) {
        return Err(invalid(&format!(
            "is not in the documented form: {}",
            crate::model::application::URL_FORM
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_events() {
        assert!(parse_webhook_url("https://hooks.example.com/x?y=1").is_ok());
        for bad in [
            "ftp://x/",
            "file:///etc/passwd",
            "https://u:p@x/",
            "https://x/#f",
            "/relative",
            "",
        ] {
            assert!(parse_webhook_url(bad).is_err(), "{bad}");
        }
        let events = parse_events(&["user.*".into(), "token.created".into(), "user.*".into()]);
        assert_eq!(events.expect("ok"), vec!["token.created", "user.*"]);
        assert!(parse_events(&[]).is_err());
        assert!(parse_events(&["user.logged".into()]).is_err());
        assert!(parse_events(&["*".into()]).is_err());
    }
}

//! The audit log (`/ui/admin/audit`), as `GET /audit` of the API: entries with their details in
//! words, actors and targets named and linked, times to the second, filters (action, actor,
//! target, a date range) and the filtered view exported as CSV or JSON.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use justiam_core::model::{AuditFilter, AuditRecord, PageRequest, Permission};
use justiam_core::time::{DAY_MS, Millis, to_datetime};
use uuid::Uuid;

use super::kit::view::Stamp;
use super::kit::{
    FieldErrors, Nav, Pager, Params, UiError, UiUser, encode, page_of, pager, render,
};
use super::users::user_by_email;
use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/admin/audit", get(audit))
        .route("/ui/admin/audit/export", get(export))
}

/// A name, linked to its page when it has one.
pub struct Named {
    pub text: String,
    pub href: Option<String>,
}

pub struct AuditView {
    pub at: Stamp,
    pub actor: Named,
    pub action: String,
    pub target: Option<Named>,
    pub ip: String,
    /// The details in words: a label and a value each.
    pub details: Vec<(String, Named)>,
    /// The details as stored (JSON), behind a disclosure.
    pub raw: String,
}

/// The filters as typed (shown back in the form) and as the service reads them.
struct Filters {
    action: String,
    actor: String,
    target: String,
    /// `YYYY-MM-DD` (UTC), inclusive.
    from: String,
    to: String,
    filter: AuditFilter,
    errors: FieldErrors,
}

impl Filters {
    /// The query string that reproduces these filters (for the pager and the export links).
    fn query(&self) -> String {
        format!(
            "action={}&actor={}&target={}&from={}&to={}",
            encode(&self.action),
            encode(&self.actor),
            encode(&self.target),
            encode(&self.from),
            encode(&self.to)
        )
    }
}

/// Midnight (UTC) starting `day`, in milliseconds.
fn day_start(day: NaiveDate) -> Option<Millis> {
    day.and_hms_opt(0, 0, 0)
        .map(|at| at.and_utc().timestamp_millis())
}

async fn read_filters(state: &AppState, user: &UiUser, q: &HashMap<String, String>) -> Filters {
    let field = |name: &str| q.get(name).map(|s| s.trim().to_owned()).unwrap_or_default();
    let mut f = Filters {
        action: field("action"),
        actor: field("actor"),
        target: field("target"),
        from: field("from"),
        to: field("to"),
        filter: AuditFilter::default(),
        errors: FieldErrors::default(),
    };
    f.filter.action = (!f.action.is_empty()).then(|| f.action.clone());
    if !f.actor.is_empty() {
        match Uuid::parse_str(&f.actor) {
            Ok(id) => f.filter.actor_id = Some(id),
            Err(_) => match user_by_email(state, user, &f.actor).await {
                Ok(Some(id)) => f.filter.actor_id = Some(id),
                _ => f.errors.add(
                    "actor",
                    "Enter a user id, or the email of an existing user.",
                ),
            },
        }
    }
    if !f.target.is_empty() {
        match Uuid::parse_str(&f.target) {
            Ok(id) => f.filter.target_id = Some(id),
            Err(_) => f
                .errors
                .add("target", "Enter the id of the target (a UUID)."),
        }
    }
    let day = |raw: &str| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok();
    if !f.from.is_empty() {
        match day(&f.from).and_then(day_start) {
            Some(at) => f.filter.since = Some(at),
            None => f.errors.add("from", "Enter the first day as YYYY-MM-DD."),
        }
    }
    if !f.to.is_empty() {
        // The whole last day is included.
        match day(&f.to).and_then(day_start) {
            Some(at) => f.filter.until = Some(at + DAY_MS - 1),
            None => f.errors.add("to", "Enter the last day as YYYY-MM-DD."),
        }
    }
    if let (Some(since), Some(until)) = (f.filter.since, f.filter.until)
        && until < since
    {
        f.errors
            .add("to", "The last day cannot come before the first.");
    }
    f
}

/// `2026-03-01 14:05:07 UTC`: an audit entry is read to the second.
fn stamp_seconds(at: Millis) -> Stamp {
    let t = to_datetime(at);
    Stamp {
        iso: t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        utc: t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    }
}

/// Looks users up by id once per page, if the caller may see users; `None` when unknown or
/// not allowed (the id is then shown as it is).
struct Names<'a> {
    state: &'a AppState,
    user: &'a UiUser,
    emails: HashMap<Uuid, Option<String>>,
}

impl Names<'_> {
    async fn email(&mut self, id: Uuid) -> Option<String> {
        if !self.user.principal.has(Permission::UsersView) {
            return None;
        }
        if let Some(known) = self.emails.get(&id) {
            return known.clone();
        }
        let email = self
            .state
            .iam
            .get_user(&self.user.principal, id)
            .await
            .ok()
            .map(|u| u.email);
        self.emails.insert(id, email.clone());
        email
    }

    /// A user by id: their email linked to their page.
    async fn user(&mut self, id: Uuid, known_email: Option<&str>) -> Named {
        let text = match known_email {
            Some(email) => email.to_owned(),
            None => self.email(id).await.unwrap_or_else(|| id.to_string()),
        };
        Named {
            text,
            href: Some(format!("/ui/admin/users/{id}")),
        }
    }
}

/// The page of a target of type `kind`, when the UI has one.
fn target_page(kind: &str, id: Uuid) -> Option<String> {
    match kind {
        "user" => Some(format!("/ui/admin/users/{id}")),
        "token" => Some(format!("/ui/admin/tokens/{id}")),
        "group" => Some(format!("/ui/admin/groups/{id}")),
        "admin_role" => Some(format!("/ui/admin/roles/{id}")),
        _ => None,
    }
}

/// `token_name` → `Token name`.
fn label(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

/// One value of the details in words.
fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(true) => "yes".to_owned(),
        serde_json::Value::Bool(false) => "no".to_owned(),
        serde_json::Value::Null => "none".to_owned(),
        serde_json::Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

async fn view_of(r: AuditRecord, names: &mut Names<'_>) -> AuditView {
    let details: Option<serde_json::Value> = r
        .details
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok());
    let detail = |key: &str| {
        details
            .as_ref()
            .and_then(|d| d.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let actor = match r
        .actor_id
        .as_deref()
        .and_then(|id| Uuid::parse_str(id).ok())
    {
        Some(id) => names.user(id, r.actor_email.as_deref()).await,
        None => Named {
            text: r
                .actor_email
                .clone()
                .or(r.actor_id.clone())
                .unwrap_or_else(|| "system".to_owned()),
            href: None,
        },
    };
    let target = match (r.target_type.as_deref(), r.target_id.as_deref()) {
        (Some(kind), Some(raw)) => Some(match Uuid::parse_str(raw) {
            Ok(id) if kind == "user" => {
                let known = detail("email").or_else(|| detail("target_email"));
                let mut named = names.user(id, known.as_deref()).await;
                named.text = format!("user {}", named.text);
                named
            }
            Ok(id) => {
                let name = detail("token_name")
                    .or_else(|| detail("name"))
                    .or_else(|| detail("role_name"));
                Named {
                    text: match name {
                        Some(name) => format!("{} “{name}”", label(kind)),
                        None => format!("{} {id}", label(kind)),
                    },
                    href: target_page(kind, id),
                }
            }
            Err(_) => Named {
                text: format!("{kind} {raw}"),
                href: None,
            },
        }),
        (Some(kind), None) => Some(Named {
            text: label(kind),
            href: None,
        }),
        _ => None,
    };
    let mut words = Vec::new();
    if let Some(serde_json::Value::Object(map)) = &details {
        for (key, value) in map {
            let id = value.as_str().and_then(|s| Uuid::parse_str(s).ok());
            let named = match (key.as_str(), id) {
                ("user_id" | "target_user_id", Some(id)) => {
                    let known = detail("target_email");
                    names.user(id, known.as_deref()).await
                }
                ("rotated_from", Some(id)) => Named {
                    text: format!("token {id}"),
                    href: Some(format!("/ui/admin/tokens/{id}")),
                },
                ("role_id", Some(id)) => Named {
                    text: detail("role_name").unwrap_or_else(|| id.to_string()),
                    href: Some(format!("/ui/admin/roles/{id}")),
                },
                ("group_id", Some(id)) => Named {
                    text: id.to_string(),
                    href: Some(format!("/ui/admin/groups/{id}")),
                },
                _ => Named {
                    text: plain(value),
                    href: None,
                },
            };
            // A linked id reads as what it names: "Target user", not "Target user id".
            let key = match &named.href {
                Some(_) => key.strip_suffix("_id").unwrap_or(key),
                None => key,
            };
            words.push((label(key), named));
        }
    }
    AuditView {
        at: stamp_seconds(r.at),
        actor,
        action: r.action,
        target,
        ip: r.ip.unwrap_or_default(),
        details: words,
        raw: r.details.unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "audit/list.html")]
struct AuditPage {
    nav: Option<Nav>,
    entries: Vec<AuditView>,
    action: String,
    actor: String,
    target: String,
    from: String,
    to: String,
    /// The filters as a query string, for the export links.
    query: String,
    pager: Pager,
    errors: FieldErrors,
}

async fn audit(
    State(state): State<AppState>,
    user: UiUser,
    Query(q): Params,
) -> Result<Response, UiError> {
    let f = read_filters(&state, &user, &q).await;
    let page = page_of(&q);
    let (rows, total) = if f.errors.is_empty() {
        state
            .iam
            .list_audit(&user.principal, &f.filter, page)
            .await?
    } else {
        user.principal.require(Permission::AuditView)?;
        (Vec::new(), 0)
    };
    let mut names = Names {
        state: &state,
        user: &user,
        emails: HashMap::new(),
    };
    let mut entries = Vec::with_capacity(rows.len());
    for r in rows {
        entries.push(view_of(r, &mut names).await);
    }
    let query = f.query();
    Ok(render(AuditPage {
        nav: Some(Nav::new(&user, "audit")),
        entries,
        pager: pager(&format!("/ui/admin/audit?{query}&"), page, total),
        query,
        action: f.action,
        actor: f.actor,
        target: f.target,
        from: f.from,
        to: f.to,
        errors: f.errors,
    }))
}

/// The most entries one export holds (the newest first), so that one click cannot tie up the
/// database; narrow the filters for older ones.
pub const EXPORT_LIMIT: usize = 10_000;

/// The filtered view, every page of it (up to [`EXPORT_LIMIT`] entries), as a CSV or JSON
/// download. JSON items are the API's (`GET /audit`).
async fn export(
    State(state): State<AppState>,
    user: UiUser,
    Query(q): Params,
) -> Result<Response, UiError> {
    let f = read_filters(&state, &user, &q).await;
    user.principal.require(Permission::AuditView)?;
    if !f.errors.is_empty() {
        return Err(UiError::page(
            axum::http::StatusCode::BAD_REQUEST,
            "These filters cannot be exported",
            "Correct the filters on the Audit log page, then export again.",
        ));
    }
    let mut records = Vec::new();
    let mut page = PageRequest {
        page: 1,
        limit: PageRequest::MAX_LIMIT,
    };
    loop {
        let (rows, total) = state
            .iam
            .list_audit(&user.principal, &f.filter, page)
            .await?;
        let last = rows.len() < page.limit as usize;
        records.extend(rows);
        if last || records.len() as u64 >= total || records.len() >= EXPORT_LIMIT {
            break;
        }
        page.page += 1;
    }
    records.truncate(EXPORT_LIMIT);
    let wire: Vec<_> = records.iter().map(AuditRecord::to_wire).collect();
    let (body, kind, extension) = if q.get("format").map(String::as_str) == Some("json") {
        let json = serde_json::to_string_pretty(&wire)
            .map_err(|_| UiError::internal("the export could not be written"))?;
        (json, "application/json", "json")
    } else {
        (csv_of(&wire), "text/csv; charset=utf-8", "csv")
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"audit.{extension}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// The entries as CSV (RFC 4180): every field quoted; a field a spreadsheet would run as a
/// formula (starting with `=`, `+`, `-`, `@`, a tab or a CR) gets a leading `'`.
fn csv_of(records: &[justiam_types::AuditRecord]) -> String {
    fn field(value: &str) -> String {
        let safe = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{value}")
        } else {
            value.to_owned()
        };
        format!("\"{}\"", safe.replace('"', "\"\""))
    }
    let mut out = String::from(
        "at,actor_id,actor_email,credential,action,target_type,target_id,ip,user_agent,details\r\n",
    );
    for r in records {
        let id = |v: Option<Uuid>| v.map(|id| id.to_string()).unwrap_or_default();
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let row = [
            r.at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            id(r.actor_id),
            text(&r.actor_email),
            text(&r.credential),
            r.action.clone(),
            text(&r.target_type),
            id(r.target_id),
            text(&r.ip),
            text(&r.user_agent),
            r.details
                .as_ref()
                .map(|d| d.to_string())
                .unwrap_or_default(),
        ];
        out.push_str(&row.iter().map(|v| field(v)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_every_field_and_defuses_formulas() {
        let record = justiam_types::AuditRecord {
            id: Uuid::nil(),
            at: chrono::DateTime::from_timestamp_millis(0).expect("epoch"),
            actor_id: None,
            actor_email: Some("=HYPERLINK(\"x\")".to_owned()),
            credential: None,
            credential_id: None,
            action: "user.created".to_owned(),
            target_type: None,
            target_id: None,
            ip: None,
            user_agent: Some("a, \"b\"".to_owned()),
            details: None,
        };
        let csv = csv_of(&[record]);
        let line = csv.lines().nth(1).expect("a row");
        assert!(
            line.starts_with("\"1970-01-01T00:00:00.000Z\",\"\",\"'=HYPERLINK(\"\"x\"\")\""),
            "{line}"
        );
        assert!(line.contains("\"a, \"\"b\"\"\""), "{line}");
    }

    #[test]
    fn labels_read_as_words() {
        assert_eq!(label("token_name"), "Token name");
        assert_eq!(plain(&serde_json::json!(["a", "b"])), "a, b");
        assert_eq!(plain(&serde_json::json!(true)), "yes");
    }
}

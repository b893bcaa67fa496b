//! The kit every page is built from: the session and its forms ([`session`]), the navigation,
//! errors as pages and formatting ([`view`]), and here what the resource modules' handlers share —
//! replies after a form, lists with a search and a pager, notices, and the confirmation page.

pub mod session;
pub mod view;

use std::collections::HashMap;

use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use justiam_core::model::PageRequest;

pub use session::{Fields, UiForm, UiUser};
pub use view::{FieldErrors, Nav, Pager, UiError, encode, render, when};

/// The query of a page (`?page=`, `?search=`, `?done=`, …).
pub type Params = Query<HashMap<String, String>>;

/// A page again with what was refused in its form: 400.
pub fn bad_request(page: impl Template) -> Result<Response, UiError> {
    Ok((StatusCode::BAD_REQUEST, render(page)).into_response())
}

/// The redirect after a post that succeeded (a `?done=…` in `to` carries the notice).
pub fn redirect(to: &str) -> Result<Response, UiError> {
    Ok(Redirect::to(to).into_response())
}

/// A form field's value, `""` when it is missing.
pub fn value(f: &Fields, name: &str) -> String {
    f.get(name).unwrap_or_default().to_owned()
}

/// Field errors of one message.
pub fn field_error(field: &str, message: impl Into<String>) -> FieldErrors {
    let mut errors = FieldErrors::default();
    errors.add(field, message);
    errors
}

/// The pager of a list whose page links are `base` followed by `page=…`.
pub fn pager(base: &str, page: PageRequest, total: u64) -> Pager {
    Pager::new(base, page.page, page.limit, total)
}

/// The page of a list that the query (`?page=`) asks for.
pub fn page_of(q: &HashMap<String, String>) -> PageRequest {
    PageRequest {
        page: view::page_number(q.get("page").map(String::as_str)),
        limit: PageRequest::DEFAULT_LIMIT,
    }
}

/// What the query of a searchable list asks for: the page and the search.
pub struct Listing {
    pub page: PageRequest,
    pub search: Option<String>,
}

impl Listing {
    pub fn of(q: &HashMap<String, String>) -> Listing {
        Listing {
            page: page_of(q),
            search: q
                .get("search")
                .map(|s| s.trim().chars().take(200).collect::<String>())
                .filter(|s| !s.is_empty()),
        }
    }

    /// The pager of the list at `path`, keeping the search.
    pub fn pager(&self, path: &str, total: u64) -> Pager {
        let base = match &self.search {
            Some(s) => format!("{path}?search={}&", encode(s)),
            None => format!("{path}?"),
        };
        pager(&base, self.page, total)
    }
}

/// The notice an administration page shows after the action that redirected to it
/// (`?done=…`, and `&count=…` for ended sessions).
pub fn notice_of(q: &HashMap<String, String>) -> Option<String> {
    q.get("done").map(|d| {
        if d == "ended" {
            let count = q
                .get("count")
                .and_then(|c| c.parse::<u64>().ok())
                .unwrap_or(0);
            return match count {
                0 => "There was no session to end.".to_owned(),
                1 => "1 session ended. Its sign-in stops working at once.".to_owned(),
                n => format!("{n} sessions ended. Their sign-ins stop working at once."),
            };
        }
        match d.as_str() {
            "created" => "Created.",
            "saved" => "Saved.",
            "deleted" => "Deleted.",
            "revoked" => "Revoked.",
            "added" => "Added.",
            "removed" => "Removed.",
            "assigned" => "The role was assigned.",
            "mfa_reset" => "The second factor was reset: the user signs in with the password alone (or sets up a new one when it is required).",
            "unassigned" => "The role assignment was removed.",
            _ => "Done.",
        }
        .to_owned()
    })
}

/// A confirmation page with one button. Its handler first asks the service whether the caller may
/// take the action (an `Iam::check_can_*`), so an action that would be refused is refused here with
/// the same page, before any button is offered.
#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub nav: Option<Nav>,
    pub title: String,
    pub message: String,
    pub action: String,
    pub button: String,
    pub back: String,
}

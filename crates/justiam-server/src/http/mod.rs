//! The HTTP API: one module per resource, thin handlers over `justiam_core::service::Iam`.

mod admin;
mod applications;
mod auth;
pub mod error;
pub(crate) mod extract;
mod groups;
mod machine;
pub(crate) mod mfa;
pub(crate) mod observe;
mod openapi;
mod ops;
mod roles;
mod signed_in;
pub mod throttle;
mod tokens;
mod users;
mod webhooks;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

// Handlers reach the state as `super::AppState`; the composition root owns it.
use crate::app::AppState;
pub use error::ApiError;

/// Every documented route, and the document.
fn documented() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let api = OpenApiRouter::new()
        .merge(auth::routes())
        .merge(users::routes())
        .merge(tokens::routes())
        .merge(groups::routes())
        .merge(roles::routes())
        .merge(admin::routes())
        .merge(applications::routes())
        .merge(signed_in::routes())
        .merge(mfa::routes())
        .merge(webhooks::routes())
        .merge(machine::routes())
        .merge(ops::api_routes());
    // The API's paths are written out whole (`/api/v1/...`) and merged, not nested: a nested
    // router strips the prefix off every request's URI (a new `Uri` per request) and records
    // the nesting in the request's extensions.
    let (router, mut doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(api)
        .merge(ops::probe_routes())
        .split_for_parts();
    openapi::Conventions.modify(&mut doc);
    (router, doc)
}

/// The OpenAPI 3 document of the API (`justiam openapi`, `/swagger/doc.json`).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    documented().1
}

/// The API's routes, the OpenAPI document and the Swagger UI, for [`crate::app`] to mount. The
/// served document states the configured password minimum.
pub fn routes(password_min_length: usize) -> Router<AppState> {
    let (api, mut doc) = documented();
    openapi::configure(&mut doc, password_min_length);
    let yaml = doc.to_yaml().unwrap_or_default();
    Router::new()
        .merge(api)
        .route(
            "/swagger/doc.yaml",
            get(move || async move { ([(header::CONTENT_TYPE, "application/yaml")], yaml) }),
        )
        .merge(SwaggerUi::new("/swagger").url("/swagger/doc.json", doc))
}

/// The list envelope for one page of a database query.
pub fn page_of<T>(
    data: Vec<T>,
    total: u64,
    page: justiam_core::model::PageRequest,
) -> justiam_types::Page<T> {
    justiam_types::Page {
        data,
        total,
        page: page.page,
        limit: page.limit,
    }
}

/// The list envelope over a small list that is read whole (role assignments).
pub fn page_in_memory<T>(
    all: Vec<T>,
    page: justiam_core::model::PageRequest,
) -> justiam_types::Page<T> {
    let total = all.len() as u64;
    let data = all
        .into_iter()
        .skip(page.offset().max(0) as usize)
        .take(page.limit as usize)
        .collect();
    page_of(data, total, page)
}

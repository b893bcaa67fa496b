//! The HTTP API: one module per resource, thin handlers over `justiam_core::service::Iam`.

mod admin;
mod auth;
pub mod error;
mod extract;
mod groups;
mod openapi;
mod ops;
mod roles;
mod tokens;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::header;
use axum::http::{HeaderName, HeaderValue};
use axum::routing::get;
use ipnet::IpNet;
use justiam_core::service::Iam;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use error::ApiError;

/// Request bodies above this size are refused with `413`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub iam: Arc<Iam>,
    /// Peers whose `X-Forwarded-For` is believed for the client address.
    pub trusted_proxies: Arc<[IpNet]>,
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every documented route, and the document.
fn documented() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let api = OpenApiRouter::new()
        .merge(auth::routes())
        .merge(users::routes())
        .merge(tokens::routes())
        .merge(groups::routes())
        .merge(roles::routes())
        .merge(admin::routes())
        .merge(ops::api_routes());
    let (router, mut doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api/v1", api)
        .merge(ops::probe_routes())
        .split_for_parts();
    openapi::Conventions.modify(&mut doc);
    (router, doc)
}

/// The OpenAPI 3 document of the API (`justiam openapi`, `/swagger/doc.json`).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    documented().1
}

pub fn router(state: AppState) -> Router {
    let (api, doc) = documented();
    let yaml = doc.to_yaml().unwrap_or_default();
    Router::new()
        .merge(api)
        .route(
            "/swagger/doc.yaml",
            get(move || async move { ([(header::CONTENT_TYPE, "application/yaml")], yaml) }),
        )
        .merge(SwaggerUi::new("/swagger").url("/swagger/doc.json", doc))
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(extract::token_expiry_header))
        .layer(axum::middleware::map_response(security_headers))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str)
                    .unwrap_or("unmatched");
                let request_id = request
                    .extensions()
                    .get::<RequestId>()
                    .and_then(|id| id.header_value().to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %request.method(), route, request_id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
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

async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

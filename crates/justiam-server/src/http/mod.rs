//! The HTTP API: one module per resource, thin handlers over `justiam_core::service::Iam`.

mod admin;
mod auth;
pub mod error;
pub(crate) mod extract;
mod groups;
pub(crate) mod observe;
mod openapi;
mod ops;
mod request_id;
mod roles;
pub mod throttle;
mod tokens;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::routing::get;
use ipnet::IpNet;
use justiam_core::service::Iam;

use axum::extract::State;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use error::ApiError;
pub use extract::RequestRecord;

/// Request bodies above this size are refused with `413`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler reaches: cloned for each request by every layer and extractor, so it is one
/// `Arc` (one reference count to touch) rather than a bundle of them.
#[derive(Clone)]
pub struct AppState(Arc<AppContext>);

impl AppState {
    pub fn new(context: AppContext) -> Self {
        Self(Arc::new(context))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppContext;

    fn deref(&self) -> &AppContext {
        &self.0
    }
}

pub struct AppContext {
    pub iam: Arc<Iam>,
    pub metrics: crate::metrics::Metrics,
    /// Failed bearer authentications per client address.
    pub token_failures: throttle::FailureThrottle,
    /// Served over native TLS: answers carry `Strict-Transport-Security`.
    pub hsts: bool,
    /// Longest time a handler may take before the client gets `408`.
    pub request_timeout: std::time::Duration,
    /// Peers whose `X-Forwarded-For` is believed for the client address.
    pub trusted_proxies: Vec<IpNet>,
}

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

/// The whole HTTP application: the routes, wrapped once in the layers every request passes.
///
/// The layers wrap the router from the outside rather than through `Router::layer`, which would
/// wrap every route separately and clone (allocate) each layer's boxed service on every request.
/// Only `record_route` sits inside, since the route template is known only after routing.
///
/// `metrics_here`: whether `/metrics` is served on this listener (it is not when `METRICS_ADDR`
/// gives it a listener of its own, see [`metrics_app`]).
pub fn app(state: AppState, metrics_here: bool) -> impl crate::listener::App {
    tower::ServiceBuilder::new()
        .layer(observe::ObserveLayer(state.clone()))
        .service(router(state, metrics_here))
}

/// The application of the `METRICS_ADDR` listener: `GET /metrics` and nothing else.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
}

/// Every route, each telling the request's record which template it matched.
fn router(state: AppState, metrics_here: bool) -> Router {
    let (api, doc) = documented();
    let yaml = doc.to_yaml().unwrap_or_default();
    let mut routes = Router::new().merge(api).route(
        "/swagger/doc.yaml",
        get(move || async move { ([(header::CONTENT_TYPE, "application/yaml")], yaml) }),
    );
    if metrics_here {
        routes = routes.route("/metrics", get(metrics));
    }
    routes
        .merge(SwaggerUi::new("/swagger").url("/swagger/doc.json", doc))
        .merge(crate::ui::routes())
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(tower::util::MapRequestLayer::new(record_route))
}

/// Hands the matched route template to [`observe`], which runs outside the router.
fn record_route(request: Request) -> Request {
    let extensions = request.extensions();
    if let (Some(record), Some(route)) = (
        extensions.get::<extract::RequestRecord>(),
        extensions.get::<MatchedPath>(),
    ) {
        record.set_route(route);
    }
    request
}

/// Prometheus metrics: OpenMetrics text when the scraper's `Accept` asks for it, else the classic
/// Prometheus text format (see [`crate::exposition`]).
async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> impl axum::response::IntoResponse {
    use crate::exposition::{self, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE};
    let openmetrics = state.metrics.render(&state.iam).await;
    let (content_type, body) = if exposition::wants_openmetrics(headers.get(header::ACCEPT)) {
        (OPENMETRICS_CONTENT_TYPE, openmetrics)
    } else {
        (
            PROMETHEUS_TEXT_CONTENT_TYPE,
            exposition::to_prometheus_text(&openmetrics),
        )
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::VARY, "accept"),
        ],
        body,
    )
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

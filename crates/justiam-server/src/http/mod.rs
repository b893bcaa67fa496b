//! The HTTP API: one module per resource, thin handlers over `justiam_core::service::Iam`.

mod admin;
mod auth;
pub mod error;
pub(crate) mod extract;
mod groups;
mod openapi;
mod ops;
mod request_id;
mod roles;
pub mod throttle;
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
use std::time::Instant;
use tower_http::request_id::{PropagateRequestIdLayer, RequestId, SetRequestIdLayer};

use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::IntoResponse;
use tracing::Instrument;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use error::ApiError;

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
        .layer(SetRequestIdLayer::new(
            REQUEST_ID.clone(),
            request_id::MakeSequentialRequestId,
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
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

/// Prometheus metrics in the OpenMetrics text format.
async fn metrics(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    let body = state.metrics.render(&state.iam).await;
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
}

/// Measures every request: the access log line (request id, route, status, latency, caller), the
/// request metrics, and `JustIAM-Token-Expires-At` for PAT-authenticated requests.
async fn observe(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> axum::response::Response {
    let started = Instant::now();
    let method = request.method().clone();
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let record = extract::RequestRecord::default();
    request.extensions_mut().insert(record.clone());
    // The span carries the request id into every log line written while handling the request;
    // the access line below names everything else once.
    let span = tracing::info_span!("request", %request_id);
    let handled =
        tokio::time::timeout(state.request_timeout, next.run(request).instrument(span)).await;
    let mut response = handled.unwrap_or_else(|_| {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request took too long and was abandoned",
        )
        .into_response()
    });

    let elapsed = started.elapsed();
    let route = record.matched_route();
    let status = response.status().as_u16();
    state
        .metrics
        .observe_request(&method, &route, status, elapsed.as_secs_f64());
    let caller = record.caller().copied();
    if let Some(expires_at) = caller.and_then(|c| c.token_expires_at) {
        // To the second, as RFC 3339 with `Z`.
        let at = justiam_core::time::to_datetime(expires_at - expires_at.rem_euclid(1000));
        let mut buffer = [0u8; 24];
        let value = justiam_types::timestamp::write_rfc3339(&at, &mut buffer)
            .and_then(|text| HeaderValue::from_str(text).ok());
        if let Some(value) = value {
            response
                .headers_mut()
                .insert("justiam-token-expires-at", value);
        }
    }
    // Outside the span: the line names the request id itself.
    tracing::info!(
        %request_id,
        %method,
        %route,
        status,
        // Whole microseconds: `0.005`, not `0.0053159999999999995`.
        latency_ms = elapsed.as_micros() as f64 / 1000.0,
        principal_id = caller.map(|c| tracing::field::display(c.user_id)),
        credential = caller.map(|c| c.credential),
        "request"
    );
    response
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

async fn security_headers(
    State(state): State<AppState>,
    mut response: axum::response::Response,
) -> axum::response::Response {
    let headers = response.headers_mut();
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    if state.hsts {
        headers.insert(
            "strict-transport-security",
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

//! The composition root: the application state, the record every request carries, and the whole
//! application built from the API ([`crate::http`]) and the web UI ([`crate::ui`]).
//!
//! The listener, the API and the UI depend on this module's state and request record, not on one
//! another; only this module knows that the API and the UI are served side by side.

mod request_record;
mod state;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::routing::get;

use crate::http::{self, error, observe};
use crate::telemetry::exposition::{self, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE};
pub use request_record::{Caller, RequestRecord, client_ip};
pub use state::{AppContext, AppState};

/// Request bodies above this size are refused with `413`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole HTTP application: the routes, wrapped once in the layers every request passes.
///
/// The layers wrap the router from the outside rather than through `Router::layer`, which would
/// wrap every route separately and clone (allocate) each layer's boxed service on every request.
/// Only `record_route` sits inside, since the route template is known only after routing.
///
/// `metrics_here`: whether `/metrics` is served on this listener (it is not when `METRICS_ADDR`
/// gives it a listener of its own, see [`metrics_only`]).
pub fn build(state: AppState, metrics_here: bool) -> impl crate::listener::App {
    tower::ServiceBuilder::new()
        .layer(observe::ObserveLayer(state.clone()))
        .service(router(state, metrics_here))
}

/// The application of the `METRICS_ADDR` listener: `GET /metrics` and nothing else.
pub fn metrics_only(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
}

/// Every route, each telling the request's record which template it matched.
fn router(state: AppState, metrics_here: bool) -> Router {
    let mut routes = http::routes();
    if metrics_here {
        routes = routes.route("/metrics", get(metrics));
    }
    routes
        .merge(crate::ui::routes())
        .merge(crate::oauth::routes())
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(tower::util::MapRequestLayer::new(record_route))
}

/// Hands the matched route template to [`observe`], which runs outside the router.
fn record_route(request: Request) -> Request {
    let extensions = request.extensions();
    if let (Some(record), Some(route)) = (
        extensions.get::<RequestRecord>(),
        extensions.get::<MatchedPath>(),
    ) {
        record.set_route(route);
    }
    request
}

/// Prometheus metrics: OpenMetrics text when the scraper's `Accept` asks for it, else the classic
/// Prometheus text format (see [`crate::telemetry::exposition`]).
async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> impl axum::response::IntoResponse {
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

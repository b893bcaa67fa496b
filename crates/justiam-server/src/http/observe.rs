//! The layer every request passes first: its request id, its deadline, the security headers of
//! its answer, its metrics and its access log line.
//!
//! One hand-written `tower` service instead of the four layers it replaces (tower-http's two
//! request-id layers, `axum::middleware::from_fn` and `map_response`): those inserted the id into
//! the request's extensions, boxed and cloned the rest of the stack for every request, and each
//! wrapped the answer in a future of its own. Every request pays for this layer, and a token check
//! is meant to cost next to nothing (docs/benchmarks.md).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};
use tracing::Instrument;

use super::ApiError;
use crate::app::{AppState, RequestRecord};
use crate::telemetry::access_log::{self, AccessEntry};
use crate::telemetry::request_id;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static TOKEN_EXPIRES_AT: HeaderName = HeaderName::from_static("justiam-token-expires-at");

/// Wraps the application in [`Observe`].
#[derive(Clone)]
pub struct ObserveLayer(pub AppState);

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            state: self.0.clone(),
        }
    }
}

/// See the module documentation.
#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    state: AppState,
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let started = Instant::now();
        let method = request.method().clone();
        // The client's own id is kept, as a proxy in front may have logged it already, when a log
        // line can hold it as it is; any other is replaced, and the answer names the one used.
        let request_id = match request.headers().get(&REQUEST_ID) {
            Some(id) if request_id::acceptable(id.as_bytes()) => id.clone(),
            _ => request_id::next_header_value(),
        };
        // The listener's record, with the peer's address (a fresh one for requests from
        // elsewhere, such as tests calling the application directly).
        let record = match request.extensions().get::<RequestRecord>() {
            Some(record) => record.clone(),
            None => {
                let record = RequestRecord::default();
                request.extensions_mut().insert(record.clone());
                record
            }
        };
        // The warnings and errors a request causes name its id (`current_request_id`), and so
        // does its access line. At `debug`, a span puts it on every line of the request too: a
        // span for every request at `info` cost ~0.9 µs of CPU per request (docs/benchmarks.md).
        let span = tracing::debug_span!("request", request_id = request_id.to_str().unwrap_or("-"));
        // The inner service (the router) is called here rather than cloned into the future:
        // a clone per request is a reference count that every worker thread writes.
        let handled = span.in_scope(|| self.inner.call(request)).instrument(span);
        let state = self.state.clone();
        Box::pin(async move {
            let mut handled = std::pin::pin!(request_id::REQUEST.scope(request_id, handled));
            let answer = within(state.request_timeout, started, handled.as_mut()).await;
            let request_id = handled
                .as_mut()
                .take_value()
                .unwrap_or_else(|| HeaderValue::from_static("-"));
            Ok(finish(
                &state,
                answer,
                started,
                &method,
                &request_id,
                &record,
            ))
        })
    }
}

/// `handled`, or `Elapsed` once `limit` has passed since `started`. Most answers are ready on the
/// first poll (a cached token check, no I/O), and they get no timer: making and cancelling one
/// for every request cost ~0.9 µs of CPU per request (docs/benchmarks.md). A handler that waits
/// gets the timer then, with the deadline counted from the start of the request all the same.
async fn within<F: Future>(
    limit: Duration,
    started: Instant,
    handled: F,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    let mut handled = std::pin::pin!(handled);
    match std::future::poll_fn(|cx| Poll::Ready(handled.as_mut().poll(cx))).await {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => {
            let deadline = tokio::time::Instant::from_std(started + limit);
            tokio::time::timeout_at(deadline, handled).await
        }
    }
}

/// Everything done once the answer is there: the timeout's `408`, the security headers, the
/// metrics, `JustIAM-Token-Expires-At`, the access line and `X-Request-Id`.
fn finish(
    state: &AppState,
    handled: Result<Result<Response, Infallible>, tokio::time::error::Elapsed>,
    started: Instant,
    method: &Method,
    request_id: &HeaderValue,
    record: &RequestRecord,
) -> Response {
    let mut response = match handled {
        Ok(Ok(response)) => response,
        Ok(Err(never)) => match never {},
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request took too long and was abandoned",
        )
        .into_response(),
    };
    let elapsed = started.elapsed();

    let route = record.route_template();
    let status = response.status().as_u16();
    state
        .metrics
        .observe_request(method, route, status, elapsed.as_secs_f64());
    let caller = record.caller().copied();
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
    if let Some(expires_at) = caller.and_then(|c| c.token_expires_at) {
        // To the second, as RFC 3339 with `Z`.
        let at = justiam_core::time::to_datetime(expires_at - expires_at.rem_euclid(1000));
        let mut buffer = [0u8; 24];
        let value = justiam_types::timestamp::write_rfc3339(&at, &mut buffer)
            .and_then(|text| HeaderValue::from_str(text).ok());
        if let Some(value) = value {
            headers.insert(TOKEN_EXPIRES_AT.clone(), value);
        }
    }
    access_log::record(&AccessEntry {
        request_id: request_id.to_str().unwrap_or("-"),
        method: method.as_str(),
        route,
        status,
        latency: elapsed,
        principal_id: caller.map(|c| c.user_id),
        credential: caller.map(|c| c.credential),
    });
    if !headers.contains_key(&REQUEST_ID) {
        headers.insert(REQUEST_ID.clone(), request_id.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_ready_at_once_and_late_ones_are_told_apart() {
        let limit = Duration::from_millis(50);
        let ready = within(limit, Instant::now(), async { 7 }).await;
        assert_eq!(ready.ok(), Some(7));
        let waits = within(limit, Instant::now(), async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            8
        })
        .await;
        assert_eq!(waits.ok(), Some(8));
        let late = within(limit, Instant::now(), std::future::pending::<()>()).await;
        assert!(late.is_err());
        // The deadline counts from the start of the request, not from the first wait: 10 s
        // after a start 9.98 s ago is 20 ms away, not 10 s.
        let limit = Duration::from_secs(10);
        let started = Instant::now() - Duration::from_millis(9_980);
        let begun = Instant::now();
        let late = within(limit, started, std::future::pending::<()>()).await;
        assert!(late.is_err());
        assert!(
            begun.elapsed() < Duration::from_secs(5),
            "{:?}",
            begun.elapsed()
        );
    }
}

//! Prometheus metrics (`/metrics`, OpenMetrics text): requests and latency by route template and
//! status, authentications by credential kind and outcome, tokens, the database pool, build info.

use axum::extract::MatchedPath;
use axum::http::Method;
use justiam_core::service::Iam;
use justiam_core::store::tokens;
use justiam_core::time::{DAY_MS, now_millis};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of the request metrics, built for every request without copying a string: the method
/// is a static name and the route template shares the router's own `Arc<str>`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    route: RouteLabel,
    status: u16,
}

/// The route template a request matched (`/api/v1/users/{id}`), or `unmatched`.
#[derive(Clone, Debug)]
pub struct RouteLabel(Option<MatchedPath>);

impl RouteLabel {
    pub fn new(matched: Option<&MatchedPath>) -> Self {
        Self(matched.cloned())
    }

    pub fn as_str(&self) -> &str {
        self.0.as_ref().map_or("unmatched", MatchedPath::as_str)
    }
}

impl PartialEq for RouteLabel {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RouteLabel {}

impl std::hash::Hash for RouteLabel {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl std::fmt::Display for RouteLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl EncodeLabelValue for RouteLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        self.as_str().encode(encoder)
    }
}

/// A method's name without allocating; methods outside the standard set share one label value.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuthLabels {
    /// `jwt`, `pat` or `password`.
    credential: &'static str,
    /// `ok`, `expired`, `revoked`, `invalid`, `throttled` or `error`.
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<HttpLabels, Histogram, fn() -> Histogram>,
    authentications: Family<AuthLabels, Counter>,
    tokens_active: Gauge,
    tokens_expiring: Gauge,
    db_connections: Family<PoolLabels, Gauge>,
    usage_writes: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~16 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("justiam");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_duration =
            Family::<HttpLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        let authentications = Family::<AuthLabels, Counter>::default();
        let tokens_active = Gauge::default();
        let tokens_expiring = Gauge::default();
        let db_connections = Family::<PoolLabels, Gauge>::default();
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register(
            "http_requests",
            "HTTP requests by route template, method and status",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route template, method and status",
            http_duration.clone(),
        );
        registry.register(
            "authentications",
            "Bearer and password authentications by credential kind and outcome",
            authentications.clone(),
        );
        registry.register(
            "tokens_active",
            "Personal access tokens neither revoked nor expired",
            tokens_active.clone(),
        );
        registry.register(
            "tokens_expiring_7d",
            "Active personal access tokens expiring within 7 days",
            tokens_expiring.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database pool connections by state",
            db_connections.clone(),
        );
        registry.register("build_info", "The running build", build);
        let usage_writes = Counter::default();
        registry.register(
            "token_usage_writes",
            "Token rows written by the batched last_used_at recorder",
            usage_writes.clone(),
        );
        Self {
            registry,
            http_requests,
            http_duration,
            authentications,
            tokens_active,
            tokens_expiring,
            db_connections,
            usage_writes,
        }
    }
}

impl Metrics {
    pub fn observe_request(&self, method: &Method, route: &RouteLabel, status: u16, seconds: f64) {
        let labels = HttpLabels {
            method: method_label(method),
            route: route.clone(),
            status,
        };
        self.http_requests.get_or_create(&labels).inc();
        self.http_duration.get_or_create(&labels).observe(seconds);
    }

    pub fn observe_authentication(&self, credential: &'static str, outcome: &'static str) {
        self.authentications
            .get_or_create(&AuthLabels {
                credential,
                outcome,
            })
            .inc();
    }

    /// Refreshes the gauges read from the database, then renders everything.
    pub async fn render(&self, iam: &Iam) -> String {
        let now = now_millis();
        match tokens::stats(&iam.db.pool, now, 7 * DAY_MS).await {
            Ok((active, expiring)) => {
                self.tokens_active.set(active);
                self.tokens_expiring.set(expiring);
            }
            Err(error) => tracing::warn!(%error, "cannot count tokens for metrics"),
        }
        let pool = &iam.db.pool;
        let idle = pool.num_idle() as i64;
        self.db_connections
            .get_or_create(&PoolLabels { state: "idle" })
            .set(idle);
        self.db_connections
            .get_or_create(&PoolLabels { state: "in_use" })
            .set(i64::from(pool.size()) - idle);
        self.db_connections
            .get_or_create(&PoolLabels { state: "max" })
            .set(i64::from(pool.options().get_max_connections()));
        // The recorder counts; the counter catches up on each scrape.
        let written = iam.usage.rows_written();
        self.usage_writes
            .inc_by(written.saturating_sub(self.usage_writes.get()));
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(%error, "cannot encode metrics");
        }
        text
    }
}

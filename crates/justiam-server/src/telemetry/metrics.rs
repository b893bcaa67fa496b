//! Prometheus metrics (`/metrics`, OpenMetrics text, rewritten by `exposition` for classic
//! scrapers): requests and latency by route template and status, authentications by credential
//! kind and outcome, tokens, the database pool, build info.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::Method;
use justiam_core::service::Iam;
use justiam_core::time::{DAY_MS, now_millis};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use thread_local::ThreadLocal;

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

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct AuthLabels {
    /// `jwt`, `pat`, `access_token` or `password`; at `/oauth2/token`, the machine grants:
    /// `client_secret`, `private_key_jwt` (client credentials) and `workload_token` (token
    /// exchange).
    credential: &'static str,
    /// `ok`, `expired`, `revoked`, `invalid`, `throttled` or `error`; for the public, the three
    /// refusals are one, `refused` (see [`Audience`]).
    outcome: &'static str,
}

/// Who can read `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Anyone: `/metrics` is on the main listener (`METRICS_ADDR` unset). The refusals `invalid`,
    /// `expired` and `revoked` are reported as one outcome, `refused`: a thief who tries a stolen
    /// token and reads `/metrics` would otherwise learn whether it was revoked or never existed.
    Public,
    /// Operators only: `/metrics` has a listener of its own (`METRICS_ADDR`); every outcome is
    /// reported apart.
    Operators,
}

impl Audience {
    /// The `outcome` label this audience is shown for an authentication's outcome.
    fn outcome(self, outcome: &'static str) -> &'static str {
        match (self, outcome) {
            (Audience::Public, "invalid" | "expired" | "revoked") => "refused",
            _ => outcome,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboxLabels {
    /// `mail` or `webhook`.
    kind: String,
    /// `pending`, `sending`, `sent` or `failed`.
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

pub struct Metrics {
    registry: Registry,
    /// Requests and authentications, counted by every thread in a shard of its own.
    traffic: Arc<ThreadLocal<Mutex<Shard>>>,
    tokens_active: Gauge,
    tokens_expiring: Gauge,
    db_connections: Family<PoolLabels, Gauge>,
    usage_writes: Counter,
    outbox: Family<OutboxLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Metrics to be read by `audience`.
    pub fn new(audience: Audience) -> Self {
        let mut registry = Registry::with_prefix("justiam");
        let traffic = Arc::new(ThreadLocal::new());
        let tokens_active = Gauge::default();
        let tokens_expiring = Gauge::default();
        let db_connections = Family::<PoolLabels, Gauge>::default();
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register_collector(Box::new(TrafficCollector {
            shards: traffic.clone(),
            audience,
        }));
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
        let outbox = Family::<OutboxLabels, Gauge>::default();
        registry.register(
            "outbox_messages",
            "Mails and webhook deliveries in the outbox (all nodes) by kind and status; sent and failed ones are kept 30 days",
            outbox.clone(),
        );
        Self {
            registry,
            traffic,
            tokens_active,
            tokens_expiring,
            db_connections,
            usage_writes,
            outbox,
        }
    }

    /// Counts one answered request: `route` is its route template, or `unmatched`.
    pub fn observe_request(&self, method: &Method, route: &str, status: u16, seconds: f64) {
        self.shard()
            .requests
            .observe(route, method_label(method), status, seconds);
    }

    pub fn observe_authentication(&self, credential: &'static str, outcome: &'static str) {
        let mut shard = self.shard();
        let labels = AuthLabels {
            credential,
            outcome,
        };
        match shard.authentications.iter_mut().find(|(l, _)| *l == labels) {
            Some((_, count)) => *count += 1,
            None => shard.authentications.push((labels, 1)),
        }
    }

    fn shard(&self) -> MutexGuard<'_, Shard> {
        lock(self.traffic.get_or_default())
    }

    /// Refreshes the gauges read from the database, then renders everything.
    pub async fn render(&self, iam: &Iam) -> String {
        let now = now_millis();
        match iam.token_stats(now, 7 * DAY_MS).await {
            Ok(stats) => {
                self.tokens_active.set(stats.active);
                self.tokens_expiring.set(stats.expiring);
            }
            Err(error) => tracing::warn!(%error, "cannot count tokens for metrics"),
        }
        match iam.outbox_stats().await {
            Ok(stats) => {
                // Every series is shown, at 0 when the outbox holds none of it.
                for kind in ["mail", "webhook"] {
                    for status in ["pending", "sending", "sent", "failed"] {
                        let count = stats
                            .counts
                            .iter()
                            .find(|(k, s, _)| k == kind && s == status)
                            .map_or(0, |(_, _, n)| *n);
                        let labels = OutboxLabels {
                            kind: kind.to_owned(),
                            status: status.to_owned(),
                        };
                        self.outbox.get_or_create(&labels).set(count);
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "cannot count the outbox for metrics"),
        }
        let pool = iam.pool_stats();
        let idle = pool.idle as i64;
        self.db_connections
            .get_or_create(&PoolLabels { state: "idle" })
            .set(idle);
        self.db_connections
            .get_or_create(&PoolLabels { state: "in_use" })
            .set(i64::from(pool.size) - idle);
        self.db_connections
            .get_or_create(&PoolLabels { state: "max" })
            .set(i64::from(pool.max_connections));
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

/// A shard's lock is taken by its own thread for every request and by a scrape now and then:
/// uncontended, it costs next to nothing, unlike one lock (or counter) shared by all threads,
/// whose memory every request on every core writes. The counts stay usable after a panic.
fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Upper bounds of the latency histogram's buckets, in seconds: 0.5 ms, doubling up to ~16 s;
/// one more bucket (`+Inf`) takes the rest.
const LATENCY_BOUNDS: [f64; 16] = {
    let mut bounds = [0.0005; 16];
    let mut i = 1;
    while i < bounds.len() {
        bounds[i] = bounds[i - 1] * 2.0;
        i += 1;
    }
    bounds
};

/// What one thread counted: the HTTP requests it answered and the authentications it decided.
///
/// Shared counters, histograms and label maps (prometheus-client's own) took locks and atomic
/// increments on memory that every worker thread writes, several times per request — ~1.6 µs of
/// CPU per request on two cores (docs/benchmarks.md). Each thread now counts into its own
/// shard, and a scrape adds the shards up.
#[derive(Default)]
struct Shard {
    requests: RouteSeries,
    authentications: Vec<(AuthLabels, u64)>,
}

/// Request series by route template, then by method and status (a handful per route), so that
/// counting a request looks the route up by `&str` and allocates nothing.
#[derive(Default)]
struct RouteSeries(HashMap<String, Vec<RequestSeries>>);

impl RouteSeries {
    /// Counts one request; the route's name is copied the first time it is seen only.
    fn observe(&mut self, route: &str, method: &'static str, status: u16, seconds: f64) {
        let first = || {
            let mut series = RequestSeries::new(method, status);
            series.observe(seconds);
            series
        };
        if let Some(of_route) = self.0.get_mut(route) {
            match of_route
                .iter_mut()
                .find(|s| s.method == method && s.status == status)
            {
                Some(series) => series.observe(seconds),
                None => of_route.push(first()),
            }
            return;
        }
        self.0.insert(route.to_owned(), vec![first()]);
    }
}

#[derive(Clone)]
struct RequestSeries {
    method: &'static str,
    status: u16,
    count: u64,
    sum: f64,
    /// Observations per bucket of [`LATENCY_BOUNDS`] (not cumulative), then `+Inf`.
    buckets: [u64; LATENCY_BOUNDS.len() + 1],
}

impl RequestSeries {
    fn new(method: &'static str, status: u16) -> Self {
        Self {
            method,
            status,
            count: 0,
            sum: 0.0,
            buckets: [0; LATENCY_BOUNDS.len() + 1],
        }
    }

    fn observe(&mut self, seconds: f64) {
        self.count += 1;
        self.sum += seconds;
        // As prometheus-client's histogram: the first bucket whose bound is at least the value.
        let bucket = LATENCY_BOUNDS
            .iter()
            .position(|bound| *bound >= seconds)
            .unwrap_or(LATENCY_BOUNDS.len());
        self.buckets[bucket] += 1;
    }

    fn add(&mut self, other: &RequestSeries) {
        self.count += other.count;
        self.sum += other.sum;
        for (total, count) in self.buckets.iter_mut().zip(other.buckets) {
            *total += count;
        }
    }
}

/// Encodes the shards' sum on each scrape, as the metrics `justiam_http_requests`,
/// `justiam_http_request_duration_seconds` and `justiam_authentications`. The shards count every
/// outcome apart; what the audience is shown is decided here, so that counting costs the same.
struct TrafficCollector {
    shards: Arc<ThreadLocal<Mutex<Shard>>>,
    audience: Audience,
}

impl std::fmt::Debug for TrafficCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TrafficCollector")
    }
}

impl Collector for TrafficCollector {
    // The help texts end with the full stop `Registry::register` adds to those it is given.
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut requests: BTreeMap<(String, &'static str, u16), RequestSeries> = BTreeMap::new();
        let mut authentications: BTreeMap<AuthLabels, u64> = BTreeMap::new();
        for shard in self.shards.iter() {
            let shard = lock(shard);
            for (route, series) in &shard.requests.0 {
                for series in series {
                    requests
                        .entry((route.clone(), series.method, series.status))
                        .and_modify(|total| total.add(series))
                        .or_insert_with(|| series.clone());
                }
            }
            for (labels, count) in &shard.authentications {
                let shown = AuthLabels {
                    credential: labels.credential,
                    outcome: self.audience.outcome(labels.outcome),
                };
                *authentications.entry(shown).or_default() += count;
            }
        }
        let http_labels = |(route, method, status): &(String, &'static str, u16)| {
            [
                ("method", method.to_string()),
                ("route", route.clone()),
                ("status", status.to_string()),
            ]
        };
        if !requests.is_empty() {
            let mut family = encoder.encode_descriptor(
                "http_requests",
                "HTTP requests by route template, method and status.",
                None,
                MetricType::Counter,
            )?;
            for (key, series) in &requests {
                family
                    .encode_family(&http_labels(key))?
                    .encode_counter::<NoLabelSet, _, u64>(&series.count, None)?;
            }
            let mut family = encoder.encode_descriptor(
                "http_request_duration_seconds",
                "HTTP request latency by route template, method and status.",
                None,
                MetricType::Histogram,
            )?;
            for (key, series) in &requests {
                let buckets: Vec<(f64, u64)> = LATENCY_BOUNDS
                    .iter()
                    .copied()
                    .chain([f64::INFINITY])
                    .zip(series.buckets)
                    .collect();
                family
                    .encode_family(&http_labels(key))?
                    .encode_histogram::<NoLabelSet>(series.sum, series.count, &buckets, None)?;
            }
        }
        if !authentications.is_empty() {
            let mut family = encoder.encode_descriptor(
                "authentications",
                "Bearer and password authentications by credential kind and outcome.",
                None,
                MetricType::Counter,
            )?;
            for (labels, count) in &authentications {
                family
                    .encode_family(labels)?
                    .encode_counter::<NoLabelSet, _, u64>(count, None)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

    use super::*;

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct HttpLabels {
        method: &'static str,
        route: &'static str,
        status: u16,
    }

    /// The traffic lines of a scrape, in a stable order.
    fn traffic_lines(registry: &Registry) -> Vec<String> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, registry).expect("encode");
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| l.contains("http_request") || l.contains("authentications"))
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    }

    #[test]
    fn shards_add_up_to_what_shared_prometheus_families_would_say() {
        let requests: [(&'static str, &'static str, u16, f64); 7] = [
            ("GET", "/api/v1/me", 200, 0.0004),
            ("GET", "/api/v1/me", 200, 0.0005),
            ("GET", "/api/v1/me", 200, 0.003),
            ("GET", "/api/v1/me", 401, 0.0001),
            ("POST", "/api/v1/auth/login", 401, 0.02),
            ("GET", "unmatched", 404, 20.0),
            ("DELETE", "/api/v1/users/{id}", 204, 1.5),
        ];
        let authentications = [
            ("pat", "ok"),
            ("pat", "ok"),
            ("jwt", "expired"),
            ("password", "invalid"),
        ];

        let sharded = Metrics::new(Audience::Operators);
        std::thread::scope(|scope| {
            for thread in 0..3 {
                let sharded = &sharded;
                scope.spawn(move || {
                    for (method, route, status, seconds) in requests {
                        let method = method.parse::<Method>().expect("method");
                        sharded.observe_request(
                            &method,
                            route,
                            status,
                            seconds * (thread + 1) as f64,
                        );
                    }
                    for (credential, outcome) in authentications {
                        sharded.observe_authentication(credential, outcome);
                    }
                });
            }
        });

        let mut reference = Registry::with_prefix("justiam");
        let counts = Family::<HttpLabels, Counter>::default();
        let latency =
            Family::<HttpLabels, Histogram, fn() -> Histogram>::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0005, 2.0, 16))
            });
        let auths = Family::<AuthLabels, Counter>::default();
        reference.register(
            "http_requests",
            "HTTP requests by route template, method and status",
            counts.clone(),
        );
        reference.register(
            "http_request_duration_seconds",
            "HTTP request latency by route template, method and status",
            latency.clone(),
        );
        reference.register(
            "authentications",
            "Bearer and password authentications by credential kind and outcome",
            auths.clone(),
        );
        for thread in 0..3 {
            for (method, route, status, seconds) in requests {
                let labels = HttpLabels {
                    method,
                    route,
                    status,
                };
                counts.get_or_create(&labels).inc();
                latency
                    .get_or_create(&labels)
                    .observe(seconds * (thread + 1) as f64);
            }
            for (credential, outcome) in authentications {
                auths
                    .get_or_create(&AuthLabels {
                        credential,
                        outcome,
                    })
                    .inc();
            }
        }

        let lines = traffic_lines(&sharded.registry);
        assert!(
            lines.iter().any(|l| l.starts_with(
                "justiam_http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"200\"} 9"
            )),
            "{lines:#?}"
        );
        let expected = traffic_lines(&reference);
        for (line, expected) in lines.iter().zip(&expected) {
            // A latency sum adds the threads' shards in whatever order they are kept, so it
            // may differ from the reference's in the last bit.
            let sample = |line: &str| {
                line.rsplit_once(' ').and_then(|(series, value)| {
                    Some((series.to_owned(), value.parse::<f64>().ok()?))
                })
            };
            match (sample(line), sample(expected)) {
                (Some((series, value)), Some((expected_series, expected_value))) => {
                    assert_eq!(series, expected_series);
                    assert!(
                        (value - expected_value).abs() <= 1e-12 * expected_value.abs().max(1.0),
                        "{line} != {expected}"
                    );
                }
                _ => assert_eq!(line, expected),
            }
        }
        assert_eq!(lines.len(), expected.len());
    }

    #[test]
    fn the_public_sees_one_outcome_for_every_refusal() {
        let outcomes = [
            "ok",
            "ok",
            "invalid",
            "expired",
            "revoked",
            "revoked",
            "throttled",
            "error",
        ];
        let scrape = |audience| {
            let metrics = Metrics::new(audience);
            for outcome in outcomes {
                metrics.observe_authentication("pat", outcome);
            }
            metrics.observe_authentication("password", "invalid");
            traffic_lines(&metrics.registry)
                .into_iter()
                .filter(|l| l.starts_with("justiam_authentications_total"))
                .collect::<Vec<_>>()
        };
        let line = |credential: &str, outcome: &str, count: u64| {
            format!(
                "justiam_authentications_total{{credential=\"{credential}\",outcome=\"{outcome}\"}} {count}"
            )
        };
        assert_eq!(
            scrape(Audience::Public),
            [
                line("password", "refused", 1),
                line("pat", "error", 1),
                line("pat", "ok", 2),
                line("pat", "refused", 4),
                line("pat", "throttled", 1),
            ]
        );
        assert_eq!(
            scrape(Audience::Operators),
            [
                line("password", "invalid", 1),
                line("pat", "error", 1),
                line("pat", "expired", 1),
                line("pat", "invalid", 1),
                line("pat", "ok", 2),
                line("pat", "revoked", 2),
                line("pat", "throttled", 1),
            ]
        );
    }

    #[test]
    fn no_traffic_no_traffic_metrics() {
        assert!(traffic_lines(&Metrics::new(Audience::Public).registry).is_empty());
    }
}

//! What every handler reaches, of the API and of the UI alike.

use std::sync::Arc;

use ipnet::IpNet;
use justiam_core::service::Iam;

use crate::http::throttle::FailureThrottle;
use crate::telemetry::metrics::Metrics;

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
    pub metrics: Metrics,
    /// Failed bearer authentications per client address.
    pub token_failures: FailureThrottle,
    /// Served over native TLS: answers carry `Strict-Transport-Security`.
    pub hsts: bool,
    /// Longest time a handler may take before the client gets `408`.
    pub request_timeout: std::time::Duration,
    /// Peers whose `X-Forwarded-For` is believed for the client address.
    pub trusted_proxies: Vec<IpNet>,
}

//! The record each request carries through the application: made by the listener, filled in by
//! the router and the extractors, read by the observe layer. It lives in the composition root so
//! that the listener, the API and the UI each depend on it rather than on one another.

use std::net::{IpAddr, SocketAddr};

use axum::http::request::Parts;

use super::AppState;

/// What a request turned out to be, filled in while it is handled and read by
/// [`crate::http::observe`] for the metrics, the access log and `JustIAM-Token-Expires-At`: the
/// route template (set after routing) and the caller (set by [`crate::http::extract::Auth`]).
/// Made by the listener with the peer's address (the one extension it adds to a request).
#[derive(Clone, Default)]
pub struct RequestRecord(std::sync::Arc<RecordSlots>);

#[derive(Default)]
struct RecordSlots {
    peer: Option<SocketAddr>,
    route: std::sync::OnceLock<axum::extract::MatchedPath>,
    caller: std::sync::OnceLock<Caller>,
}

#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub user_id: uuid::Uuid,
    pub credential: &'static str,
    pub token_expires_at: Option<i64>,
}

impl RequestRecord {
    pub fn for_peer(peer: SocketAddr) -> Self {
        Self(std::sync::Arc::new(RecordSlots {
            peer: Some(peer),
            ..RecordSlots::default()
        }))
    }

    /// The address the connection comes from.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.0.peer
    }

    pub fn set_route(&self, route: &axum::extract::MatchedPath) {
        let _ = self.0.route.set(route.clone());
    }

    /// The matched route template, or `unmatched`.
    pub fn route_template(&self) -> &str {
        self.0
            .route
            .get()
            .map_or("unmatched", axum::extract::MatchedPath::as_str)
    }

    pub fn caller(&self) -> Option<&Caller> {
        self.0.caller.get()
    }

    pub fn set_caller(&self, caller: Caller) {
        let _ = self.0.caller.set(caller);
    }
}

/// The client address: the peer, or — only when the peer is a trusted proxy — the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(parts: &Parts, state: &AppState) -> Option<IpAddr> {
    let peer = parts.extensions.get::<RequestRecord>()?.peer()?.ip();
    let trusted = |ip: &IpAddr| state.trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return Some(peer);
    }
    let forwarded = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    let hops: Vec<IpAddr> = forwarded
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    Some(
        hops.into_iter()
            .rev()
            .find(|ip| !trusted(ip))
            .unwrap_or(peer),
    )
}

//! Telemetry: logs, the access line, metrics, request ids, and the JSON writer they share with the
//! hottest answer (`GET /me`).
//!
//! Owner: the observability maintainer (see docs/development.md).
//!
//! Every request passes through most of this module, so each part is written by hand where the
//! off-the-shelf path cost more than checking the request's token, and each part's tests hold it
//! to what the off-the-shelf path writes. What each saves (docs/benchmarks.md: instructions per
//! request counted by callgrind, µs of server CPU per PAT request by `scripts/bench.d/ab`):
//!
//! - [`access_log`] — the access line written straight into the log buffer instead of through a
//!   `tracing` event: ~1,300 instructions instead of ~8,000, the same bytes.
//! - [`logging`] — one buffered `write` when 64 KiB fill or every 100 ms instead of a system call
//!   per request; the `Targets` filter instead of `EnvFilter`, whose span lock every thread takes
//!   (17.9 → 16.7 µs); colours only on a terminal (`/healthz` 72,416 → 60,558 instructions).
//! - [`metrics`] — request and authentication counters sharded per thread and summed on scrape
//!   instead of shared `prometheus-client` families, which cost ~1.6 µs per request (no metrics
//!   15.8 µs, shared 17.4 µs); sharded 16.2 → 15.4 µs.
//! - [`request_id`] — ids counted up from one UUID v7 per process, in blocks per thread, instead
//!   of a UUID v4 per request: no `getrandom` system call and no counter all threads write.
//! - [`json`] — the `/me` answer written field by field instead of through `serde_json`'s
//!   serializer: ~1,000 instructions instead of ~7,000, the same bytes.
//! - [`exposition`] — the classic Prometheus text derived line by line from the OpenMetrics text
//!   `prometheus-client` writes, instead of a second metrics library for the classic format.

pub mod access_log;
pub(crate) mod exposition;
pub(crate) mod json;
pub mod logging;
pub mod metrics;
pub(crate) mod request_id;

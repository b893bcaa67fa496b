//! The two text formats a Prometheus scraper may ask `/metrics` for, chosen from its `Accept`:
//! OpenMetrics 1.0 (what `prometheus-client` writes) when asked for, else the classic Prometheus
//! text format 0.0.4 (what `curl`, older scrapers and most agents expect).
//!
//! The classic text is the OpenMetrics text rewritten line by line. They differ, for what this
//! server exposes, in three ways: a counter family is named without `_total` in OpenMetrics
//! (`# TYPE justiam_http_requests counter`, samples `justiam_http_requests_total`) but with it in
//! the classic format, whose `# HELP`/`# TYPE` must name the samples; OpenMetrics-only lines
//! (`# UNIT`, the closing `# EOF`) have no place there; and the type `unknown` is called `untyped`.

use std::collections::HashSet;

use axum::http::HeaderValue;

pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Whether the scraper's `Accept` asks for OpenMetrics: listed with a non-zero quality at least as
/// high as any it gives the classic `text/plain`. Prometheus itself sends
/// `application/openmetrics-text;version=1.0.0;q=0.5,…,text/plain;version=0.0.4;q=0.3,*/*;q=0.2`;
/// no header, `*/*` or `text/plain` get the classic format.
pub fn wants_openmetrics(accept: Option<&HeaderValue>) -> bool {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut openmetrics: f32 = 0.0;
    let mut classic: f32 = 0.0;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            openmetrics = openmetrics.max(quality);
        } else if media.eq_ignore_ascii_case("text/plain") {
            classic = classic.max(quality);
        }
    }
    openmetrics > 0.0 && openmetrics >= classic
}

/// Rewrites `prometheus-client`'s OpenMetrics text into the classic Prometheus text format.
pub fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: HashSet<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_once(' '))
        .filter(|(_, kind)| *kind == "counter")
        .map(|(name, _)| name)
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let descriptor = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|prefix| line.strip_prefix(prefix).map(|rest| (prefix, rest)));
        match descriptor {
            Some((prefix, rest)) => {
                let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
                out.push_str(prefix);
                out.push_str(name);
                // prometheus-client always names a counter's samples `<family>_total`.
                if counters.contains(name) {
                    out.push_str("_total");
                }
                out.push(' ');
                out.push_str(if prefix == "# TYPE " && text == "unknown" {
                    "untyped"
                } else {
                    text
                });
            }
            // A counter's creation time has no place in the classic format.
            None if is_created_sample(line, &counters) => continue,
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

fn is_created_sample(line: &str, counters: &HashSet<&str>) -> bool {
    let name = line.split(['{', ' ']).next().unwrap_or_default();
    name.strip_suffix("_created")
        .is_some_and(|family| counters.contains(family))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> bool {
        wants_openmetrics(Some(&HeaderValue::from_str(value).expect("header")))
    }

    #[test]
    fn openmetrics_only_when_asked_for() {
        assert!(!wants_openmetrics(None));
        for classic in [
            "*/*",
            "text/plain",
            "text/plain;version=0.0.4",
            "application/json",
            "application/openmetrics-text;q=0",
            "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5",
        ] {
            assert!(!accept(classic), "{classic}");
        }
        for openmetrics in [
            "application/openmetrics-text",
            "Application/OpenMetrics-Text; version=1.0.0",
            // Prometheus 2 and 3.
            "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
        ] {
            assert!(accept(openmetrics), "{openmetrics}");
        }
    }

    #[test]
    fn counters_take_total_and_openmetrics_lines_go() {
        let openmetrics = "\
# HELP app_requests Requests.
# TYPE app_requests counter
app_requests_total{route=\"/a\"} 3
app_requests_created{route=\"/a\"} 1700000000.0
# HELP app_up Up.
# TYPE app_up gauge
# UNIT app_up ratio
app_up 1
# HELP app_odd Odd.
# TYPE app_odd unknown
app_odd 2
# HELP app_latency_seconds Latency.
# TYPE app_latency_seconds histogram
app_latency_seconds_sum 0.5
app_latency_seconds_count 1
app_latency_seconds_bucket{le=\"+Inf\"} 1
# EOF
";
        assert_eq!(
            to_prometheus_text(openmetrics),
            "\
# HELP app_requests_total Requests.
# TYPE app_requests_total counter
app_requests_total{route=\"/a\"} 3
# HELP app_up Up.
# TYPE app_up gauge
app_up 1
# HELP app_odd Odd.
# TYPE app_odd untyped
app_odd 2
# HELP app_latency_seconds Latency.
# TYPE app_latency_seconds histogram
app_latency_seconds_sum 0.5
app_latency_seconds_count 1
app_latency_seconds_bucket{le=\"+Inf\"} 1
"
        );
    }
}

//! Webhook targets and deliveries.
//!
//! A target is checked where it is given (create, replace) and again at every delivery: its name
//! is resolved, loopback, link-local and private addresses are refused (unless
//! `WEBHOOK_ALLOW_PRIVATE_TARGETS=true`), and the delivery connects to the very address that was
//! checked (the HTTP client is pinned to it), so a name that resolves differently a moment later
//! (DNS rebinding) cannot slip through. No proxy from the environment, no redirect followed, and a
//! connect and a total timeout bound every attempt.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use aws_lc_rs::hmac;
use justiam_core::CoreError;
use justiam_core::model::parse_webhook_url;
use justiam_core::secret::Secret;

use crate::outbox::Failure;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest one delivery attempt may take, connection included.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// A URL whose host resolved to an address that may be reached.
#[derive(Debug, Clone)]
pub struct CheckedTarget {
    pub url: reqwest::Url,
    pub addr: SocketAddr,
}

/// Whether an address is one a webhook must not reach by default: this machine, its link, a
/// private network, or no host at all.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                // 100.64.0.0/10 (carrier-grade NAT), 192.0.0.0/24, 198.18.0.0/15 (benchmarks).
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b == 18 || b == 19))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                    || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                    || (first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
            }
        },
    }
}

/// Checks `raw` as a webhook target: an http(s) URL whose host resolves to an address that may
/// be reached. A URL of the wrong form is a `400` naming the field `url`; a well-formed one that
/// does not lead to a public address is `409 webhook_target_refused`: the request is valid, what
/// the name resolves to now (and the server's WEBHOOK_ALLOW_PRIVATE_TARGETS) refuses it.
pub async fn check_target(raw: &str, allow_private: bool) -> Result<CheckedTarget, CoreError> {
    let url = parse_webhook_url(raw)?;
    let refuse =
        |rule: String| CoreError::conflict("webhook_target_refused", format!("url {rule}"));
    let host = url
        .host_str()
        .ok_or_else(|| refuse("must name a host".to_owned()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| refuse("must name a port".to_owned()))?;
    let resolved = tokio::time::timeout(
        RESOLVE_TIMEOUT,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .map_err(|_| refuse(format!("host {host} did not resolve within 5 seconds")))?
    .map_err(|e| refuse(format!("host {host} does not resolve ({e})")))?;
    let addrs: Vec<SocketAddr> = resolved.collect();
    let allowed = addrs
        .iter()
        .find(|addr| allow_private || !is_private(addr.ip()))
        .copied();
    match (allowed, addrs.first()) {
        (Some(addr), _) => Ok(CheckedTarget { url, addr }),
        (None, Some(refused)) => Err(refuse(format!(
            "points at {}, a loopback, link-local or private address; webhooks reach public addresses only (an operator may set WEBHOOK_ALLOW_PRIVATE_TARGETS=true)",
            refused.ip()
        ))),
        (None, None) => Err(refuse(format!("host {host} does not resolve"))),
    }
}

/// `v1=` and the hex HMAC-SHA256 of `id.timestamp.body` under the webhook's secret.
pub fn signature(secret: &Secret, id: &str, timestamp: i64, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes());
    let mut context = hmac::Context::with_key(&key);
    context.update(id.as_bytes());
    context.update(b".");
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(body.as_bytes());
    let tag = context.sign();
    let mut out = String::with_capacity(3 + 64);
    out.push_str("v1=");
    for byte in tag.as_ref() {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// One delivery attempt: the signed `POST` of `body` to the (checked again) target. `Ok` with
/// the status for a 2xx answer.
pub async fn deliver(
    url: &str,
    secret: &Secret,
    body: &str,
    allow_private: bool,
) -> Result<Option<i64>, Failure> {
    let target = check_target(url, allow_private)
        .await
        .map_err(|e| Failure::permanent(e.to_string()))?;
    let host = target.url.host_str().unwrap_or_default().to_owned();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        // Connect to the address that was checked, whatever the name resolves to now.
        .resolve(&host, target.addr)
        .user_agent(concat!("JustIAM-Webhook/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Failure::retry(format!("cannot build the HTTP client: {e}"), None))?;
    let id = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let timestamp = justiam_core::time::now_millis() / 1000;
    let response = client
        .post(target.url.clone())
        .header("content-type", "application/json")
        .header("JustIAM-Webhook-Id", &id)
        .header("JustIAM-Webhook-Timestamp", timestamp.to_string())
        .header(
            "JustIAM-Webhook-Signature",
            signature(secret, &id, timestamp, body),
        )
        .body(body.to_owned())
        .send()
        .await
        .map_err(|e| {
            let what = if e.is_timeout() {
                format!("no answer within {} seconds", TOTAL_TIMEOUT.as_secs())
            } else if e.is_connect() {
                format!("cannot connect to {}", target.addr)
            } else {
                "the request failed".to_owned()
            };
            Failure::retry(what, None)
        })?;
    let status = response.status();
    let code = Some(i64::from(status.as_u16()));
    if status.is_success() {
        Ok(code)
    } else if status.is_redirection() {
        Err(Failure::retry(
            format!("HTTP {status}: redirects are not followed"),
            code,
        ))
    } else {
        Err(Failure::retry(format!("HTTP {status}"), code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::",
        ] {
            assert!(is_private(private.parse().expect("ip")), "{private}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_private(public.parse().expect("ip")), "{public}");
        }
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_id_timestamp_body() {
        // RFC 4231-style check against an independent computation: HMAC-SHA256("key", "a.1.{}").
        let secret = Secret::new("key".to_owned());
        assert_eq!(
            signature(&secret, "a", 1, "{}"),
            format!("v1={}", {
                let key = hmac::Key::new(hmac::HMAC_SHA256, b"key");
                hmac::sign(&key, b"a.1.{}")
                    .as_ref()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            })
        );
    }

    #[tokio::test]
    async fn targets_are_checked() {
        let loopback = check_target("http://127.0.0.1:9/x", false).await;
        assert!(loopback.is_err_and(|e| e.to_string().contains("WEBHOOK_ALLOW_PRIVATE_TARGETS")),);
        assert!(check_target("http://127.0.0.1:9/x", true).await.is_ok());
        assert!(check_target("http://localhost:9/x", false).await.is_err());
        assert!(check_target("ftp://example.com/", true).await.is_err());
    }
}

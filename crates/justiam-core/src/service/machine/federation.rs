//! Workload identity federation: an outside workload's JWT (GitHub Actions, GitLab CI, a
//! Kubernetes service-account token, any OpenID Connect issuer) exchanged for a service account's
//! access token (RFC 8693 token exchange; RFC 7523 `jwt-bearer` too) when a federated credential
//! of that account trusts it.
//!
//! Only issuers some federated credential names are ever contacted (no request can make the
//! server fetch an address of its choosing). Their discovery document and JWKS are fetched over
//! https (plain http only for loopback issuers, and only with `FEDERATION_ALLOW_HTTP_LOOPBACK`),
//! without following redirects, within [`CONNECT_TIMEOUT`] and [`TOTAL_TIMEOUT`], and read up
//! to [`MAX_DOCUMENT_BYTES`]; the keys are kept in memory per node for [`KEYS_TTL`] and fetched
//! again on an unknown `kid`, at most once per [`REFETCH_INTERVAL`] per issuer.
//!
//! Every refusal of the exchange is `invalid_grant`; the reason goes to the debug log.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use justiam_types::rules::ISSUER_MAX_CHARS;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use url::Url;

use super::super::Iam;
use super::super::oauth::{OAuthError, OAuthResult};
use super::access::CredentialKind;
use super::grant::{LEEWAY_SECS, ServiceTokenResponse, audience_contains, unverified_claims};
use crate::authz::RequestMeta;
use crate::error::{CoreError, CoreResult};
use crate::model::application::{Rule, documented};
use crate::model::machine::{FederatedCredential, claim_at, glob_matches};
use crate::oidc::jws::{self, JwsError};
use crate::oidc::keys::Jwk;
use crate::store::audit::AuditEntry;
use crate::store::machine;
use crate::time::now_millis;

/// RFC 8693 §2.1.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 7523 §2.1.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// RFC 8693 §3: the subject token types accepted.
const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// RFC 8693 §3: what is issued.
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Time to open a connection to an issuer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Time for a whole fetch (discovery or JWKS), body included.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest discovery document or JWKS read; a larger answer is refused while it is read.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// How long fetched keys are trusted before they are fetched again.
pub const KEYS_TTL: Duration = Duration::from_secs(3600);
/// Fetches of one issuer's keys at most this often (an unknown `kid`, a failed fetch).
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// Longest subject token accepted.
const MAX_SUBJECT_TOKEN_BYTES: usize = 16 * 1024;

/// The token exchange request, as sent.
#[derive(Debug, Default)]
pub struct ExchangeRequest {
    pub grant_type: String,
    pub subject_token: Option<String>,
    pub subject_token_type: Option<String>,
    pub scope: Option<String>,
    /// When the token matches credentials of several service accounts: which one (its id).
    pub service_account: Option<String>,
}

#[derive(Debug)]
struct IssuerEntry {
    keys: Vec<Jwk>,
    fetched_at: Option<Instant>,
    attempted_at: Instant,
}

/// This node's copy of outside issuers' keys.
#[derive(Default)]
pub struct IssuerKeys {
    entries: RwLock<HashMap<String, Arc<IssuerEntry>>>,
    /// One fetch at a time per node: concurrent exchanges wait for it rather than fetch again.
    fetching: tokio::sync::Mutex<()>,
    client: OnceLock<reqwest::Client>,
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKeys").finish_non_exhaustive()
    }
}

/// Why keys could not be had; only logged.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("{0}")]
    Refused(String),
    #[error("fetching failed: {0}")]
    Http(#[from] reqwest::Error),
}

impl IssuerKeys {
    fn entry(&self, issuer: &str) -> Option<Arc<IssuerEntry>> {
        self.entries
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(issuer)
            .cloned()
    }

    fn client(&self) -> Result<&reqwest::Client, FetchError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("JustIAM workload identity federation")
            .build()?;
        Ok(self.client.get_or_init(|| client))
    }

    /// The keys of `issuer`: the cached ones when fresh, else fetched (at most once per
    /// [`REFETCH_INTERVAL`]); `force` fetches again (an unknown `kid`) within that limit.
    async fn keys(&self, issuer: &str, allow_http_loopback: bool, force: bool) -> Vec<Jwk> {
        let usable =
            |entry: &IssuerEntry| entry.fetched_at.is_some_and(|at| at.elapsed() < KEYS_TTL);
        let recently_tried = |entry: &IssuerEntry| entry.attempted_at.elapsed() < REFETCH_INTERVAL;
        if let Some(entry) = self.entry(issuer)
            && ((usable(&entry) && !force) || recently_tried(&entry))
        {
            return entry.keys.clone();
        }
        let _one_at_a_time = self.fetching.lock().await;
        // Another exchange may have fetched while this one waited.
        if let Some(entry) = self.entry(issuer)
            && recently_tried(&entry)
        {
            return entry.keys.clone();
        }
        let previous = self.entry(issuer);
        let fetched = self.fetch(issuer, allow_http_loopback).await;
        let entry = match fetched {
            Ok(keys) => IssuerEntry {
                keys,
                fetched_at: Some(Instant::now()),
                attempted_at: Instant::now(),
            },
            Err(error) => {
                tracing::warn!(%issuer, %error, "could not fetch the keys of a federated issuer");
                // Keys fetched before stay usable until their TTL; the next try waits.
                match previous {
                    Some(previous) if usable(&previous) => IssuerEntry {
                        keys: previous.keys.clone(),
                        fetched_at: previous.fetched_at,
                        attempted_at: Instant::now(),
                    },
                    _ => IssuerEntry {
                        keys: Vec::new(),
                        fetched_at: None,
                        attempted_at: Instant::now(),
                    },
                }
            }
        };
        let keys = entry.keys.clone();
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(issuer.to_owned(), Arc::new(entry));
        keys
    }

    async fn fetch(&self, issuer: &str, allow_http_loopback: bool) -> Result<Vec<Jwk>, FetchError> {
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let discovery: Value = self.get_json(&discovery_url, allow_http_loopback).await?;
        if discovery.get("issuer").and_then(Value::as_str) != Some(issuer) {
            return Err(FetchError::Refused(
                "the discovery document names another issuer".into(),
            ));
        }
        let jwks_uri = discovery
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| FetchError::Refused("the discovery document has no jwks_uri".into()))?;
        let jwks: Value = self.get_json(jwks_uri, allow_http_loopback).await?;
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| FetchError::Refused("the JWKS has no keys".into()))?;
        // Keys of other types (encryption keys, algorithms not accepted) are left out.
        Ok(keys
            .iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .filter(|k| k.is_usable() && (k.use_.is_empty() || k.use_ == "sig"))
            .collect())
    }

    /// GETs `url` (https, or http on loopback when allowed) and reads at most
    /// [`MAX_DOCUMENT_BYTES`] of JSON.
    async fn get_json(&self, url: &str, allow_http_loopback: bool) -> Result<Value, FetchError> {
        fetchable(url, allow_http_loopback).map_err(FetchError::Refused)?;
        let mut response = self.client()?.get(url).send().await?;
        if !response.status().is_success() {
            return Err(FetchError::Refused(format!(
                "{url} answered {}",
                response.status()
            )));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(FetchError::Refused(format!("{url} answered too much")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError::Refused(format!("{url} answered too much")));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body)
            .map_err(|_| FetchError::Refused(format!("{url} did not answer JSON")))
    }
}

/// Whether the server may fetch `url`: https, or http to a loopback host when allowed.
fn fetchable(url: &str, allow_http_loopback: bool) -> Result<(), String> {
    let parsed = Url::parse(url).map_err(|_| format!("{url} is not a URL"))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if allow_http_loopback && is_loopback(&parsed) => Ok(()),
        "http" if is_loopback(&parsed) => Err(format!(
            "{url} is plain http; allowed for loopback issuers only with FEDERATION_ALLOW_HTTP_LOOPBACK=true"
        )),
        _ => Err(format!("{url} is not https")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The issuer of a new federated credential: an absolute https URL without query or fragment
/// (http only for a loopback host, for tests), kept byte for byte as the tokens' `iss`.
pub(super) fn parse_issuer(raw: &str) -> CoreResult<String> {
    let invalid = || {
        CoreError::validation(
            "issuer",
            "issuer must be an https URL on a lower-case host name or an IPv4 address, with an optional path and no query or fragment (http only for a loopback host), exactly as the tokens' iss",
        )
    };
    if raw.len() > ISSUER_MAX_CHARS || !documented(Rule::Issuer, raw) {
        return Err(invalid());
    }
    let url = Url::parse(raw).map_err(|_| invalid())?;
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url));
    if !scheme_ok || url.query().is_some() || url.fragment().is_some() || url.host().is_none() {
        return Err(invalid());
    }
    Ok(raw.to_owned())
}

/// The claims of a subject token that the exchange reads; the others (`sub` among them) are
/// kept for conditions.
#[derive(Debug, Deserialize)]
struct SubjectClaims {
    iss: Option<String>,
    aud: Option<Value>,
    exp: Option<i64>,
    nbf: Option<i64>,
    jti: Option<String>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

impl SubjectClaims {
    fn sub(&self) -> Option<&str> {
        self.other.get("sub").and_then(Value::as_str)
    }

    /// The claim a condition names (a name, or a JSON Pointer into nested claims) as text:
    /// strings as they are, numbers and booleans written out; objects, arrays and null are no
    /// value a condition can match.
    fn text(&self, key: &str) -> Option<String> {
        match claim_at(&self.other, key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn matches(&self, fc: &FederatedCredential) -> bool {
        audience_contains(self.aud.as_ref(), &[fc.audience.as_str()])
            && fc
                .subject
                .as_deref()
                .is_none_or(|subject| self.sub() == Some(subject))
            && fc.claims.iter().all(|(key, pattern)| {
                self.text(key)
                    .is_some_and(|value| glob_matches(pattern, &value))
            })
    }
}

fn refused(reason: &str) -> OAuthError {
    tracing::debug!(reason, "token exchange refused");
    OAuthError::invalid_grant("the subject token is not accepted")
}

impl Iam {
    /// `grant_type` token-exchange (RFC 8693) or jwt-bearer (RFC 7523): an outside JWT for a
    /// service account's access token.
    pub async fn exchange_token(
        &self,
        request: &ExchangeRequest,
        meta: &RequestMeta,
    ) -> OAuthResult<ServiceTokenResponse> {
        let token =
            request
                .subject_token
                .as_deref()
                .ok_or_else(|| match request.grant_type.as_str() {
                    JWT_BEARER_GRANT => OAuthError::invalid_request("assertion is required"),
                    _ => OAuthError::invalid_request("subject_token is required"),
                })?;
        if request.grant_type == TOKEN_EXCHANGE_GRANT {
            match request.subject_token_type.as_deref() {
                Some(JWT_TOKEN_TYPE | ID_TOKEN_TYPE) => {}
                None => {
                    return Err(OAuthError::invalid_request(
                        "subject_token_type is required",
                    ));
                }
                Some(_) => {
                    return Err(OAuthError::invalid_request(format!(
                        "subject_token_type must be {JWT_TOKEN_TYPE}"
                    )));
                }
            }
        }
        if token.len() > MAX_SUBJECT_TOKEN_BYTES {
            return Err(refused("too long"));
        }
        // Whose keys: the token's (unverified) issuer, and only one some credential trusts.
        let issuer = unverified_claims::<SubjectClaims>(token)
            .and_then(|c| c.iss)
            .ok_or_else(|| refused("not a JWT with an iss"))?;
        let candidates = self.trusts_of(&issuer).await?;
        if candidates.is_empty() {
            return Err(refused("no federated credential trusts this issuer"));
        }
        let allow_http = self.settings.machine.federation_allow_http_loopback;
        if let Err(why) = fetchable(&issuer, allow_http) {
            return Err(refused(&why));
        }
        let keys = self.issuers.keys(&issuer, allow_http, false).await;
        let claims: SubjectClaims = match jws::verify_outside(token, &keys) {
            Ok(claims) => claims,
            Err(JwsError::UnknownKey) => {
                // Perhaps the issuer rotated: look again (rate-limited).
                let keys = self.issuers.keys(&issuer, allow_http, true).await;
                jws::verify_outside(token, &keys).map_err(|_| refused("unknown kid"))?
            }
            Err(JwsError::Invalid) => return Err(refused("bad signature or algorithm")),
        };
        if claims.iss.as_deref() != Some(issuer.as_str()) {
            return Err(refused("iss"));
        }
        let now = now_millis() / 1000;
        let exp = claims.exp.ok_or_else(|| refused("no exp"))?;
        if exp + LEEWAY_SECS <= now {
            return Err(refused("expired"));
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + LEEWAY_SECS) {
            return Err(refused("not yet valid"));
        }
        let mut matching: Vec<&FederatedCredential> =
            candidates.iter().filter(|fc| claims.matches(fc)).collect();
        if let Some(wanted) = request.service_account.as_deref() {
            matching.retain(|fc| fc.user_id.to_string() == wanted);
        }
        let fc = match matching.as_slice() {
            [] => return Err(refused("no federated credential's conditions match")),
            [first, rest @ ..] => {
                if rest.iter().any(|other| other.user_id != first.user_id) {
                    return Err(OAuthError::invalid_request(
                        "the token matches federated credentials of several service accounts; name one with service_account",
                    ));
                }
                *first
            }
        };
        if let Some(jti) = claims.jti.as_deref() {
            let kept_until = (exp + LEEWAY_SECS) * 1000;
            if jti.len() > 256
                || !machine::use_token_id(&self.db.pool, &issuer, jti, kept_until).await?
            {
                return Err(refused("jti replayed"));
            }
        }
        let account = self
            .service_account_record(fc.user_id)
            .await?
            .filter(|u| u.is_active && u.is_service_account)
            .ok_or_else(|| refused("the service account is deactivated"))?;
        let mut issued = self
            .issue_service_token(
                &account,
                CredentialKind::Federated,
                fc.id,
                &fc.id.to_string(),
                request.scope.as_deref(),
            )
            .await?;
        issued.issued_token_type = Some(ACCESS_TOKEN_TYPE);
        self.audit_grant(AuditEntry {
            at: now_millis(),
            actor_id: Some(account.id),
            actor_email: Some(account.email.clone()),
            credential: Some("federated_credential"),
            credential_id: Some(fc.id),
            action: "token.exchanged",
            target_type: Some("user"),
            target_id: Some(account.id),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            details: Some(json!({
                "issuer": issuer,
                "subject": claims.sub(),
                "credential_id": fc.id,
                "scope": issued.scope,
            })),
        })
        .await;
        Ok(issued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_allowed_loopback_http_is_fetched() {
        assert!(fetchable("https://token.actions.githubusercontent.com", false).is_ok());
        assert!(fetchable("http://127.0.0.1:9000", false).is_err());
        assert!(fetchable("http://127.0.0.1:9000", true).is_ok());
        assert!(fetchable("http://[::1]:9000/x", true).is_ok());
        assert!(fetchable("http://example.com", true).is_err());
        assert!(fetchable("ftp://127.0.0.1", true).is_err());
        assert!(parse_issuer("https://gitlab.example.com").is_ok());
        assert!(parse_issuer("http://localhost:1234").is_ok());
        assert!(parse_issuer("http://example.com").is_err());
        assert!(parse_issuer("https://x.example/?q=1").is_err());
        assert!(parse_issuer("not a url").is_err());
        // As the document's `Issuer` pattern states it: kept as written, so written as the
        // issuers write it (lower-case host, optional path, no query or fragment).
        for good in [
            "https://token.actions.githubusercontent.com",
            "https://sts.windows.net/0b5c8f2e-1a2b-4c3d-9e8f-000000000000/",
            "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
            "https://10.0.0.1:8443",
            "http://127.0.0.1:8080/issuer",
            "http://[::1]:9000",
        ] {
            assert!(parse_issuer(good).is_ok(), "{good}");
            assert!(documented(Rule::Issuer, good), "{good}");
        }
        for bad in [
            "https://Accounts.Google.com",
            "https://issuer.example/#f",
            "https://user@issuer.example",
            " https://issuer.example",
            "https://issuer.example:443",
            "http://127.0.0.2/",
            "https://[2001:db8::1]/",
        ] {
            assert!(parse_issuer(bad).is_err(), "{bad}");
            assert!(!documented(Rule::Issuer, bad), "{bad}");
        }
    }
}

//! Applications (OAuth / OpenID Connect clients), their grants, and the parsers of their fields.
//!
//! Redirect URIs are the heart of an authorization server's safety: a code sent to the wrong URI is
//! a stolen account. So they are kept as the exact strings registered, and a candidate matches
//! only byte for byte, or as a whole by a `regex:` pattern (see [`redirect_uri_allowed`]).

use uuid::Uuid;

pub use justiam_types::application::{ApplicationType, ClaimMapping};

use justiam_types::rules;

use super::names::bounded_text;
use crate::error::{CoreError, CoreResult};
use crate::time::{Millis, to_datetime};

/// Public prefix of every `client_id` (`justiam_app_` + 24 random base62 characters).
pub const CLIENT_ID_PREFIX: &str = "justiam_app_";
pub const CLIENT_ID_RANDOM_LEN: usize = 24;

/// Scopes JustIAM itself gives meaning to. Any other scope must be a `required_scope` of one of
/// the application's claim mappings (the only thing a custom scope can switch on).
pub const STANDARD_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "groups",
    "roles",
    "offline_access",
];
pub const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email"];
pub const GRANT_TYPES: &[&str] = &["authorization_code", "refresh_token"];
pub const DEFAULT_GRANT_TYPES: &[&str] = &["authorization_code"];
pub const TOKEN_EXPIRY_MIN: i64 = rules::TOKEN_EXPIRY_SECONDS_MIN;
pub const TOKEN_EXPIRY_MAX: i64 = rules::TOKEN_EXPIRY_SECONDS_MAX;
pub const TOKEN_EXPIRY_DEFAULT: i64 = 3600;
pub const MAX_REDIRECT_URIS: usize = rules::REDIRECT_URIS_MAX;
pub const MAX_URI_LEN: usize = rules::URL_MAX_CHARS;
pub const MAX_PATTERN_LEN: usize = rules::REDIRECT_URI_REGEX_MAX_CHARS;
pub const MAX_CLAIM_MAPPINGS: usize = rules::CLAIM_MAPPINGS_MAX;
/// Longest grace period during which a rotated secret keeps working.
pub const MAX_SECRET_GRACE_SECONDS: i64 = rules::GRACE_PERIOD_SECONDS_MAX;

/// An application as the services return it. Never carries a secret or its digest.
#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    pub id: Uuid,
    pub client_id: String,
    pub name: String,
    pub friendly_name: String,
    pub description: String,
    pub app_type: ApplicationType,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_scopes: Vec<String>,
    pub grant_types: Vec<String>,
    pub require_pkce: bool,
    /// Lifetime of ID and access tokens, in seconds.
    pub token_expiry: i64,
    pub access_restricted: bool,
    pub show_in_dashboard: bool,
    pub launch_url: Option<String>,
    pub claim_mappings: Vec<ClaimMapping>,
    /// `…` and the last four characters of the current secret (`oidc` only).
    pub secret_hint: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Application {
    pub fn to_wire(&self) -> justiam_types::application::Application {
        justiam_types::application::Application {
            id: self.id,
            client_id: self.client_id.clone(),
            name: self.name.clone(),
            friendly_name: self.friendly_name.clone(),
            description: self.description.clone(),
            app_type: self.app_type,
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            allowed_scopes: self.allowed_scopes.clone(),
            grant_types: self.grant_types.clone(),
            require_pkce: self.require_pkce,
            token_expiry: self.token_expiry,
            access_restricted: self.access_restricted,
            show_in_dashboard: self.show_in_dashboard,
            launch_url: self.launch_url.clone(),
            claim_mappings: self.claim_mappings.clone(),
            secret_hint: self.secret_hint.clone(),
            created_at: to_datetime(self.created_at),
            updated_at: to_datetime(self.updated_at),
        }
    }

    /// A confidential client: authenticates at the token endpoint with its secret.
    pub fn is_confidential(&self) -> bool {
        self.app_type == ApplicationType::Oidc
    }

    /// Whether the application can sign anyone in at all (`external` is a link only).
    pub fn signs_in(&self) -> bool {
        matches!(self.app_type, ApplicationType::Oidc | ApplicationType::Spa)
    }

    pub fn has_grant_type(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }

    pub fn allows_scope(&self, scope: &str) -> bool {
        self.allowed_scopes.iter().any(|s| s == scope)
    }

    /// PKCE is required for public clients whatever the flag says.
    pub fn pkce_required(&self) -> bool {
        self.require_pkce || self.app_type == ApplicationType::Spa
    }

    /// The rules between fields, checked on the whole application after every create and update:
    /// `409 inconsistent_application` naming the field, since the document states each field's
    /// own rules but cannot state these (and on an update they depend on the stored fields).
    pub fn check(&self) -> CoreResult<()> {
        match self.app_type {
            ApplicationType::Saml => return Err(saml_unsupported()),
            ApplicationType::Oidc | ApplicationType::Spa => {
                if self.redirect_uris.is_empty() {
                    return Err(inconsistent(
                        "redirect_uris",
                        format!(
                            "redirect_uris must hold 1 to {MAX_REDIRECT_URIS} URIs for an {} application",
                            self.app_type.as_str()
                        ),
                    ));
                }
                if !self.has_grant_type("authorization_code") {
                    return Err(inconsistent(
                        "grant_types",
                        "grant_types must include authorization_code (refresh_token alone issues nothing)",
                    ));
                }
                if self.allowed_scopes.is_empty() {
                    return Err(inconsistent(
                        "allowed_scopes",
                        "allowed_scopes must not be empty",
                    ));
                }
            }
            ApplicationType::External => {
                if self.launch_url.is_none() {
                    return Err(inconsistent(
                        "launch_url",
                        "launch_url is required for an external application (it is only a link)",
                    ));
                }
            }
        }
        if self.app_type == ApplicationType::Spa && !self.require_pkce {
            return Err(inconsistent(
                "require_pkce",
                "require_pkce cannot be false for a spa application: a public client has no secret, PKCE is its only proof",
            ));
        }
        // A custom scope only means something through a claim mapping; a claim mapping needing a
        // scope the application never grants would never appear.
        for scope in &self.allowed_scopes {
            let standard = STANDARD_SCOPES.contains(&scope.as_str());
            let mapped = self
                .claim_mappings
                .iter()
                .any(|m| m.required_scope.as_deref() == Some(scope.as_str()));
            if !standard && !mapped {
                return Err(inconsistent(
                    "allowed_scopes",
                    format!(
                        "allowed_scopes contains {scope:?}, which is neither a standard scope ({}) \
                         nor the required_scope of one of this application's claim_mappings",
                        STANDARD_SCOPES.join(" ")
                    ),
                ));
            }
        }
        for (i, mapping) in self.claim_mappings.iter().enumerate() {
            if let Some(scope) = &mapping.required_scope
                && !self.allows_scope(scope)
            {
                return Err(inconsistent(
                    "claim_mappings",
                    format!(
                        "claim_mappings[{i}].required_scope {scope:?} is not in allowed_scopes, so the claim could never be issued"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A rule across fields (or across the items of one list) that the application breaks.
pub fn inconsistent(field: &str, message: impl Into<String>) -> CoreError {
    let message = message.into();
    debug_assert!(message.starts_with(field), "{message} names {field}");
    CoreError::conflict("inconsistent_application", message)
}

pub fn saml_unsupported() -> CoreError {
    CoreError::bad_request(
        "unsupported",
        "type \"saml\" is not supported yet; use oidc, spa or external",
    )
}

/// Who may sign in to an `access_restricted` application: one user or one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationGrant {
    pub id: Uuid,
    pub application_id: Uuid,
    pub user_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub created_at: Millis,
}

impl ApplicationGrant {
    pub fn to_wire(&self) -> justiam_types::application::ApplicationGrant {
        justiam_types::application::ApplicationGrant {
            id: self.id,
            application_id: self.application_id,
            user_id: self.user_id,
            group_id: self.group_id,
            created_at: to_datetime(self.created_at),
        }
    }
}

/// An application's `friendly_name`: 0–100 characters as sent, stored trimmed.
pub fn parse_friendly_name(raw: &str) -> CoreResult<String> {
    bounded_text("friendly_name", raw, 0, rules::FRIENDLY_NAME_MAX_CHARS)
}

/// A list of redirect (or post-logout redirect) URIs: at most [`MAX_REDIRECT_URIS`], no
/// duplicates, each accepted by [`parse_redirect_uri`]. The count's lower bound depends on the
/// type and is checked by [`Application::check`].
pub fn parse_redirect_uris(field: &str, raw: &[String]) -> CoreResult<Vec<String>> {
    if raw.len() > MAX_REDIRECT_URIS {
        return Err(CoreError::validation(
            field,
            format!("{field} must hold at most {MAX_REDIRECT_URIS} URIs"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, uri) in raw.iter().enumerate() {
        parse_redirect_uri(&format!("{field}[{i}]"), uri)?;
        if out.contains(uri) {
            return Err(CoreError::validation(
                field,
                format!("{field}[{i}] repeats {uri:?}"),
            ));
        }
        out.push(uri.clone());
    }
    Ok(out)
}

/// One registered redirect URI: an absolute URL in canonical form ([`check_absolute_url`]) whose
/// scheme is `https`, or `http` on a loopback host; or `regex:` + a pattern that must match a
/// whole candidate (it is anchored here whatever the author wrote). Both as the OpenAPI document
/// states them (`rules::REDIRECT_URI_PATTERN`, `rules::REDIRECT_URI_REGEX_PATTERN`): the patterns
/// are the rule, and the checks behind them explain a refusal and guard the patterns.
pub fn parse_redirect_uri(field: &str, raw: &str) -> CoreResult<()> {
    let invalid = |why: String| CoreError::validation(field, format!("{field} {raw:?}: {why}"));
    match raw.strip_prefix("regex:") {
        Some(pattern) => {
            compile_pattern(pattern).map_err(invalid)?;
            if !rule(Rule::RedirectUriRegex).is_match(raw) {
                return Err(invalid(
                    "write the pattern with literal characters, escaped metacharacters (\\.), \
                     `.`, classes such as [a-z0-9-], each optionally followed by * + or ?, in \
                     branches joined by |"
                        .to_owned(),
                ));
            }
            Ok(())
        }
        None => {
            check_redirect_target(raw).map_err(invalid)?;
            documented_url(Rule::RedirectUri, raw).map_err(invalid)
        }
    }
}

/// The documented URL patterns, compiled once.
#[derive(Clone, Copy)]
pub(crate) enum Rule {
    RedirectUri,
    RedirectUriRegex,
    LaunchUrl,
    WebhookUrl,
    Issuer,
}

fn rule(which: Rule) -> &'static regex::Regex {
    static COMPILED: std::sync::OnceLock<[regex::Regex; 5]> = std::sync::OnceLock::new();
    let [redirect, pattern, launch, webhook, issuer] = COMPILED.get_or_init(|| {
        [
            rules::REDIRECT_URI_PATTERN,
            rules::REDIRECT_URI_REGEX_PATTERN,
            rules::LAUNCH_URL_PATTERN,
            rules::WEBHOOK_URL_PATTERN,
            rules::ISSUER_PATTERN,
        ]
        .map(|p| regex::Regex::new(p).unwrap_or_else(|e| panic!("a rule does not compile: {e}")))
    });
    match which {
        Rule::RedirectUri => redirect,
        Rule::RedirectUriRegex => pattern,
        Rule::LaunchUrl => launch,
        Rule::WebhookUrl => webhook,
        Rule::Issuer => issuer,
    }
}

/// Whether `raw` matches the documented pattern `which`.
pub(crate) fn documented(which: Rule, raw: &str) -> bool {
    rule(which).is_match(raw)
}

/// What the documented URL patterns admit, in words.
pub(crate) const URL_FORM: &str = "write the host as a lower-case name (letters, digits, single \
     hyphens; the last label starting with a letter) or an IPv4 address, the path with letters, \
     digits and - . _ ~ ! $ & ' ( ) * + , ; = : @ (no % escapes), the query with those and / ? % \
     (no ')";

/// A canonical URL (already checked) that the documented pattern also admits: the pattern
/// narrows the host to lower-case names and IPv4 addresses, and the path to unreserved characters.
fn documented_url(which: Rule, raw: &str) -> Result<(), String> {
    if documented(which, raw) {
        Ok(())
    } else {
        Err(URL_FORM.to_owned())
    }
}

/// Whether `candidate` (from an authorization or logout request) is one of `registered`: the
/// exact same string, or a whole-string match of a `regex:` pattern by a candidate that is itself
/// a valid redirect target. Never a prefix, never case-insensitive.
pub fn redirect_uri_allowed(registered: &[String], candidate: &str) -> bool {
    registered
        .iter()
        .any(|uri| match uri.strip_prefix("regex:") {
            None => uri == candidate,
            Some(pattern) => {
                check_redirect_target(candidate).is_ok()
                    && compile_pattern(pattern).is_ok_and(|regex| regex.is_match(candidate))
            }
        })
}

/// Compiles a `regex:` pattern anchored to the whole string (`\A(?:…)\z`), with a size limit so
/// a pattern cannot cost the server much memory.
fn compile_pattern(pattern: &str) -> Result<regex::Regex, String> {
    if pattern.is_empty() {
        return Err("the pattern after regex: is empty".to_owned());
    }
    if pattern.chars().count() > MAX_PATTERN_LEN {
        return Err(format!(
            "the pattern must be at most {MAX_PATTERN_LEN} characters"
        ));
    }
    regex::RegexBuilder::new(&format!(r"\A(?:{pattern})\z"))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("the pattern after regex: does not compile: {e}"))
}

/// A redirect target: a canonical absolute URL, `https` or loopback `http`, no fragment.
fn check_redirect_target(raw: &str) -> Result<(), String> {
    let url = check_absolute_url(raw)?;
    if url.fragment().is_some() {
        return Err("a redirect URI must not contain a fragment (#…)".to_owned());
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        "http" => Err(
            "http is only allowed for loopback hosts (127.0.0.1, [::1], localhost); use https"
                .to_owned(),
        ),
        other => Err(format!(
            "the scheme {other:?} is not allowed; use https (or http for a loopback host)"
        )),
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain == "localhost",
        Some(url::Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        None => false,
    }
}

/// An absolute `http(s)` URL of at most [`MAX_URI_LEN`] characters with a host and no user info,
/// written exactly as a WHATWG URL parser writes it back. The canonical form closes parser
/// differentials: what is stored, compared and redirected to is one and the same string, with no
/// backslash, upper-case host, stray space or dotted path that a browser might read otherwise.
pub fn check_absolute_url(raw: &str) -> Result<url::Url, String> {
    if raw.len() > MAX_URI_LEN {
        return Err(format!("a URL must be at most {MAX_URI_LEN} characters"));
    }
    if raw.is_empty() {
        return Err("a URL must not be empty".to_owned());
    }
    if !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(
            "a URL must be printable ASCII without spaces (percent-encode the rest)".to_owned(),
        );
    }
    let url = url::Url::parse(raw).map_err(|e| format!("not an absolute URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme {:?} is not allowed; use https",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("a URL must name a host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a URL must not carry user info (user@host)".to_owned());
    }
    if url.as_str() != raw {
        return Err(format!(
            "write the URL in canonical form: {:?}",
            url.as_str()
        ));
    }
    Ok(url)
}

/// `launch_url`: an absolute `http(s)` URL in canonical form, as `rules::LAUNCH_URL_PATTERN`
/// states it.
pub fn parse_launch_url(raw: &str) -> CoreResult<String> {
    check_absolute_url(raw)
        .and_then(|_| documented_url(Rule::LaunchUrl, raw))
        .map(|()| raw.to_owned())
        .map_err(|why| CoreError::validation("launch_url", format!("launch_url {raw:?}: {why}")))
}

/// A scope name (RFC 6749 §3.3 `scope-token`, narrowed to what reads well in a claim mapping):
/// 1–64 of `A-Z a-z 0-9 _ . : -`.
fn is_scope_name(scope: &str) -> bool {
    (1..=64).contains(&scope.len())
        && scope
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// `allowed_scopes`: scope names without repeats. Which names are allowed depends on the claim
/// mappings, checked by [`Application::check`].
pub fn parse_scopes(raw: &[String]) -> CoreResult<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for scope in raw {
        if !is_scope_name(scope) {
            return Err(CoreError::validation(
                "allowed_scopes",
                format!(
                    "allowed_scopes contains {scope:?}; a scope is 1-64 of A-Z a-z 0-9 _ . : -"
                ),
            ));
        }
        if out.contains(scope) {
            return Err(CoreError::validation(
                "allowed_scopes",
                format!("allowed_scopes repeats {scope:?}"),
            ));
        }
        out.push(scope.clone());
    }
    Ok(out)
}

/// `grant_types`: a non-empty subset of [`GRANT_TYPES`].
pub fn parse_grant_types(raw: &[String]) -> CoreResult<Vec<String>> {
    if raw.is_empty() {
        return Err(CoreError::validation(
            "grant_types",
            "grant_types must not be empty",
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for grant in raw {
        if !GRANT_TYPES.contains(&grant.as_str()) {
            return Err(CoreError::validation(
                "grant_types",
                format!(
                    "grant_types contains {grant:?}; allowed: {}",
                    GRANT_TYPES.join(", ")
                ),
            ));
        }
        if out.contains(grant) {
            return Err(CoreError::validation(
                "grant_types",
                format!("grant_types repeats {grant:?}"),
            ));
        }
        out.push(grant.clone());
    }
    Ok(out)
}

pub fn parse_token_expiry(seconds: i64) -> CoreResult<i64> {
    if (TOKEN_EXPIRY_MIN..=TOKEN_EXPIRY_MAX).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(CoreError::validation(
            "token_expiry",
            format!(
                "token_expiry must be between {TOKEN_EXPIRY_MIN} and {TOKEN_EXPIRY_MAX} seconds"
            ),
        ))
    }
}

/// `grace_period_seconds` of a secret rotation: 0–[`MAX_SECRET_GRACE_SECONDS`].
pub fn parse_grace_period(seconds: i64) -> CoreResult<i64> {
    if (0..=MAX_SECRET_GRACE_SECONDS).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(CoreError::validation(
            "grace_period_seconds",
            format!("grace_period_seconds must be between 0 and {MAX_SECRET_GRACE_SECONDS}"),
        ))
    }
}

/// `claim_mappings`: at most [`MAX_CLAIM_MAPPINGS`], distinct claim names, none that JustIAM
/// sets itself; values are templates of at most 1000 characters.
pub fn parse_claim_mappings(raw: &[ClaimMapping]) -> CoreResult<Vec<ClaimMapping>> {
    let invalid = |message: String| CoreError::validation("claim_mappings", message);
    if raw.len() > MAX_CLAIM_MAPPINGS {
        return Err(invalid(format!(
            "claim_mappings must hold at most {MAX_CLAIM_MAPPINGS} mappings"
        )));
    }
    let mut out: Vec<ClaimMapping> = Vec::with_capacity(raw.len());
    for (i, mapping) in raw.iter().enumerate() {
        let claim = mapping.claim.as_str();
        let claim_ok =
            (1..=100).contains(&claim.len()) && claim.bytes().all(|b| b.is_ascii_graphic());
        if !claim_ok {
            return Err(invalid(format!(
                "claim_mappings[{i}].claim must be 1-100 printable ASCII characters without spaces"
            )));
        }
        if rules::RESERVED_CLAIMS.contains(&claim) {
            return Err(invalid(format!(
                "claim_mappings[{i}].claim {claim:?} is set by JustIAM itself and cannot be mapped"
            )));
        }
        if out.iter().any(|m| m.claim == claim) {
            return Err(inconsistent(
                "claim_mappings",
                format!("claim_mappings[{i}].claim repeats {claim:?}"),
            ));
        }
        if mapping.value.chars().count() > rules::CLAIM_VALUE_MAX_CHARS
            || mapping.value.chars().any(char::is_control)
        {
            return Err(invalid(format!(
                "claim_mappings[{i}].value must be at most 1000 characters without control characters"
            )));
        }
        if let Some(scope) = &mapping.required_scope
            && !is_scope_name(scope)
        {
            return Err(invalid(format!(
                "claim_mappings[{i}].required_scope {scope:?} is not a scope name (1-64 of A-Z a-z 0-9 _ . : -)"
            )));
        }
        out.push(mapping.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(registered: &[&str], candidate: &str) -> bool {
        let registered: Vec<String> = registered.iter().map(|s| (*s).to_owned()).collect();
        redirect_uri_allowed(&registered, candidate)
    }

    #[test]
    fn exact_uris_match_only_themselves() {
        let reg = ["https://app.example.com/cb"];
        assert!(allowed(&reg, "https://app.example.com/cb"));
        for attack in [
            "https://app.example.com.evil.test/cb",
            "https://app.example.com:8443/cb",
            "https://app.example.com:443/cb",
            "https://app.example.com/cb/",
            "https://app.example.com/cb/../evil",
            "https://app.example.com/cbx",
            "https://app.example.com/cb?x=1",
            "https://app.example.com/cb#frag",
            "https://app.example.com@evil.test/cb",
            "https://evil.test@app.example.com/cb",
            "https://APP.example.com/cb",
            "https://app.example.com/CB",
            "HTTPS://app.example.com/cb",
            "http://app.example.com/cb",
            "https://app.example.com/c",
            "https://app.example.com",
            " https://app.example.com/cb",
            "https://app.example.com/cb ",
            "https://app.example.com\\@evil.test/cb",
            "",
        ] {
            assert!(!allowed(&reg, attack), "{attack:?} must not match");
        }
    }

    #[test]
    fn patterns_match_whole_strings_even_when_the_author_did_not_anchor_them() {
        // Unanchored as written: without the anchoring, `evil.test/?https://…` would match.
        let reg = [r"regex:https://[a-z0-9-]+\.example\.com/cb"];
        assert!(allowed(&reg, "https://pr-42.example.com/cb"));
        for attack in [
            "https://evil.test/?https://pr-42.example.com/cb",
            "https://pr-42.example.com/cb/more",
            "https://pr-42.example.com/cb.evil.test",
            "https://pr-42.example.com.evil.test/cb",
            "https://pr-42.example.com/cb?x",
            "https://PR-42.example.com/cb",
            "http://pr-42.example.com/cb",
            "xhttps://pr-42.example.com/cb",
            "https://pr-42.example.com/cb\n",
        ] {
            assert!(!allowed(&reg, attack), "{attack:?} must not match");
        }
        // An alternation cannot escape the anchoring either.
        let reg = ["regex:https://a\\.example\\.com/cb|https://b\\.example\\.com/cb"];
        assert!(allowed(&reg, "https://b.example.com/cb"));
        assert!(!allowed(&reg, "https://b.example.com/cb/x"));
        assert!(!allowed(&reg, "https://evil.test/https://a.example.com/cb"));
    }

    #[test]
    fn a_pattern_never_lets_through_what_could_not_be_registered() {
        // A careless pattern still cannot redirect to plain http, user info or a fragment.
        let reg = ["regex:.*"];
        assert!(allowed(&reg, "https://anything.example/cb"));
        for attack in [
            "http://evil.test/cb",
            "https://user@evil.test/cb",
            "https://evil.test/cb#x",
            "javascript:alert(1)",
            "https://EVIL.test/cb",
            "https://evil.test/a b",
        ] {
            assert!(!allowed(&reg, attack), "{attack:?} must not match");
        }
    }

    #[test]
    fn registration_rules() {
        for good in [
            "https://app.example.com/cb",
            "https://app.example.com:8443/auth/callback?x=1",
            "http://localhost:8080/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:3000/cb",
            "regex:https://[a-z]+\\.example\\.com/cb",
        ] {
            assert!(
                parse_redirect_uri("redirect_uris[0]", good).is_ok(),
                "{good:?}"
            );
        }
        for bad in [
            "http://app.example.com/cb",
            "http://127.0.0.2/cb",
            "http://localhost.evil.test/cb",
            "/cb",
            "app.example.com/cb",
            "https://app.example.com/cb#x",
            "https://user:pw@app.example.com/cb",
            "https://App.Example.com/cb",
            "https://app.example.com",
            "https://app.example.com/a b",
            "https://app.example.com\\cb",
            "ftp://app.example.com/cb",
            "javascript:alert(1)",
            "custom-scheme:/cb",
            "https://app.example.com/./cb",
            "regex:",
            "regex:(unclosed",
            "",
        ] {
            let err = parse_redirect_uri("redirect_uris[0]", bad).expect_err(bad);
            assert!(
                matches!(&err, CoreError::Validation { field, .. } if field == "redirect_uris[0]"),
                "{bad:?}: {err:?}"
            );
        }
        assert!(parse_redirect_uri("f", &format!("regex:{}", "a".repeat(501))).is_err());
        let many: Vec<String> = (0..21).map(|i| format!("https://a.example/{i}")).collect();
        assert!(parse_redirect_uris("redirect_uris", &many).is_err());
        assert!(parse_redirect_uris("redirect_uris", &many[..20]).is_ok());
        let twice = vec![many[0].clone(), many[0].clone()];
        assert!(parse_redirect_uris("redirect_uris", &twice).is_err());
    }

    fn app(app_type: ApplicationType) -> Application {
        Application {
            id: Uuid::nil(),
            client_id: "justiam_app_x".into(),
            name: "x".into(),
            friendly_name: String::new(),
            description: String::new(),
            app_type,
            redirect_uris: vec!["https://a.example/cb".into()],
            post_logout_redirect_uris: vec![],
            allowed_scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            grant_types: vec!["authorization_code".into()],
            require_pkce: app_type == ApplicationType::Spa,
            token_expiry: 3600,
            access_restricted: false,
            show_in_dashboard: true,
            launch_url: None,
            claim_mappings: vec![],
            secret_hint: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn cross_field_rules() {
        assert!(app(ApplicationType::Oidc).check().is_ok());
        assert!(app(ApplicationType::Spa).check().is_ok());
        let mut spa = app(ApplicationType::Spa);
        spa.require_pkce = false;
        assert!(spa.check().is_err());
        let mut no_uris = app(ApplicationType::Oidc);
        no_uris.redirect_uris.clear();
        assert!(no_uris.check().is_err());
        let mut external = app(ApplicationType::External);
        external.redirect_uris.clear();
        assert!(external.check().is_err(), "needs a launch_url");
        external.launch_url = Some("https://wiki.example.com/".into());
        assert!(external.check().is_ok());
        assert!(matches!(
            app(ApplicationType::Saml).check(),
            Err(CoreError::BadRequest {
                code: "unsupported",
                ..
            })
        ));
        let mut custom = app(ApplicationType::Oidc);
        custom.allowed_scopes.push("billing".into());
        assert!(custom.check().is_err(), "a custom scope nothing uses");
        custom.claim_mappings.push(ClaimMapping {
            claim: "plan".into(),
            value: "${plan}".into(),
            required_scope: Some("billing".into()),
        });
        assert!(custom.check().is_ok());
        custom.allowed_scopes.pop();
        assert!(custom.check().is_err(), "a mapping needing an absent scope");
        let mut refresh_only = app(ApplicationType::Oidc);
        refresh_only.grant_types = vec!["refresh_token".into()];
        assert!(refresh_only.check().is_err());
    }

    #[test]
    fn field_parsers() {
        assert!(parse_token_expiry(59).is_err());
        assert!(parse_token_expiry(60).is_ok());
        assert!(parse_token_expiry(86_400).is_ok());
        assert!(parse_token_expiry(86_401).is_err());
        assert!(parse_grace_period(-1).is_err());
        assert!(parse_grace_period(86_401).is_err());
        assert!(parse_grace_period(0).is_ok());
        assert!(parse_grant_types(&[]).is_err());
        assert!(parse_grant_types(&["implicit".into()]).is_err());
        assert!(parse_grant_types(&["client_credentials".into()]).is_err());
        assert!(parse_grant_types(&["authorization_code".into(), "refresh_token".into()]).is_ok());
        assert!(parse_scopes(&["openid".into(), "openid".into()]).is_err());
        assert!(parse_scopes(&["open id".into()]).is_err());
        for claim in ["sub", "aud", "email", "roles"] {
            let mapping = ClaimMapping {
                claim: claim.into(),
                value: "x".into(),
                required_scope: None,
            };
            assert!(parse_claim_mappings(&[mapping]).is_err(), "{claim}");
        }
        assert!(parse_launch_url("javascript:alert(1)").is_err());
        assert!(parse_launch_url("http://intranet.example/").is_ok());
    }
}

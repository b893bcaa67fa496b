//! Machine identity: a service account's OAuth clients and federated credentials.

use std::borrow::Cow;
use std::collections::BTreeMap;

use justiam_types::machine::{self as wire, ClientAuthMethod};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::oidc::keys::Jwk;
use crate::time::{Millis, to_datetime};

/// Prefix of a service-account client's `client_id` (then 24 random base62 characters).
pub const SA_CLIENT_ID_PREFIX: &str = "justiam_sa_";

/// An OAuth client of a service account.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceAccountClient {
    pub id: Uuid,
    pub user_id: Uuid,
    pub client_id: String,
    pub name: String,
    pub description: String,
    pub auth_method: ClientAuthMethod,
    pub secret_hint: Option<String>,
    /// The registered keys (`private_key_jwt`).
    pub jwks: Vec<Jwk>,
    pub created_by: Option<String>,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
}

impl ServiceAccountClient {
    pub fn to_wire(&self) -> wire::ServiceAccountClient {
        wire::ServiceAccountClient {
            id: self.id,
            user_id: self.user_id,
            client_id: self.client_id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            auth_method: self.auth_method,
            secret_hint: self.secret_hint.clone(),
            jwks: (self.auth_method == ClientAuthMethod::PrivateKeyJwt)
                .then(|| serde_json::json!({ "keys": self.jwks })),
            created_at: to_datetime(self.created_at),
            last_used_at: self.last_used_at.map(to_datetime),
        }
    }
}

/// Trust in an outside issuer's tokens for a service account.
#[derive(Debug, Clone, PartialEq)]
pub struct FederatedCredential {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub description: String,
    pub issuer: String,
    pub audience: String,
    pub subject: Option<String>,
    pub claims: BTreeMap<String, String>,
    pub created_by: Option<String>,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
}

impl FederatedCredential {
    pub fn to_wire(&self) -> wire::FederatedCredential {
        wire::FederatedCredential {
            id: self.id,
            user_id: self.user_id,
            name: self.name.clone(),
            description: self.description.clone(),
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            subject: self.subject.clone(),
            claims: self.claims.clone(),
            created_at: to_datetime(self.created_at),
            last_used_at: self.last_used_at.map(to_datetime),
        }
    }
}

/// Whether `value` matches `pattern`, where `*` stands for any run of characters (none too) and
/// everything else for itself. Linear in the lengths (greedy with one backtrack point), so a
/// hostile pattern or claim costs no more than reading them.
pub fn glob_matches(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if pi < p.len() && p[pi] == v[vi] {
            pi += 1;
            vi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The claim a condition's key names in a token's `claims`: a top-level claim name as it is
/// (`repository`, `kubernetes.io`), or, with a leading `/`, an RFC 6901 JSON Pointer into nested
/// objects (`/kubernetes.io/serviceaccount/name`).
pub fn claim_at<'c>(claims: &'c Map<String, Value>, key: &str) -> Option<&'c Value> {
    let Some(pointer) = key.strip_prefix('/') else {
        return claims.get(key);
    };
    let (root, rest) = pointer
        .find('/')
        .map_or((pointer, ""), |at| pointer.split_at(at));
    claims.get(unescape(root).as_ref())?.pointer(rest)
}

/// The top-level claim a condition's key reads (see [`claim_at`]), or why the key is not one: a
/// pointer's segments must not be empty and `~` must be escaped as `~0` (and `/` as `~1`).
pub fn claim_key_root(key: &str) -> Result<Cow<'_, str>, String> {
    let Some(pointer) = key.strip_prefix('/') else {
        return Ok(Cow::Borrowed(key));
    };
    for segment in pointer.split('/') {
        if segment.is_empty() {
            return Err(format!(
                "`{key}` is not a usable JSON Pointer (RFC 6901): a segment is empty"
            ));
        }
        let mut chars = segment.chars();
        while let Some(c) = chars.next() {
            if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                return Err(format!(
                    "`{key}` is not a JSON Pointer (RFC 6901): `~` must be written `~0` and `/` inside a name `~1`"
                ));
            }
        }
    }
    let root = pointer.split('/').next().unwrap_or(pointer);
    Ok(unescape(root))
}

/// RFC 6901 §4: `~1` is `/`, then `~0` is `~`.
fn unescape(segment: &str) -> Cow<'_, str> {
    if segment.contains('~') {
        Cow::Owned(segment.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(segment)
    }
}

#[cfg(test)]
mod tests {
    use super::{claim_at, claim_key_root, glob_matches};
    use serde_json::json;

    #[test]
    fn condition_keys_are_claim_names_or_json_pointers() {
        let claims = json!({
            "sub": "system:serviceaccount:ci:deployer",
            "kubernetes.io": {"namespace": "ci", "serviceaccount": {"name": "deployer"}},
            "a/b": {"~x": "escaped"},
            "groups": ["dev", "ops"],
        });
        let claims = claims.as_object().expect("object");
        for (key, expected) in [
            ("sub", Some(json!("system:serviceaccount:ci:deployer"))),
            ("kubernetes.io", Some(claims["kubernetes.io"].clone())),
            ("/kubernetes.io/namespace", Some(json!("ci"))),
            (
                "/kubernetes.io/serviceaccount/name",
                Some(json!("deployer")),
            ),
            ("/a~1b/~0x", Some(json!("escaped"))),
            ("/groups/1", Some(json!("ops"))),
            ("/kubernetes.io/pod/name", None),
            ("kubernetes.io/namespace", None),
            ("/missing", None),
        ] {
            assert_eq!(claim_at(claims, key).cloned(), expected, "{key}");
        }
        assert_eq!(claim_key_root("ref").as_deref(), Ok("ref"));
        assert_eq!(
            claim_key_root("/kubernetes.io/namespace").as_deref(),
            Ok("kubernetes.io")
        );
        assert_eq!(claim_key_root("/a~1b/c").as_deref(), Ok("a/b"));
        for bad in ["/", "/a//b", "/a/", "/a~2b", "/a~"] {
            assert!(claim_key_root(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn globs_match_whole_values() {
        for (pattern, value, expected) in [
            (
                "repo:acme/app:ref:refs/heads/main",
                "repo:acme/app:ref:refs/heads/main",
                true,
            ),
            ("repo:acme/app:*", "repo:acme/app:ref:refs/heads/main", true),
            ("repo:acme/app:*", "repo:acme/application:ref:x", false),
            ("refs/heads/*", "refs/heads/", true),
            ("refs/heads/*", "refs/tags/v1", false),
            ("*", "", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("main", "main2", false),
            ("", "x", false),
        ] {
            assert_eq!(
                glob_matches(pattern, value),
                expected,
                "{pattern} ~ {value}"
            );
        }
    }
}

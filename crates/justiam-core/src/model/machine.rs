//! Machine identity: a service account's OAuth clients and federated credentials.

use std::collections::BTreeMap;

use justiam_types::machine::{self as wire, ClientAuthMethod};
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

#[cfg(test)]
mod tests {
    use super::glob_matches;

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

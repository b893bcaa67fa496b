//! The claims about a user that the granted scopes release: the same in the ID token and in
//! userinfo (OIDC Core §5.4), then the application's claim mappings.

use serde_json::{Map, Value, json};

use super::super::Iam;
use crate::error::CoreResult;
use crate::model::{Application, User};
use crate::store::oauth;

impl Iam {
    /// `sub` and the claims of `scopes` for `user` at `app`.
    pub(crate) async fn user_claims(
        &self,
        app: &Application,
        user: &User,
        scopes: &[String],
    ) -> CoreResult<Map<String, Value>> {
        let has = |scope: &str| scopes.iter().any(|s| s == scope);
        let mut claims = Map::new();
        claims.insert("sub".into(), json!(user.id.to_string()));
        let name = full_name(user);
        if has("email") {
            claims.insert("email".into(), json!(user.email));
            // Addresses are set by administrators (users cannot change their own), so they are
            // taken as verified; many relying parties refuse an unverified email.
            claims.insert("email_verified".into(), json!(true));
        }
        if has("profile") {
            claims.insert("name".into(), json!(name));
            claims.insert("given_name".into(), json!(user.first_name));
            claims.insert("family_name".into(), json!(user.last_name));
            claims.insert("preferred_username".into(), json!(user.username));
        }
        let mappings_needed = !app.claim_mappings.is_empty();
        let groups = if has("groups") || mappings_needed {
            oauth::group_names(&self.db.pool, user.id).await?
        } else {
            Vec::new()
        };
        let mapped = if has("roles") || mappings_needed {
            self.app_mapping_values(app, user.id).await?
        } else {
            Vec::new()
        };
        let roles = || {
            let mut values: Vec<&str> = mapped.iter().map(|(_, v)| v.as_str()).collect();
            values.sort_unstable();
            values.dedup();
            values
        };
        if has("groups") {
            claims.insert("groups".into(), json!(groups));
        }
        if has("roles") {
            claims.insert("roles".into(), json!(roles()));
        }
        for mapping in &app.claim_mappings {
            if let Some(scope) = mapping.required_scope.as_deref().filter(|s| !s.is_empty())
                && !has(scope)
            {
                continue;
            }
            let value = match mapping.value.as_str() {
                "${email}" => json!(user.email),
                "${username}" => json!(user.username),
                "${first_name}" => json!(user.first_name),
                "${last_name}" => json!(user.last_name),
                "${name}" => json!(name),
                "${id}" => json!(user.id.to_string()),
                "${groups}" => json!(groups),
                "${appRoles}" => json!(roles()),
                other => match other
                    .strip_prefix("${")
                    .and_then(|rest| rest.strip_suffix('}'))
                {
                    Some(variable) => {
                        let values: Vec<&str> = mapped
                            .iter()
                            .filter(|(var, _)| var == variable)
                            .map(|(_, v)| v.as_str())
                            .collect();
                        match values.as_slice() {
                            // A variable with no value for this user: no claim.
                            [] => continue,
                            [one] => json!(one),
                            many => json!(many),
                        }
                    }
                    None => json!(other),
                },
            };
            claims.insert(mapping.claim.clone(), value);
        }
        Ok(claims)
    }
}

fn full_name(user: &User) -> String {
    let name = format!("{} {}", user.first_name, user.last_name);
    let name = name.trim();
    if name.is_empty() {
        user.username.clone()
    } else {
        name.to_owned()
    }
}

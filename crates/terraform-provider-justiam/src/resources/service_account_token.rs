//! `justiam_service_account_token`: a personal access token of a service account. Every input
//! change replaces it. The value is known only at creation and is kept in the state.

use std::collections::BTreeSet;

use async_trait::async_trait;
use justiam_types::permission::wildcard_matches_name;
use justiam_types::{CreateToken, PatRecord, Permission};
use serde::{Deserialize, Serialize};
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};
use uuid::Uuid;

use super::{changed, find_in_pages, replacements};
use crate::diag;
use crate::provider::Shared;
use crate::schema::{
    Computed, Optional, Required, StringSet, has_unknown_element, known, known_elements, number,
    schema, sensitive, set_of, string, string_set, time,
};

pub struct ServiceAccountTokenResource(pub Shared);

#[derive(Serialize, Deserialize, Default, Clone)]
#[serde(default)]
pub struct TokenState {
    pub id: Value<String>,
    pub user_id: Value<String>,
    pub name: Value<String>,
    pub expires_in_days: Value<i64>,
    pub permissions: StringSet,
    pub expires_at: Value<String>,
    pub token: Value<String>,
}

/// Whole days between creation and expiry, as requested at creation.
fn lifetime_days(record: &PatRecord) -> i64 {
    let seconds = (record.expires_at - record.created_at).num_seconds();
    (seconds + 43_200).div_euclid(86_400)
}

/// Whether the permissions the server stored are what `requested` (names and wildcards) asked
/// for: the server keeps the expanded names, so `users.*` comes back as `users.view`, ….
fn covers(requested: &[String], stored: &BTreeSet<String>) -> bool {
    let names_kept = requested
        .iter()
        .filter(|p| !p.contains('*'))
        .all(|p| stored.contains(p));
    let wildcards_used = requested
        .iter()
        .filter(|p| p.contains('*'))
        .all(|w| stored.iter().any(|s| wildcard_matches_name(w, s)));
    let nothing_else = stored.iter().all(|s| {
        requested
            .iter()
            .any(|p| p == s || wildcard_matches_name(p, s))
    });
    names_kept && wildcards_used && nothing_else
}

/// Whether a new spelling of the permissions gives the token exactly what the server stored:
/// only decidable when the prior state holds the stored names themselves (after an import, or
/// after a refresh found a change), not patterns. Then the change is recorded in place.
fn same_power(prior: &StringSet, planned: &StringSet) -> bool {
    if has_unknown_element(planned) {
        return false;
    }
    let (Some(prior), Some(planned)) = (known_elements(prior), known_elements(planned)) else {
        return false;
    };
    if prior.is_empty() || prior.iter().any(|p| p.contains('*')) {
        return false;
    }
    covers(&planned, &prior.into_iter().collect())
}

impl TokenState {
    fn ids(&self, diags: &mut Diagnostics) -> Option<(Uuid, Uuid)> {
        let user = diag::parse_uuid(diags, "user_id", self.user_id.as_ref_option()?)?;
        let token = diag::parse_uuid(diags, "id", self.id.as_ref_option()?)?;
        Some((user, token))
    }

    /// Copies the record into the state, keeping the value and, when it still describes what
    /// the server holds, the requested permission list (wildcards included).
    fn refresh(&mut self, user: Uuid, record: &PatRecord) {
        self.id = known(record.id.to_string());
        self.user_id = known(user.to_string());
        self.name = known(&record.name);
        self.expires_in_days = Value::Value(lifetime_days(record));
        self.expires_at = known(time(record.expires_at));
        match &record.permissions {
            None => self.permissions = Value::Null,
            Some(stored) => {
                let stored: BTreeSet<String> = stored.iter().cloned().collect();
                let keep = known_elements(&self.permissions)
                    .is_some_and(|requested| covers(&requested, &stored));
                if !keep {
                    self.permissions = set_of(stored);
                }
            }
        }
    }
}

impl ServiceAccountTokenResource {
    /// The token's record; `Ok(None)` when it (or its user) is gone, revoked or expired.
    async fn find(
        &self,
        diags: &mut Diagnostics,
        user: Uuid,
        token: Uuid,
    ) -> Option<Option<PatRecord>> {
        let client = self.0.client(diags)?;
        let found = find_in_pages(
            None,
            |params| {
                let client = client.clone();
                async move { client.list_user_tokens(user, &params).await }
            },
            |record| record.id == token,
        )
        .await;
        let action = format!("list the tokens of service account {user}");
        let record = diag::unless_not_found(diags, &action, found)?.flatten();
        Some(record.filter(|r| !r.expired && r.revoked_at.is_none()))
    }
}

#[async_trait]
impl Resource for ServiceAccountTokenResource {
    type State<'a> = TokenState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema(
            "A personal access token of a service account. Any change of an input replaces the \
             token (a new value is issued, the old token revoked). The value is returned by the \
             server only at creation and is **stored in the Terraform state**: protect the state. \
             An expired or revoked token is dropped from the state at refresh and planned for \
             re-creation. Import id: `<user_id>/<token_id>` (the value stays null).",
            vec![
                ("id", string(Computed, "The token's id (UUID).")),
                (
                    "user_id",
                    string(Required, "The service account's id (`justiam_user.x.id`)."),
                ),
                (
                    "name",
                    string(
                        Required,
                        "1–100 characters, unique among the account's active tokens.",
                    ),
                ),
                (
                    "expires_in_days",
                    number(Required, "Lifetime in days, 1–365."),
                ),
                (
                    "permissions",
                    string_set(
                        Optional,
                        "Fine-grained token: only these permissions (names or wildcards such as \
                         `*.view`, `users.*`), intersected with the account's own. Omit for the \
                         account's full power.",
                    ),
                ),
                (
                    "expires_at",
                    string(Computed, "When the token expires (RFC 3339)."),
                ),
                (
                    "token",
                    sensitive(string(
                        Computed,
                        "The token value (`justiam_pat_…`), known only when Terraform created the \
                         token; null after import.",
                    )),
                ),
            ],
        ))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        if let Value::Value(days) = config.expires_in_days
            && !(1..=365).contains(&days)
        {
            diag::error_at(
                diags,
                "expires_in_days",
                "Invalid expires_in_days",
                format!(
                    "expires_in_days must be a whole number of days from 1 to 365, not {days}."
                ),
            );
        }
        if let Value::Value(name) = &config.name {
            // The server's rule (justiam_types::rules::Name): counted as written, not blank.
            let length = name.chars().count();
            if name.trim().is_empty() || length > justiam_types::rules::NAME_MAX_CHARS {
                diag::error_at(
                    diags,
                    "name",
                    "Invalid token name",
                    "The token name must have 1 to 100 characters (spaces around it included) and \
                     not be blank.",
                );
            }
        }
        if let Some(items) = known_elements(&config.permissions) {
            if items.is_empty() && !has_unknown_element(&config.permissions) {
                diag::error_at(
                    diags,
                    "permissions",
                    "Empty permissions",
                    "A fine-grained token needs at least one permission; omit `permissions` for \
                     the account's full power.",
                );
            }
            let bad: Vec<String> = items
                .iter()
                .filter(|p| Permission::matching(p).next().is_none())
                .map(|p| format!("{p:?}"))
                .collect();
            if !bad.is_empty() {
                diag::error_at(
                    diags,
                    "permissions",
                    "Unknown permission",
                    format!(
                        "{} neither a permission of the catalogue nor a wildcard matching one. \
                         Known permissions: {}.",
                        bad.join(", "),
                        diag::catalogue_list()
                    ),
                );
            }
        }
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let (user, token) = state.ids(diags)?;
        let record = self.find(diags, user, token).await??;
        let mut state = state;
        state.refresh(user, &record);
        Some((state, private_state))
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let mut state = proposed_state;
        state.id = Value::Unknown;
        state.expires_at = Value::Unknown;
        state.token = Value::Unknown;
        Some((state, ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior_state: Self::State<'a>,
        proposed_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        prior_private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        let (prior, planned) = (&prior_state, &proposed_state);
        let replace = replacements([
            ("user_id", changed(&prior.user_id, &planned.user_id)),
            ("name", changed(&prior.name, &planned.name)),
            (
                "expires_in_days",
                changed(&prior.expires_in_days, &planned.expires_in_days),
            ),
            (
                "permissions",
                changed(&prior.permissions, &planned.permissions)
                    && !same_power(&prior.permissions, &planned.permissions),
            ),
        ]);
        Some((proposed_state, prior_private_state, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: Self::State<'a>,
        prior_private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::PrivateState<'a>> {
        Some(prior_private_state)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        planned_private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let client = self.0.client(diags)?;
        let user = diag::parse_uuid(diags, "user_id", planned_state.user_id.as_ref_option()?)?;
        let body = CreateToken {
            name: planned_state.name.as_ref_option()?.clone(),
            expires_in_days: *planned_state.expires_in_days.as_ref_option()?,
            permissions: known_elements(&planned_state.permissions),
        };
        let action = format!("create token {:?} for service account {user}", body.name);
        let created =
            diag::api_result(diags, &action, client.create_token(Some(user), &body).await)?;
        let mut state = planned_state;
        state.id = known(created.id.to_string());
        state.expires_at = known(time(created.expires_at));
        state.token = known(created.token);
        Some((state, planned_private_state))
    }

    async fn update<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: Self::State<'a>,
        planned_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        planned_private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        // Every input forces replacement: nothing to change in place.
        Some((planned_state, planned_private_state))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior_state: Self::State<'a>,
        _planned_private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let client = self.0.client(diags)?;
        let (user, token) = prior_state.ids(diags)?;
        let result = client.revoke_user_token(user, token).await;
        // Already gone is as good as revoked.
        let action = format!("revoke token {token} of service account {user}");
        diag::unless_not_found(diags, &action, result)?;
        Some(())
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let (user, token) = diag::parse_pair(diags, &id, "user_id", "token_id")?;
        match self.find(diags, user, token).await? {
            Some(record) => {
                let mut state = TokenState::default();
                state.refresh(user, &record);
                Some((state, ValueEmpty::default()))
            }
            None => {
                diag::error(
                    diags,
                    "Cannot import the token",
                    format!(
                        "Service account {user} has no active token {token} (it may be revoked, \
                         expired, or belong to another user)."
                    ),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::covers;
    use std::collections::BTreeSet;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn stored_expansion_of_wildcards_is_no_drift() {
        assert!(covers(&list(&["users.view"]), &set(&["users.view"])));
        assert!(covers(
            &list(&["*.view", "audit.view"]),
            &set(&["users.view", "groups.view", "audit.view"])
        ));
        assert!(!covers(
            &list(&["users.view"]),
            &set(&["users.view", "audit.view"])
        ));
        assert!(!covers(
            &list(&["users.view", "groups.view"]),
            &set(&["users.view"])
        ));
        assert!(!covers(&list(&["groups.*"]), &set(&["users.view"])));
    }
}

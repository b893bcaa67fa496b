//! `justiam_federated_credential`: trust in an outside issuer's tokens for a service account
//! (workload identity federation, docs/machine-identity.md). Every change replaces the credential
//! (the API has no update). Import id `<service_account_id>/<credential_id>`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use justiam_types::machine::{CreateFederatedCredential, FederatedCredential};
use serde::{Deserialize, Serialize};
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};
use uuid::Uuid;

use super::{changed, check_not_blank, replacements};
use crate::diag;
use crate::provider::Shared;
use crate::schema::{
    Computed, Optional, OptionalComputed, Required, known, schema, string, string_map, time,
};

pub struct FederatedCredentialResource(pub Shared);

/// Claim conditions as Terraform holds a map of strings.
pub type StringMap = Value<BTreeMap<String, Value<String>>>;

#[derive(Serialize, Deserialize, Default, Clone)]
#[serde(default)]
pub struct FederatedState {
    pub id: Value<String>,
    pub service_account_id: Value<String>,
    pub name: Value<String>,
    pub description: Value<String>,
    pub issuer: Value<String>,
    pub audience: Value<String>,
    pub subject: Value<String>,
    pub claims: StringMap,
    pub created_at: Value<String>,
}

impl FederatedState {
    fn of(fc: &FederatedCredential) -> FederatedState {
        FederatedState {
            id: known(format!("{}/{}", fc.user_id, fc.id)),
            service_account_id: known(fc.user_id.to_string()),
            name: known(fc.name.clone()),
            description: known(fc.description.clone()),
            issuer: known(fc.issuer.clone()),
            audience: known(fc.audience.clone()),
            subject: fc.subject.clone().map_or(Value::Null, known),
            claims: if fc.claims.is_empty() {
                Value::Null
            } else {
                Value::Value(
                    fc.claims
                        .iter()
                        .map(|(k, v)| (k.clone(), known(v.clone())))
                        .collect(),
                )
            },
            created_at: known(time(fc.created_at)),
        }
    }

    fn ids(&self, diags: &mut Diagnostics) -> Option<(Uuid, Uuid)> {
        diag::parse_pair(
            diags,
            self.id.as_ref_option()?,
            "service_account_id",
            "credential_id",
        )
    }
}

/// An empty map is no conditions, like an absent one.
fn normalized(claims: &StringMap) -> StringMap {
    match claims {
        Value::Value(map) if map.is_empty() => Value::Null,
        other => other.clone(),
    }
}

impl FederatedCredentialResource {
    async fn find(
        &self,
        diags: &mut Diagnostics,
        account: Uuid,
        id: Uuid,
    ) -> Option<Option<FederatedCredential>> {
        let client = self.0.client(diags)?;
        let action = format!("read federated credential {id} of service account {account}");
        diag::unless_not_found(
            diags,
            &action,
            client.get_federated_credential(account, id).await,
        )
    }
}

#[async_trait]
impl Resource for FederatedCredentialResource {
    type State<'a> = FederatedState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema(
            "Trust in an outside issuer (GitHub Actions, GitLab CI, a Kubernetes cluster, any \
             OpenID Connect issuer): its tokens with this audience whose subject and claims match \
             are exchanged at `/oauth2/token` for short-lived access tokens of the service \
             account. Every change replaces the credential. Import id: \
             `<service_account_id>/<credential_id>`.",
            vec![
                (
                    "id",
                    string(Computed, "`<service_account_id>/<credential_id>`."),
                ),
                (
                    "service_account_id",
                    string(Required, "The service account's id."),
                ),
                ("name", string(Required, "A name, 1 to 100 characters.")),
                (
                    "description",
                    string(OptionalComputed, "Free text (default empty)."),
                ),
                (
                    "issuer",
                    string(
                        Required,
                        "The issuer, exactly as its tokens' `iss` (https).",
                    ),
                ),
                (
                    "audience",
                    string(Required, "The `aud` its tokens must carry."),
                ),
                (
                    "subject",
                    string(Optional, "The exact `sub` its tokens must carry."),
                ),
                (
                    "claims",
                    string_map(
                        Optional,
                        "Claim conditions: each claim must equal the value, `*` matching any \
                         run of characters. A key is a top-level claim name, or, starting with \
                         `/`, an RFC 6901 JSON Pointer to a nested claim \
                         (`\"/kubernetes.io/namespace\" = \"ci\"`). `subject` or `claims` is \
                         required.",
                    ),
                ),
                (
                    "created_at",
                    string(Computed, "When it was created (RFC 3339)."),
                ),
            ],
        ))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        check_not_blank(diags, &config.name, "name must not be blank.");
        if let Value::Value(id) = &config.service_account_id {
            diag::parse_uuid(diags, "service_account_id", id);
        }
        if config.subject.is_null() && normalized(&config.claims).is_null() {
            diag::error_at(
                diags,
                "subject",
                "Missing conditions",
                "Set subject and/or claims: trusting every token of an issuer would let all of \
                 its workloads in.",
            );
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
        let (account, id) = state.ids(diags)?;
        let found = self.find(diags, account, id).await??;
        Some((FederatedState::of(&found), private_state))
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let mut state = proposed_state;
        if state.description.is_null() {
            state.description = known("");
        }
        state.claims = normalized(&state.claims);
        state.id = Value::Unknown;
        state.created_at = Value::Unknown;
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
        let prior = &prior_state;
        let mut state = proposed_state;
        if state.description.is_null() {
            state.description = known("");
        }
        state.claims = normalized(&state.claims);
        let replace = replacements([
            (
                "service_account_id",
                changed(&prior.service_account_id, &state.service_account_id),
            ),
            ("name", changed(&prior.name, &state.name)),
            (
                "description",
                changed(&prior.description, &state.description),
            ),
            ("issuer", changed(&prior.issuer, &state.issuer)),
            ("audience", changed(&prior.audience, &state.audience)),
            ("subject", changed(&prior.subject, &state.subject)),
            ("claims", changed(&normalized(&prior.claims), &state.claims)),
        ]);
        if !replace.is_empty() {
            state.id = Value::Unknown;
            state.created_at = Value::Unknown;
        }
        Some((state, prior_private_state, replace))
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
        let account = diag::parse_uuid(
            diags,
            "service_account_id",
            planned_state.service_account_id.as_ref_option()?,
        )?;
        let claims = match &planned_state.claims {
            Value::Value(map) => map
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_ref_option()?.clone())))
                .collect(),
            _ => BTreeMap::new(),
        };
        let body = CreateFederatedCredential {
            name: planned_state.name.as_ref_option()?.clone(),
            description: planned_state
                .description
                .as_ref_option()
                .cloned()
                .unwrap_or_default(),
            issuer: planned_state.issuer.as_ref_option()?.clone(),
            audience: planned_state.audience.as_ref_option()?.clone(),
            subject: planned_state.subject.as_ref_option().cloned(),
            claims,
        };
        let action = format!("create a federated credential of service account {account}");
        let created = diag::api_result(
            diags,
            &action,
            client.create_federated_credential(account, &body).await,
        )?;
        Some((FederatedState::of(&created), planned_private_state))
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
        let (account, id) = prior_state.ids(diags)?;
        let action = format!("delete federated credential {id} of service account {account}");
        diag::unless_not_found(
            diags,
            &action,
            client.delete_federated_credential(account, id).await,
        )?;
        Some(())
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let (account, fc) = diag::parse_pair(diags, &id, "service_account_id", "credential_id")?;
        match self.find(diags, account, fc).await? {
            Some(found) => Some((FederatedState::of(&found), ValueEmpty::default())),
            None => {
                diag::error(
                    diags,
                    "Cannot import the federated credential",
                    format!("Service account {account} has no federated credential {fc}."),
                );
                None
            }
        }
    }
}

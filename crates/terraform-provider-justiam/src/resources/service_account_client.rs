//! `justiam_service_account_client`: an OAuth client of a service account, for the
//! `client_credentials` grant (docs/machine-identity.md). Every change replaces the client (the
//! API has no update). Import id `<service_account_id>/<client_id>` (the client's id, a UUID).

use async_trait::async_trait;
use justiam_types::machine::{ClientAuthMethod, CreateServiceAccountClient, ServiceAccountClient};
use serde::{Deserialize, Serialize};
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};
use uuid::Uuid;

use super::{changed, check_not_blank, replacements};
use crate::diag;
use crate::provider::Shared;
use crate::schema::{
    Computed, Optional, OptionalComputed, Required, known, schema, sensitive, string, time,
};

pub struct ServiceAccountClientResource(pub Shared);

#[derive(Serialize, Deserialize, Default, Clone)]
#[serde(default)]
pub struct ClientState {
    pub id: Value<String>,
    pub service_account_id: Value<String>,
    pub name: Value<String>,
    pub description: Value<String>,
    pub auth_method: Value<String>,
    pub public_key_pem: Value<String>,
    pub jwks: Value<String>,
    pub client_id: Value<String>,
    pub client_secret: Value<String>,
    pub secret_hint: Value<String>,
    pub created_at: Value<String>,
}

impl ClientState {
    /// The state of `client` as the API shows it; what it never shows again (the secret, the key
    /// as written) is carried over from `prior`.
    fn of(client: &ServiceAccountClient, prior: &ClientState) -> ClientState {
        ClientState {
            id: known(format!("{}/{}", client.user_id, client.id)),
            service_account_id: known(client.user_id.to_string()),
            name: known(client.name.clone()),
            description: known(client.description.clone()),
            auth_method: known(client.auth_method.as_str()),
            public_key_pem: prior.public_key_pem.clone(),
            jwks: prior.jwks.clone(),
            client_id: known(client.client_id.clone()),
            // A secret that is no longer the client's (the client was replaced elsewhere) must
            // not stay in the state looking usable.
            client_secret: match (&prior.client_secret, &client.secret_hint) {
                (Value::Value(secret), Some(hint))
                    if secret.ends_with(hint.trim_start_matches('…')) =>
                {
                    prior.client_secret.clone()
                }
                _ => Value::Null,
            },
            secret_hint: client.secret_hint.clone().map_or(Value::Null, known),
            created_at: known(time(client.created_at)),
        }
    }

    fn ids(&self, diags: &mut Diagnostics) -> Option<(Uuid, Uuid)> {
        diag::parse_pair(
            diags,
            self.id.as_ref_option()?,
            "service_account_id",
            "client_id",
        )
    }
}

impl ServiceAccountClientResource {
    async fn find(
        &self,
        diags: &mut Diagnostics,
        account: Uuid,
        id: Uuid,
    ) -> Option<Option<ServiceAccountClient>> {
        let client = self.0.client(diags)?;
        let action = format!("read client {id} of service account {account}");
        diag::unless_not_found(
            diags,
            &action,
            client.get_service_account_client(account, id).await,
        )
    }
}

#[async_trait]
impl Resource for ServiceAccountClientResource {
    type State<'a> = ClientState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema(
            "An OAuth client of a service account: it gets short-lived access tokens with the \
             `client_credentials` grant at `/oauth2/token`, with a generated secret or a JWT \
             signed by its own key (`private_key_jwt`). Every change replaces the client. Import \
             id: `<service_account_id>/<id of the client>`.",
            vec![
                (
                    "id",
                    string(Computed, "`<service_account_id>/<id of the client>`."),
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
                    "auth_method",
                    string(
                        OptionalComputed,
                        "`client_secret` (default: a generated secret) or `private_key_jwt`.",
                    ),
                ),
                (
                    "public_key_pem",
                    string(
                        Optional,
                        "For `private_key_jwt`: one PEM public key (RSA ≥ 2048 bits or EC P-256).",
                    ),
                ),
                (
                    "jwks",
                    string(
                        Optional,
                        "For `private_key_jwt`: the public keys as a JWKS JSON document (`jsonencode({keys = [...]})`).",
                    ),
                ),
                (
                    "client_id",
                    string(Computed, "The OAuth `client_id` (`justiam_sa_…`)."),
                ),
                (
                    "client_secret",
                    sensitive(string(
                        Computed,
                        "The secret (`justiam_cs_…`), known only when Terraform created the \
                         client; null after import.",
                    )),
                ),
                (
                    "secret_hint",
                    string(Computed, "`…` and the secret's last four characters."),
                ),
                (
                    "created_at",
                    string(Computed, "When the client was created (RFC 3339)."),
                ),
            ],
        ))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        check_not_blank(diags, &config.name, "name must not be blank.");
        if let Value::Value(id) = &config.service_account_id {
            diag::parse_uuid(diags, "service_account_id", id);
        }
        let keyed = !config.public_key_pem.is_null() || !config.jwks.is_null();
        match config.auth_method.as_ref_option().map(String::as_str) {
            None | Some("client_secret") if keyed => diag::error_at(
                diags,
                "auth_method",
                "A key without private_key_jwt",
                "public_key_pem and jwks are for auth_method = \"private_key_jwt\".",
            ),
            Some("private_key_jwt") if !keyed => diag::error_at(
                diags,
                "public_key_pem",
                "Missing public key",
                "auth_method = \"private_key_jwt\" needs public_key_pem or jwks.",
            ),
            Some(other) if ClientAuthMethod::parse(other).is_none() => diag::error_at(
                diags,
                "auth_method",
                "Invalid auth_method",
                format!("auth_method must be client_secret or private_key_jwt, not {other:?}."),
            ),
            _ => {}
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
        // Gone: forget it, so the next plan re-creates it.
        let found = self.find(diags, account, id).await??;
        Some((ClientState::of(&found, &state), private_state))
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let mut state = proposed_state;
        let keyed = !state.public_key_pem.is_null() || !state.jwks.is_null();
        if state.auth_method.is_null() || state.auth_method.is_unknown() {
            state.auth_method = known(if keyed {
                "private_key_jwt"
            } else {
                "client_secret"
            });
        }
        if state.description.is_null() {
            state.description = known("");
        }
        for computed in [&mut state.id, &mut state.client_id, &mut state.created_at] {
            *computed = Value::Unknown;
        }
        let secret = state.auth_method.as_ref_option().map(String::as_str) == Some("client_secret");
        state.client_secret = if secret { Value::Unknown } else { Value::Null };
        state.secret_hint = if secret { Value::Unknown } else { Value::Null };
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
        let mut state = proposed_state.clone();
        if state.description.is_null() {
            state.description = known("");
        }
        if state.auth_method.is_null() {
            state.auth_method = prior.auth_method.clone();
        }
        let replace = replacements([
            (
                "service_account_id",
                changed(&prior.service_account_id, &planned.service_account_id),
            ),
            ("name", changed(&prior.name, &planned.name)),
            (
                "description",
                changed(&prior.description, &state.description),
            ),
            (
                "auth_method",
                changed(&prior.auth_method, &state.auth_method),
            ),
            // The API does not give the key back as it was written: after an import the state
            // has none, and the configuration's is taken as it is (the server holds the key).
            (
                "public_key_pem",
                !prior.public_key_pem.is_null()
                    && changed(&prior.public_key_pem, &planned.public_key_pem),
            ),
            (
                "jwks",
                !prior.jwks.is_null() && changed(&prior.jwks, &planned.jwks),
            ),
        ]);
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
        let jwks = match planned_state.jwks.as_ref_option() {
            Some(text) => match serde_json::from_str(text) {
                Ok(value) => Some(value),
                Err(e) => {
                    diag::error_at(
                        diags,
                        "jwks",
                        "Invalid jwks",
                        format!("jwks is not JSON: {e}"),
                    );
                    return None;
                }
            },
            None => None,
        };
        let body = CreateServiceAccountClient {
            name: planned_state.name.as_ref_option()?.clone(),
            description: planned_state
                .description
                .as_ref_option()
                .cloned()
                .unwrap_or_default(),
            auth_method: planned_state
                .auth_method
                .as_ref_option()
                .and_then(|m| ClientAuthMethod::parse(m))
                .unwrap_or_default(),
            jwks,
            public_key_pem: planned_state.public_key_pem.as_ref_option().cloned(),
        };
        let action = format!("create a client of service account {account}");
        let created = diag::api_result(
            diags,
            &action,
            client.create_service_account_client(account, &body).await,
        )?;
        let mut prior = planned_state.clone();
        prior.client_secret = created
            .client_secret
            .clone()
            .map_or(Value::Null, Value::Value);
        Some((
            ClientState::of(&created.client, &prior),
            planned_private_state,
        ))
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
        // Every attribute forces replacement: nothing to change in place.
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
        let action = format!("delete client {id} of service account {account}");
        // Already gone is as good as deleted.
        diag::unless_not_found(
            diags,
            &action,
            client.delete_service_account_client(account, id).await,
        )?;
        Some(())
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let (account, client) = diag::parse_pair(diags, &id, "service_account_id", "client_id")?;
        match self.find(diags, account, client).await? {
            Some(found) => Some((
                ClientState::of(&found, &ClientState::default()),
                ValueEmpty::default(),
            )),
            None => {
                diag::error(
                    diags,
                    "Cannot import the service account client",
                    format!("Service account {account} has no client {client}."),
                );
                None
            }
        }
    }
}

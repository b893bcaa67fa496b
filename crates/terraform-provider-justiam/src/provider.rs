//! The provider: configuration (`endpoint`, `token`) and the list of resources and data sources.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use justiam_client::Client;
use serde::{Deserialize, Serialize};
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{Diagnostics, map};
use tf_provider::{DynamicDataSource, DynamicResource, Provider};

use crate::data_sources::{AdminRoleData, ApplicationData, GroupData, UserData};
use crate::diag;
use crate::resources::{
    AdminRoleResource, AppMappingResource, ApplicationGrantResource, ApplicationResource,
    FederatedCredentialResource, GroupAdminRoleResource, GroupMemberResource, GroupResource,
    ServiceAccountClientResource, ServiceAccountTokenResource, UserResource, WebhookResource,
};
use crate::schema::{Optional, schema, sensitive, string};

pub const ENDPOINT_ENV: &str = "JUSTIAM_ENDPOINT";
pub const TOKEN_ENV: &str = "JUSTIAM_TOKEN";

/// The configured client, shared by the provider and everything it serves. Terraform asks for the
/// resources before it configures the provider, so they hold this handle, not a client.
#[derive(Clone, Default)]
pub struct Shared(Arc<RwLock<Option<Client>>>);

impl Shared {
    /// The configured client, or a diagnostic saying the provider is not configured.
    pub fn client(&self, diags: &mut Diagnostics) -> Option<Client> {
        let client = self.0.read().ok().and_then(|guard| guard.clone());
        if client.is_none() {
            diag::error(
                diags,
                "The justiam provider is not configured",
                "Terraform called the provider before configuring it. Check the `provider \
                 \"justiam\"` block: its `endpoint` and `token` must be known before apply.",
            );
        }
        client
    }

    fn set(&self, client: Client) {
        if let Ok(mut guard) = self.0.write() {
            *guard = Some(client);
        }
    }
}

#[derive(Default)]
pub struct JustIamProvider {
    shared: Shared,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ProviderConfig {
    endpoint: Value<String>,
    token: Value<String>,
}

/// An explicit value, else the environment variable; empty strings count as absent.
fn resolve(value: &Value<String>, env: &str) -> Option<String> {
    match value {
        Value::Value(v) if !v.trim().is_empty() => Some(v.trim().to_owned()),
        _ => std::env::var(env)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty()),
    }
}

#[async_trait]
impl Provider for JustIamProvider {
    type Config<'a> = ProviderConfig;
    type MetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema(
            "Manages users, service accounts and their tokens, groups, admin roles and \
             applications of a JustIAM server.",
            vec![
                (
                    "endpoint",
                    string(
                        Optional,
                        "Base URL of the JustIAM server, e.g. `https://justiam.example.com`. \
                         Defaults to the `JUSTIAM_ENDPOINT` environment variable.",
                    ),
                ),
                (
                    "token",
                    sensitive(string(
                        Optional,
                        "A personal access token (`justiam_pat_…`), a service account's access \
                         token (client credentials or token exchange, docs/machine-identity.md) or \
                         a portal JWT. Defaults to the `JUSTIAM_TOKEN` environment variable.",
                    )),
                ),
            ],
        ))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::Config<'a>) -> Option<()> {
        if let Value::Value(endpoint) = &config.endpoint {
            check_endpoint(diags, endpoint);
        }
        Some(())
    }

    async fn configure<'a>(
        &self,
        diags: &mut Diagnostics,
        _terraform_version: String,
        config: Self::Config<'a>,
    ) -> Option<()> {
        if config.endpoint.is_unknown() || config.token.is_unknown() {
            diag::error(
                diags,
                "The justiam provider's configuration is not known yet",
                "`endpoint` and `token` depend on values known only after apply. Give them \
                 values known at plan time (variables, or the JUSTIAM_ENDPOINT and JUSTIAM_TOKEN \
                 environment variables).",
            );
            return None;
        }
        let endpoint = resolve(&config.endpoint, ENDPOINT_ENV);
        let token = resolve(&config.token, TOKEN_ENV);
        let Some(endpoint) = endpoint else {
            diag::error_at(
                diags,
                "endpoint",
                "Missing JustIAM endpoint",
                "Set `endpoint` in the `provider \"justiam\"` block (e.g. \
                 \"https://justiam.example.com\") or the JUSTIAM_ENDPOINT environment variable.",
            );
            return None;
        };
        if !check_endpoint(diags, &endpoint) {
            return None;
        }
        let Some(token) = token else {
            diag::error_at(
                diags,
                "token",
                "Missing JustIAM token",
                "Set `token` in the `provider \"justiam\"` block or the JUSTIAM_TOKEN environment \
                 variable to a personal access token (justiam_pat_…) or a portal JWT of a user \
                 allowed to manage what this configuration declares.",
            );
            return None;
        };
        let client = Client::new(&endpoint).with_token(token);
        match client.me().await {
            Ok(_) => {}
            Err(err) if err.status().is_some_and(|s| s.as_u16() == 401) => {
                diag::error(
                    diags,
                    "JustIAM refused the provider's token",
                    format!(
                        "{endpoint} answered 401 to GET /api/v1/me: the token is invalid, \
                         expired or revoked, or its owner is deactivated. Create a new token and \
                         set it in `token` or JUSTIAM_TOKEN.\n\n{}",
                        diag::describe(&err)
                    ),
                );
                return None;
            }
            Err(err) => {
                diag::error(
                    diags,
                    format!("Could not connect to JustIAM at {endpoint}"),
                    format!(
                        "GET /api/v1/me failed. Check `endpoint` (or JUSTIAM_ENDPOINT) and that \
                         the server is up.\n\n{}",
                        diag::describe(&err)
                    ),
                );
                return None;
            }
        }
        self.shared.set(client);
        Some(())
    }

    fn get_resources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        // tf-provider prefixes each name with the provider's: `user` is `justiam_user`.
        let s = &self.shared;
        Some(map! {
            "user" => UserResource::new(s.clone()),
            "group" => GroupResource::new(s.clone()),
            "group_member" => GroupMemberResource::new(s.clone()),
            "admin_role" => AdminRoleResource::new(s.clone()),
            "group_admin_role" => GroupAdminRoleResource::new(s.clone()),
            "service_account_token" => ServiceAccountTokenResource(s.clone()),
            "application" => ApplicationResource::new(s.clone()),
            "application_grant" => ApplicationGrantResource(s.clone()),
            "app_mapping" => AppMappingResource::new(s.clone()),
            "webhook" => WebhookResource::new(s.clone()),
            "service_account_client" => ServiceAccountClientResource(s.clone()),
            "federated_credential" => FederatedCredentialResource(s.clone()),
        })
    }

    fn get_data_sources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        let s = &self.shared;
        Some(map! {
            "user" => UserData(s.clone()),
            "group" => GroupData(s.clone()),
            "admin_role" => AdminRoleData(s.clone()),
            "application" => ApplicationData(s.clone()),
        })
    }
}

fn check_endpoint(diags: &mut Diagnostics, endpoint: &str) -> bool {
    let ok = endpoint.starts_with("http://") || endpoint.starts_with("https://");
    if !ok {
        diag::error_at(
            diags,
            "endpoint",
            "Invalid JustIAM endpoint",
            format!(
                "{endpoint:?} is not an http:// or https:// URL; expected something like \
                 \"https://justiam.example.com\"."
            ),
        );
    }
    ok
}

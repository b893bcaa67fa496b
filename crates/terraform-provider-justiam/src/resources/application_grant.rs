//! `justiam_application_grant`: lets one user or one group sign in to an `access_restricted`
//! application. Every change replaces the grant. Import id `<application_id>/<grant_id>`.

use async_trait::async_trait;
use justiam_types::application::{ApplicationGrant, CreateApplicationGrant};
use serde::{Deserialize, Serialize};
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};
use uuid::Uuid;

use super::{changed, find_in_pages, replacements};
use crate::diag;
use crate::provider::Shared;
use crate::schema::{Computed, Optional, Required, known, schema, string};

pub struct ApplicationGrantResource(pub Shared);

#[derive(Serialize, Deserialize, Default, Clone)]
#[serde(default)]
pub struct GrantState {
    pub id: Value<String>,
    pub application_id: Value<String>,
    pub user_id: Value<String>,
    pub group_id: Value<String>,
}

impl GrantState {
    fn of(grant: &ApplicationGrant) -> GrantState {
        let id = |value: Option<Uuid>| value.map_or(Value::Null, |id| known(id.to_string()));
        GrantState {
            id: known(format!("{}/{}", grant.application_id, grant.id)),
            application_id: known(grant.application_id.to_string()),
            user_id: id(grant.user_id),
            group_id: id(grant.group_id),
        }
    }

    /// `(application id, grant id)` from the state's `id`.
    fn ids(&self, diags: &mut Diagnostics) -> Option<(Uuid, Uuid)> {
        diag::parse_pair(
            diags,
            self.id.as_ref_option()?,
            "application_id",
            "grant_id",
        )
    }
}

impl ApplicationGrantResource {
    /// The grant; `Ok(None)` when it (or its application) is gone.
    async fn find(
        &self,
        diags: &mut Diagnostics,
        app: Uuid,
        grant: Uuid,
    ) -> Option<Option<ApplicationGrant>> {
        let client = self.0.client(diags)?;
        let found = find_in_pages(
            None,
            |params| {
                let client = client.clone();
                async move { client.list_application_grants(app, &params).await }
            },
            |item| item.id == grant,
        )
        .await;
        let action = format!("list the grants of application {app}");
        Some(diag::unless_not_found(diags, &action, found)?.flatten())
    }
}

#[async_trait]
impl Resource for ApplicationGrantResource {
    type State<'a> = GrantState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema(
            "Lets a user or a group (exactly one) sign in to an application whose \
             `access_restricted` is true; a group's grant covers its members. Changing an id \
             replaces the grant. Import id: `<application_id>/<grant_id>`.",
            vec![
                ("id", string(Computed, "`<application_id>/<grant_id>`.")),
                (
                    "application_id",
                    string(
                        Required,
                        "The application's id (`justiam_application.x.id`).",
                    ),
                ),
                ("user_id", string(Optional, "The user's id.")),
                ("group_id", string(Optional, "The group's id.")),
            ],
        ))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        match (config.user_id.is_null(), config.group_id.is_null()) {
            (true, true) => diag::error(
                diags,
                "Missing grant holder",
                "Set `user_id` or `group_id` to say who may sign in.",
            ),
            (false, false) => diag::error(
                diags,
                "Ambiguous grant holder",
                "Set only one of `user_id` and `group_id`: a grant is for one user or one group.",
            ),
            _ => {}
        }
        for (attribute, value) in [
            ("application_id", &config.application_id),
            ("user_id", &config.user_id),
            ("group_id", &config.group_id),
        ] {
            if let Value::Value(id) = value {
                diag::parse_uuid(diags, attribute, id);
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
        let (app, grant) = state.ids(diags)?;
        // Gone (or its application is): forget it, so the next plan re-creates it.
        let grant = self.find(diags, app, grant).await??;
        Some((GrantState::of(&grant), private_state))
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
            (
                "application_id",
                changed(&prior.application_id, &planned.application_id),
            ),
            ("user_id", changed(&prior.user_id, &planned.user_id)),
            ("group_id", changed(&prior.group_id, &planned.group_id)),
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
        let app = diag::parse_uuid(
            diags,
            "application_id",
            planned_state.application_id.as_ref_option()?,
        )?;
        let holder = |diags: &mut Diagnostics, attribute: &str, value: &Value<String>| {
            value
                .as_ref_option()
                .and_then(|id| diag::parse_uuid(diags, attribute, id))
        };
        let body = CreateApplicationGrant {
            user_id: holder(diags, "user_id", &planned_state.user_id),
            group_id: holder(diags, "group_id", &planned_state.group_id),
        };
        let who = match (body.user_id, body.group_id) {
            (Some(user), _) => format!("user {user}"),
            (None, Some(group)) => format!("group {group}"),
            (None, None) => return None,
        };
        let action = format!("grant {who} access to application {app}");
        let grant = diag::api_result(
            diags,
            &action,
            client.create_application_grant(app, &body).await,
        )?;
        Some((GrantState::of(&grant), planned_private_state))
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
        let (app, grant) = prior_state.ids(diags)?;
        let result = client.delete_application_grant(app, grant).await;
        // Already gone is as good as removed.
        let action = format!("remove grant {grant} of application {app}");
        diag::unless_not_found(diags, &action, result)?;
        Some(())
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let (app, grant) = diag::parse_pair(diags, &id, "application_id", "grant_id")?;
        match self.find(diags, app, grant).await? {
            Some(found) => Some((GrantState::of(&found), ValueEmpty::default())),
            None => {
                diag::error(
                    diags,
                    "Cannot import the application grant",
                    format!(
                        "Application {app} has no grant {grant} (or the application does not \
                         exist)."
                    ),
                );
                None
            }
        }
    }
}

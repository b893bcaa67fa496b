//! `justiam_app_mapping`: an app role mapping, a value users and groups can hold for one
//! application (the `roles` claim and `${<variable>}` in claim mappings).

use async_trait::async_trait;
use justiam_client::{Client, Result};
use justiam_types::application::{AppMapping, CreateAppMapping, UpdateAppMapping};
use serde::{Deserialize, Serialize};
use tf_provider::schema::Schema;
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};
use uuid::Uuid;

use super::object::{Object, ObjectResource};
use super::{changed, delta, replacements};
use crate::diag;
use crate::schema::{Computed, OptionalComputed, Required, known, schema, string};

pub type AppMappingResource = ObjectResource<AppMappingObject>;

pub struct AppMappingObject;

#[derive(Serialize, Deserialize, Default, Clone)]
#[serde(default)]
pub struct AppMappingState {
    pub id: Value<String>,
    pub application_id: Value<String>,
    pub variable_name: Value<String>,
    pub value: Value<String>,
    pub description: Value<String>,
}

#[async_trait]
impl Object for AppMappingObject {
    type State = AppMappingState;
    type Model = AppMapping;

    const KIND: &'static str = "app mapping";

    fn schema() -> Schema {
        schema(
            "An app role mapping: a `variable_name` and a `value` for one application, given to \
             users and groups (`justiam app-mapping assign`). Import id: the mapping's id.",
            vec![
                ("id", string(Computed, "The mapping's id (UUID).")),
                (
                    "application_id",
                    string(
                        Required,
                        "The application's id (`justiam_application.x.id`). Changing it replaces \
                         the mapping.",
                    ),
                ),
                (
                    "variable_name",
                    string(
                        Required,
                        "The variable the value is published under: `${<variable_name>}` in \
                         claim mappings.",
                    ),
                ),
                (
                    "value",
                    string(
                        Required,
                        "The value, e.g. `editor`; the `roles` claim lists the values a user holds.",
                    ),
                ),
                ("description", string(OptionalComputed, "Default `\"\"`.")),
            ],
        )
    }

    fn validate(diags: &mut Diagnostics, config: &AppMappingState) {
        if let Value::Value(id) = &config.application_id {
            diag::parse_uuid(diags, "application_id", id);
        }
        if let Value::Value(name) = &config.variable_name
            && name.trim().is_empty()
        {
            diag::error_at(
                diags,
                "variable_name",
                "Invalid variable_name",
                "The variable name must not be empty.",
            );
        }
    }

    fn id(state: &AppMappingState) -> &Value<String> {
        &state.id
    }

    fn refresh(state: &mut AppMappingState, mapping: &AppMapping) {
        state.id = known(mapping.id.to_string());
        state.application_id = known(mapping.application_id.to_string());
        state.variable_name = known(&mapping.variable_name);
        state.value = known(&mapping.value);
        state.description = known(&mapping.description);
    }

    fn apply_defaults(state: &mut AppMappingState, config: &AppMappingState) {
        if config.description.is_null() {
            state.description = known("");
        }
    }

    fn unknown_at_create(state: &mut AppMappingState) {
        state.id = Value::Unknown;
    }

    fn replacements(
        _diags: &mut Diagnostics,
        prior: &AppMappingState,
        planned: &AppMappingState,
    ) -> Vec<AttributePath> {
        replacements([(
            "application_id",
            changed(&prior.application_id, &planned.application_id),
        )])
    }

    async fn get(client: &Client, id: Uuid) -> Result<AppMapping> {
        client.get_app_mapping(id).await
    }

    async fn create(
        client: &Client,
        planned: &AppMappingState,
    ) -> Option<(String, Result<AppMapping>)> {
        let application_id = Uuid::parse_str(planned.application_id.as_ref_option()?).ok()?;
        let input = CreateAppMapping {
            application_id,
            variable_name: planned.variable_name.as_ref_option()?.clone(),
            value: planned.value.as_ref_option()?.clone(),
            description: planned.description.as_ref_option().cloned(),
        };
        Some((
            format!("{}={:?}", input.variable_name, input.value),
            client.create_app_mapping(&input).await,
        ))
    }

    async fn update(
        client: &Client,
        id: Uuid,
        prior: &AppMappingState,
        planned: &AppMappingState,
    ) -> Result<AppMapping> {
        let update = UpdateAppMapping {
            variable_name: delta(&prior.variable_name, &planned.variable_name),
            value: delta(&prior.value, &planned.value),
            description: delta(&prior.description, &planned.description),
        };
        if update == UpdateAppMapping::default() {
            client.get_app_mapping(id).await
        } else {
            client.update_app_mapping(id, &update).await
        }
    }

    async fn delete(client: &Client, id: Uuid) -> Result<()> {
        client.delete_app_mapping(id).await
    }
}

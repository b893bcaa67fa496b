//! The resources that are one API object with a UUID id (`justiam_user`, `justiam_group`,
//! `justiam_admin_role`, `justiam_application`, `justiam_app_mapping`). Reading, planning, creating, updating, deleting and importing by id go
//! the same way for all of them; an [`Object`] says what is specific to one.

use std::marker::PhantomData;

use async_trait::async_trait;
use justiam_client::{Client, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};
use uuid::Uuid;

use crate::diag;
use crate::provider::Shared;

/// What one kind of API object brings to [`ObjectResource`].
#[async_trait]
pub trait Object: Send + Sync + 'static {
    type State: Serialize + DeserializeOwned + Default + Send + Sync;
    type Model: Send + Sync;

    /// How diagnostics name the kind: "user", "group", "admin role".
    const KIND: &'static str;

    fn schema() -> Schema;

    /// Plan-time checks of the configuration.
    fn validate(diags: &mut Diagnostics, config: &Self::State);

    /// The `id` attribute.
    fn id(state: &Self::State) -> &Value<String>;

    /// Copies what the API says into the state.
    fn refresh(state: &mut Self::State, model: &Self::Model);

    /// Fills the defaults of optional attributes the configuration leaves out (at every plan).
    fn apply_defaults(state: &mut Self::State, config: &Self::State);

    /// Marks what the server computes at creation as unknown.
    fn unknown_at_create(state: &mut Self::State);

    /// Marks what the planned in-place change will make the server recompute as unknown (nothing
    /// by default).
    fn unknown_at_update(_prior: &Self::State, _planned: &mut Self::State) {}

    /// The attributes whose change replaces the object (none by default); may warn about a
    /// change.
    fn replacements(
        _diags: &mut Diagnostics,
        _prior: &Self::State,
        _planned: &Self::State,
    ) -> Vec<AttributePath> {
        Vec::new()
    }

    async fn get(client: &Client, id: Uuid) -> Result<Self::Model>;

    /// Creates the object: how diagnostics name the new object, and the answer. `None` when a
    /// required attribute is not known.
    async fn create(
        client: &Client,
        planned: &Self::State,
    ) -> Option<(String, Result<Self::Model>)>;

    async fn update(
        client: &Client,
        id: Uuid,
        prior: &Self::State,
        planned: &Self::State,
    ) -> Result<Self::Model>;

    async fn delete(client: &Client, id: Uuid) -> Result<()>;
}

/// The resource of an [`Object`].
pub struct ObjectResource<O>(Shared, PhantomData<O>);

impl<O> ObjectResource<O> {
    pub fn new(shared: Shared) -> Self {
        ObjectResource(shared, PhantomData)
    }
}

impl<O: Object> ObjectResource<O> {
    /// The configured client and the object's id in `state`.
    fn target(&self, diags: &mut Diagnostics, state: &O::State) -> Option<(Client, Uuid)> {
        let client = self.0.client(diags)?;
        let id = diag::parse_uuid(diags, "id", O::id(state).as_ref_option()?)?;
        Some((client, id))
    }
}

#[async_trait]
impl<O: Object> Resource for ObjectResource<O> {
    type State<'a> = O::State;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(O::schema())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        O::validate(diags, &config);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let (client, id) = self.target(diags, &state)?;
        let result = O::get(&client, id).await;
        // Deleted outside Terraform: forget it, so the next plan re-creates it.
        let model = diag::unless_not_found(diags, &format!("read {} {id}", O::KIND), result)??;
        let mut state = state;
        O::refresh(&mut state, &model);
        Some((state, private_state))
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed_state: Self::State<'a>,
        config_state: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let mut state = proposed_state;
        O::apply_defaults(&mut state, &config_state);
        O::unknown_at_create(&mut state);
        Some((state, ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior_state: Self::State<'a>,
        proposed_state: Self::State<'a>,
        config_state: Self::State<'a>,
        prior_private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        let mut state = proposed_state;
        O::apply_defaults(&mut state, &config_state);
        O::unknown_at_update(&prior_state, &mut state);
        let replace = O::replacements(diags, &prior_state, &state);
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
        let (name, result) = O::create(&client, &planned_state).await?;
        let model = diag::api_result(diags, &format!("create {} {name}", O::KIND), result)?;
        let mut state = planned_state;
        O::refresh(&mut state, &model);
        Some((state, planned_private_state))
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior_state: Self::State<'a>,
        planned_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        planned_private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let (client, id) = self.target(diags, &prior_state)?;
        let result = O::update(&client, id, &prior_state, &planned_state).await;
        let model = diag::api_result(diags, &format!("update {} {id}", O::KIND), result)?;
        let mut state = planned_state;
        O::refresh(&mut state, &model);
        Some((state, planned_private_state))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior_state: Self::State<'a>,
        _planned_private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let (client, id) = self.target(diags, &prior_state)?;
        let result = O::delete(&client, id).await;
        // Already gone is as good as deleted.
        diag::unless_not_found(diags, &format!("delete {} {id}", O::KIND), result)?;
        Some(())
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let client = self.0.client(diags)?;
        let uuid = diag::parse_uuid(diags, "id", id.trim())?;
        let result = O::get(&client, uuid).await;
        let model = diag::api_result(diags, &format!("import {} {uuid}", O::KIND), result)?;
        let mut state = O::State::default();
        O::refresh(&mut state, &model);
        Some((state, ValueEmpty::default()))
    }
}

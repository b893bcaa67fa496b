//! The resources that link a group to another object (`justiam_group_member`,
//! `justiam_group_admin_role`): the state is `id` (`<group_id>/<other id>`), `group_id` and the
//! other object's id, every change replaces the link, and a link that is gone is dropped from the
//! state. A [`Link`] says what is specific to one.

use std::marker::PhantomData;

use async_trait::async_trait;
use justiam_client::{Client, ListParams, Result};
use justiam_types::Page;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};
use uuid::Uuid;

use super::{changed, find_in_pages, replacements};
use crate::diag;
use crate::provider::Shared;
use crate::schema::known;

/// The state of a link: `id`, `group_id` and the other id.
pub trait LinkState: Serialize + DeserializeOwned + Default + Send + Sync {
    fn new(id: Value<String>, group: Value<String>, other: Value<String>) -> Self;

    /// `(id, group_id, other id)`.
    fn parts(&self) -> (&Value<String>, &Value<String>, &Value<String>);
}

/// Defines the state struct of a link, whose other id is the attribute `$other`.
macro_rules! link_state {
    ($name:ident, $other:ident) => {
        #[derive(serde::Serialize, serde::Deserialize, Default, Clone)]
        #[serde(default)]
        pub struct $name {
            pub id: tf_provider::value::Value<String>,
            pub group_id: tf_provider::value::Value<String>,
            pub $other: tf_provider::value::Value<String>,
        }

        impl $crate::resources::link::LinkState for $name {
            fn new(
                id: tf_provider::value::Value<String>,
                group_id: tf_provider::value::Value<String>,
                $other: tf_provider::value::Value<String>,
            ) -> Self {
                $name {
                    id,
                    group_id,
                    $other,
                }
            }

            fn parts(
                &self,
            ) -> (
                &tf_provider::value::Value<String>,
                &tf_provider::value::Value<String>,
                &tf_provider::value::Value<String>,
            ) {
                (&self.id, &self.group_id, &self.$other)
            }
        }
    };
}
pub(crate) use link_state;

/// What one kind of link brings to [`LinkResource`]. The texts complete diagnostics: "Could not
/// <action>".
#[async_trait]
pub trait Link: Send + Sync + 'static {
    type State: LinkState;
    /// An item of the group's list of linked objects.
    type Item: Send;

    /// The other id's attribute: `user_id`, `role_id`.
    const OTHER: &'static str;
    /// The summary of the diagnostic when an import finds no such link.
    const CANNOT_IMPORT: &'static str;

    fn schema() -> Schema;

    /// One page of the objects linked to `group`.
    async fn list(client: &Client, group: Uuid, params: &ListParams) -> Result<Page<Self::Item>>;
    fn item_id(item: &Self::Item) -> Uuid;
    async fn add(client: &Client, group: Uuid, other: Uuid) -> Result<()>;
    async fn remove(client: &Client, group: Uuid, other: Uuid) -> Result<()>;

    /// The action of listing the group's links, for diagnostics.
    fn listing(group: Uuid) -> String;
    fn adding(group: Uuid, other: Uuid) -> String;
    fn removing(group: Uuid, other: Uuid) -> String;
    /// Why an import failed: the link does not exist.
    fn missing(group: Uuid, other: Uuid) -> String;
}

/// The resource of a [`Link`].
pub struct LinkResource<L>(Shared, PhantomData<L>);

impl<L> LinkResource<L> {
    pub fn new(shared: Shared) -> Self {
        LinkResource(shared, PhantomData)
    }
}

fn ids<L: Link>(diags: &mut Diagnostics, state: &L::State) -> Option<(Uuid, Uuid)> {
    let (_, group, other) = state.parts();
    let group = diag::parse_uuid(diags, "group_id", group.as_ref_option()?)?;
    let other = diag::parse_uuid(diags, L::OTHER, other.as_ref_option()?)?;
    Some((group, other))
}

fn state_of<L: Link>(group: Uuid, other: Uuid) -> L::State {
    L::State::new(
        known(format!("{group}/{other}")),
        known(group.to_string()),
        known(other.to_string()),
    )
}

impl<L: Link> LinkResource<L> {
    /// Whether the link exists; `None` after a diagnostic.
    async fn exists(&self, diags: &mut Diagnostics, group: Uuid, other: Uuid) -> Option<bool> {
        let client = self.0.client(diags)?;
        let found = find_in_pages(
            None,
            |params| {
                let client = client.clone();
                async move { L::list(&client, group, &params).await }
            },
            |item| L::item_id(item) == other,
        )
        .await;
        // A 404: the group itself is gone.
        let found = diag::unless_not_found(diags, &L::listing(group), found)?;
        Some(found.flatten().is_some())
    }
}

#[async_trait]
impl<L: Link> Resource for LinkResource<L> {
    type State<'a> = L::State;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(L::schema())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let (group, other) = ids::<L>(diags, &state)?;
        if self.exists(diags, group, other).await? {
            Some((state_of::<L>(group, other), private_state))
        } else {
            None
        }
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let (_, group, other) = proposed_state.parts();
        let state = L::State::new(Value::Unknown, group.clone(), other.clone());
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
        let (_, prior_group, prior_other) = prior_state.parts();
        let (_, group, other) = proposed_state.parts();
        let replace = replacements([
            ("group_id", changed(prior_group, group)),
            (L::OTHER, changed(prior_other, other)),
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
        let (group, other) = ids::<L>(diags, &planned_state)?;
        let result = L::add(&client, group, other).await;
        diag::api_result(diags, &L::adding(group, other), result)?;
        Some((state_of::<L>(group, other), planned_private_state))
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
        let (group, other) = ids::<L>(diags, &prior_state)?;
        let result = L::remove(&client, group, other).await;
        // Already gone is as good as removed.
        diag::unless_not_found(diags, &L::removing(group, other), result)?;
        Some(())
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let (group, other) = diag::parse_pair(diags, &id, "group_id", L::OTHER)?;
        if self.exists(diags, group, other).await? {
            Some((state_of::<L>(group, other), ValueEmpty::default()))
        } else {
            diag::error(diags, L::CANNOT_IMPORT, L::missing(group, other));
            None
        }
    }
}

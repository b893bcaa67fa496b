//! The resources. Each one reads everything back from the API (drift detection) and answers a
//! 404 on read by leaving the state, so that Terraform plans the object's re-creation.

mod admin_role;
mod app_mapping;
mod application;
mod application_grant;
mod federated_credential;
mod group;
mod group_admin_role;
mod group_member;
mod link;
mod object;
mod service_account_client;
mod service_account_token;
mod user;
mod webhook;

pub use admin_role::AdminRoleResource;
pub use app_mapping::AppMappingResource;
pub use application::{ApplicationResource, ClaimMappingState, claim_mappings_of};
pub use application_grant::ApplicationGrantResource;
pub use federated_credential::FederatedCredentialResource;
pub use group::GroupResource;
pub use group_admin_role::GroupAdminRoleResource;
pub use group_member::GroupMemberResource;
pub use service_account_client::ServiceAccountClientResource;
pub use service_account_token::ServiceAccountTokenResource;
pub use user::UserResource;
pub use webhook::WebhookResource;

use std::future::Future;

use justiam_client::ListParams;
use justiam_types::Page;
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use crate::diag;

/// Walks a paginated list (100 per page, filtered by `search` where the list supports it) until `wanted` matches an item or the list ends.
pub async fn find_in_pages<T, F, Fut>(
    search: Option<&str>,
    mut fetch: F,
    mut wanted: impl FnMut(&T) -> bool,
) -> justiam_client::Result<Option<T>>
where
    F: FnMut(ListParams) -> Fut,
    Fut: Future<Output = justiam_client::Result<Page<T>>>,
{
    let limit = 100u32;
    for page in 1u32.. {
        let params = ListParams {
            page: Some(page),
            limit: Some(limit),
            search: search.map(str::to_owned),
        };
        let batch = fetch(params).await?;
        let count = batch.data.len();
        if let Some(found) = batch.data.into_iter().find(|item| wanted(item)) {
            return Ok(Some(found));
        }
        if count < limit as usize || u64::from(page) * u64::from(limit) >= batch.total {
            break;
        }
    }
    Ok(None)
}

/// Whether a planned value differs from the prior one (both known).
pub(crate) fn changed<T: PartialEq>(prior: &Value<T>, planned: &Value<T>) -> bool {
    prior != planned
}

/// The planned value when it differs from the prior one: what a partial update (`PUT` with the
/// fields present replaced) sends.
pub(crate) fn delta<T: Clone + PartialEq>(prior: &Value<T>, planned: &Value<T>) -> Option<T> {
    (prior != planned).then(|| planned.as_ref_option().cloned())?
}

/// The attributes whose change forces replacement: those named with `true`.
pub(crate) fn replacements(
    changes: impl IntoIterator<Item = (&'static str, bool)>,
) -> Vec<AttributePath> {
    changes
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(name, _)| AttributePath::new(name))
        .collect()
}

/// Plan-time check that a known name is not blank.
pub(crate) fn check_not_blank(diags: &mut Diagnostics, name: &Value<String>, message: &str) {
    if let Value::Value(name) = name
        && name.trim().is_empty()
    {
        diag::error_at(diags, "name", "Invalid name", message);
    }
}

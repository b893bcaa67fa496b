//! What the machine grants read, through the credential cache: a grant or an exchange then
//! reads nothing from the database on a hit (with SQLite every read is a hand-off to the
//! connection's thread, with PostgreSQL a round trip — most of a grant's cost without this).
//!
//! Each entry ends like a credential: a client and a service account with their account's
//! invalidation (deleting the client, deactivating or deleting the account, on every node); the
//! trust lists of issuers with [`Invalidation::trusts`], sent when a federated credential is
//! created or deleted.

use std::sync::Arc;

use uuid::Uuid;

use crate::error::CoreResult;
use crate::model::User;
use crate::model::machine::FederatedCredential;
use crate::service::Iam;
#[cfg(doc)]
use crate::service::cache::Invalidation;
use crate::service::cache::{CacheKey, Resolved, ServiceClientRecord};
use crate::store::{machine, users};
use crate::time::{Millis, now_millis};
use crate::token;

/// Entries are kept until invalidated or `AUTH_CACHE_TTL` (the cache caps it).
const UNTIL_INVALIDATED: Millis = Millis::MAX;

impl Iam {
    /// The client a `client_credentials` grant names, with its secret digest and its account.
    pub(super) async fn service_client(
        &self,
        client_id: &str,
    ) -> CoreResult<Option<ServiceClientRecord>> {
        self.remembered(
            CacheKey::ServiceClient(token::digest(client_id)),
            |entry| match entry {
                Resolved::ServiceClient(record) => Some(record),
                _ => None,
            },
            Resolved::ServiceClient,
            async {
                let found = machine::client_for_grant(&self.db.pool, client_id).await?;
                Ok(found.map(Arc::new))
            },
        )
        .await
    }

    /// The federated credentials that trust `issuer` (any account's; often none).
    pub(super) async fn trusts_of(
        &self,
        issuer: &str,
    ) -> CoreResult<Arc<Vec<FederatedCredential>>> {
        let list = self
            .remembered(
                CacheKey::Trusts(token::digest(issuer)),
                |entry| match entry {
                    Resolved::Trusts(list) => Some(list),
                    _ => None,
                },
                Resolved::Trusts,
                async {
                    let list = machine::federated_for_issuer(&self.db.pool, issuer).await?;
                    Ok(Some(Arc::new(list)))
                },
            )
            .await?;
        Ok(list.unwrap_or_default())
    }

    /// A service account's user record (`None` when the user is gone).
    pub(super) async fn service_account_record(&self, id: Uuid) -> CoreResult<Option<Arc<User>>> {
        self.remembered(
            CacheKey::ServiceAccount(id),
            |entry| match entry {
                Resolved::ServiceAccount(user) => Some(user),
                _ => None,
            },
            Resolved::ServiceAccount,
            async { Ok(users::get(&self.db.pool, id).await?.map(Arc::new)) },
        )
        .await
    }

    /// The entry under `key` when this node holds it, else what `read` finds (then kept). The
    /// ticket is taken before `read` runs (a future does nothing until awaited), so a change
    /// committed meanwhile keeps the stale answer out.
    async fn remembered<T: Clone>(
        &self,
        key: CacheKey,
        hit: impl Fn(Resolved) -> Option<T>,
        wrap: impl Fn(T) -> Resolved,
        read: impl Future<Output = CoreResult<Option<T>>>,
    ) -> CoreResult<Option<T>> {
        let now = now_millis();
        if let Some(found) = self.cache.lookup(&key, now).and_then(hit) {
            return Ok(Some(found));
        }
        let ticket = self.cache.ticket();
        let found = read.await?;
        if let Some(value) = &found {
            self.cache
                .insert(key, wrap(value.clone()), UNTIL_INVALIDATED, ticket, now);
        }
        Ok(found)
    }
}

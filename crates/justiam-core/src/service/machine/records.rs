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
        let key = CacheKey::ServiceClient(token::digest(client_id));
        let now = now_millis();
        if let Some(Resolved::ServiceClient(record)) = self.cache.lookup(&key, now) {
            return Ok(Some(record));
        }
        let ticket = self.cache.ticket();
        let Some(found) = machine::client_for_grant(&self.db.pool, client_id).await? else {
            return Ok(None);
        };
        let record = Arc::new(found);
        let entry = Resolved::ServiceClient(Arc::clone(&record));
        self.cache
            .insert(key, entry, UNTIL_INVALIDATED, ticket, now);
        Ok(Some(record))
    }

    /// The federated credentials that trust `issuer` (any account's).
    pub(super) async fn trusts_of(
        &self,
        issuer: &str,
    ) -> CoreResult<Arc<Vec<FederatedCredential>>> {
        let key = CacheKey::Trusts(token::digest(issuer));
        let now = now_millis();
        if let Some(Resolved::Trusts(list)) = self.cache.lookup(&key, now) {
            return Ok(list);
        }
        let ticket = self.cache.ticket();
        let list = Arc::new(machine::federated_for_issuer(&self.db.pool, issuer).await?);
        self.cache.insert(
            key,
            Resolved::Trusts(Arc::clone(&list)),
            UNTIL_INVALIDATED,
            ticket,
            now,
        );
        Ok(list)
    }

    /// A service account's user record (`None` when the user is gone).
    pub(super) async fn service_account_record(&self, id: Uuid) -> CoreResult<Option<Arc<User>>> {
        let key = CacheKey::ServiceAccount(id);
        let now = now_millis();
        if let Some(Resolved::ServiceAccount(user)) = self.cache.lookup(&key, now) {
            return Ok(Some(user));
        }
        let ticket = self.cache.ticket();
        let Some(user) = users::get(&self.db.pool, id).await? else {
            return Ok(None);
        };
        let user = Arc::new(user);
        self.cache.insert(
            key,
            Resolved::ServiceAccount(Arc::clone(&user)),
            UNTIL_INVALIDATED,
            ticket,
            now,
        );
        Ok(Some(user))
    }
}

//! The in-process cache of verified credentials: the token hot path without I/O.
//!
//! An entry maps a PAT digest (or a portal session id) to the [`Principal`] it resolved to, or
//! an OpenID Connect access token's digest to its userinfo answer (the claims depend on the user,
//! their groups and the application, all of which invalidate like credentials), or what the
//! machine grants read (a service account's client, the federated credentials trusting an
//! issuer, a service account — [`crate::service::machine`]). Every
//! write that could change what a credential may do calls [`AuthCache::invalidate`] once it has
//! committed, with the narrowest scope that covers the change: one user's credentials (a token
//! revoked, a user deactivated, a membership changed) or all of them (a role or group changed). On
//! PostgreSQL the same invalidation reaches the other nodes through `LISTEN/NOTIFY`, and the cache
//! is only trusted while that listener is connected.
//!
//! Races with concurrent fills are settled by a sequence number: a fill takes a [`Ticket`] before
//! it reads the database, and an entry counts only if its ticket is not older than the last
//! invalidation of everything and of its user. A read that started before a change committed can
//! therefore never serve the old answer after the invalidation, whatever the order of events.
//!
//! Each thread keeps a shard of its own (filled by its own database reads) and an invalidation
//! visits every shard. A lookup then takes a lock no other thread takes, and hands out a principal
//! whose reference counts no other thread touches: one shared table cost every request a lock
//! and counters written by all worker threads (docs/benchmarks.md). The price is a database read
//! per credential per thread and TTL instead of per node, and up to `capacity` entries per thread.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::{Map, Value};
use thread_local::ThreadLocal;
use uuid::Uuid;

use crate::authz::Principal;
use crate::model::User;
use crate::model::machine::{FederatedCredential, ServiceAccountClient};
use crate::time::Millis;
use crate::token::TokenDigest;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheKey {
    Pat(TokenDigest),
    Session(Uuid),
    /// The digest of an access token issued to an application, for `/oauth2/userinfo`.
    Userinfo(TokenDigest),
    /// A service-account access token, by the digest of the whole token.
    Access(TokenDigest),
    /// A service account's OAuth client with its secret digest and account, by the digest of
    /// its `client_id` (the `client_credentials` grant reads nothing else).
    ServiceClient(TokenDigest),
    /// The federated credentials that trust an issuer, by the digest of the issuer URL.
    Trusts(TokenDigest),
    /// A service account's user record, for the token exchange.
    ServiceAccount(Uuid),
}

/// The claims `/oauth2/userinfo` answers with, shared so a hit copies nothing.
pub type UserinfoClaims = Arc<Map<String, Value>>;

/// A service account's client as a grant needs it: the client, its secret digest (none for
/// `private_key_jwt`) and its account.
pub type ServiceClientRecord = Arc<(ServiceAccountClient, Option<TokenDigest>, User)>;

/// The owner of cached trust lists ([`CacheKey::Trusts`]): they span accounts, so they are
/// invalidated together under an id no user has (ids are UUIDv7, never nil).
pub const TRUSTS_OWNER: Uuid = Uuid::nil();

/// What a key resolved to.
#[derive(Debug, Clone)]
pub(crate) enum Resolved {
    Principal(Principal),
    Userinfo { user: Uuid, claims: UserinfoClaims },
    ServiceClient(ServiceClientRecord),
    Trusts(Arc<Vec<FederatedCredential>>),
    ServiceAccount(Arc<User>),
}

impl Resolved {
    /// The user whose invalidation ends the entry.
    fn owner(&self) -> Uuid {
        match self {
            Resolved::Principal(principal) => principal.id(),
            Resolved::Userinfo { user, .. } => *user,
            Resolved::ServiceClient(record) => record.2.id,
            Resolved::Trusts(_) => TRUSTS_OWNER,
            Resolved::ServiceAccount(user) => user.id,
        }
    }
}

/// What a committed change may have altered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalidation {
    /// Every cached credential (role and group changes reach many users).
    All,
    /// The credentials of one user: their tokens and sessions.
    User(Uuid),
}

impl Invalidation {
    /// Every cached trust list (a federated credential was created or deleted).
    pub fn trusts() -> Self {
        Invalidation::User(TRUSTS_OWNER)
    }

    /// The form sent to other nodes: `all` or `user <uuid>`.
    pub fn to_notice(self) -> String {
        match self {
            Invalidation::All => "all".to_owned(),
            Invalidation::User(id) => format!("user {id}"),
        }
    }

    /// Reads [`Invalidation::to_notice`]; anything else is taken as `All`, the safe side.
    pub fn from_notice(text: &str) -> Self {
        text.strip_prefix("user ")
            .and_then(|id| Uuid::parse_str(id).ok())
            .map_or(Invalidation::All, Invalidation::User)
    }
}

/// Taken before a fill reads the database; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

#[derive(Debug)]
struct Entry {
    resolved: Resolved,
    valid_until: Millis,
    ticket: Ticket,
}

#[derive(Debug, Default)]
struct Entries {
    by_key: HashMap<CacheKey, Entry>,
    /// Sequence number of the last invalidation of everything.
    all_invalidated: u64,
    /// Sequence number of the last invalidation of each user since then.
    user_invalidated: HashMap<Uuid, u64>,
}

impl Entries {
    fn is_current(&self, ticket: Ticket, user: Uuid) -> bool {
        ticket.0 >= self.all_invalidated
            && self
                .user_invalidated
                .get(&user)
                .is_none_or(|invalidated| ticket.0 >= *invalidated)
    }

    fn clear(&mut self, sequence: u64) {
        self.by_key.clear();
        self.user_invalidated.clear();
        self.all_invalidated = sequence;
    }

    /// Applies an invalidation numbered `sequence`.
    fn invalidate(&mut self, scope: Invalidation, sequence: u64, capacity: usize) {
        match scope {
            Invalidation::All => self.clear(sequence),
            // A table of invalidated users as large as the cache is as good as everything.
            Invalidation::User(_) if self.user_invalidated.len() >= capacity => {
                self.clear(sequence)
            }
            // The user's entries stop counting through `is_current`; they are not searched out
            // (that would cost a pass over the whole cache per revocation) but replaced by the
            // next fill of their key, or dropped with everything when the cache is full.
            Invalidation::User(user) => {
                self.user_invalidated.insert(user, sequence);
            }
        }
    }
}

#[derive(Debug)]
pub struct AuthCache {
    /// One shard per thread; see the module documentation.
    shards: ThreadLocal<RwLock<Entries>>,
    /// Incremented by every invalidation.
    sequence: AtomicU64,
    enabled: AtomicBool,
    capacity: usize,
    ttl_ms: Millis,
}

impl AuthCache {
    pub fn new(capacity: usize, ttl_ms: Millis, enabled: bool) -> Self {
        Self {
            shards: ThreadLocal::new(),
            sequence: AtomicU64::new(0),
            enabled: AtomicBool::new(enabled && capacity > 0),
            capacity,
            ttl_ms,
        }
    }

    /// Take it before reading the database for a [`AuthCache::put`].
    pub fn ticket(&self) -> Ticket {
        Ticket(self.sequence.load(Ordering::Acquire))
    }

    pub fn get(&self, key: &CacheKey, now: Millis) -> Option<Principal> {
        match self.lookup(key, now)? {
            Resolved::Principal(principal) => Some(principal),
            _ => None,
        }
    }

    pub fn put(
        &self,
        key: CacheKey,
        principal: Principal,
        valid_until: Millis,
        ticket: Ticket,
        now: Millis,
    ) {
        self.insert(
            key,
            Resolved::Principal(principal),
            valid_until,
            ticket,
            now,
        );
    }

    /// The userinfo answer for the access token of this digest.
    pub fn get_userinfo(&self, digest: TokenDigest, now: Millis) -> Option<UserinfoClaims> {
        match self.lookup(&CacheKey::Userinfo(digest), now)? {
            Resolved::Userinfo { claims, .. } => Some(claims),
            _ => None,
        }
    }

    pub fn put_userinfo(
        &self,
        digest: TokenDigest,
        user: Uuid,
        claims: UserinfoClaims,
        valid_until: Millis,
        ticket: Ticket,
        now: Millis,
    ) {
        self.insert(
            CacheKey::Userinfo(digest),
            Resolved::Userinfo { user, claims },
            valid_until,
            ticket,
            now,
        );
    }

    pub(crate) fn lookup(&self, key: &CacheKey, now: Millis) -> Option<Resolved> {
        if !self.enabled.load(Ordering::Acquire) {
            return None;
        }
        let entries = read(self.shard());
        let entry = entries.by_key.get(key)?;
        (entry.valid_until > now && entries.is_current(entry.ticket, entry.resolved.owner()))
            .then(|| entry.resolved.clone())
    }

    pub(crate) fn insert(
        &self,
        key: CacheKey,
        resolved: Resolved,
        valid_until: Millis,
        ticket: Ticket,
        now: Millis,
    ) {
        if !self.enabled.load(Ordering::Acquire) {
            return;
        }
        let mut entries = write(self.shard());
        if !entries.is_current(ticket, resolved.owner()) {
            // Read before a change that has since been committed and invalidated.
            return;
        }
        if entries.by_key.len() >= self.capacity {
            entries.by_key.clear();
        }
        let valid_until = valid_until.min(now + self.ttl_ms);
        entries.by_key.insert(
            key,
            Entry {
                resolved,
                valid_until,
                ticket,
            },
        );
    }

    /// This thread's shard, started on first use.
    fn shard(&self) -> &RwLock<Entries> {
        if let Some(shard) = self.shards.get() {
            return shard;
        }
        let shard = self.shards.get_or_default();
        // The shard is in the table now. An invalidation that comes after the read below in
        // the sequence's order sees it and reaches it; one that came before is counted here:
        // nothing read before it can be put into this shard. (A read-modify-write, so that it
        // is ordered with the invalidations' own.)
        let sequence = self.sequence.fetch_add(0, Ordering::AcqRel);
        let mut entries = write(shard);
        entries.all_invalidated = entries.all_invalidated.max(sequence);
        drop(entries);
        shard
    }

    /// Drops what `scope` covers: those entries stop counting at once, and fills that started
    /// before this call are refused.
    pub fn invalidate(&self, scope: Invalidation) {
        let sequence = self.sequence.fetch_add(1, Ordering::AcqRel) + 1;
        for shard in self.shards.iter() {
            write(shard).invalidate(scope, sequence, self.capacity);
        }
    }

    pub fn invalidate_all(&self) {
        self.invalidate(Invalidation::All);
    }

    pub fn set_enabled(&self, enabled: bool) {
        self.invalidate_all();
        self.enabled
            .store(enabled && self.capacity > 0, Ordering::Release);
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    /// Whether any thread's shard holds a current entry for `key` ([`Self::get`] looks in the
    /// calling thread's only).
    pub fn holds(&self, key: &CacheKey, now: Millis) -> bool {
        self.shards.iter().any(|shard| {
            let entries = read(shard);
            entries.by_key.get(key).is_some_and(|entry| {
                entry.valid_until > now && entries.is_current(entry.ticket, entry.resolved.owner())
            })
        })
    }

    /// Entries in all shards.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| read(shard).by_key.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

// A poisoned lock only means a panic elsewhere; lookups and invalidations must go on.
fn read(shard: &RwLock<Entries>) -> RwLockReadGuard<'_, Entries> {
    shard
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write(shard: &RwLock<Entries>) -> RwLockWriteGuard<'_, Entries> {
    shard
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::authz::Credential;
    use crate::model::{PermissionSet, User};

    fn principal() -> Principal {
        principal_of(Uuid::now_v7())
    }

    fn principal_of(user_id: Uuid) -> Principal {
        let user = User {
            id: user_id,
            email: "a@b.c".into(),
            username: "a".into(),
            first_name: String::new(),
            last_name: String::new(),
            is_active: true,
            is_admin: false,
            is_service_account: false,
            auth_source: "internal".into(),
            created_at: 0,
            updated_at: 0,
        };
        Principal {
            user: Arc::new(user),
            credential: Credential::Jwt {
                session_id: Uuid::now_v7(),
            },
            permissions: PermissionSet::EMPTY,
            restricted: false,
        }
    }

    #[test]
    fn entries_die_with_invalidation_expiry_and_stale_generations() {
        let cache = AuthCache::new(10, 60_000, true);
        let key = CacheKey::Pat([1; 32]);
        let ticket = cache.ticket();
        cache.put(key, principal(), 1_000, ticket, 0);
        assert!(cache.get(&key, 999).is_some());
        assert!(cache.get(&key, 1_000).is_none(), "expired");
        cache.invalidate_all();
        assert!(cache.get(&key, 0).is_none(), "invalidated");
        // A read that started before an invalidation must not be cached.
        let before = cache.ticket();
        cache.invalidate_all();
        cache.put(key, principal(), 1_000, before, 0);
        assert!(cache.get(&key, 0).is_none());
    }

    #[test]
    fn ttl_bounds_and_capacity_and_disabling() {
        let cache = AuthCache::new(2, 100, true);
        let g = cache.ticket();
        cache.put(CacheKey::Pat([1; 32]), principal(), i64::MAX, g, 0);
        assert!(cache.get(&CacheKey::Pat([1; 32]), 99).is_some());
        assert!(cache.get(&CacheKey::Pat([1; 32]), 100).is_none(), "TTL");
        cache.put(CacheKey::Pat([2; 32]), principal(), i64::MAX, g, 0);
        cache.put(CacheKey::Pat([3; 32]), principal(), i64::MAX, g, 0);
        assert!(cache.len() <= 2);
        cache.set_enabled(false);
        cache.put(
            CacheKey::Pat([4; 32]),
            principal(),
            i64::MAX,
            cache.ticket(),
            0,
        );
        assert!(cache.get(&CacheKey::Pat([4; 32]), 0).is_none());
    }

    #[test]
    fn a_user_invalidation_drops_that_user_only() {
        let cache = AuthCache::new(10, 60_000, true);
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let ticket = cache.ticket();
        cache.put(
            CacheKey::Pat([1; 32]),
            principal_of(alice),
            1_000,
            ticket,
            0,
        );
        cache.put(
            CacheKey::Pat([2; 32]),
            principal_of(alice),
            1_000,
            ticket,
            0,
        );
        cache.put(CacheKey::Pat([3; 32]), principal_of(bob), 1_000, ticket, 0);
        cache.invalidate(Invalidation::User(alice));
        assert!(cache.get(&CacheKey::Pat([1; 32]), 0).is_none());
        assert!(cache.get(&CacheKey::Pat([2; 32]), 0).is_none());
        assert!(
            cache.get(&CacheKey::Pat([3; 32]), 0).is_some(),
            "bob's stays"
        );
        // Filled again after the change: served again.
        let after = cache.ticket();
        cache.put(CacheKey::Pat([1; 32]), principal_of(alice), 1_000, after, 0);
        assert!(cache.get(&CacheKey::Pat([1; 32]), 0).is_some());
    }

    #[test]
    fn a_fill_that_read_before_a_user_invalidation_is_refused() {
        let cache = AuthCache::new(10, 60_000, true);
        let alice = Uuid::now_v7();
        // This thread has served before: its shard exists.
        assert!(cache.get(&CacheKey::Pat([7; 32]), 0).is_none());
        let before = cache.ticket();
        // The database read happens here; then the change commits and invalidates.
        cache.invalidate(Invalidation::User(alice));
        cache.put(
            CacheKey::Pat([1; 32]),
            principal_of(alice),
            1_000,
            before,
            0,
        );
        assert!(cache.get(&CacheKey::Pat([1; 32]), 0).is_none());
        // Another user's fill with the same ticket is unaffected.
        let bob = Uuid::now_v7();
        cache.put(CacheKey::Pat([2; 32]), principal_of(bob), 1_000, before, 0);
        assert!(cache.get(&CacheKey::Pat([2; 32]), 0).is_some());
    }

    #[test]
    fn a_new_shard_refuses_reads_older_than_itself() {
        let cache = AuthCache::new(10, 60_000, true);
        let before = cache.ticket();
        // No shard on this thread yet: the invalidation has nowhere to go but must still count.
        cache.invalidate(Invalidation::User(Uuid::now_v7()));
        cache.put(CacheKey::Pat([1; 32]), principal(), 1_000, before, 0);
        assert!(cache.get(&CacheKey::Pat([1; 32]), 0).is_none());
        cache.put(
            CacheKey::Pat([1; 32]),
            principal(),
            1_000,
            cache.ticket(),
            0,
        );
        assert!(cache.get(&CacheKey::Pat([1; 32]), 0).is_some());
    }

    #[test]
    fn every_thread_has_its_shard_and_invalidations_reach_them_all() {
        let cache = AuthCache::new(10, 60_000, true);
        let alice = Uuid::now_v7();
        let key = CacheKey::Pat([1; 32]);
        let fill = |cache: &AuthCache| {
            cache.put(key, principal_of(alice), 1_000, cache.ticket(), 0);
            cache.get(&key, 0).is_some()
        };
        // This thread's shard first (a thread that ends leaves its shard to the next one).
        assert!(cache.get(&key, 0).is_none());
        std::thread::scope(|scope| {
            let other = scope.spawn(|| fill(&cache));
            assert!(other.join().expect("thread"));
        });
        assert!(
            cache.get(&key, 0).is_none(),
            "filled on the other thread only"
        );
        assert!(fill(&cache));
        assert_eq!(cache.len(), 2);
        // Invalidated from a third thread: gone from both shards.
        std::thread::scope(|scope| {
            scope.spawn(|| cache.invalidate(Invalidation::User(alice)));
        });
        assert!(cache.get(&key, 0).is_none());
        std::thread::scope(|scope| {
            let other = scope.spawn(|| cache.get(&key, 0).is_none());
            assert!(other.join().expect("thread"));
        });
    }

    #[test]
    fn too_many_invalidated_users_count_as_everything() {
        let cache = AuthCache::new(2, 60_000, true);
        let keep = Uuid::now_v7();
        let ticket = cache.ticket();
        cache.put(CacheKey::Pat([9; 32]), principal_of(keep), 1_000, ticket, 0);
        cache.invalidate(Invalidation::User(Uuid::now_v7()));
        cache.invalidate(Invalidation::User(Uuid::now_v7()));
        assert!(cache.get(&CacheKey::Pat([9; 32]), 0).is_some());
        // The table is full: the next one clears everything.
        cache.invalidate(Invalidation::User(Uuid::now_v7()));
        assert!(cache.get(&CacheKey::Pat([9; 32]), 0).is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn notices_round_trip_and_anything_else_means_everything() {
        let id = Uuid::now_v7();
        for scope in [Invalidation::All, Invalidation::User(id)] {
            assert_eq!(Invalidation::from_notice(&scope.to_notice()), scope);
        }
        for other in ["", "user", "user not-a-uuid", "group 1", "everything"] {
            assert_eq!(
                Invalidation::from_notice(other),
                Invalidation::All,
                "{other}"
            );
        }
    }
}

//! The in-process cache of verified credentials: the token hot path without I/O.
//!
//! An entry maps a PAT digest (or a portal session id) to the [`Principal`] it resolved to. Every
//! write that could change what a credential may do (a revocation, a deactivation, a deletion, a
//! role, group or membership change) calls [`AuthCache::invalidate_all`]: bumping the generation
//! makes every entry stale at once, including entries being filled concurrently from a database
//! read that started before the write (they carry the generation they started with). On
//! PostgreSQL the same invalidation reaches the other nodes through `LISTEN/NOTIFY`, and the cache
//! is only trusted while that listener is connected.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use uuid::Uuid;

use crate::authz::Principal;
use crate::time::Millis;
use crate::token::TokenDigest;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheKey {
    Pat(TokenDigest),
    Session(Uuid),
}

#[derive(Debug)]
struct Entry {
    principal: Principal,
    /// The credential's own end (token expiry, session expiry) or the TTL, whichever is first.
    valid_until: Millis,
    generation: u64,
}

#[derive(Debug)]
pub struct AuthCache {
    entries: RwLock<HashMap<CacheKey, Entry>>,
    generation: AtomicU64,
    enabled: AtomicBool,
    capacity: usize,
    ttl_ms: Millis,
}

impl AuthCache {
    /// `capacity` bounds the entries (the cache empties itself when full); `ttl_ms` bounds how long
    /// an entry is trusted even without invalidation (a safety net, not the mechanism).
    pub fn new(capacity: usize, ttl_ms: Millis, enabled: bool) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
            enabled: AtomicBool::new(enabled && capacity > 0),
            capacity,
            ttl_ms,
        }
    }

    /// The generation to tag an entry with: read it *before* reading the database.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn get(&self, key: &CacheKey, now: Millis) -> Option<Principal> {
        if !self.enabled.load(Ordering::Acquire) {
            return None;
        }
        let entries = self.entries.read().ok()?;
        let entry = entries.get(key)?;
        (entry.generation == self.generation() && entry.valid_until > now)
            .then(|| entry.principal.clone())
    }

    pub fn put(
        &self,
        key: CacheKey,
        principal: Principal,
        valid_until: Millis,
        generation: u64,
        now: Millis,
    ) {
        if !self.enabled.load(Ordering::Acquire) || generation != self.generation() {
            return;
        }
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= self.capacity {
            entries.clear();
        }
        let valid_until = valid_until.min(now + self.ttl_ms);
        entries.insert(
            key,
            Entry {
                principal,
                valid_until,
                generation,
            },
        );
    }

    /// Makes every cached credential stale at once.
    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }

    /// Turns the cache on or off (off while the cross-node invalidation channel is down).
    pub fn set_enabled(&self, enabled: bool) {
        self.invalidate_all();
        self.enabled
            .store(enabled && self.capacity > 0, Ordering::Release);
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    pub fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::authz::Credential;
    use crate::model::PermissionSet;
    use crate::store::users::UserRow;

    fn principal() -> Principal {
        let user = UserRow {
            id: Uuid::now_v7(),
            email: "a@b.c".into(),
            username: "a".into(),
            first_name: String::new(),
            last_name: String::new(),
            password_hash: None,
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
        let generation = cache.generation();
        cache.put(key, principal(), 1_000, generation, 0);
        assert!(cache.get(&key, 999).is_some());
        assert!(cache.get(&key, 1_000).is_none(), "expired");
        cache.invalidate_all();
        assert!(cache.get(&key, 0).is_none(), "invalidated");
        // A read that started before an invalidation must not be cached.
        let before = cache.generation();
        cache.invalidate_all();
        cache.put(key, principal(), 1_000, before, 0);
        assert!(cache.get(&key, 0).is_none());
    }

    #[test]
    fn ttl_bounds_and_capacity_and_disabling() {
        let cache = AuthCache::new(2, 100, true);
        let g = cache.generation();
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
            cache.generation(),
            0,
        );
        assert!(cache.get(&CacheKey::Pat([4; 32]), 0).is_none());
    }
}

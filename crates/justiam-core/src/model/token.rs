//! Personal access tokens as the domain knows them: never the value, never its digest.

use uuid::Uuid;

use super::{PermissionSet, User};
use crate::time::{Millis, to_datetime};

#[derive(Debug, Clone)]
pub struct Token {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub token_hint: String,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
    pub revoke_reason: Option<String>,
    pub created_by: Option<Uuid>,
    /// Fine-grained tokens: the permissions the token is limited to.
    pub permissions: Option<PermissionSet>,
    pub rotated_from: Option<Uuid>,
    pub replaced_by: Option<Uuid>,
    pub last_used_ip: Option<String>,
}

impl Token {
    /// Revoked at `now`: a revocation time in the future is a rotation grace period.
    pub fn is_revoked(&self, now: Millis) -> bool {
        self.revoked_at.is_some_and(|at| at <= now)
    }

    /// Its lifetime in whole days (rounded, 1 to 365): what a rotation or a regeneration gives
    /// the replacement unless told otherwise.
    pub fn lifetime_days(&self) -> i64 {
        let day = crate::time::DAY_MS;
        ((self.expires_at - self.created_at + day / 2) / day).clamp(1, 365)
    }

    /// `active`, `expired` or `revoked`.
    pub fn state(&self, now: Millis) -> &'static str {
        if self.is_revoked(now) {
            "revoked"
        } else if self.expires_at <= now {
            "expired"
        } else {
            "active"
        }
    }

    pub fn to_wire(&self, now: Millis) -> justiam_types::PatRecord {
        justiam_types::PatRecord {
            id: self.id,
            name: self.name.clone(),
            created_at: to_datetime(self.created_at),
            expires_at: to_datetime(self.expires_at),
            last_used_at: self.last_used_at.map(to_datetime),
            token_hint: self.token_hint.clone(),
            expired: self.expires_at <= now,
            permissions: self.permissions.map(PermissionSet::names),
            rotated_from: self.rotated_from,
            replaced_by: self.replaced_by,
            revoked_at: self.revoked_at.map(to_datetime),
            revoke_reason: self.revoke_reason.clone(),
        }
    }
}

/// A token with its owner: what authentication needs, and one item of the inventory.
#[derive(Debug, Clone)]
pub struct TokenWithOwner {
    pub token: Token,
    pub owner: User,
}

/// Which of an owner's listed (unrevoked) tokens a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenListState {
    #[default]
    Any,
    /// Still working: neither expired nor past a rotation grace period.
    Active,
    /// Still working, but stopping within 7 days (its expiry, or the end of its grace period).
    Expiring,
    /// Past its expiry.
    Expired,
}

/// The order of an owner's token list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenListSort {
    #[default]
    Newest,
    Oldest,
    /// Soonest to stop working first.
    ExpiresSoonest,
    ExpiresLatest,
    Name,
    /// Most recently used first; never used last.
    LastUsed,
}

impl TokenListState {
    pub const ALL: [TokenListState; 4] = [
        TokenListState::Any,
        TokenListState::Active,
        TokenListState::Expiring,
        TokenListState::Expired,
    ];

    /// The query value (`state=`): `""` for any, `active`, `expiring`, `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenListState::Any => "",
            TokenListState::Active => "active",
            TokenListState::Expiring => "expiring",
            TokenListState::Expired => "expired",
        }
    }

    pub fn parse(value: &str) -> Option<TokenListState> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

impl TokenListSort {
    pub const ALL: [TokenListSort; 6] = [
        TokenListSort::Newest,
        TokenListSort::Oldest,
        TokenListSort::ExpiresSoonest,
        TokenListSort::ExpiresLatest,
        TokenListSort::Name,
        TokenListSort::LastUsed,
    ];

    /// The query value (`sort=`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenListSort::Newest => "newest",
            TokenListSort::Oldest => "oldest",
            TokenListSort::ExpiresSoonest => "expires",
            TokenListSort::ExpiresLatest => "expires_desc",
            TokenListSort::Name => "name",
            TokenListSort::LastUsed => "last_used",
        }
    }

    pub fn parse(value: &str) -> Option<TokenListSort> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// What an owner's token list shows: a name search, a state and an order.
#[derive(Debug, Clone, Default)]
pub struct TokenListFilter {
    pub search: Option<String>,
    pub state: TokenListState,
    pub sort: TokenListSort,
}

/// Filters of the token inventory; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct TokenInventoryFilter {
    pub owner_id: Option<Uuid>,
    /// `active`, `expired` or `revoked`.
    pub state: Option<String>,
    pub expires_before: Option<Millis>,
    /// Never used, or last used before this time.
    pub unused_since: Option<Millis>,
    /// Only tokens of service accounts.
    pub service_accounts_only: bool,
    /// Leave out the tokens of `is_admin` owners.
    pub hide_admin_owners: bool,
    /// Substring of the token name or the owner's email.
    pub search: Option<String>,
    /// `full` (no permission list: everything the owner may do) or `fine_grained`.
    pub scope: Option<String>,
}

/// Everything known about one token of the inventory: the token and its owner, and its rotation
/// chain, oldest first (itself included).
#[derive(Debug, Clone)]
pub struct TokenDetail {
    pub item: TokenWithOwner,
    pub chain: Vec<Token>,
}

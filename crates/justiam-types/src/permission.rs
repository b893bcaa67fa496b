//! The permission catalogue: every permission the server knows, its wire name, the wildcards over
//! them, and the bit set the server checks on every request.
//!
//! It lives here, beside the wire types, because two sides need the same list: the server enforces
//! it and the Terraform provider validates plans against it. One list cannot drift.

use std::fmt;

macro_rules! catalogue {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// One entry of the permission catalogue. Every entry is known to the server, even where the
        /// feature behind it comes later.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Permission {
            $($variant),+
        }

        impl Permission {
            /// The whole catalogue in declaration order: `ALL[i] as usize == i`, which is the
            /// permission's bit in a [`PermissionSet`].
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Permission::$variant => $name),+
                }
            }

            /// The name as a JSON string (`"users.view"`): names are plain ASCII, so the quotes
            /// are all the escaping they need.
            pub fn as_json(self) -> &'static str {
                match self {
                    $(Permission::$variant => concat!("\"", $name, "\"")),+
                }
            }

            pub fn parse(value: &str) -> Option<Permission> {
                match value {
                    $($name => Some(Permission::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

catalogue! {
    UsersView => "users.view",
    UsersViewAccess => "users.viewaccess",
    UsersCreate => "users.create",
    UsersUpdate => "users.update",
    UsersDelete => "users.delete",
    UsersSendPasswordReset => "users.sendpasswordreset",
    UsersManageTags => "users.managetags",
    GroupsView => "groups.view",
    GroupsCreate => "groups.create",
    GroupsUpdate => "groups.update",
    GroupsDelete => "groups.delete",
    GroupsMembers => "groups.members",
    GroupsViewAccess => "groups.viewaccess",
    GroupsManageTags => "groups.managetags",
    AppsView => "apps.view",
    AppsCreate => "apps.create",
    AppsUpdate => "apps.update",
    AppsDelete => "apps.delete",
    AppsManageTags => "apps.managetags",
    RolesView => "roles.view",
    RolesCreate => "roles.create",
    RolesUpdate => "roles.update",
    RolesDelete => "roles.delete",
    AdminRolesManage => "admin_roles.manage",
    ServiceAccountsTokens => "service_accounts.tokens",
    AuditView => "audit.view",
    SessionsView => "sessions.view",
    SessionsRevoke => "sessions.revoke",
    FederatedManage => "federated.manage",
    ResourceSetsView => "resource_sets.view",
    ResourceSetsManage => "resource_sets.manage",
}

impl Permission {
    /// The permissions `pattern` names: one for a catalogue name, those a wildcard matches, none
    /// for anything else.
    pub fn matching(pattern: &str) -> impl Iterator<Item = Permission> + '_ {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| wildcard_matches(pattern, *p))
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `pattern` (a permission name, or a wildcard such as `*.view`, `users.*` or `*`)
/// matches `permission`. A `*` stands for one whole dot-separated part, or for everything alone.
pub fn wildcard_matches(pattern: &str, permission: Permission) -> bool {
    wildcard_matches_name(pattern, permission.as_str())
}

/// [`wildcard_matches`] on a name that may not be in this build's catalogue (one a newer server
/// stored, say).
pub fn wildcard_matches_name(pattern: &str, name: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match (pattern.split_once('.'), name.split_once('.')) {
        (Some((pr, pa)), Some((nr, na))) => (pr == "*" || pr == nr) && (pa == "*" || pa == na),
        _ => false,
    }
}

/// The words of a [`PermissionSet`]: as many as the catalogue needs, so adding permissions never
/// hits a cap; up to 64 permissions the set is a single `u64`.
const WORDS: usize = Permission::ALL.len().div_ceil(64);

/// A set of permissions as a fixed bit set: `Copy`, no allocation, and a check on the request path
/// costs one AND per word.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct PermissionSet(Bits<WORDS>);

impl PermissionSet {
    pub const EMPTY: PermissionSet = PermissionSet(Bits::EMPTY);

    const ALL: PermissionSet = {
        let mut bits = Bits::EMPTY;
        let mut i = 0;
        while i < Permission::ALL.len() {
            bits = bits.with(Permission::ALL[i] as usize);
            i += 1;
        }
        PermissionSet(bits)
    };

    pub const fn all() -> Self {
        Self::ALL
    }

    pub fn contains(self, permission: Permission) -> bool {
        self.0.contains(permission as usize)
    }

    pub fn insert(&mut self, permission: Permission) {
        self.0 = self.0.with(permission as usize);
    }

    pub fn union(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0.union(other.0))
    }

    pub fn intersection(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0.intersection(other.0))
    }

    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset_of(self, other: PermissionSet) -> bool {
        self.0.is_subset_of(other.0)
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| self.contains(*p))
    }

    /// Parses the space-separated form stored in `admin_roles.permissions`, ignoring unknown
    /// entries (a newer node may have written a permission this one does not know).
    pub fn from_stored(text: &str) -> Self {
        text.split_whitespace()
            .filter_map(Permission::parse)
            .collect()
    }

    /// The stored form: the names in catalogue order, separated by one space.
    pub fn to_stored(self) -> String {
        self.iter()
            .map(Permission::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn names(self) -> Vec<String> {
        self.iter().map(|p| p.as_str().to_owned()).collect()
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = PermissionSet::EMPTY;
        for permission in iter {
            set.insert(permission);
        }
        set
    }
}

/// The names, not the words: `{UsersView, AuditView}`.
impl fmt::Debug for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// `N` words of bits, bit `i` in word `i / 64`. Generic so that the tests can prove the set
/// beyond 64 entries before the catalogue gets there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bits<const N: usize>([u64; N]);

impl<const N: usize> Bits<N> {
    const EMPTY: Self = Bits([0; N]);

    const fn with(mut self, index: usize) -> Self {
        self.0[index / 64] |= 1 << (index % 64);
        self
    }

    fn contains(self, index: usize) -> bool {
        self.0[index / 64] & (1 << (index % 64)) != 0
    }

    fn union(mut self, other: Self) -> Self {
        for (word, theirs) in self.0.iter_mut().zip(other.0) {
            *word |= theirs;
        }
        self
    }

    fn intersection(mut self, other: Self) -> Self {
        for (word, theirs) in self.0.iter_mut().zip(other.0) {
            *word &= theirs;
        }
        self
    }

    /// Branch-free over the words: the ORed leftovers are zero only if every word is.
    fn is_subset_of(self, other: Self) -> bool {
        self.0
            .iter()
            .zip(other.0)
            .fold(0, |outside, (word, theirs)| outside | (word & !theirs))
            == 0
    }

    fn is_empty(self) -> bool {
        self.0.iter().fold(0, |any, word| any | word) == 0
    }
}

/// `[u64; N]` has `Default` only up to 32 words; spelled out, it has no limit.
impl<const N: usize> Default for Bits<N> {
    fn default() -> Self {
        Self::EMPTY
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn catalogue_round_trips_and_indexes_its_bits() {
        let mut seen = HashSet::new();
        for (i, p) in Permission::ALL.iter().enumerate() {
            assert_eq!(*p as usize, i, "{p} is not at its bit");
            assert_eq!(Permission::parse(p.as_str()), Some(*p));
            assert_eq!(p.as_json(), format!("\"{p}\""));
            assert!(seen.insert(p.as_str()), "duplicate {p}");
            assert!(p.as_str().split_once('.').is_some(), "{p} has no area");
        }
        assert_eq!(Permission::parse("users.VIEW"), None);
        assert_eq!(Permission::parse(" users.view"), None);
        assert!(Permission::ALL.len() <= WORDS * 64);
    }

    #[test]
    fn wildcards() {
        let views: PermissionSet = Permission::matching("*.view").collect();
        assert!(views.contains(Permission::UsersView));
        assert!(views.contains(Permission::AuditView));
        assert!(!views.contains(Permission::UsersViewAccess));
        assert!(!views.contains(Permission::UsersCreate));
        assert!(wildcard_matches("users.*", Permission::UsersDelete));
        assert!(!wildcard_matches("users.*", Permission::GroupsView));
        assert!(wildcard_matches("*", Permission::FederatedManage));
        assert!(!wildcard_matches("users", Permission::UsersView));
        assert!(wildcard_matches_name("users.*", "users.fly"));
        assert!(!wildcard_matches_name("users.*", "users"));
        // A name matches itself only; a pattern over nothing matches nothing.
        assert_eq!(
            Permission::matching("users.view").collect::<Vec<_>>(),
            [Permission::UsersView]
        );
        assert_eq!(Permission::matching("users.fly").count(), 0);
        assert_eq!(Permission::matching("nope.*").count(), 0);
        assert_eq!(Permission::matching("*").count(), Permission::ALL.len());
        assert_eq!(Permission::matching("*.*").count(), Permission::ALL.len());
    }

    #[test]
    fn stored_form_round_trips() {
        let set: PermissionSet = [Permission::AuditView, Permission::UsersView]
            .into_iter()
            .collect();
        assert_eq!(set.to_stored(), "users.view audit.view");
        assert_eq!(set.names(), ["users.view", "audit.view"]);
        assert_eq!(PermissionSet::from_stored(&set.to_stored()), set);
        assert_eq!(
            PermissionSet::from_stored("  audit.view users.fly\tusers.view users.view "),
            set
        );
        assert_eq!(format!("{set:?}"), "{UsersView, AuditView}");
        assert!(set.is_subset_of(PermissionSet::all()));
        assert!(!PermissionSet::all().is_subset_of(set));

        let all = PermissionSet::all();
        assert_eq!(all.iter().collect::<Vec<_>>(), Permission::ALL);
        assert_eq!(PermissionSet::from_stored(&all.to_stored()), all);
        assert_eq!(PermissionSet::from_stored(""), PermissionSet::EMPTY);
        assert_eq!(PermissionSet::EMPTY.to_stored(), "");
        assert!(PermissionSet::default().is_empty());
    }

    #[test]
    fn the_set_stays_as_small_as_the_catalogue_needs() {
        assert_eq!(
            size_of::<PermissionSet>(),
            8 * Permission::ALL.len().div_ceil(64)
        );
    }

    /// The catalogue is below 64 today; the bits behind the set are proven beyond it.
    #[test]
    fn bits_reach_past_the_first_word() {
        let high = Bits::<2>::EMPTY.with(100).with(127);
        let low = Bits::<2>::EMPTY.with(3).with(63);
        for i in 0..128 {
            assert_eq!(high.contains(i), i == 100 || i == 127, "bit {i}");
            assert_eq!(low.contains(i), i == 3 || i == 63, "bit {i}");
        }
        let both = high.union(low);
        assert_eq!(both, Bits([1 << 3 | 1 << 63, 1 << 36 | 1 << 63]));
        assert!(high.is_subset_of(both) && low.is_subset_of(both));
        assert!(!both.is_subset_of(high) && !both.is_subset_of(low));
        // A difference only in the second word is still a difference.
        assert!(!Bits::<2>::EMPTY.with(100).is_subset_of(low));
        assert!(Bits::<2>::EMPTY.is_subset_of(low));
        assert_eq!(both.intersection(high), high);
        assert!(high.intersection(low).is_empty());
        assert!(!high.is_empty());
        assert_eq!(Bits::<2>::default(), Bits::EMPTY);
        assert!(Bits::<40>::default().is_empty());
    }
}

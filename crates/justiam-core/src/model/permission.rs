//! The permission catalogue and the built-in admin roles.

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

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of permissions as a bit set: checks on the request path cost one AND.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PermissionSet(u64);

impl PermissionSet {
    pub const EMPTY: PermissionSet = PermissionSet(0);

    pub fn all() -> Self {
        Self::from_iter(Permission::ALL.iter().copied())
    }

    pub fn contains(self, permission: Permission) -> bool {
        self.0 & (1 << permission as u8) != 0
    }

    pub fn insert(&mut self, permission: Permission) {
        self.0 |= 1 << permission as u8;
    }

    pub fn union(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 | other.0)
    }

    pub fn intersection(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 & other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn is_subset_of(self, other: PermissionSet) -> bool {
        self.0 & !other.0 == 0
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

/// Whether `pattern` (a permission name, or a wildcard such as `*.view`, `users.*` or `*`)
/// matches `permission`. A `*` stands for one whole dot-separated part, or for everything alone.
pub fn wildcard_matches(pattern: &str, permission: Permission) -> bool {
    if pattern == "*" {
        return true;
    }
    let name = permission.as_str();
    match (pattern.split_once('.'), name.split_once('.')) {
        (Some((pr, pa)), Some((nr, na))) => (pr == "*" || pr == nr) && (pa == "*" || pa == na),
        _ => false,
    }
}

/// A built-in admin role: created at start-up, immutable.
pub struct BuiltinRole {
    pub name: &'static str,
    pub description: &'static str,
    /// `None` means the whole catalogue.
    pub permissions: Option<&'static [Permission]>,
}

impl BuiltinRole {
    pub fn permission_set(&self) -> PermissionSet {
        match self.permissions {
            Some(list) => list.iter().copied().collect(),
            None => PermissionSet::all(),
        }
    }
}

pub const BUILTIN_ROLES: &[BuiltinRole] = &[
    BuiltinRole {
        name: "idp:admin",
        description: "Every permission of the catalogue.",
        permissions: None,
    },
    BuiltinRole {
        name: "idp:group-manager",
        description: "Sees users and groups, edits groups and their members.",
        permissions: Some(&[
            Permission::UsersView,
            Permission::GroupsView,
            Permission::GroupsUpdate,
            Permission::GroupsMembers,
        ]),
    },
    BuiltinRole {
        name: "idp:viewer",
        description: "Read-only access to users, groups, apps, roles and resource sets.",
        permissions: Some(&[
            Permission::UsersView,
            Permission::UsersViewAccess,
            Permission::GroupsView,
            Permission::GroupsViewAccess,
            Permission::AppsView,
            Permission::RolesView,
            Permission::ResourceSetsView,
        ]),
    },
    BuiltinRole {
        name: "idp:directory-viewer",
        description: "Read-only access to users and groups.",
        permissions: Some(&[Permission::UsersView, Permission::GroupsView]),
    },
];

/// Parses a list of permission strings from a request; unknown ones are a `400` naming them.
pub fn parse_permission_list(
    field: &str,
    raw: &[String],
) -> crate::error::CoreResult<PermissionSet> {
    raw.iter()
        .map(|name| {
            Permission::parse(name.trim()).ok_or_else(|| {
                crate::error::CoreError::validation(
                    field,
                    format!(
                        "{field} contains {name:?}, which is not a permission of the catalogue"
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_round_trips_and_fits_the_bit_set() {
        assert!(Permission::ALL.len() <= 64);
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(*p));
        }
        assert_eq!(Permission::parse("users.VIEW"), None);
    }

    #[test]
    fn wildcards() {
        let views: PermissionSet = Permission::ALL
            .iter()
            .copied()
            .filter(|p| wildcard_matches("*.view", *p))
            .collect();
        assert!(views.contains(Permission::UsersView));
        assert!(views.contains(Permission::AuditView));
        assert!(!views.contains(Permission::UsersViewAccess));
        assert!(!views.contains(Permission::UsersCreate));
        assert!(wildcard_matches("users.*", Permission::UsersDelete));
        assert!(!wildcard_matches("users.*", Permission::GroupsView));
        assert!(wildcard_matches("*", Permission::FederatedManage));
        assert!(!wildcard_matches("users", Permission::UsersView));
    }

    #[test]
    fn stored_form_round_trips() {
        let set: PermissionSet = [Permission::UsersView, Permission::AuditView]
            .into_iter()
            .collect();
        assert_eq!(set.to_stored(), "users.view audit.view");
        assert_eq!(PermissionSet::from_stored(&set.to_stored()), set);
        assert!(set.is_subset_of(PermissionSet::all()));
        assert!(!PermissionSet::all().is_subset_of(set));
    }
}

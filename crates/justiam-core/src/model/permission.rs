//! The built-in admin roles and permission lists from requests. The catalogue itself (`Permission`,
//! `PermissionSet`, wildcards) lives in `justiam-types`, which the Terraform provider shares.

pub use justiam_types::permission::{Permission, PermissionSet, wildcard_matches};

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

/// Parses a list of permission strings from a request, each spelled exactly as the catalogue does
/// (no padding); unknown ones are a `400` naming them.
pub fn parse_permission_list(
    field: &str,
    raw: &[String],
) -> crate::error::CoreResult<PermissionSet> {
    raw.iter()
        .map(|name| {
            Permission::parse(name).ok_or_else(|| {
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

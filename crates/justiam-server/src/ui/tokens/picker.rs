//! The New Token form's permission picker: the permissions the owner holds, grouped by resource,
//! each with a sentence and a none / read / write choice (as GitHub's fine-grained tokens). What the
//! owner holds comes from the service (`Iam::token_permission_choices`); here it is only arranged.

use justiam_core::model::{Permission, PermissionSet};

use crate::ui::kit::Fields;

/// The resources of the catalogue, in the order the picker shows them, with what they cover.
const RESOURCES: [(&str, &str, &str); 10] = [
    (
        "users",
        "Users",
        "People and service accounts: their details, what they may do, tags and password resets.",
    ),
    (
        "groups",
        "Groups",
        "Groups, their members, what they may do and their tags.",
    ),
    (
        "apps",
        "Applications",
        "The applications that sign people in through JustIAM.",
    ),
    ("roles", "Roles", "The roles applications give to people."),
    (
        "resource_sets",
        "Resource sets",
        "Sets of resources that roles apply to.",
    ),
    (
        "admin_roles",
        "Admin roles",
        "Create and assign the roles that give the permissions of this list.",
    ),
    (
        "service_accounts",
        "Service account tokens",
        "Create, rotate and revoke the tokens of service accounts.",
    ),
    (
        "sessions",
        "Sessions",
        "See the portal sessions and end them.",
    ),
    ("audit", "Audit log", "Read the audit log."),
    (
        "federated",
        "Federated sign-in",
        "The identity providers people may sign in with.",
    ),
];

/// How much of one resource a token may use.
pub const LEVELS: [&str; 3] = ["none", "read", "write"];

/// The resource a permission belongs to: the part of its name before the dot.
fn resource_of(p: Permission) -> &'static str {
    p.as_str().split_once('.').map_or("", |(r, _)| r)
}

/// Reading: `view` and `viewaccess`; everything else changes something.
fn is_read(p: Permission) -> bool {
    p.as_str()
        .split_once('.')
        .is_some_and(|(_, action)| action.starts_with("view"))
}

/// One resource of the picker.
pub struct ResourceChoice {
    pub key: &'static str,
    pub title: &'static str,
    pub sentence: &'static str,
    /// The permissions "read" gives (those held), `None` when reading is not offered on its own.
    pub read: Option<PermissionSet>,
    /// The permissions "write" gives (every one held in the resource), `None` when the owner holds
    /// only reading ones.
    pub write: Option<PermissionSet>,
    /// `none`, `read` or `write`.
    pub level: String,
}

impl ResourceChoice {
    pub fn read_names(&self) -> String {
        self.read.map(|s| s.names().join(", ")).unwrap_or_default()
    }

    pub fn write_names(&self) -> String {
        self.write.map(|s| s.names().join(", ")).unwrap_or_default()
    }

    pub fn is_level(&self, level: &str) -> bool {
        self.level == level
    }

    /// The radio's name.
    pub fn field(&self) -> String {
        format!("access_{}", self.key)
    }

    fn granted(&self) -> PermissionSet {
        match self.level.as_str() {
            "read" => self.read.unwrap_or_default(),
            "write" => self.write.unwrap_or_default(),
            _ => PermissionSet::EMPTY,
        }
    }
}

/// The picker of the permissions `held`: one choice per resource the owner holds anything of.
pub fn resources(held: PermissionSet) -> Vec<ResourceChoice> {
    RESOURCES
        .iter()
        .filter_map(|&(key, title, sentence)| {
            let mine: PermissionSet = held.iter().filter(|p| resource_of(*p) == key).collect();
            if mine.is_empty() {
                return None;
            }
            let read: PermissionSet = mine.iter().filter(|p| is_read(*p)).collect();
            let writes = mine.iter().any(|p| !is_read(p));
            Some(ResourceChoice {
                key,
                title,
                sentence,
                read: (!read.is_empty()).then_some(read),
                write: writes.then_some(mine),
                level: "none".to_owned(),
            })
        })
        .collect()
}

/// Reads the picker's choices into `choices` and answers the permissions they give.
pub fn read_choices(f: &Fields, choices: &mut [ResourceChoice]) -> PermissionSet {
    let mut set = PermissionSet::EMPTY;
    for choice in choices.iter_mut() {
        let level = f.get(&choice.field()).unwrap_or("none");
        choice.level = if LEVELS.contains(&level) {
            level.to_owned()
        } else {
            "none".to_owned()
        };
        set = set.union(choice.granted());
    }
    set
}

/// Whether "Read-only" (`*.view`) can be offered: the owner holds at least one permission it
/// matches (otherwise the service would refuse it).
pub fn read_only_offered(held: PermissionSet) -> bool {
    Permission::matching("*.view").any(|p| held.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_of_the_catalogue_has_a_resource_of_the_picker() {
        let all = resources(PermissionSet::all());
        let covered = all.iter().fold(PermissionSet::EMPTY, |acc, r| {
            acc.union(r.write.or(r.read).unwrap_or_default())
        });
        assert_eq!(covered, PermissionSet::all());
    }

    #[test]
    fn read_and_write_follow_what_is_held() {
        let held: PermissionSet = [
            Permission::UsersView,
            Permission::GroupsView,
            Permission::GroupsMembers,
            Permission::AdminRolesManage,
        ]
        .into_iter()
        .collect();
        let picker = resources(held);
        let keys: Vec<_> = picker.iter().map(|r| r.key).collect();
        assert_eq!(keys, ["users", "groups", "admin_roles"]);
        assert_eq!(picker[0].read_names(), "users.view");
        assert!(picker[0].write.is_none(), "only reading is held");
        assert_eq!(picker[1].write_names(), "groups.view, groups.members");
        assert!(picker[2].read.is_none(), "admin_roles has nothing to read");
        assert!(read_only_offered(held));
        assert!(!read_only_offered(
            [Permission::AdminRolesManage].into_iter().collect()
        ));
    }
}

//! Newtypes that parse, not validate: once built, a value is known good.

mod email;
mod names;
mod page;
mod permission;
#[cfg(test)]
mod proptests;

pub use email::Email;
pub use names::{Description, EntityName, PersonName, TokenName};
pub use page::PageRequest;
pub use permission::{
    BUILTIN_ROLES, BuiltinRole, Permission, PermissionSet, parse_permission_list, wildcard_matches,
};

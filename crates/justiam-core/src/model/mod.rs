//! The domain: newtypes that parse, not validate (once built, a value is known good), and the
//! entities the services take and return. The store reads and writes these; its rows stay inside
//! it.

mod audit;
mod email;
mod group;
mod names;
mod page;
mod permission;
#[cfg(test)]
mod proptests;
mod role;
mod session;
mod token;
mod user;

pub use audit::{AuditFilter, AuditRecord};
pub use email::Email;
pub use group::Group;
pub use names::{Description, EntityName, PersonName, TokenName};
pub use page::PageRequest;
pub use permission::{
    BUILTIN_ROLES, BuiltinRole, Permission, PermissionSet, parse_permission_list, wildcard_matches,
};
pub use role::{AdminRole, HeldRole, RoleHolder};
pub use session::{Session, SessionWithUser};
pub use token::{
    Token, TokenDetail, TokenInventoryFilter, TokenListFilter, TokenListSort, TokenListState,
    TokenWithOwner,
};
pub use user::User;

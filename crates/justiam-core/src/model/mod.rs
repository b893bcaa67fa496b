//! The domain: newtypes that parse, not validate (once built, a value is known good), and the
//! entities the services take and return. The store reads and writes these; its rows stay inside
//! it.

mod app_mapping;
pub mod application;
mod audit;
mod email;
mod group;
pub mod machine;
mod names;
mod page;
mod permission;
#[cfg(test)]
mod proptests;
mod role;
mod session;
mod token;
mod user;
mod webhook;

pub use app_mapping::{AppMapping, MappingHolder, parse_mapping_value, parse_variable_name};
pub use application::{
    Application, ApplicationGrant, ApplicationType, ClaimMapping, parse_claim_mappings,
    parse_friendly_name, parse_grace_period, parse_grant_types, parse_launch_url,
    parse_redirect_uris, parse_scopes, parse_token_expiry, redirect_uri_allowed,
};
pub use audit::{AuditFilter, AuditRecord};
pub use email::Email;
pub use group::Group;
pub(crate) use names::bounded_text;
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
pub use webhook::{EVENT_TYPES, Webhook, WebhookDelivery, parse_events, parse_webhook_url};

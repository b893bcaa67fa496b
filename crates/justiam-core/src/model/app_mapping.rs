//! App role mappings: a value a user or group holds for one application (the `roles` claim, and
//! `${variable}` in claim mapping templates).

use uuid::Uuid;

use super::names::bounded_text;
use crate::error::{CoreError, CoreResult};
use crate::time::{Millis, to_datetime};

/// Template variables JustIAM fills itself: a mapping variable may not shadow them.
const BUILTIN_VARIABLES: &[&str] = &[
    "email",
    "username",
    "first_name",
    "last_name",
    "name",
    "id",
    "groups",
    "appRoles",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppMapping {
    pub id: Uuid,
    pub application_id: Uuid,
    pub variable_name: String,
    pub value: String,
    pub description: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl AppMapping {
    pub fn to_wire(&self) -> justiam_types::application::AppMapping {
        justiam_types::application::AppMapping {
            id: self.id,
            application_id: self.application_id,
            variable_name: self.variable_name.clone(),
            value: self.value.clone(),
            description: self.description.clone(),
            created_at: to_datetime(self.created_at),
            updated_at: to_datetime(self.updated_at),
        }
    }
}

/// Who holds an app mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingHolder {
    User(Uuid),
    Group(Uuid),
}

/// A mapping's `variable_name`, as written in `${…}`: a letter or `_`, then up to 63 letters,
/// digits or `_`; not one of the built-in template variables.
pub fn parse_variable_name(raw: &str) -> CoreResult<String> {
    let name = raw.trim();
    let mut bytes = name.bytes();
    let shaped = (1..=64).contains(&name.len())
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !shaped {
        return Err(CoreError::validation(
            "variable_name",
            "variable_name must be 1-64 letters, digits or _, starting with a letter or _",
        ));
    }
    if BUILTIN_VARIABLES.contains(&name) {
        return Err(CoreError::validation(
            "variable_name",
            format!("variable_name {name:?} is a built-in template variable; choose another name"),
        ));
    }
    Ok(name.to_owned())
}

/// A mapping's `value`: trimmed, 1–1000 characters.
pub fn parse_mapping_value(raw: &str) -> CoreResult<String> {
    bounded_text("value", raw, 1, 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names() {
        assert_eq!(parse_variable_name(" app_role ").expect("ok"), "app_role");
        for bad in [
            "",
            "1role",
            "role-x",
            "rôle",
            "email",
            "appRoles",
            &"a".repeat(65),
        ] {
            assert!(parse_variable_name(bad).is_err(), "{bad:?}");
        }
        assert!(parse_mapping_value("  ").is_err());
        assert!(parse_mapping_value("admin").is_ok());
    }
}

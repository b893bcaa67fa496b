use crate::error::{CoreError, CoreResult};
use justiam_types::rules;

/// Checks `raw` is at most `max` characters and holds no control character, then trims it and
/// checks at least `min` characters remain. The rules read the text as sent, as the OpenAPI
/// document states them (`justiam_types::rules`).
pub(crate) fn bounded_text(field: &str, raw: &str, min: usize, max: usize) -> CoreResult<String> {
    if raw.chars().count() > max {
        return Err(CoreError::validation(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    let value = raw.trim();
    if value.chars().count() < min {
        return Err(CoreError::validation(
            field,
            format!("{field} is required and must not be blank"),
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err(CoreError::validation(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(value.to_owned())
}

/// A token's name: 1–100 characters, not blank, stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenName(String);

impl TokenName {
    pub fn parse(raw: &str) -> CoreResult<Self> {
        bounded_text("name", raw, 1, rules::NAME_MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A first or last name: 0–100 characters, stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(field: &str, raw: &str) -> CoreResult<Self> {
        bounded_text(field, raw, 0, rules::PERSON_NAME_MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_name_bounds() {
        assert_eq!(
            TokenName::parse("  CI pipeline ").expect("ok").as_str(),
            "CI pipeline"
        );
        assert!(TokenName::parse("   ").is_err());
        assert!(TokenName::parse(&"é".repeat(100)).is_ok());
        assert!(TokenName::parse(&"é".repeat(101)).is_err());
        assert!(TokenName::parse("a\u{0}b").is_err());
    }
}

/// The name of a group or an admin role: 1–100 characters, not blank, stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityName(String);

impl EntityName {
    pub fn parse(raw: &str) -> CoreResult<Self> {
        bounded_text("name", raw, 1, rules::NAME_MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A free-text description: at most 1000 characters, stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> CoreResult<Self> {
        if raw.chars().count() > rules::DESCRIPTION_MAX_CHARS {
            return Err(CoreError::validation(
                "description",
                "description must be at most 1000 characters",
            ));
        }
        if raw
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(CoreError::validation(
                "description",
                "description must not contain control characters",
            ));
        }
        Ok(Self(raw.trim().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

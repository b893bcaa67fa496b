use crate::error::{CoreError, CoreResult};

/// Trims `raw` and checks it is 1..=max characters without control characters.
pub(crate) fn bounded_text(field: &str, raw: &str, min: usize, max: usize) -> CoreResult<String> {
    let value = raw.trim();
    let len = value.chars().count();
    if len < min {
        return Err(CoreError::validation(
            field,
            format!("{field} is required and must not be blank"),
        ));
    }
    if len > max {
        return Err(CoreError::validation(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(CoreError::validation(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(value.to_owned())
}

/// A token's name: trimmed, 1–100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenName(String);

impl TokenName {
    pub fn parse(raw: &str) -> CoreResult<Self> {
        bounded_text("name", raw, 1, 100).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A first or last name: trimmed, 0–100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(field: &str, raw: &str) -> CoreResult<Self> {
        bounded_text(field, raw, 0, 100).map(Self)
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

/// The name of a group or an admin role: trimmed, 1–100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityName(String);

impl EntityName {
    pub fn parse(raw: &str) -> CoreResult<Self> {
        bounded_text("name", raw, 1, 100).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A free-text description: trimmed, at most 1000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> CoreResult<Self> {
        let value = raw.trim();
        if value.chars().count() > 1000 {
            return Err(CoreError::validation(
                "description",
                "description must be at most 1000 characters",
            ));
        }
        if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(CoreError::validation(
                "description",
                "description must not contain control characters",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

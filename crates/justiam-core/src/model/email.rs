use crate::error::{CoreError, CoreResult};

/// A trimmed email address with one `@`, a non-empty local part and a dotted domain.
/// Uniqueness is case-insensitive; the address is kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(field: &str, raw: &str) -> CoreResult<Email> {
        let value = raw.trim();
        let invalid = |rule: &str| CoreError::validation(field, format!("{field} {rule}"));
        if value.is_empty() {
            return Err(invalid("is required"));
        }
        if value.chars().count() > Self::MAX_LEN {
            return Err(invalid("must be at most 254 characters"));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("must not contain spaces or control characters"));
        }
        let Some((local, domain)) = value.split_once('@') else {
            return Err(invalid("must be an email address like name@example.com"));
        };
        let domain_ok = !domain.is_empty()
            && !domain.contains('@')
            && domain.split('.').count() >= 2
            && domain.split('.').all(|label| !label.is_empty());
        if local.is_empty() || !domain_ok {
            return Err(invalid("must be an email address like name@example.com"));
        }
        Ok(Email(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key uniqueness and login use.
    pub fn lowercase(&self) -> String {
        self.0.to_lowercase()
    }

    /// The local part, reduced to `[a-z0-9._-]`, as the base of the derived username.
    pub fn username_base(&self) -> String {
        let local = self.0.split('@').next().unwrap_or_default().to_lowercase();
        let cleaned: String = local
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .take(64)
            .collect();
        if cleaned.is_empty() {
            "user".to_owned()
        } else {
            cleaned
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_addresses_and_trims() {
        let e = Email::parse("email", "  Ada.Lovelace+x@Example.org ").expect("valid");
        assert_eq!(e.as_str(), "Ada.Lovelace+x@Example.org");
        assert_eq!(e.lowercase(), "ada.lovelace+x@example.org");
        assert_eq!(e.username_base(), "ada.lovelacex");
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "", "a", "a@", "@b.c", "a@b", "a b@c.d", "a@b..c", "a@@b.c", "a@b.c\0",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn username_base_never_empty() {
        let e = Email::parse("email", "ü@example.org").expect("valid");
        assert_eq!(e.username_base(), "user");
    }
}

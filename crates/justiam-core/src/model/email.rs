use unicode_normalization::UnicodeNormalization;

use crate::error::{CoreError, CoreResult};

/// An email address in Unicode normalisation form NFKC, trimmed, with one `@`, a non-empty local
/// part and a dotted domain, and no character that shows nothing or reorders the text around it;
/// at most 254 characters as sent and once normalised (`justiam_types::rules::EMAIL_PATTERN` states
/// the rule). Uniqueness is case-insensitive; the address is kept as written, once normalised.
///
/// Normalising makes the look-alikes of an address the address itself (full-width `ａlice` is
/// `alice`), so they collide with it instead of standing beside it; the invisible characters
/// (`alice\u{200b}@…`, a right-to-left override) have no normal form that would show them, so
/// they are refused. Usernames are derived from the normalised local part, in ASCII only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = justiam_types::rules::EMAIL_MAX_CHARS;

    pub fn parse(field: &str, raw: &str) -> CoreResult<Email> {
        let invalid = |rule: &str| CoreError::validation(field, format!("{field} {rule}"));
        // Length and controls as sent, as the document states them; the rest once normalised.
        if raw.chars().count() > Self::MAX_LEN {
            return Err(invalid("must be at most 254 characters"));
        }
        if raw.chars().any(char::is_control) {
            return Err(invalid("must not contain spaces or control characters"));
        }
        let normalized = Self::normalize(raw);
        let value = normalized.as_str();
        if value.is_empty() {
            return Err(invalid("is required"));
        }
        if value.chars().any(Self::is_invisible) {
            return Err(invalid(
                "must not contain invisible or bidirectional control characters",
            ));
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
        Ok(Email(normalized))
    }

    /// An address as typed, as it is compared: in NFKC, trimmed. Login looks accounts up by this,
    /// so that `ａlice@example.com` is `alice@example.com` there too.
    pub fn normalize(raw: &str) -> String {
        if raw.is_ascii() {
            // ASCII is its own normal form.
            return raw.trim().to_owned();
        }
        let normalized: String = raw.nfkc().collect();
        normalized.trim().to_owned()
    }

    /// Whether `c` shows nothing or changes how the text around it is shown: the format
    /// characters (general category Cf — soft hyphen, zero-width space and joiners, the
    /// bidirectional marks, embeddings, overrides and isolates, word joiner and invisible
    /// operators, byte order mark, tags…), the combining grapheme joiner, the variation selectors
    /// and the Hangul fillers.
    pub fn is_invisible(c: char) -> bool {
        matches!(
            c,
            // Cf, general category "format" (Unicode 16).
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E007F}'
                // Combining grapheme joiner.
                | '\u{034F}'
                // Variation selectors: Mongolian, the basic block, the supplement.
                | '\u{180B}'..='\u{180D}'
                | '\u{180F}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{E0100}'..='\u{E01EF}'
                // Hangul fillers.
                | '\u{115F}'
                | '\u{1160}'
                | '\u{3164}'
                | '\u{FFA0}'
        )
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
    fn look_alikes_normalise_to_the_address() {
        for (look_alike, address) in [
            ("\u{ff41}lice@example.com", "alice@example.com"),
            ("ａｌｉｃｅ@ｅｘａｍｐｌｅ.ｃｏｍ", "alice@example.com"),
            ("alice\u{ff20}example.com", "alice@example.com"),
            ("\u{fb01}nance@example.com", "finance@example.com"),
            ("caf\u{65}\u{301}@example.com", "caf\u{e9}@example.com"),
            ("alice@example.com\u{3000}", "alice@example.com"),
        ] {
            let email = Email::parse("email", look_alike).expect(look_alike);
            assert_eq!(email.as_str(), address, "{look_alike:?}");
            assert_eq!(Email::normalize(look_alike), address, "{look_alike:?}");
        }
        let fullwidth = Email::parse("email", "ａｌｉｃｅ@example.com").expect("valid");
        assert_eq!(fullwidth.username_base(), "alice");
    }

    #[test]
    fn invisible_and_bidirectional_characters_are_refused() {
        for c in [
            '\u{00AD}',
            '\u{034F}',
            '\u{061C}',
            '\u{115F}',
            '\u{1160}',
            '\u{180E}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2060}',
            '\u{2064}',
            '\u{2066}',
            '\u{2069}',
            '\u{206F}',
            '\u{3164}',
            '\u{FE00}',
            '\u{FE0F}',
            '\u{FEFF}',
            '\u{FFA0}',
            '\u{E0000}',
            '\u{E0041}',
            '\u{E007F}',
        ] {
            for raw in [
                format!("alice{c}@example.com"),
                format!("{c}alice@example.com"),
                format!("alice@example.com{c}"),
                format!("alice@exa{c}mple.com"),
            ] {
                match Email::parse("email", &raw) {
                    Err(CoreError::Validation { field, message }) => {
                        assert_eq!(field, "email");
                        assert_eq!(
                            message,
                            "email must not contain invisible or bidirectional control characters",
                            "{raw:?}"
                        );
                    }
                    other => panic!("{raw:?}: {other:?}"),
                }
            }
        }
        // The right-to-left override that shows `alice@example.com` for other bytes.
        let rlo = "\u{202E}moc.elpmaxe@ecila";
        assert!(Email::parse("email", rlo).is_err());
        // Visible non-ASCII is not invisible.
        for fine in ['é', 'ü', 'ß', 'ø', '中', 'й'] {
            assert!(!Email::is_invisible(fine), "{fine}");
        }
    }

    #[test]
    fn username_base_never_empty() {
        let e = Email::parse("email", "ü@example.org").expect("valid");
        assert_eq!(e.username_base(), "user");
    }
}

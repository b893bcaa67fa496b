use crate::error::{CoreError, CoreResult};

/// A validated page request: `page` 1-based, `limit` 1..=100 (larger values are clamped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub limit: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            limit: Self::DEFAULT_LIMIT,
        }
    }
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = justiam_types::rules::LIMIT_DEFAULT;
    pub const MAX_LIMIT: u32 = justiam_types::rules::LIMIT_MAX;

    /// Parses the raw query values; absent values take their defaults.
    pub fn parse(page: Option<&str>, limit: Option<&str>) -> CoreResult<Self> {
        let page = match page {
            None => 1,
            Some(raw) => positive("page", raw)?,
        };
        let limit = match limit {
            None => Self::DEFAULT_LIMIT,
            Some(raw) => positive("limit", raw)?.min(u64::from(Self::MAX_LIMIT)) as u32,
        };
        let page = u32::try_from(page).map_err(|_| {
            CoreError::validation(
                "page",
                "page must be a positive integer of at most 4294967295",
            )
        })?;
        Ok(Self { page, limit })
    }

    pub fn offset(self) -> i64 {
        (i64::from(self.page) - 1) * i64::from(self.limit)
    }
}

fn positive(field: &str, raw: &str) -> CoreResult<u64> {
    let rule = || CoreError::validation(field, format!("{field} must be a positive integer"));
    let value: u64 = match raw.trim().parse::<u64>() {
        Ok(value) => value,
        // A huge but well-formed number is still a number: let the caller clamp it.
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => u64::MAX,
        Err(_) => return Err(rule()),
    };
    if value == 0 { Err(rule()) } else { Ok(value) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_clamping_and_nonsense() {
        assert_eq!(
            PageRequest::parse(None, None).expect("ok"),
            PageRequest { page: 1, limit: 20 }
        );
        assert_eq!(
            PageRequest::parse(Some("3"), Some("500")).expect("ok"),
            PageRequest {
                page: 3,
                limit: 100
            }
        );
        assert_eq!(
            PageRequest::parse(Some("2"), Some("25"))
                .expect("ok")
                .offset(),
            25
        );
        for (p, l) in [
            (Some("0"), None),
            (None, Some("0")),
            (Some("-1"), None),
            (None, Some("x")),
            (Some("1.5"), None),
        ] {
            assert!(PageRequest::parse(p, l).is_err());
        }
        assert_eq!(
            PageRequest::parse(None, Some("99999999999999999999999"))
                .expect("ok")
                .limit,
            100
        );
        assert!(PageRequest::parse(Some("99999999999999999999999"), None).is_err());
    }
}

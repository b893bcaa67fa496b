//! What a token list's controls ask for — a name search, a state (active / expiring / expired),
//! an order and a page size — read from the query and shown back in the form
//! (`templates/tokens/controls.html`), and the banner counting tokens that stop within 7 days.

use std::collections::HashMap;

use justiam_core::model::{PageRequest, TokenListFilter, TokenListSort, TokenListState};
use justiam_core::service::TokenOwner;

use crate::app::AppState;
use crate::ui::kit::{Pager, UiError, UiUser, encode, page_of, pager};

/// The states of the filter: query value and label.
pub const STATES: [(&str, &str); 4] = [
    ("", "All tokens"),
    ("active", "Active"),
    ("expiring", "Expiring within 7 days"),
    ("expired", "Expired"),
];

/// The orders: query value and label.
pub const SORTS: [(&str, &str); 6] = [
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("expires", "Expiring soonest"),
    ("expires_desc", "Expiring latest"),
    ("name", "Name"),
    ("last_used", "Last used"),
];

pub const PAGE_SIZES: [u32; 4] = [10, 20, 50, 100];

/// The controls of one token list, as asked and as shown.
pub struct ListControls {
    /// The list's path, where the form goes.
    pub path: String,
    pub search: String,
    pub state: String,
    pub sort: String,
    pub per_page: u32,
    pub states: [(&'static str, &'static str); 4],
    pub sorts: [(&'static str, &'static str); 6],
    pub page_sizes: [u32; 4],
    /// Tokens that stop working within 7 days (whatever the filter shows).
    pub expiring: u64,
    /// Some control differs from its default (the empty list then says "no token matches").
    pub filtered: bool,
}

impl ListControls {
    pub fn is_state(&self, value: &str) -> bool {
        self.state == value
    }

    pub fn is_sort(&self, value: &str) -> bool {
        self.sort == value
    }

    pub fn is_per_page(&self, size: &u32) -> bool {
        self.per_page == *size
    }

    /// `2 tokens stop` / `1 token stops`.
    pub fn expiring_words(&self) -> String {
        match self.expiring {
            1 => "1 token stops".to_owned(),
            n => format!("{n} tokens stop"),
        }
    }
}

/// One filtered page of `owner`'s tokens at `path`, with the controls that asked for it and the
/// pager that keeps them.
pub async fn token_page(
    state: &AppState,
    user: &UiUser,
    owner: TokenOwner,
    path: &str,
    q: &HashMap<String, String>,
) -> Result<(Vec<justiam_core::model::Token>, Pager, ListControls), UiError> {
    let pick = |name: &str, options: &[&'static str]| -> &'static str {
        let asked = q.get(name).map(String::as_str).unwrap_or_default();
        options
            .iter()
            .copied()
            .find(|o| *o == asked)
            .unwrap_or(options[0])
    };
    let token_state = pick("state", &STATES.map(|(v, _)| v));
    let sort = pick("sort", &SORTS.map(|(v, _)| v));
    let per_page = q
        .get("per_page")
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|p| PAGE_SIZES.contains(p))
        .unwrap_or(PageRequest::DEFAULT_LIMIT);
    let search = q
        .get("search")
        .map(|s| s.trim().chars().take(200).collect::<String>())
        .unwrap_or_default();
    // The values of `STATES` and `SORTS` are those the service parses.
    let filter = TokenListFilter {
        search: (!search.is_empty()).then(|| search.clone()),
        state: TokenListState::parse(token_state).unwrap_or_default(),
        sort: TokenListSort::parse(sort).unwrap_or_default(),
    };
    let page = PageRequest {
        limit: per_page,
        ..page_of(q)
    };
    let (rows, total) = state
        .iam
        .list_tokens_filtered(&user.principal, owner, &filter, page)
        .await?;
    let expiring_only = TokenListFilter {
        state: TokenListState::Expiring,
        ..TokenListFilter::default()
    };
    let (_, expiring) = state
        .iam
        .list_tokens_filtered(
            &user.principal,
            owner,
            &expiring_only,
            PageRequest { page: 1, limit: 1 },
        )
        .await?;
    let base = format!(
        "{path}?search={}&state={token_state}&sort={sort}&per_page={per_page}&",
        encode(&search)
    );
    let controls = ListControls {
        path: path.to_owned(),
        filtered: !search.is_empty() || !token_state.is_empty(),
        search,
        state: token_state.to_owned(),
        sort: sort.to_owned(),
        per_page,
        states: STATES,
        sorts: SORTS,
        page_sizes: PAGE_SIZES,
        expiring,
    };
    Ok((rows, pager(&base, page, total), controls))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_choice_is_one_the_service_reads() {
        for (value, _) in STATES {
            assert!(TokenListState::parse(value).is_some(), "{value}");
        }
        for (value, _) in SORTS {
            assert!(TokenListSort::parse(value).is_some(), "{value}");
        }
        assert_eq!(STATES.len(), TokenListState::ALL.len());
        assert_eq!(SORTS.len(), TokenListSort::ALL.len());
    }
}

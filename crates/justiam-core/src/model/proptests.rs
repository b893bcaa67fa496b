//! Property tests for every parser of the model: whatever a client sends, a parser either returns
//! a value that satisfies its type's promise or a `Validation` error naming the field, and it never
//! panics. (The token format has its own properties in `crate::token`.)

use proptest::prelude::*;

use super::*;
use crate::error::CoreError;

/// Any text, including control characters, null bytes, astral-plane characters and long runs.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,300}",
        "\\PC{0,150}",
        "[\\x00-\\x1f\\x7f ]{0,10}[a-z]{0,5}[\\x00-\\x1f\\x7f ]{0,10}",
        "[ \\t\\n\\u{a0}\\u{3000}]{0,5}\\PC{0,120}[ \\t\\n\\u{a0}\\u{3000}]{0,5}",
        any::<Vec<char>>().prop_map(|chars| chars.into_iter().collect()),
    ]
}

/// Asserts `error` is a validation error about `field`, with a message naming it.
fn assert_validation(error: CoreError, field: &str) -> Result<(), TestCaseError> {
    match error {
        CoreError::Validation { field: f, message } => {
            prop_assert_eq!(&f, field);
            prop_assert!(
                message.contains(field),
                "message {:?} names {}",
                message,
                field
            );
            Ok(())
        }
        other => Err(TestCaseError::fail(format!(
            "expected a validation error, got {other:?}"
        ))),
    }
}

/// The promise of the bounded text types (`TokenName`, `EntityName`, `PersonName`).
fn check_bounded(
    raw: &str,
    parsed: Result<String, CoreError>,
    field: &str,
    min: usize,
    max: usize,
) -> Result<(), TestCaseError> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    let should_pass = len >= min && len <= max && !trimmed.chars().any(char::is_control);
    match parsed {
        Ok(value) => {
            prop_assert!(should_pass, "accepted {:?}", raw);
            prop_assert_eq!(value.as_str(), trimmed, "stored trimmed");
            prop_assert!(!value.contains('\0'));
        }
        Err(error) => {
            prop_assert!(!should_pass, "refused {:?}", raw);
            assert_validation(error, field)?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn token_names_are_trimmed_bounded_and_control_free(raw in hostile_text()) {
        check_bounded(&raw, TokenName::parse(&raw).map(|n| n.as_str().to_owned()), "name", 1, 100)?;
    }

    #[test]
    fn entity_names_are_trimmed_bounded_and_control_free(raw in hostile_text()) {
        check_bounded(&raw, EntityName::parse(&raw).map(|n| n.as_str().to_owned()), "name", 1, 100)?;
    }

    #[test]
    fn person_names_may_be_empty_but_are_bounded(raw in hostile_text(), last in any::<bool>()) {
        let field = if last { "last_name" } else { "first_name" };
        check_bounded(
            &raw,
            PersonName::parse(field, &raw).map(|n| n.as_str().to_owned()),
            field,
            0,
            100,
        )?;
    }

    #[test]
    fn names_of_exactly_the_maximum_length_pass_and_one_more_fails(
        c in "[^\\p{Cc}\\s]",
        pad in "[ \\t]{0,3}",
    ) {
        let at_max = format!("{pad}{}{pad}", c.repeat(100));
        let over = c.repeat(101);
        prop_assert!(TokenName::parse(&at_max).is_ok());
        prop_assert!(EntityName::parse(&at_max).is_ok());
        prop_assert!(PersonName::parse("first_name", &at_max).is_ok());
        prop_assert!(TokenName::parse(&over).is_err());
        prop_assert!(EntityName::parse(&over).is_err());
        prop_assert!(PersonName::parse("first_name", &over).is_err());
    }

    #[test]
    fn descriptions_allow_newlines_and_tabs_only(raw in hostile_text()) {
        let trimmed = raw.trim();
        let should_pass = trimmed.chars().count() <= 1000
            && !trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\t');
        match Description::parse(&raw) {
            Ok(d) => {
                prop_assert!(should_pass, "accepted {:?}", raw);
                prop_assert_eq!(d.as_str(), trimmed);
            }
            Err(e) => {
                prop_assert!(!should_pass, "refused {:?}", raw);
                assert_validation(e, "description")?;
            }
        }
    }

    #[test]
    fn long_descriptions_are_refused(c in "[a-zé\u{1F600}]", extra in 1usize..50) {
        prop_assert!(Description::parse(&c.repeat(1000)).is_ok());
        prop_assert!(Description::parse(&c.repeat(1000 + extra)).is_err());
    }

    #[test]
    fn emails_accepted_are_well_formed(raw in prop_oneof![
        hostile_text(),
        "[ ]{0,2}[a-zA-Z0-9.+_\u{e9}-]{0,20}@[a-zA-Z0-9.-]{0,20}[ ]{0,2}",
        "[^@]{0,10}@{1,3}[^@]{0,10}",
    ]) {
        match Email::parse("email", &raw) {
            Ok(email) => {
                let value = email.as_str();
                prop_assert_eq!(value, Email::normalize(&raw));
                prop_assert!(value.chars().count() <= Email::MAX_LEN);
                prop_assert!(!value.chars().any(|c| c.is_whitespace() || c.is_control()));
                prop_assert!(!value.chars().any(Email::is_invisible));
                prop_assert_eq!(value.matches('@').count(), 1);
                let (local, domain) = value.split_once('@').expect("one @");
                prop_assert!(!local.is_empty());
                prop_assert!(domain.split('.').count() >= 2);
                prop_assert!(domain.split('.').all(|l| !l.is_empty()));
                prop_assert_eq!(email.lowercase(), value.to_lowercase());
                let base = email.username_base();
                prop_assert!(!base.is_empty() && base.len() <= 64);
                prop_assert!(base.chars().all(|c| c.is_ascii_lowercase()
                    || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')));
            }
            Err(e) => assert_validation(e, "email")?,
        }
    }

    #[test]
    fn plain_addresses_always_parse(
        local in "[a-zA-Z0-9][a-zA-Z0-9.+_-]{0,30}",
        labels in prop::collection::vec("[a-zA-Z0-9-]{1,15}", 2..4),
    ) {
        let raw = format!(" {local}@{} ", labels.join("."));
        let email = Email::parse("email", &raw);
        prop_assert!(email.is_ok(), "{:?}: {:?}", raw, email);
    }

    #[test]
    fn very_long_emails_are_refused(n in 255usize..2000) {
        let raw = format!("{}@example.org", "a".repeat(n));
        prop_assert!(Email::parse("email", &raw).is_err());
    }

    #[test]
    fn page_requests_are_positive_and_clamped(
        page in prop::option::of(prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            "[0-9]{15,40}",
            hostile_text(),
            any::<f64>().prop_map(|f| f.to_string()),
        ]),
        limit in prop::option::of(prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            "[0-9]{15,40}",
            hostile_text(),
        ]),
    ) {
        let as_number = |raw: &Option<String>| -> Option<Result<u128, ()>> {
            raw.as_ref().map(|r| {
                let t = r.trim();
                if !t.is_empty() && t.trim_start_matches('+').chars().all(|c| c.is_ascii_digit())
                    && t.chars().filter(|c| *c == '+').count() <= 1
                    && (t.starts_with('+') || !t.contains('+'))
                    && t != "+"
                {
                    Ok(t.trim_start_matches('+').parse::<u128>().unwrap_or(u128::MAX))
                } else {
                    Err(())
                }
            })
        };
        let p = as_number(&page);
        let l = as_number(&limit);
        let page_ok = match p { None => true, Some(Ok(n)) => n >= 1 && n <= u128::from(u32::MAX), Some(Err(())) => false };
        let limit_ok = match l { None => true, Some(Ok(n)) => n >= 1, Some(Err(())) => false };
        match PageRequest::parse(page.as_deref(), limit.as_deref()) {
            Ok(request) => {
                prop_assert!(page_ok && limit_ok, "accepted {:?} {:?}", page, limit);
                prop_assert!(request.page >= 1);
                prop_assert!((1..=PageRequest::MAX_LIMIT).contains(&request.limit));
                match l {
                    None => prop_assert_eq!(request.limit, PageRequest::DEFAULT_LIMIT),
                    Some(Ok(n)) => prop_assert_eq!(u128::from(request.limit), n.min(100)),
                    Some(Err(())) => unreachable!(),
                }
                if let Some(Ok(n)) = p {
                    prop_assert_eq!(u128::from(request.page), n);
                }
                prop_assert!(request.offset() >= 0);
                prop_assert_eq!(request.offset(), (i64::from(request.page) - 1) * i64::from(request.limit));
            }
            Err(e) => {
                prop_assert!(!(page_ok && limit_ok), "refused {:?} {:?}", page, limit);
                // `page` is checked for a positive number, then `limit`, then `page`'s range.
                let page_positive = !matches!(p, Some(Err(())) | Some(Ok(0)));
                let field = if page_positive && !limit_ok { "limit" } else { "page" };
                assert_validation(e, field)?;
            }
        }
    }

    #[test]
    fn permission_lists_accept_exactly_the_catalogue(
        picks in prop::collection::vec(
            prop_oneof![
                (0..Permission::ALL.len(), "[ \\t]{0,2}").prop_map(|(i, pad)| {
                    format!("{pad}{}{pad}", Permission::ALL[i].as_str())
                }),
                hostile_text(),
                "[a-z_]{1,12}\\.[a-z_]{1,12}",
            ],
            0..12,
        ),
    ) {
        let known = picks.iter().all(|p| Permission::parse(p.trim()).is_some());
        match parse_permission_list("permissions", &picks) {
            Ok(set) => {
                prop_assert!(known, "accepted {:?}", picks);
                let expected: PermissionSet =
                    picks.iter().filter_map(|p| Permission::parse(p.trim())).collect();
                prop_assert_eq!(set, expected);
                // The stored form round-trips.
                prop_assert_eq!(PermissionSet::from_stored(&set.to_stored()), set);
            }
            Err(e) => {
                prop_assert!(!known, "refused {:?}", picks);
                assert_validation(e, "permissions")?;
            }
        }
    }

    #[test]
    fn stored_permission_text_never_panics_and_keeps_only_known_names(text in hostile_text()) {
        let set = PermissionSet::from_stored(&text);
        for p in set.iter() {
            prop_assert!(text.split_whitespace().any(|w| w == p.as_str()));
        }
        prop_assert!(set.is_subset_of(PermissionSet::all()));
    }

    #[test]
    fn wildcards_match_whole_parts_only(
        pattern in prop_oneof![
            hostile_text(),
            "[a-z_*]{0,12}(\\.[a-z_*]{0,12}){0,2}",
            Just("*".to_owned()),
            Just("*.*".to_owned()),
        ],
        index in 0..Permission::ALL.len(),
    ) {
        let permission = Permission::ALL[index];
        let (resource, action) = permission.as_str().split_once('.').expect("resource.action");
        let expected = pattern == "*" || match pattern.split_once('.') {
            Some((r, a)) => (r == "*" || r == resource) && (a == "*" || a == action),
            None => false,
        };
        prop_assert_eq!(wildcard_matches(&pattern, permission), expected, "{} vs {}", pattern, permission);
        // A pattern without `*` matches at most the one permission of that name.
        if !pattern.contains('*') && wildcard_matches(&pattern, permission) {
            prop_assert_eq!(pattern.as_str(), permission.as_str());
        }
    }

    #[test]
    fn permission_sets_behave_like_sets(a in any::<u64>(), b in any::<u64>()) {
        let pick = |bits: u64| -> PermissionSet {
            Permission::ALL.iter().enumerate()
                .filter(|(i, _)| bits & (1 << (*i as u64 % 64)) != 0)
                .map(|(_, p)| *p)
                .collect()
        };
        let (x, y) = (pick(a), pick(b));
        let u = x.union(y);
        let i = x.intersection(y);
        prop_assert!(x.is_subset_of(u) && y.is_subset_of(u));
        prop_assert!(i.is_subset_of(x) && i.is_subset_of(y));
        for p in Permission::ALL {
            prop_assert_eq!(u.contains(*p), x.contains(*p) || y.contains(*p));
            prop_assert_eq!(i.contains(*p), x.contains(*p) && y.contains(*p));
        }
        prop_assert_eq!(PermissionSet::from_stored(&x.to_stored()), x);
        prop_assert_eq!(x.names().len(), x.iter().count());
    }

    #[test]
    fn accepted_redirect_uris_are_canonical_https_or_loopback_http(raw in prop_oneof![
        hostile_text(),
        "(https?|HTTPS|ftp)://[a-zA-Z0-9.@:\\[\\]#?/ \\\\-]{0,40}",
        "http://(localhost|127\\.0\\.0\\.1|\\[::1\\]|evil\\.test)(:[0-9]{1,5})?/[a-z#?]{0,8}",
    ]) {
        match super::application::parse_redirect_uri("redirect_uris[0]", &raw) {
            Ok(()) if raw.starts_with("regex:") => {}
            Ok(()) => {
                let url = url::Url::parse(&raw).expect("accepted URIs parse");
                prop_assert_eq!(url.as_str(), raw.as_str());
                prop_assert!(url.fragment().is_none() && url.username().is_empty());
                let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
                prop_assert!(url.scheme() == "https" || (url.scheme() == "http" && loopback), "{}", raw);
            }
            Err(e) => assert_validation(e, "redirect_uris[0]")?,
        }
    }

    #[test]
    fn an_exact_redirect_uri_matches_only_itself(candidate in prop_oneof![
        hostile_text(),
        "https://app\\.example\\.com[a-z./:@?#]{0,12}",
        "[hH][tT][tT][pP][sS]://[aA][pP][pP]\\.example\\.com/[cC][bB]",
    ]) {
        let registered = vec!["https://app.example.com/cb".to_owned()];
        prop_assert_eq!(
            redirect_uri_allowed(&registered, &candidate),
            candidate == "https://app.example.com/cb"
        );
    }

    #[test]
    fn a_pattern_matches_whole_strings_only(
        host in "[a-z]{1,10}",
        prefix in "[a-z:/.?]{0,6}",
        suffix in "[a-z:/.?]{0,6}",
    ) {
        let exact = format!("https://{host}.example.com/cb");
        let registered = vec![format!("regex:{}", regex::escape(&exact))];
        let candidate = format!("{prefix}{exact}{suffix}");
        prop_assert_eq!(
            redirect_uri_allowed(&registered, &candidate),
            prefix.is_empty() && suffix.is_empty()
        );
    }
}

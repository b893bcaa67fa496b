//! Property tests for every parser of the model: whatever a client sends, a parser either returns
//! a value that satisfies its type's promise or a `Validation` error naming the field, and it never
//! panics. (The token format has its own properties in `crate::token`.)

use std::sync::OnceLock;

use justiam_types::rules;
use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;

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
        spaced_text(),
    ]
}

/// Text padded and broken with every kind of space `str::trim` knows and some it does not
/// (U+180E, U+200B, U+FEFF), with controls among them.
fn spaced_text() -> impl Strategy<Value = String> {
    const SPACES: &str = "[ \\t\\n\\r\\x0b\\x0c\\x1c\\u{85}\\u{a0}\\u{1680}\\u{180e}\\u{2000}-\\u{200b}\\u{2028}\\u{2029}\\u{202f}\\u{205f}\\u{3000}\\u{feff}]";
    let spaces = |n: &str| {
        proptest::string::string_regex(&format!("{SPACES}{{{n}}}")).expect("a regex of spaces")
    };
    prop_oneof![
        spaces("1,3"),
        (
            spaces("0,4"),
            "[a-z@.\\u{e9}]{0,3}",
            spaces("0,2"),
            "[a-z@.]{0,3}",
            spaces("0,4"),
        )
            .prop_map(|(a, b, c, d, e)| format!("{a}{b}{c}{d}{e}")),
    ]
}

/// Whether the document's `pattern` (ECMA-262, read here by `regex`: the patterns use nothing the
/// two read differently) matches `text`.
fn documented(pattern: &'static str, text: &str) -> bool {
    static COMPILED: OnceLock<std::sync::Mutex<Vec<(&'static str, regex::Regex)>>> =
        OnceLock::new();
    let mut cache = COMPILED
        .get_or_init(Default::default)
        .lock()
        .expect("cache");
    if let Some((_, re)) = cache.iter().find(|(p, _)| *p == pattern) {
        return re.is_match(text);
    }
    let re = regex::Regex::new(pattern).expect("the document's pattern compiles");
    let matched = re.is_match(text);
    cache.push((pattern, re));
    matched
}

/// Strings shaped like URLs, valid or nearly: schemes, hosts, ports, paths, queries and fragments
/// drawn around the edges of the rule (upper case, default ports, dot segments, `%2e`, IPv4-like
/// hosts, `xn--`, user info, spaces).
fn url_like() -> impl Strategy<Value = String> {
    (
        "(https?|HTTPS|ftp)://",
        "([a-zA-Z0-9@]{0,5}[.-]{0,2}){0,3}|localhost|127\\.0\\.0\\.1|\\[::1\\]|[0-9]{1,3}(\\.[0-9]{1,3}){0,4}|xn--[a-z]{1,3}|0x[0-9]{1,2}",
        "(:(0|80|443|[0-9]{1,6}))?",
        "(/(\\.{1,3}|%2[eE]|[a-zA-Z0-9.%~!$&'()*+,;=:@_|^`{}\\[\\] \\\\-]{0,5})){0,3}",
        "(\\?[a-zA-Z0-9.%'/?#=^ -]{0,6})?(#[a-z%' ]{0,3})?",
    )
        .prop_map(|(scheme, host, port, path, rest)| format!("{scheme}{host}{port}{path}{rest}"))
}

/// Strings the document's `pattern` (anchored with `^…$`) matches.
fn matching(pattern: &str) -> impl Strategy<Value = String> + use<> {
    let inner = pattern
        .strip_prefix('^')
        .and_then(|p| p.strip_suffix('$'))
        .expect("an anchored pattern");
    proptest::string::string_regex(inner).expect("a pattern proptest reads")
}

fn chars(text: &str) -> usize {
    text.chars().count()
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
    let should_pass =
        chars(trimmed) >= min && chars(raw) <= max && !raw.chars().any(char::is_control);
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
        pad in "[ \\u{3000}]{1,3}",
    ) {
        // The length is the text as sent, padding included.
        let at_max = format!("{pad}{}", c.repeat(100 - pad.chars().count()));
        let over = format!("{pad}{}", c.repeat(100));
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
        let should_pass = chars(&raw) <= 1000
            && !raw.chars().any(|c| c.is_control() && c != '\n' && c != '\t');
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
                (0..Permission::ALL.len()).prop_map(|i| Permission::ALL[i].as_str().to_owned()),
                hostile_text(),
                "[a-z_]{1,12}\\.[a-z_]{1,12}",
            ],
            0..12,
        ),
    ) {
        // Spelled exactly: the document's enum has no padding.
        let known = picks.iter().all(|p| Permission::parse(p).is_some());
        match parse_permission_list("permissions", &picks) {
            Ok(set) => {
                prop_assert!(known, "accepted {:?}", picks);
                let expected: PermissionSet =
                    picks.iter().filter_map(|p| Permission::parse(p)).collect();
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

    // The OpenAPI document states each rule (`justiam_types::rules`); the parser must accept
    // exactly what the document calls valid, so that a generated client knows every rule.

    #[test]
    fn the_document_states_the_name_rule(raw in hostile_text()) {
        let valid = (1..=rules::NAME_MAX_CHARS).contains(&chars(&raw))
            && documented(rules::NAME_PATTERN, &raw);
        prop_assert_eq!(EntityName::parse(&raw).is_ok(), valid, "{:?}", raw);
        prop_assert_eq!(TokenName::parse(&raw).is_ok(), valid, "{:?}", raw);
    }

    #[test]
    fn the_document_states_the_person_name_rule(raw in hostile_text()) {
        let valid = chars(&raw) <= rules::PERSON_NAME_MAX_CHARS
            && documented(rules::NO_CONTROLS_PATTERN, &raw);
        prop_assert_eq!(PersonName::parse("first_name", &raw).is_ok(), valid, "{:?}", raw);
    }

    #[test]
    fn the_document_states_the_description_rule(raw in hostile_text()) {
        let valid = chars(&raw) <= rules::DESCRIPTION_MAX_CHARS
            && documented(rules::DESCRIPTION_PATTERN, &raw);
        prop_assert_eq!(Description::parse(&raw).is_ok(), valid, "{:?}", raw);
    }

    #[test]
    fn the_document_states_the_email_rule(raw in prop_oneof![
        hostile_text(),
        "[ \\t\\u{a0}\\u{85}]{0,2}[a-zA-Z0-9.+_\\u{e9}\\u{feff}\\u{a8}\\u{ff41}-]{0,20}[@\\u{ff20}]{0,2}[a-zA-Z0-9.\\u{3000}\\u{ff0e}\\u{2024}-]{0,20}[ \\u{2028}]{0,2}",
        "[^@]{0,10}@{1,3}[^@]{0,10}",
        (255usize..300).prop_map(|n| format!("{}@example.org", "a".repeat(n - 12))),
    ]) {
        // The document says the address is read in NFKC: the server holds the pattern to the
        // normal form; and an address the pattern allows as sent is accepted.
        let normal: String = raw.nfkc().collect();
        let short = chars(&raw) <= rules::EMAIL_MAX_CHARS
            && chars(normal.trim()) <= rules::EMAIL_MAX_CHARS;
        let accepted = Email::parse("email", &raw).is_ok();
        prop_assert_eq!(accepted, short && documented(rules::EMAIL_PATTERN, &normal), "{:?}", raw);
        if short && documented(rules::EMAIL_PATTERN, &raw) {
            prop_assert!(accepted, "{:?}", raw);
        }
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

    // Applications: each field's rule as the document states it (`rules::*_PATTERN`).

    #[test]
    fn the_document_states_the_redirect_uri_rule(raw in prop_oneof![
        hostile_text(),
        url_like(),
        matching(rules::REDIRECT_URI_PATTERN),
        matching(rules::REDIRECT_URI_REGEX_PATTERN),
        "regex:[a-zA-Z0-9.()\\[\\]|*+?{}\\\\^$:/~%&-]{0,14}",
        (0usize..3, 495usize..505).prop_map(|(i, n)| format!("regex:{}", ["a", ".", "[a-z]"][i].repeat(n / [1, 1, 5][i]))),
    ]) {
        let exact = raw.len() <= rules::URL_MAX_CHARS && documented(rules::REDIRECT_URI_PATTERN, &raw);
        let pattern = chars(&raw) <= rules::REDIRECT_URI_REGEX_MAX_CHARS + 6
            && documented(rules::REDIRECT_URI_REGEX_PATTERN, &raw);
        match super::application::parse_redirect_uri("redirect_uris[0]", &raw) {
            Ok(()) => prop_assert!(exact || pattern, "accepted {:?}", raw),
            Err(e) => {
                prop_assert!(!exact && !pattern, "refused {:?}: {:?}", raw, e);
                assert_validation(e, "redirect_uris[0]")?;
            }
        }
    }

    #[test]
    fn the_document_states_the_launch_url_rule(raw in prop_oneof![
        hostile_text(),
        url_like(),
        matching(rules::LAUNCH_URL_PATTERN),
    ]) {
        let valid = raw.len() <= rules::URL_MAX_CHARS && documented(rules::LAUNCH_URL_PATTERN, &raw);
        match parse_launch_url(&raw) {
            Ok(url) => {
                prop_assert!(valid, "accepted {:?}", raw);
                prop_assert_eq!(url, raw);
            }
            Err(e) => {
                prop_assert!(!valid, "refused {:?}: {:?}", raw, e);
                assert_validation(e, "launch_url")?;
            }
        }
    }

    #[test]
    fn the_document_states_the_webhook_url_rule(raw in prop_oneof![
        hostile_text(),
        url_like(),
        matching(rules::WEBHOOK_URL_PATTERN),
    ]) {
        let valid = chars(&raw) <= rules::WEBHOOK_URL_MAX_CHARS
            && documented(rules::WEBHOOK_URL_PATTERN, &raw);
        match parse_webhook_url(&raw) {
            Ok(_) => prop_assert!(valid, "accepted {:?}", raw),
            Err(e) => {
                prop_assert!(!valid, "refused {:?}: {:?}", raw, e);
                assert_validation(e, "url")?;
            }
        }
    }

    #[test]
    fn the_document_states_the_application_text_rules(raw in hostile_text()) {
        let friendly = chars(&raw) <= rules::FRIENDLY_NAME_MAX_CHARS
            && documented(rules::NO_CONTROLS_PATTERN, &raw);
        prop_assert_eq!(parse_friendly_name(&raw).is_ok(), friendly, "{:?}", raw);
        let value = (1..=rules::MAPPING_VALUE_MAX_CHARS).contains(&chars(&raw))
            && documented(rules::NAME_PATTERN, &raw);
        prop_assert_eq!(parse_mapping_value(&raw).is_ok(), value, "{:?}", raw);
    }

    #[test]
    fn the_document_states_the_variable_and_claim_rules(raw in prop_oneof![
        hostile_text(),
        "[a-zA-Z_0-9 ]{0,3}(email|appRoles|sub|roles|x)?[a-z_ ]{0,2}",
        "[!-~]{95,105}",
    ]) {
        let variable = documented(rules::VARIABLE_NAME_SHAPE_PATTERN, &raw)
            && !rules::BUILTIN_VARIABLES.contains(&raw.as_str());
        prop_assert_eq!(parse_variable_name(&raw).is_ok(), variable, "{:?}", raw);
        let claim = documented(rules::CLAIM_NAME_SHAPE_PATTERN, &raw)
            && !rules::RESERVED_CLAIMS.contains(&raw.as_str());
        let mapping = ClaimMapping { claim: raw.clone(), value: String::new(), required_scope: None };
        prop_assert_eq!(parse_claim_mappings(&[mapping]).is_ok(), claim, "{:?}", raw);
    }
}

#[test]
fn the_documented_email_characters_survive_normalisation() {
    // A character the pattern allows is, once normalised, only characters the pattern allows: the
    // pattern holds for an address as sent exactly when it holds for its normal form, apart from
    // the look-alikes of `@` and `.` the pattern leaves out and the server reads as those.
    let allowed = regex::Regex::new(rules::EMAIL_CHARACTER_PATTERN).expect("compiles");
    let mut buffer = [0u8; 4];
    for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
        if !allowed.is_match(c.encode_utf8(&mut buffer)) {
            continue;
        }
        let normal: String = std::iter::once(c).nfkc().collect();
        for n in normal.chars() {
            assert!(
                allowed.is_match(n.encode_utf8(&mut buffer)),
                "U+{:04X} normalises to U+{:04X}",
                u32::from(c),
                u32::from(n)
            );
        }
    }
}

#[test]
fn the_documented_invisible_characters_are_the_refused_ones() {
    let pattern = regex::Regex::new(rules::INVISIBLE_PATTERN).expect("compiles");
    let mut buffer = [0u8; 4];
    for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
        assert_eq!(
            pattern.is_match(c.encode_utf8(&mut buffer)),
            Email::is_invisible(c),
            "U+{:04X}",
            u32::from(c)
        );
    }
}

#[test]
fn the_documented_role_name_pattern_is_the_name_pattern_without_the_reserved_prefix() {
    let reserved = rules::RESERVED_ROLE_PREFIX_PATTERN
        .strip_prefix('^')
        .expect("anchored");
    let name = rules::NAME_PATTERN.strip_prefix('^').expect("anchored");
    assert_eq!(
        rules::ADMIN_ROLE_NAME_PATTERN,
        format!("^(?!{reserved}){name}")
    );
    for (text, reserved) in [
        ("idp:admin", true),
        ("  IdP:x", true),
        ("\u{3000}iDp:", true),
        ("idp", false),
        ("my idp:x", false),
        ("\u{130}dp:x", false),
    ] {
        assert_eq!(
            documented(rules::RESERVED_ROLE_PREFIX_PATTERN, text),
            reserved,
            "{text:?}"
        );
    }
}

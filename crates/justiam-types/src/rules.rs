//! The rules the server holds request fields to, in one place: the parsers of `justiam-core` apply
//! these numbers, and the OpenAPI document states the same numbers and patterns, so a generated
//! client knows every rule and the two cannot drift apart.
//!
//! The patterns are ECMA-262 (the dialect of OpenAPI) written with nothing Rust's `regex` reads
//! differently (no `\s`, no `\d`), so the parsers' property tests check each pattern against the
//! parser it describes.
//!
//! Text rules count the characters *as sent*; the value is then stored trimmed. "Control
//! character" is Unicode `Cc` (what `char::is_control` tests): U+0000–U+001F and U+007F–U+009F.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::permission::Permission;

/// Names of tokens, groups and admin roles: at most this many characters.
pub const NAME_MAX_CHARS: usize = 100;
/// First and last names: at most this many characters (they may be empty).
pub const PERSON_NAME_MAX_CHARS: usize = 100;
pub const DESCRIPTION_MAX_CHARS: usize = 1000;
pub const EMAIL_MAX_CHARS: usize = 254;
/// The default of the server's `PASSWORD_MIN_LENGTH`; the served document states the configured one.
pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 1024;
/// `search` of every list.
pub const SEARCH_MAX_CHARS: usize = 200;
/// `page` of every list: 1-based, at most `u32::MAX`.
pub const PAGE_MAX: u32 = u32::MAX;
/// `limit` of every list: larger values are clamped to this.
pub const LIMIT_MAX: u32 = 100;
pub const LIMIT_DEFAULT: u32 = 20;
/// Lifetime of a personal access token, in days.
pub const EXPIRES_IN_DAYS_MIN: i64 = 1;
pub const EXPIRES_IN_DAYS_MAX: i64 = 365;
/// How long a rotated token keeps working, in seconds.
pub const GRACE_PERIOD_SECONDS_MAX: i64 = 86_400;
/// Token values one leak report may carry.
pub const LEAKED_TOKENS_MAX: usize = 100;

/// The control characters, as the inside of a character class.
macro_rules! controls {
    () => {
        r"\u0000-\u001f\u007f-\u009f"
    };
}

/// Unicode `White_Space` that is not a control character: with the controls, what `str::trim`
/// removes.
macro_rules! spaces {
    () => {
        r"\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// The characters that show nothing or reorder the text around them, which an email address may not
/// hold (the server's `Email::is_invisible`): general category `Cf`, the combining grapheme joiner,
/// the variation selectors and the Hangul fillers. Those above U+FFFF are written as the
/// characters themselves, since ECMA-262, Python and Rust escape them differently (`\u{E0000}`,
/// `\U000E0000`) but read the characters alike.
macro_rules! invisibles {
    () => {
        concat!(
            r"\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f",
            r"\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb",
            "\u{110BD}\u{110CD}\u{13430}-\u{1343F}\u{1BCA0}-\u{1BCA3}\u{1D173}-\u{1D17A}",
            "\u{E0000}-\u{E007F}",
            // Combining grapheme joiner; variation selectors; Hangul fillers.
            r"\u034f",
            r"\u180b-\u180d\u180f\ufe00-\ufe0f",
            "\u{E0100}-\u{E01EF}",
            r"\u115f\u1160\u3164\uffa0",
        )
    };
}

/// The characters whose compatibility form (NFKC, as the server reads an email address) holds a
/// space, `@` or `.`, other than the spaces themselves: spacing accents (`¨` is a space and a
/// combining diaeresis), the full-width `＠` and `．`, leaders, dotted numbers (`⒈`), … An address
/// holding one could break its own shape once normalised, so the document's pattern leaves them
/// out; `the_documented_email_characters_survive_normalisation` holds this list to the tables.
macro_rules! compatibility_breakers {
    () => {
        concat!(
            r"\u00a8\u00af\u00b4\u00b8\u02d8-\u02dd\u037a\u0384-\u0385\u1fbd\u1fbf-\u1fc1",
            r"\u1fcd-\u1fcf\u1fdd-\u1fdf\u1fed-\u1fee\u1ffd-\u1ffe\u2017\u2024-\u2026\u203e",
            r"\u2488-\u249b\u309b-\u309c\u33c2\u33c7\u33d8\ufc5e-\ufc63\ufdfa-\ufdfb\ufe19",
            r"\ufe30\ufe49-\ufe4c\ufe52\ufe6b\ufe70\ufe72\ufe74\ufe76\ufe78\ufe7a\ufe7c\ufe7e",
            r"\uff0e\uff20\uffe3",
            "\u{1F100}",
        )
    };
}

/// What a character of an email address other than `@` and `.` may not be, inside a class.
macro_rules! not_in_email {
    () => {
        concat!(
            controls!(),
            spaces!(),
            invisibles!(),
            compatibility_breakers!()
        )
    };
}

/// One character of an email address that is neither `@` nor `.`, as a pattern.
pub const EMAIL_CHARACTER_PATTERN: &str = concat!("^[^@.", not_in_email!(), "]$");

/// One character of `invisibles!`, as a pattern.
pub const INVISIBLE_PATTERN: &str = concat!("^[", invisibles!(), "]$");

/// Any text without control characters: every query value, first and last names.
pub const NO_CONTROLS_PATTERN: &str = concat!("^[^", controls!(), "]*$");

/// The login email: any text without control or invisible characters (no account's address holds
/// one); an unknown address is refused like a wrong password.
pub const LOGIN_EMAIL_PATTERN: &str = concat!("^[^", controls!(), invisibles!(), "]*$");

/// A name: no control characters, and not blank (one character that is not a space).
pub const NAME_PATTERN: &str = concat!(
    "^[^",
    controls!(),
    "]*[^",
    controls!(),
    spaces!(),
    "][^",
    controls!(),
    "]*$"
);

/// Claim conditions a federated credential may hold.
pub const CLAIM_CONDITIONS_MAX: usize = 20;

/// The claims a federated credential may not name as a condition: the exchange checks them itself.
pub const EXCHANGE_CHECKED_CLAIMS: [&str; 6] = ["iss", "aud", "exp", "nbf", "iat", "jti"];

/// The name of a federated credential's claim condition: a [`NAME_PATTERN`] that, once trimmed,
/// is not one of [`EXCHANGE_CHECKED_CLAIMS`]; and when it starts with `/` (an RFC 6901 JSON
/// Pointer into nested claims), one with no empty segment, `~` only as `~0` or `~1`, and not
/// starting in one of those claims.
pub fn claim_condition_name_pattern() -> String {
    let checked = EXCHANGE_CHECKED_CLAIMS.join("|");
    format!(
        concat!(
            // not a checked claim by name,
            "^(?![",
            spaces!(),
            "]*({checked})[",
            spaces!(),
            "]*$)",
            // nor a pointer into one,
            "(?![",
            spaces!(),
            "]*/({checked})(/|[",
            spaces!(),
            "]*$))",
            // nor a pointer with an empty segment or a bare `~`;
            "(?![",
            spaces!(),
            "]*/([",
            spaces!(),
            "]*$|.*//|.*~(?![01])|.*/[",
            spaces!(),
            "]*$))",
            "{name}"
        ),
        checked = checked,
        name = NAME_PATTERN.trim_start_matches('^')
    )
}

/// What a name the built-in roles reserve starts with: `idp:` in any case, after spaces.
pub const RESERVED_ROLE_PREFIX_PATTERN: &str = concat!("^[", spaces!(), "]*[iI][dD][pP]:");

/// An admin role's name: a [`NAME_PATTERN`] that does not start with the reserved `idp:`.
pub const ADMIN_ROLE_NAME_PATTERN: &str = concat!(
    "^(?![",
    spaces!(),
    "]*[iI][dD][pP]:)[^",
    controls!(),
    "]*[^",
    controls!(),
    spaces!(),
    "][^",
    controls!(),
    "]*$"
);

/// A description: no control characters but tab and line feed.
pub const DESCRIPTION_PATTERN: &str = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$";

/// An email address: one `@`, a non-empty local part and a domain of at least two non-empty
/// dot-separated labels, no spaces, control or invisible characters nor characters whose
/// compatibility form holds a space, `@` or `.`; spaces around it allowed (trimmed).
pub const EMAIL_PATTERN: &str = concat!(
    "^[",
    spaces!(),
    "]*[^@",
    not_in_email!(),
    "]+@[^@.",
    not_in_email!(),
    "]+(\\.[^@.",
    not_in_email!(),
    "]+)+[",
    spaces!(),
    "]*$"
);

fn text(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

/// Declares a named schema (a component of the document) for a rule.
macro_rules! rule_schema {
    ($(#[$doc:meta])* $name:ident => $schema:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let schema: Schema = $schema.into();
                schema.into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

rule_schema! {
    /// The name of a token or a group.
    Name => text("1–100 characters as sent, not blank, without control characters; stored trimmed.")
        .min_length(Some(1))
        .max_length(Some(NAME_MAX_CHARS))
        .pattern(Some(NAME_PATTERN))
}

rule_schema! {
    /// The name of an admin role.
    AdminRoleName => text(
        "1–100 characters as sent, not blank, without control characters, not starting with `idp:` \
         (in any case; reserved for the built-in roles); stored trimmed.",
    )
    .min_length(Some(1))
    .max_length(Some(NAME_MAX_CHARS))
    .pattern(Some(ADMIN_ROLE_NAME_PATTERN))
}

rule_schema! {
    /// A first or last name.
    PersonName => text("0–100 characters as sent, without control characters; stored trimmed.")
        .max_length(Some(PERSON_NAME_MAX_CHARS))
        .pattern(Some(NO_CONTROLS_PATTERN))
}

rule_schema! {
    /// A free-text description.
    Description => text(
        "0–1000 characters as sent, without control characters other than tab and line feed; \
         stored trimmed.",
    )
    .max_length(Some(DESCRIPTION_MAX_CHARS))
    .pattern(Some(DESCRIPTION_PATTERN))
}

rule_schema! {
    /// An email address, as the server reads one.
    Email => text(
        "At most 254 characters as sent: one `@`, a non-empty local part and a domain of at least \
         two dot-separated labels, without spaces, control characters or characters that show \
         nothing or reorder the text (format characters such as U+200B or U+202E, variation \
         selectors, Hangul fillers); surrounding spaces are trimmed. The address is read in \
         Unicode NFKC, so a compatibility look-alike counts as what it stands for (full-width \
         `ａ` is `a`); the pattern leaves out the characters whose compatibility form holds a \
         space, `@` or `.` (`¨`, `＠`, `．`, `⒈`, …), which the server refuses when they become a \
         space and otherwise reads as the `@` or `.` they stand for. Unique without regard to case.",
    )
    .max_length(Some(EMAIL_MAX_CHARS))
    .pattern(Some(EMAIL_PATTERN))
}

rule_schema! {
    /// The email address of a login.
    LoginEmail => text(
        "Any text without control characters or characters that show nothing or reorder the text \
         (no account's address holds one); an unknown address is refused like a wrong password.",
    )
    .pattern(Some(LOGIN_EMAIL_PATTERN))
}

rule_schema! {
    /// A new password.
    Password => text(
        "At least the server's `PASSWORD_MIN_LENGTH` characters (8 unless configured), at most 1024.",
    )
    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
    .min_length(Some(PASSWORD_MIN_CHARS))
    .max_length(Some(PASSWORD_MAX_CHARS))
}

rule_schema! {
    /// A permission of the catalogue, spelled exactly.
    PermissionName => text("A permission of the catalogue.")
        .enum_values(Some(Permission::ALL.iter().map(|p| p.as_str())))
}

rule_schema! {
    /// What a fine-grained token may be limited to: a permission, or a wildcard that matches one.
    TokenPermission => text(
        "A permission of the catalogue, or a wildcard over whole parts that matches at least one: \
         `*`, `*.*`, `<resource>.*`, `*.<action>`.",
    )
    .enum_values(Some(token_permission_entries()))
}

/// Every entry a token's `permissions` may hold: the catalogue, then each wildcard that matches
/// some permission, in catalogue order.
pub fn token_permission_entries() -> Vec<String> {
    let mut entries: Vec<String> = Permission::ALL
        .iter()
        .map(|p| p.as_str().to_owned())
        .collect();
    let mut wildcards = vec!["*".to_owned(), "*.*".to_owned()];
    for permission in Permission::ALL {
        if let Some((resource, action)) = permission.as_str().split_once('.') {
            wildcards.push(format!("{resource}.*"));
            wildcards.push(format!("*.{action}"));
        }
    }
    for wildcard in wildcards {
        if !entries.contains(&wildcard) {
            entries.push(wildcard);
        }
    }
    entries
}

fn integer(description: &str, minimum: i64, maximum: i64) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .description(Some(description))
        .minimum(Some(minimum))
        .maximum(Some(maximum))
}

rule_schema! {
    /// A token's lifetime.
    ExpiresInDays => integer(
        "Lifetime in days, 1–365. Any JSON number with no fractional part (`30`, `30.0`).",
        EXPIRES_IN_DAYS_MIN,
        EXPIRES_IN_DAYS_MAX,
    )
}

rule_schema! {
    /// How long a rotated token keeps working.
    GracePeriodSeconds => integer(
        "Seconds, 0–86400. Any JSON number with no fractional part.",
        0,
        GRACE_PERIOD_SECONDS_MAX,
    )
}

/// Whether `text` is a UUID in the hyphenated form the document's `format: uuid` names
/// (`01234567-89ab-…`, either case). `uuid` alone also reads the simple, braced and URN forms, all
/// of other lengths: the hyphenated one is exactly 36 characters.
pub fn is_hyphenated_uuid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

/// `#[serde(deserialize_with = "rules::hyphenated_uuid")]`: a UUID field of a request body, in the
/// hyphenated form only.
pub fn hyphenated_uuid<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<uuid::Uuid, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(deserializer)?;
    if is_hyphenated_uuid(&text) {
        uuid::Uuid::try_parse(&text).map_err(serde::de::Error::custom)
    } else {
        Err(serde::de::Error::invalid_value(
            serde::de::Unexpected::Str(&text),
            &"a UUID such as 0195f0a0-0000-7000-8000-000000000000",
        ))
    }
}

/// The same for an optional UUID field (`null` is `None`).
pub fn hyphenated_uuid_option<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<uuid::Uuid>, D::Error> {
    struct Wrapped(uuid::Uuid);

    impl<'de> serde::Deserialize<'de> for Wrapped {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            hyphenated_uuid(deserializer).map(Wrapped)
        }
    }

    let value = <Option<Wrapped> as serde::Deserialize>::deserialize(deserializer)?;
    Ok(value.map(|Wrapped(id)| id))
}

// Applications (`/applications`, `/app-mappings`).

/// An application's `friendly_name`: at most this many characters (it may be empty).
pub const FRIENDLY_NAME_MAX_CHARS: usize = 100;
/// `redirect_uris` and `post_logout_redirect_uris`: at most this many entries.
pub const REDIRECT_URIS_MAX: usize = 20;
/// A redirect or launch URL: at most this many characters.
pub const URL_MAX_CHARS: usize = 2000;
/// A `regex:` redirect URI: at most this many characters after the prefix.
pub const REDIRECT_URI_REGEX_MAX_CHARS: usize = 500;
/// Lifetime of an application's ID and access tokens, in seconds.
pub const TOKEN_EXPIRY_SECONDS_MIN: i64 = 60;
pub const TOKEN_EXPIRY_SECONDS_MAX: i64 = 86_400;
/// `claim_mappings` of one application: at most this many.
pub const CLAIM_MAPPINGS_MAX: usize = 50;
/// A claim mapping's claim name, and its value template, at most this many characters.
pub const CLAIM_NAME_MAX_CHARS: usize = 100;
pub const CLAIM_VALUE_MAX_CHARS: usize = 1000;
/// An app mapping's `value`: at most this many characters.
pub const MAPPING_VALUE_MAX_CHARS: usize = 1000;

/// Claims JustIAM sets itself: a claim mapping may not replace them (`sub`, `aud`, … would let a
/// mapping impersonate another user or client; `email`, `groups`, … would contradict the scopes).
pub const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
    "scope",
    "client_id",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "groups",
    "roles",
];

/// Template variables JustIAM fills itself: an app mapping's variable may not shadow them.
pub const BUILTIN_VARIABLES: &[&str] = &[
    "email",
    "username",
    "first_name",
    "last_name",
    "name",
    "id",
    "groups",
    "appRoles",
];

/// A scope name (RFC 6749 `scope-token`, narrowed to what reads well in a claim mapping).
pub const SCOPE_PATTERN: &str = "^[A-Za-z0-9_.:-]{1,64}$";

/// The shape of a claim name: 1–100 printable ASCII characters without spaces. The document's
/// pattern ([`claim_name_pattern`]) also leaves out [`RESERVED_CLAIMS`].
pub const CLAIM_NAME_SHAPE_PATTERN: &str = "^[!-~]{1,100}$";

/// The shape of an app mapping's variable, as written in `${…}`: a letter or `_`, then up to 63
/// letters, digits or `_`. The document's pattern ([`variable_name_pattern`]) also leaves out
/// [`BUILTIN_VARIABLES`].
pub const VARIABLE_NAME_SHAPE_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]{0,63}$";

/// `pattern` without the words of `reserved` (a look-ahead, which ECMA-262 reads; the server
/// checks the list itself).
fn excluding(reserved: &[&str], pattern: &str) -> String {
    let shape = pattern.strip_prefix('^').unwrap_or(pattern);
    format!("^(?!({})$){shape}", reserved.join("|"))
}

/// A claim name, as the document states it: [`CLAIM_NAME_SHAPE_PATTERN`] and not reserved.
pub fn claim_name_pattern() -> String {
    excluding(RESERVED_CLAIMS, CLAIM_NAME_SHAPE_PATTERN)
}

/// A variable name, as the document states it: [`VARIABLE_NAME_SHAPE_PATTERN`] and not built in.
pub fn variable_name_pattern() -> String {
    excluding(BUILTIN_VARIABLES, VARIABLE_NAME_SHAPE_PATTERN)
}

// URLs are stored, compared and redirected to as the exact strings registered, so the rule admits
// only URLs that a WHATWG URL parser writes back unchanged (`justiam-core` checks that too, and
// a property test holds the two together): lower-case host names of letters, digits and single
// hyphens whose last label starts with a letter (not read as an IPv4 address, no `xn--`), or a
// dotted IPv4 address without leading zeros; no default port, no user info; a path of unreserved
// characters without `.`/`..` segments; a query; for launch URLs a fragment.

macro_rules! domain {
    () => {
        r"([a-z0-9]+(-[a-z0-9]+)*\.)*[a-z][a-z0-9]*(-[a-z0-9]+)*"
    };
}

macro_rules! ipv4 {
    () => {
        concat!(
            r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])",
            r"(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}"
        )
    };
}

/// Ports 10000–65535.
macro_rules! five_digit_port {
    () => {
        r"[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]"
    };
}

/// An optional port of an `https` URL: 1–65535 without leading zeros, not the default 443.
macro_rules! https_port {
    () => {
        concat!(
            r"(:([1-9]|[1-9][0-9]|[1-35-9][0-9]{2}|4[0-35-9][0-9]|44[0-24-9]|[1-9][0-9]{3}|",
            five_digit_port!(),
            "))?"
        )
    };
}

/// An optional port of an `http` URL: 1–65535 without leading zeros, not the default 80.
macro_rules! http_port {
    () => {
        concat!(
            r"(:([1-9]|[1-79][0-9]|8[1-9]|[1-9][0-9]{2}|[1-9][0-9]{3}|",
            five_digit_port!(),
            "))?"
        )
    };
}

/// A path: segments of unreserved characters that are not `.` or `..`; then an optional query.
/// No escapes in the path (`%2E` would be a dot), any in the query. Every part is one character
/// class, so that schemathesis can write matches of a given length (boundary tests).
macro_rules! path_and_query {
    () => {
        concat!(
            path_segment!(),
            "+",
            r"(\?[A-Za-z0-9_~!$&()*+,;=:@/?.%-]*)?"
        )
    };
}

/// `/` and one segment of a path (possibly empty), as [`path_and_query`] admits it.
macro_rules! path_segment {
    () => {
        r"(/(\.*[A-Za-z0-9_~!$&'()*+,;=:@-][A-Za-z0-9_~!$&'()*+,;=:@.-]*|\.{3,})?)"
    };
}

/// A registered redirect URI written out: `https`, or `http` on a loopback host; no fragment.
pub const REDIRECT_URI_PATTERN: &str = concat!(
    "^(https://(",
    domain!(),
    "|",
    ipv4!(),
    ")",
    https_port!(),
    r"|http://(localhost|127\.0\.0\.1|\[::1\])",
    http_port!(),
    ")",
    path_and_query!(),
    "$"
);

/// A `regex:` redirect URI: a pattern in a small dialect that always compiles — literal
/// characters, escaped metacharacters, `.`, classes (the ranges `a-z`, `A-Z`, `0-9` first, then
/// letters, digits, `_ . %`, then an optional `-`), each optionally followed by `*`, `+` or `?`,
/// in branches joined by `|`. (Written without alternatives of different lengths under a
/// repetition, so that schemathesis can write matches of a given length.) It must match a
/// whole candidate, which must itself be a valid redirect target.
pub const REDIRECT_URI_REGEX_PATTERN: &str = concat!(
    r"^regex:",
    r"(([A-Za-z0-9/:_~%=&,;!@'-]|\\[.?*+()|\[\]{}^$\\/-]|\.|\[\^?((a-z|A-Z|0-9)+[A-Za-z0-9_.%]*|[A-Za-z0-9_.%]+)-?\])[*+?]?)+",
    r"(\|(([A-Za-z0-9/:_~%=&,;!@'-]|\\[.?*+()|\[\]{}^$\\/-]|\.|\[\^?((a-z|A-Z|0-9)+[A-Za-z0-9_.%]*|[A-Za-z0-9_.%]+)-?\])[*+?]?)+)*",
    "$"
);

/// The start of an absolute `http(s)` URL: the scheme, a lower-case host name or an IPv4
/// address, and a port, then `path_and_query!` (launch URLs and webhook targets).
macro_rules! http_url_with_path {
    () => {
        concat!(
            "^(https://(",
            domain!(),
            "|",
            ipv4!(),
            ")",
            https_port!(),
            "|http://(",
            domain!(),
            "|",
            ipv4!(),
            ")",
            http_port!(),
            ")",
            path_and_query!()
        )
    };
}

/// A launch URL: `http` or `https`, a fragment allowed.
pub const LAUNCH_URL_PATTERN: &str = concat!(
    http_url_with_path!(),
    r"(#[A-Za-z0-9_~!$&'()*+,;=:@/?.%-]*)?",
    "$"
);

/// A webhook target as written: `http` or `https` on a lower-case host name or an IPv4 address,
/// a path and a query as [`LAUNCH_URL_PATTERN`], no fragment. Where it points is not a matter of
/// form: the server resolves the host when the URL is given (and at each delivery) and refuses
/// one that does not resolve, or resolves only to a loopback, link-local or private address
/// (`409 webhook_target_refused`).
pub const WEBHOOK_URL_PATTERN: &str = concat!(http_url_with_path!(), "$");

/// The events a webhook may subscribe to; a family wildcard (`token.*`) takes every event of its
/// family, including ones added later.
pub const WEBHOOK_EVENT_TYPES: &[&str] = &[
    "token.created",
    "token.revoked",
    "token.revoked_as_leaked",
    "token.expiring",
    "user.created",
    "user.updated",
    "user.deleted",
    "login.failed",
    "application.created",
    "application.updated",
    "application.deleted",
    "application.secret_rotated",
    "application.grant_added",
    "application.grant_removed",
    "mfa.enrolled",
    "mfa.unenrolled",
    "mfa.reset",
    "mfa.failed",
    "token.*",
    "user.*",
    "login.*",
    "application.*",
    "mfa.*",
];

/// A webhook target: at most this many characters.
pub const WEBHOOK_URL_MAX_CHARS: usize = 2048;

/// A webhook's signing secret: printable ASCII without spaces (16 to 256 characters).
pub const WEBHOOK_SECRET_PATTERN: &str = "^[!-~]*$";

/// A federated credential's issuer, kept byte for byte as its tokens' `iss` (so not rewritten to
/// a canonical form): `https` on a lower-case host name or an IPv4 address, or `http` on a
/// loopback host (for tests; the keys of such an issuer are fetched only with
/// `FEDERATION_ALLOW_HTTP_LOOPBACK=true`); an optional path, as [`LAUNCH_URL_PATTERN`]'s; no
/// query, no fragment.
pub const ISSUER_PATTERN: &str = concat!(
    "^(https://(",
    domain!(),
    "|",
    ipv4!(),
    ")",
    https_port!(),
    r"|http://(localhost|127\.0\.0\.1|\[::1\])",
    http_port!(),
    ")",
    path_segment!(),
    "*$"
);

/// Base64url without padding, as a JWK member is written (RFC 7518 §2): whole groups of four
/// characters, then two or three whose unused low bits are zero (what a strict decoder takes).
macro_rules! base64url_tail {
    () => {
        "([A-Za-z0-9_-]{4}|[A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])"
    };
}

/// A JWK member in base64url, not empty (an RSA key's `e`).
pub const JWK_BASE64URL_PATTERN: &str = concat!("^([A-Za-z0-9_-]{4})*", base64url_tail!(), "$");

/// An RSA key's modulus `n`: base64url of 256 bytes (2048 bits) or more — 85 groups of four
/// (255 bytes), then at least one more byte.
pub const JWK_RSA_MODULUS_PATTERN: &str = concat!(
    "^([A-Za-z0-9_-]{4}){85}([A-Za-z0-9_-]{4})*",
    base64url_tail!(),
    "$"
);

/// A P-256 coordinate (`x`, `y`): base64url of exactly 32 bytes.
pub const JWK_P256_COORDINATE_PATTERN: &str = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$";

/// The members of a JWK that only a private key has: a client registers its public key only.
pub const JWK_PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

/// The kind of key a PEM template holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PemKeyKind {
    /// EC P-256: the material is `x || y`.
    P256,
    /// RSA with the exponent 65537: the material is the modulus `n`.
    Rsa,
}

/// A PEM public key a `private_key_jwt` client may register, as the DER of its
/// SubjectPublicKeyInfo: fixed bytes, the key material, fixed bytes. The server reads a PEM only
/// in these forms, and the document's pattern is written from the same table
/// ([`public_key_pem_pattern`]), so the two say the same thing: which bytes are a key is form,
/// not arithmetic. (Any other RSA key registers as a JWKS.)
#[derive(Debug, Clone, Copy)]
pub struct PemKeyTemplate {
    pub kind: PemKeyKind,
    pub before: &'static [u8],
    /// Bytes of key material.
    pub material: usize,
    /// The material's first byte has its high bit set (an RSA modulus of exactly this size).
    pub high_bit: bool,
    pub after: &'static [u8],
}

/// RSA `SEQUENCE { algorithm rsaEncryption, BIT STRING { SEQUENCE { INTEGER n, INTEGER 65537 } } }`
/// up to the modulus, for a modulus of 2048, 3072 and 4096 bits.
const fn rsa(before: &'static [u8], material: usize) -> PemKeyTemplate {
    PemKeyTemplate {
        kind: PemKeyKind::Rsa,
        before,
        material,
        high_bit: true,
        after: &[0x02, 0x03, 0x01, 0x00, 0x01],
    }
}

/// The PEM public keys read: EC P-256 (uncompressed point) and RSA of 2048, 3072 or 4096 bits
/// with the exponent 65537.
pub const PEM_KEY_TEMPLATES: [PemKeyTemplate; 4] = [
    PemKeyTemplate {
        kind: PemKeyKind::P256,
        // id-ecPublicKey, prime256v1, a BIT STRING of an uncompressed point (0x04).
        before: &[
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
        ],
        material: 64,
        high_bit: false,
        after: &[],
    },
    rsa(
        &[
            0x30, 0x82, 0x01, 0x22, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
            0x01, 0x01, 0x01, 0x05, 0x00, 0x03, 0x82, 0x01, 0x0f, 0x00, 0x30, 0x82, 0x01, 0x0a,
            0x02, 0x82, 0x01, 0x01, 0x00,
        ],
        256,
    ),
    rsa(
        &[
            0x30, 0x82, 0x01, 0xa2, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
            0x01, 0x01, 0x01, 0x05, 0x00, 0x03, 0x82, 0x01, 0x8f, 0x00, 0x30, 0x82, 0x01, 0x8a,
            0x02, 0x82, 0x01, 0x81, 0x00,
        ],
        384,
    ),
    rsa(
        &[
            0x30, 0x82, 0x02, 0x22, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
            0x01, 0x01, 0x01, 0x05, 0x00, 0x03, 0x82, 0x02, 0x0f, 0x00, 0x30, 0x82, 0x02, 0x0a,
            0x02, 0x82, 0x02, 0x01, 0x00,
        ],
        512,
    ),
];

/// What `str::trim` removes around a PEM (Unicode `White_Space`), as a character class.
const PEM_AROUND: &str =
    r"[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*";
/// The ASCII blanks a PEM's base64 may hold anywhere (line breaks).
const PEM_INSIDE: &str = r"[\t\n\f\r ]*";
const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The pattern of a PEM public key in one of [`PEM_KEY_TEMPLATES`]: the base64 of each template,
/// character by character — a fixed character where the template fixes all six bits, the
/// characters that agree with its fixed bits elsewhere (free material, a high bit, the zero bits
/// before `=` padding) — with line breaks allowed between any two.
pub fn public_key_pem_pattern() -> String {
    let forms: Vec<String> = PEM_KEY_TEMPLATES.iter().map(base64_of_template).collect();
    format!(
        "^{PEM_AROUND}-----BEGIN PUBLIC KEY-----{PEM_INSIDE}({})-----END PUBLIC KEY-----{PEM_AROUND}$",
        forms.join("|")
    )
}

/// The base64 pattern of one template (see [`public_key_pem_pattern`]).
fn base64_of_template(template: &PemKeyTemplate) -> String {
    // Each byte as (value, mask of the bits it fixes).
    let mut bytes: Vec<(u8, u8)> = template.before.iter().map(|&b| (b, 0xff)).collect();
    for i in 0..template.material {
        bytes.push(if i == 0 && template.high_bit {
            (0x80, 0x80)
        } else {
            (0, 0)
        });
    }
    bytes.extend(template.after.iter().map(|&b| (b, 0xff)));
    let bit = |i: usize| -> (bool, bool) {
        // Bits past the end are the zero bits before padding: fixed.
        bytes.get(i / 8).map_or((false, true), |&(value, mask)| {
            let shift = 7 - (i % 8);
            ((value >> shift) & 1 == 1, (mask >> shift) & 1 == 1)
        })
    };
    let chars = (bytes.len() * 8).div_ceil(6);
    let mut tokens: Vec<String> = (0..chars)
        .map(|c| {
            let allowed: String = (0..64u8)
                .filter(|v| {
                    (0..6).all(|b| {
                        let (value, fixed) = bit(c * 6 + b);
                        !fixed || ((v >> (5 - b)) & 1 == 1) == value
                    })
                })
                .map(|v| BASE64_ALPHABET[usize::from(v)] as char)
                .collect();
            match allowed.len() {
                64 => "[A-Za-z0-9+/]".to_owned(),
                1 if allowed == "+" => r"\+".to_owned(),
                1 => allowed,
                _ => format!("[{allowed}]"),
            }
        })
        .collect();
    tokens.extend(std::iter::repeat_n("=".to_owned(), (4 - chars % 4) % 4));
    // Runs of one token as a repetition, each character followed by optional blanks.
    let mut out = String::new();
    let mut i = 0;
    while i < tokens.len() {
        let run = tokens[i..].iter().take_while(|t| **t == tokens[i]).count();
        if run == 1 {
            out.push_str(&format!("{}{PEM_INSIDE}", tokens[i]));
        } else {
            out.push_str(&format!("({}{PEM_INSIDE}){{{run}}}", tokens[i]));
        }
        i += run;
    }
    out
}

/// Most keys a `private_key_jwt` client registers.
pub const CLIENT_KEYS_MAX: usize = 10;

/// An issuer: at most this many characters.
pub const ISSUER_MAX_CHARS: usize = 1000;

fn array(items: impl Into<Schema>, description: &str) -> utoipa::openapi::schema::ArrayBuilder {
    let items: Schema = items.into();
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(RefOr::T(items))
        .description(Some(description))
}

rule_schema! {
    /// An application's display name.
    FriendlyName => text("0–100 characters as sent, without control characters; stored trimmed.")
        .max_length(Some(FRIENDLY_NAME_MAX_CHARS))
        .pattern(Some(NO_CONTROLS_PATTERN))
}

rule_schema! {
    /// What kind of client an application is, as a request may name it.
    ApplicationTypeName => text(
        "`oidc` (a confidential client with a secret), `spa` (a public client: no secret, PKCE \
         forced) or `external` (a dashboard link only). `saml` is refused (`400 unsupported`) \
         until SAML exists.",
    )
    .enum_values(Some(["oidc", "spa", "external"]))
}

fn redirect_uri() -> Schema {
    utoipa::openapi::schema::AnyOfBuilder::new()
        .description(Some(
            "An absolute URL in the form a WHATWG URL parser writes back (so that what is stored, \
             compared and redirected to is one string): `https`, or `http` on `localhost`, \
             `127.0.0.1` or `[::1]`; a lower-case host name or IPv4 address; no user info, default \
             port, fragment or `.`/`..` segment; at most 2000 characters. Or `regex:` and a \
             pattern of at most 500 characters (literal characters, escaped metacharacters, `.`, \
             classes, `*` `+` `?`, `|`) that must match a whole candidate.",
        ))
        .item(
            text("A redirect URI, matched exactly.")
                .max_length(Some(URL_MAX_CHARS))
                .pattern(Some(REDIRECT_URI_PATTERN)),
        )
        .item(
            text("A pattern a candidate must match as a whole.")
                .max_length(Some(REDIRECT_URI_REGEX_MAX_CHARS + "regex:".len()))
                .pattern(Some(REDIRECT_URI_REGEX_PATTERN)),
        )
        .into()
}

rule_schema! {
    /// `redirect_uris` and `post_logout_redirect_uris`.
    RedirectUris => array(
        redirect_uri(),
        "At most 20 distinct redirect URIs. `oidc` and `spa` applications need at least one in \
         `redirect_uris` (else `409 inconsistent_application`).",
    )
    .max_items(Some(REDIRECT_URIS_MAX))
    .unique_items(true)
}

rule_schema! {
    /// A launch URL.
    LaunchUrl => text(
        "An absolute `http` or `https` URL in the form a WHATWG URL parser writes back (a \
         lower-case host name or IPv4 address, no user info or default port), at most 2000 \
         characters.",
    )
    .max_length(Some(URL_MAX_CHARS))
    .pattern(Some(LAUNCH_URL_PATTERN))
}

rule_schema! {
    /// A launch URL, or `""` to remove it.
    LaunchUrlOrEmpty => text("A launch URL as in `LaunchUrl`, or `\"\"` to remove it.")
        .max_length(Some(URL_MAX_CHARS))
        .pattern(Some(format!("^$|{LAUNCH_URL_PATTERN}")))
}

fn scope() -> ObjectBuilder {
    text("A scope: 1–64 of `A-Z a-z 0-9 _ . : -`.").pattern(Some(SCOPE_PATTERN))
}

rule_schema! {
    /// A scope name.
    Scope => scope()
}

rule_schema! {
    /// `allowed_scopes`.
    Scopes => array(
        scope(),
        "Distinct scopes. A scope other than openid, profile, email, groups, roles and \
         offline_access must be the `required_scope` of one of the application's \
         `claim_mappings`; `oidc` and `spa` applications need at least one scope (else \
         `409 inconsistent_application`).",
    )
    .unique_items(true)
}

rule_schema! {
    /// `grant_types`.
    GrantTypes => array(
        text("A grant type.").enum_values(Some(["authorization_code", "refresh_token"])),
        "Distinct grant types; `oidc` and `spa` applications need `authorization_code` (else \
         `409 inconsistent_application`).",
    )
    .min_items(Some(1))
    .unique_items(true)
}

rule_schema! {
    /// Lifetime of an application's ID and access tokens.
    TokenExpirySeconds => integer(
        "Seconds, 60–86400. Any JSON number with no fractional part.",
        TOKEN_EXPIRY_SECONDS_MIN,
        TOKEN_EXPIRY_SECONDS_MAX,
    )
}

rule_schema! {
    /// A claim mapping's claim name.
    ClaimName => text(
        "1–100 printable ASCII characters without spaces, not a claim JustIAM sets itself \
         (iss, sub, aud, exp, nbf, iat, jti, auth_time, nonce, acr, amr, azp, at_hash, c_hash, \
         sid, scope, client_id, email, email_verified, name, given_name, family_name, \
         preferred_username, groups, roles). Distinct within an application (else \
         `409 inconsistent_application`).",
    )
    .pattern(Some(claim_name_pattern()))
}

rule_schema! {
    /// A claim mapping's value template.
    ClaimValue => text("0–1000 characters, without control characters.")
        .max_length(Some(CLAIM_VALUE_MAX_CHARS))
        .pattern(Some(NO_CONTROLS_PATTERN))
}

rule_schema! {
    /// An app mapping's variable name.
    VariableName => text(
        "A letter or `_`, then up to 63 letters, digits or `_`; not a built-in template variable \
         (email, username, first_name, last_name, name, id, groups, appRoles).",
    )
    .pattern(Some(variable_name_pattern()))
}

rule_schema! {
    /// An app mapping's value.
    MappingValue => text("1–1000 characters as sent, not blank, without control characters; stored trimmed.")
        .min_length(Some(1))
        .max_length(Some(MAPPING_VALUE_MAX_CHARS))
        .pattern(Some(NAME_PATTERN))
}

rule_schema! {
    /// A webhook target.
    WebhookUrl => text(
        "An http(s) URL (lower-case host name or IPv4 address; no user info, no fragment). Only \
         public targets: the host is resolved when the URL is given, and one that does not \
         resolve, or resolves only to a loopback, link-local or private address, is refused with \
         `409 webhook_target_refused` (unless the server runs with \
         WEBHOOK_ALLOW_PRIVATE_TARGETS=true). Deliveries resolve it again and connect to the \
         address checked.",
    )
    .max_length(Some(WEBHOOK_URL_MAX_CHARS))
    .pattern(Some(WEBHOOK_URL_PATTERN))
}

rule_schema! {
    /// An event a webhook subscribes to.
    WebhookEvent => text("An event type, or a family wildcard (`token.*`) taking every event of its family.")
        .enum_values(Some(WEBHOOK_EVENT_TYPES.iter().copied()))
}

rule_schema! {
    /// A webhook's signing secret.
    WebhookSecret => text("16 to 256 printable ASCII characters without spaces.")
        .min_length(Some(16))
        .max_length(Some(256))
        .pattern(Some(WEBHOOK_SECRET_PATTERN))
}

rule_schema! {
    /// What a federated credential requires of a token: its `aud`, its `sub`.
    ConditionValue => text("1–1000 characters as sent, not blank, without control characters; stored trimmed.")
        .min_length(Some(1))
        .max_length(Some(MAPPING_VALUE_MAX_CHARS))
        .pattern(Some(NAME_PATTERN))
}

rule_schema! {
    /// The issuer of a federated credential.
    Issuer => text(
        "The outside issuer exactly as its tokens' `iss` \
         (`https://token.actions.githubusercontent.com`): an https URL on a lower-case host name \
         or an IPv4 address, with an optional path and no query or fragment; http only on a \
         loopback host (`localhost`, `127.0.0.1`, `[::1]`), whose keys are fetched only when the \
         server runs with FEDERATION_ALLOW_HTTP_LOOPBACK=true.",
    )
    .max_length(Some(ISSUER_MAX_CHARS))
    .pattern(Some(ISSUER_PATTERN))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented claim and variable patterns are the shapes without the reserved words:
    /// what the server checks as a shape pattern and a list.
    #[test]
    fn reserved_words_are_left_out_of_the_shapes() {
        assert_eq!(
            claim_name_pattern(),
            format!("^(?!({})$)[!-~]{{1,100}}$", RESERVED_CLAIMS.join("|"))
        );
        assert_eq!(
            variable_name_pattern(),
            format!(
                "^(?!({})$)[A-Za-z_][A-Za-z0-9_]{{0,63}}$",
                BUILTIN_VARIABLES.join("|")
            )
        );
        assert!(
            RESERVED_CLAIMS
                .iter()
                .chain(BUILTIN_VARIABLES)
                .all(|w| w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')),
            "the words need no escaping in a pattern"
        );
    }
}

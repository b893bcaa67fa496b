//! The personal access token format.
//!
//! `justiam_pat_` + 32 random base62 characters (~190 bits from the OS CSPRNG) + 6 base62
//! characters encoding the CRC32 of the random part. The checksum lets the server, and any secret
//! scanner, reject a mistyped or made-up value without touching the database. Secret scanners can
//! match `justiam_pat_[0-9A-Za-z]{38}`.
//!
//! OAuth client secrets ([`CLIENT_SECRET_PREFIX`]) are made and checked by the same functions with
//! their own prefix.

use sha2::{Digest, Sha256};

use crate::secret::Secret;

pub const PREFIX: &str = "justiam_pat_";
pub const RANDOM_LEN: usize = 32;
pub const CHECKSUM_LEN: usize = 6;
pub const TOKEN_LEN: usize = PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
/// The prefix of application client secrets: `justiam_cs_` + 32 base62 + 6 base62 checksum.
pub const CLIENT_SECRET_PREFIX: &str = "justiam_cs_";
/// The regular expression secret scanners use to find JustIAM tokens.
pub const SCANNER_REGEX: &str = "justiam_pat_[0-9A-Za-z]{38}";

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The SHA-256 digest of a whole token string: the only form the database ever holds.
pub type TokenDigest = [u8; 32];

/// Why a value is not a well-formed token. Deliberately carries no part of the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("the value does not have the prefix + 38 base62 characters shape")]
    Shape,
    #[error("the token checksum does not match")]
    Checksum,
}

/// Generates a fresh token value.
pub fn generate() -> Result<Secret, getrandom::Error> {
    generate_with_prefix(PREFIX)
}

/// Checks shape and checksum: no I/O, no allocation.
pub fn check_format(value: &str) -> Result<(), FormatError> {
    check_format_with_prefix(PREFIX, value)
}

/// `prefix` + [`RANDOM_LEN`] random base62 characters + their [`CHECKSUM_LEN`]-character
/// checksum: the one generator of every checksummed secret (PATs, OAuth client secrets).
pub fn generate_with_prefix(prefix: &str) -> Result<Secret, getrandom::Error> {
    let random = random_base62(RANDOM_LEN)?;
    let mut value = String::with_capacity(prefix.len() + RANDOM_LEN + CHECKSUM_LEN);
    value.push_str(prefix);
    value.push_str(&random);
    value.push_str(&checksum(random.as_bytes()));
    Ok(Secret::new(value))
}

/// Checks a value made by [`generate_with_prefix`] with the same `prefix`.
pub fn check_format_with_prefix(prefix: &str, value: &str) -> Result<(), FormatError> {
    let bytes = value.as_bytes();
    if bytes.len() != prefix.len() + RANDOM_LEN + CHECKSUM_LEN || !value.starts_with(prefix) {
        return Err(FormatError::Shape);
    }
    let body = &bytes[prefix.len()..];
    if !body.iter().all(u8::is_ascii_alphanumeric) {
        return Err(FormatError::Shape);
    }
    let (random, check) = body.split_at(RANDOM_LEN);
    if checksum(random).as_bytes() != check {
        return Err(FormatError::Checksum);
    }
    Ok(())
}

/// `len` uniformly random base62 characters from the OS CSPRNG.
pub fn random_base62(len: usize) -> Result<String, getrandom::Error> {
    let mut random = String::with_capacity(len);
    let mut pool = [0u8; 64];
    while random.len() < len {
        getrandom::fill(&mut pool)?;
        // Rejection sampling: 248 = 4 * 62, so accepted bytes map uniformly onto the alphabet.
        for byte in pool.iter().filter(|b| **b < 248) {
            if random.len() == len {
                break;
            }
            random.push(BASE62[usize::from(*byte % 62)] as char);
        }
    }
    Ok(random)
}

/// Whether a value claims to be a PAT (as opposed to a JWT): the one place the shape is sniffed.
pub fn looks_like_pat(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// A bearer credential, told apart by its shape once, where the request is read, and carried so:
/// the caller's metrics and logs, and [`crate::service::Iam::authenticate`], need not look again.
/// No `Debug`: it holds the secret.
#[derive(Clone, Copy)]
pub enum Bearer<'a> {
    /// Claims to be a personal access token (starts with [`PREFIX`]; not yet checked).
    Pat(&'a str),
    /// Starts with the header every service-account access token has (`{"alg":"ES256",…`):
    /// taken for one of those.
    Access(&'a str),
    /// Anything else: taken for a portal session JWT.
    Jwt(&'a str),
}

/// The base64url of `{"alg":"ES256",`, with which the header of every service-account access token
/// begins (15 bytes: exactly 20 characters, unaffected by what follows). Portal JWTs are HS256.
pub const ACCESS_TOKEN_HEAD: &str = "eyJhbGciOiJFUzI1NiIs";

impl<'a> Bearer<'a> {
    pub fn of(value: &'a str) -> Self {
        if looks_like_pat(value) {
            Bearer::Pat(value)
        } else if value.starts_with(ACCESS_TOKEN_HEAD) {
            Bearer::Access(value)
        } else {
            Bearer::Jwt(value)
        }
    }

    /// `pat` or `jwt` in metrics and logs, before authentication says more: the names
    /// [`crate::authz::Credential::kind`] gives once it has.
    pub fn kind(self) -> &'static str {
        match self {
            Bearer::Pat(_) => "pat",
            Bearer::Access(_) => "access_token",
            Bearer::Jwt(_) => "jwt",
        }
    }
}

pub fn digest(value: &str) -> TokenDigest {
    Sha256::digest(value.as_bytes()).into()
}

/// The display hint kept beside the digest: `…` and the last four characters.
pub fn hint(value: &str) -> String {
    let tail = value.len().saturating_sub(4);
    format!("…{}", value.get(tail..).unwrap_or_default())
}

fn checksum(random: &[u8]) -> String {
    let mut n = crc32fast::hash(random);
    let mut out = [b'0'; CHECKSUM_LEN];
    // 62^6 > 2^32, so six digits always suffice.
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out.iter().map(|b| *b as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fresh() -> String {
        generate().expect("OS randomness").into_exposed()
    }

    #[test]
    fn generated_tokens_have_the_documented_shape() {
        let value = fresh();
        assert_eq!(value.len(), 50);
        assert!(value.starts_with("justiam_pat_"));
        assert!(
            value[PREFIX.len()..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        );
        assert_eq!(check_format(&value), Ok(()));
        assert_ne!(fresh(), value);
    }

    #[test]
    fn client_secrets_share_the_format_under_their_own_prefix() {
        let value = generate_with_prefix(CLIENT_SECRET_PREFIX)
            .expect("OS randomness")
            .into_exposed();
        assert_eq!(value.len(), CLIENT_SECRET_PREFIX.len() + 38);
        assert_eq!(
            check_format_with_prefix(CLIENT_SECRET_PREFIX, &value),
            Ok(())
        );
        // Neither kind passes for the other.
        assert_eq!(check_format(&value), Err(FormatError::Shape));
        assert_eq!(
            check_format_with_prefix(CLIENT_SECRET_PREFIX, &fresh()),
            Err(FormatError::Shape)
        );
        assert_eq!(random_base62(24).expect("OS randomness").len(), 24);
    }

    #[test]
    fn hint_is_the_last_four_characters() {
        let value = fresh();
        assert_eq!(hint(&value), format!("…{}", &value[46..]));
    }

    #[test]
    fn digest_is_sha256_of_the_whole_value() {
        assert_eq!(
            digest("abc")
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn rejects_wrong_shapes() {
        let value = fresh();
        for bad in [
            String::new(),
            "justiam_pat_".to_owned(),
            value[..49].to_owned(),
            format!("{value}0"),
            value.replace("justiam_pat_", "justiam_pak_"),
            value.replace("justiam_pat_", "JUSTIAM_PAT_"),
            format!("{}-{}", &value[..20], &value[21..]),
            format!(" {}", &value[1..]),
        ] {
            assert_eq!(check_format(&bad), Err(FormatError::Shape), "{bad:?}");
        }
    }

    #[test]
    fn a_bearer_is_a_pat_by_its_prefix_alone() {
        let value = fresh();
        // A PAT claim is decided by the prefix; shape and checksum are checked afterwards.
        for pat in [value.as_str(), "justiam_pat_", "justiam_pat_not-a-token"] {
            let bearer = Bearer::of(pat);
            assert!(matches!(bearer, Bearer::Pat(v) if v == pat), "{pat:?}");
            assert_eq!(bearer.kind(), "pat", "{pat:?}");
        }
        let upper = value.replace("justiam_pat_", "JUSTIAM_PAT_");
        for jwt in [
            "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln",
            upper.as_str(),
            " justiam_pat_",
            "",
        ] {
            let bearer = Bearer::of(jwt);
            assert!(matches!(bearer, Bearer::Jwt(v) if v == jwt), "{jwt:?}");
            assert_eq!(bearer.kind(), "jwt", "{jwt:?}");
        }
    }

    #[test]
    fn the_access_token_head_is_the_es256_header_start() {
        use base64::Engine;
        let header = r#"{"alg":"ES256","kid":"k","typ":"at+jwt"}"#;
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header);
        assert!(encoded.starts_with(ACCESS_TOKEN_HEAD), "{encoded}");
        assert!(matches!(Bearer::of(&encoded), Bearer::Access(_)));
    }

    proptest! {
        #[test]
        fn every_generated_token_parses(_seed in 0u8..255) {
            prop_assert_eq!(check_format(&fresh()), Ok(()));
        }

        #[test]
        fn any_single_character_change_is_rejected(pos in 12usize..50, pick in 0usize..61) {
            let value = fresh();
            let original = value.as_bytes()[pos];
            let alternatives: Vec<u8> = BASE62.iter().copied().filter(|c| *c != original).collect();
            let mut changed = value.into_bytes();
            changed[pos] = alternatives[pick];
            let changed = String::from_utf8(changed).expect("ascii");
            prop_assert_eq!(check_format(&changed), Err(FormatError::Checksum));
        }

        #[test]
        fn arbitrary_strings_are_rejected_unless_exactly_shaped(s in ".{0,60}") {
            if check_format(&s).is_ok() {
                let re_like = s.len() == 50 && s.starts_with(PREFIX)
                    && s[PREFIX.len()..].chars().all(|c| c.is_ascii_alphanumeric());
                prop_assert!(re_like);
            }
        }

        #[test]
        fn made_up_bodies_almost_never_pass(body in "[0-9A-Za-z]{38}") {
            let value = format!("{PREFIX}{body}");
            let (random, check) = body.split_at(RANDOM_LEN);
            let expected = checksum(random.as_bytes()) == check;
            prop_assert_eq!(check_format(&value).is_ok(), expected);
        }
    }
}

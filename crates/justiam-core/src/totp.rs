//! Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA-1, 6 digits, 30-second steps —
//! the parameters every authenticator app reads from an `otpauth://` URI.
//!
//! The HMAC is aws-lc-rs's (already the server's cryptography); what is left here is RFC 4226's
//! dynamic truncation and the step arithmetic, checked against the RFC's own test vectors below.
//! A TOTP crate would bring a second HMAC/SHA-1 stack for these few lines.

use aws_lc_rs::hmac;
use data_encoding::BASE32_NOPAD;
use subtle::ConstantTimeEq;

/// Seconds per time step (RFC 6238 `X`).
pub const STEP_SECONDS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Steps accepted on either side of the current one, for clock drift and typing time.
pub const SKEW_STEPS: i64 = 1;
/// Bytes of a generated secret: 160 bits, RFC 4226 §4's recommendation.
pub const SECRET_BYTES: usize = 20;

/// A shared secret. No `Debug`, no `Display`: it never reaches a log.
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = vec![0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Base32 without padding, as authenticator apps take it (typed or in the `otpauth` URI).
    pub fn to_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.0)
    }

    /// The code of time step `step`.
    pub fn code_at(&self, step: i64) -> u32 {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &self.0);
        let mac = hmac::sign(&key, &step.to_be_bytes());
        let mac = mac.as_ref();
        // RFC 4226 §5.3: the low nibble of the last byte picks four bytes, the top bit is dropped.
        let offset = usize::from(mac[mac.len() - 1] & 0x0f);
        let binary = u32::from_be_bytes([
            mac[offset] & 0x7f,
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]);
        binary % 10u32.pow(DIGITS)
    }

    /// The time step of `code` when it matches a step within [`SKEW_STEPS`] of `now_secs` and is
    /// later than `last_step` (a code is accepted once). Compares in constant time.
    pub fn verify(&self, code: &str, now_secs: i64, last_step: i64) -> Option<i64> {
        let code = parse_code(code)?;
        let current = step_of(now_secs);
        let mut matched = None;
        for step in current - SKEW_STEPS..=current + SKEW_STEPS {
            let expected = format!("{:0width$}", self.code_at(step), width = DIGITS as usize);
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && step > last_step {
                matched = Some(step);
            }
        }
        matched
    }

    /// The `otpauth://totp/` URI of Google Authenticator's key URI format, which every app reads:
    /// label `issuer:account`, and the parameters spelled out (they are the defaults).
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        // `byte_serialize` writes a space as `+`, which a path does not decode: `%20` instead.
        let label = format!("{}:{}", encode(issuer), encode(account)).replace('+', "%20");
        format!(
            "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            self.to_base32(),
            encode(issuer).replace('+', "%20"),
        )
    }
}

/// The 30-second step that `secs` (unix seconds) falls in.
pub fn step_of(secs: i64) -> i64 {
    secs.div_euclid(STEP_SECONDS)
}

/// A code as typed: six digits, spaces and dashes ignored (`123 456`); `None` for anything else.
pub fn parse_code(input: &str) -> Option<String> {
    let digits: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (digits.len() == DIGITS as usize && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows; the 8-digit values there end in our 6 digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        for (time, eight_digits) in [
            (59_i64, 94_287_082_u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(
                secret.code_at(step_of(time)),
                eight_digits % 1_000_000,
                "T={time}"
            );
        }
    }

    #[test]
    fn one_step_either_side_and_once_only() {
        let secret = TotpSecret::generate().expect("random");
        let now = 1_700_000_015;
        let step = step_of(now);
        let code = |s: i64| format!("{:06}", secret.code_at(s));
        assert_eq!(secret.verify(&code(step), now, 0), Some(step));
        assert_eq!(secret.verify(&code(step - 1), now, 0), Some(step - 1));
        assert_eq!(secret.verify(&code(step + 1), now, 0), Some(step + 1));
        assert_eq!(secret.verify(&code(step - 2), now, 0), None);
        assert_eq!(secret.verify(&code(step + 2), now, 0), None);
        // Used: the same step, or an earlier one, never again.
        assert_eq!(secret.verify(&code(step), now, step), None);
        assert_eq!(secret.verify(&code(step - 1), now, step), None);
        assert_eq!(secret.verify(&code(step + 1), now, step), Some(step + 1));
    }

    #[test]
    fn codes_are_six_digits_as_typed() {
        assert_eq!(parse_code(" 123 456 "), Some("123456".to_owned()));
        assert_eq!(parse_code("123-456"), Some("123456".to_owned()));
        for bad in ["12345", "1234567", "12345a", "", "１２３４５６"] {
            assert_eq!(parse_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_uri_names_issuer_account_and_parameters() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        assert_eq!(secret.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            secret.otpauth_uri("Just IAM", "ann+x@example.com"),
            "otpauth://totp/Just%20IAM:ann%2Bx%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Just%20IAM&algorithm=SHA1&digits=6&period=30"
        );
    }
}

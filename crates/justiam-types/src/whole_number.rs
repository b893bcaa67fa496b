//! Integer fields read as JSON Schema defines an integer — any number with no fractional part —
//! so that what the OpenAPI document calls valid is valid: `30`, `30.0` and `3e1` are all 30;
//! `1.5`, `"30"` and `null` are type errors.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Unexpected, Visitor};

struct WholeNumber;

/// 2^63: the first `f64` above `i64::MAX` (and `-2^63` is `i64::MIN`, exactly representable).
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

impl Visitor<'_> for WholeNumber {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value).map_err(|_| E::invalid_value(Unexpected::Unsigned(value), &self))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        if value.fract() != 0.0 || !value.is_finite() {
            return Err(E::invalid_type(Unexpected::Float(value), &self));
        }
        if !(-TWO_POW_63..TWO_POW_63).contains(&value) {
            return Err(E::invalid_value(Unexpected::Float(value), &self));
        }
        Ok(value as i64)
    }
}

/// `#[serde(deserialize_with = "whole_number::deserialize")]` on an `i64`.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    deserializer.deserialize_any(WholeNumber)
}

/// The same for an `Option<i64>` (`null` is `None`).
pub fn option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    struct Optional;

    impl<'de> Visitor<'de> for Optional {
        type Value = Option<i64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an integer or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Option<i64>, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Option<i64>, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Option<i64>, D::Error> {
            deserialize(inner).map(Some)
        }
    }

    deserializer.deserialize_option(Optional)
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::deserialize")]
        n: i64,
        #[serde(default, deserialize_with = "super::option")]
        o: Option<i64>,
    }

    fn parse(json: &str) -> Result<Body, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn numbers_without_a_fraction_are_integers() {
        for (json, n) in [
            (r#"{"n":30}"#, 30),
            (r#"{"n":30.0}"#, 30),
            (r#"{"n":3e1}"#, 30),
            (r#"{"n":-0.0}"#, 0),
            (r#"{"n":-9223372036854775808}"#, i64::MIN),
            (r#"{"n":9223372036854775807}"#, i64::MAX),
        ] {
            assert_eq!(parse(json).expect(json).n, n, "{json}");
        }
        assert_eq!(parse(r#"{"n":1,"o":null}"#).expect("null").o, None);
        assert_eq!(parse(r#"{"n":1}"#).expect("absent").o, None);
        assert_eq!(parse(r#"{"n":1,"o":2.0}"#).expect("2.0").o, Some(2));
    }

    #[test]
    fn everything_else_is_refused() {
        for json in [
            r#"{"n":1.5}"#,
            r#"{"n":"30"}"#,
            r#"{"n":null}"#,
            r#"{"n":true}"#,
            r#"{"n":9223372036854775808}"#,
            r#"{"n":1e300}"#,
            r#"{"n":1,"o":0.5}"#,
            r#"{"n":1,"o":"2"}"#,
        ] {
            let error = parse(json).expect_err(json);
            assert!(error.contains("expected an integer"), "{json}: {error}");
        }
    }
}

//! JSON written by hand on the paths every request takes (the access log line, `GET /me`).
//!
//! Through serde, each key and value goes through the serializer's formatter and an escaping
//! loop byte by byte; that cost more than checking the token the answer is for (callgrind,
//! docs/benchmarks.md). These helpers write the same bytes as `serde_json`, as their tests show.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// `value` as a JSON string, escaped exactly as `serde_json` escapes it.
pub fn write_str(out: &mut Vec<u8>, value: &str) {
    // serde_json escapes control characters, `"` and `\` and nothing else; most values hold none
    // of them and are copied whole.
    if value.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut *out, value);
    }
}

/// A UUID as its hyphenated lower-case JSON string.
pub fn write_uuid(out: &mut Vec<u8>, id: Uuid) {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    out.push(b'"');
    out.extend_from_slice(id.hyphenated().encode_lower(&mut text).as_bytes());
    out.push(b'"');
}

/// A timestamp as the API writes every timestamp ([`justiam_types::timestamp`]).
pub fn write_timestamp(out: &mut Vec<u8>, at: &DateTime<Utc>) {
    let mut buffer = [0u8; 24];
    match justiam_types::timestamp::write_rfc3339(at, &mut buffer) {
        Some(text) => {
            out.push(b'"');
            out.extend_from_slice(text.as_bytes());
            out.push(b'"');
        }
        None => {
            let _ = serde_json::to_writer(&mut *out, at);
        }
    }
}

pub fn write_bool(out: &mut Vec<u8>, value: bool) {
    out.extend_from_slice(if value { b"true" } else { b"false" });
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn written(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).expect("utf-8")
    }

    proptest! {
        #[test]
        fn strings_are_written_as_serde_json_writes_them(value in any::<String>()) {
            prop_assert_eq!(
                written(|out| write_str(out, &value)),
                serde_json::to_string(&value).expect("json")
            );
        }

        #[test]
        fn uuids_are_written_as_serde_json_writes_them(bits in any::<u128>()) {
            let id = Uuid::from_u128(bits);
            prop_assert_eq!(
                written(|out| write_uuid(out, id)),
                serde_json::to_string(&id).expect("json")
            );
        }

        #[test]
        fn timestamps_are_written_as_the_api_types_write_them(
            ms in -80_000_000_000_000i64..300_000_000_000_000i64,
        ) {
            #[derive(serde::Serialize)]
            struct Wire(#[serde(serialize_with = "justiam_types::timestamp::serialize")] DateTime<Utc>);
            let at = Utc.timestamp_millis_opt(ms).single().expect("in range");
            prop_assert_eq!(
                written(|out| write_timestamp(out, &at)),
                serde_json::to_string(&Wire(at)).expect("json")
            );
        }
    }

    #[test]
    fn escapes_what_needs_escaping() {
        for value in [
            "",
            "plain",
            "a\"b",
            "back\\slash",
            "tab\there",
            "nul\0",
            "Ä€😀",
            "\u{7f}",
        ] {
            assert_eq!(
                written(|out| write_str(out, value)),
                serde_json::to_string(value).expect("json"),
                "{value:?}"
            );
        }
        assert_eq!(written(|out| write_bool(out, true)), "true");
        assert_eq!(written(|out| write_bool(out, false)), "false");
    }
}

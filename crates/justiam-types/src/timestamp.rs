//! Timestamps on the wire: RFC 3339 in UTC with `Z`, and milliseconds only when there are any
//! (`2026-11-30T09:03:38.267Z`, `2026-11-30T09:03:38Z`) — exactly what chrono's own `Serialize`
//! writes, written without going through `Display` and the formatting machinery, which cost
//! more than the rest of a `GET /me` answer (docs/benchmarks.md). Use with
//! `#[serde(serialize_with = "timestamp::serialize")]`; reading stays chrono's.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serializer;

pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buffer = [0u8; 24];
    match write_rfc3339(at, &mut buffer) {
        Some(text) => serializer.serialize_str(text),
        // Years outside 0000–9999 and sub-millisecond times: chrono's general formatting.
        None => serde::Serialize::serialize(at, serializer),
    }
}

pub fn serialize_option<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serialize(at, serializer),
        None => serializer.serialize_none(),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.mmm]Z` into `buffer`, or `None` when the time needs chrono's general path
/// (a year outside 0000–9999, a sub-millisecond part).
pub fn write_rfc3339<'b>(at: &DateTime<Utc>, buffer: &'b mut [u8; 24]) -> Option<&'b str> {
    let nanos = at.nanosecond();
    if !nanos.is_multiple_of(1_000_000) || nanos >= 1_000_000_000 {
        return None;
    }
    write_date_time(at, &mut buffer[..19])?;
    let millis = nanos / 1_000_000;
    let end = if millis == 0 {
        19
    } else {
        buffer[19] = b'.';
        digits(&mut buffer[20..23], millis);
        23
    };
    buffer[end] = b'Z';
    std::str::from_utf8(&buffer[..=end]).ok()
}

/// `YYYY-MM-DDTHH:MM:SS.uuuuuuZ`, always with six digits of microseconds (truncated): the
/// timestamps of log lines, as `tracing-subscriber` writes them. `None` for a year outside
/// 0000–9999 or a leap second.
pub fn write_rfc3339_micros<'b>(at: &DateTime<Utc>, buffer: &'b mut [u8; 27]) -> Option<&'b str> {
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    write_date_time(at, &mut buffer[..19])?;
    buffer[19] = b'.';
    digits(&mut buffer[20..26], nanos / 1_000);
    buffer[26] = b'Z';
    std::str::from_utf8(&buffer[..]).ok()
}

/// `YYYY-MM-DDTHH:MM:SS` into the 19 bytes of `out`.
fn write_date_time(at: &DateTime<Utc>, out: &mut [u8]) -> Option<()> {
    // From the naive UTC value: `DateTime::year()` and its kin each apply the (zero) offset anew.
    let (date, time) = (at.naive_utc().date(), at.naive_utc().time());
    let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
    digits(&mut out[0..4], year);
    out[4] = b'-';
    digits(&mut out[5..7], date.month());
    out[7] = b'-';
    digits(&mut out[8..10], date.day());
    out[10] = b'T';
    digits(&mut out[11..13], time.hour());
    out[13] = b':';
    digits(&mut out[14..16], time.minute());
    out[16] = b':';
    digits(&mut out[17..19], time.second());
    Some(())
}

/// `value` in decimal, zero-padded to the width of `out`.
fn digits(out: &mut [u8], mut value: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    #[derive(serde::Serialize)]
    struct Fast(#[serde(serialize_with = "serialize")] DateTime<Utc>);

    fn both(at: DateTime<Utc>) -> (String, String) {
        (
            serde_json::to_string(&Fast(at)).expect("fast"),
            serde_json::to_string(&at).expect("chrono"),
        )
    }

    proptest! {
        #[test]
        fn writes_what_chrono_writes(ms in -80_000_000_000_000i64..300_000_000_000_000i64) {
            let at = Utc.timestamp_millis_opt(ms).single().expect("in range");
            let (fast, chrono) = both(at);
            prop_assert_eq!(fast, chrono);
        }

        #[test]
        fn sub_millisecond_times_fall_back(ns in 0i64..4_000_000_000_000_000_000i64) {
            let at = Utc.timestamp_nanos(ns);
            let (fast, chrono) = both(at);
            prop_assert_eq!(fast, chrono);
        }
    }

    proptest! {
        #[test]
        fn micros_are_what_chrono_writes_with_six_digits(ns in 0i64..4_000_000_000_000_000_000i64) {
            let at = Utc.timestamp_nanos(ns);
            let mut buffer = [0u8; 27];
            let fast = write_rfc3339_micros(&at, &mut buffer).expect("in range");
            let chrono = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            prop_assert_eq!(fast, chrono);
        }
    }

    #[test]
    fn whole_seconds_and_milliseconds() {
        let at = Utc
            .timestamp_millis_opt(1_796_030_618_000)
            .single()
            .expect("time");
        assert_eq!(both(at).0, "\"2026-11-30T09:23:38Z\"");
        let at = Utc
            .timestamp_millis_opt(1_796_030_618_007)
            .single()
            .expect("time");
        assert_eq!(both(at).0, "\"2026-11-30T09:23:38.007Z\"");
    }
}

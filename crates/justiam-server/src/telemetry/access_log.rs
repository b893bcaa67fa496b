//! The access log: one line per request, in the format of every other log line (text or JSON,
//! see [`super::logging`]), but formatted here and written straight into the log buffer instead of
//! going through a `tracing` event.
//!
//! Every request pays for this line. Through `tracing` it cost ~8,000 instructions — a field
//! visitor and a `fmt::Debug` call per value, the formatting machinery for the timestamp — more
//! than authenticating a token; written here it costs a few hundred (callgrind,
//! docs/benchmarks.md). The tests below hold the bytes to what `tracing-subscriber` writes for
//! the same event, so that log readers see one format. The log filter still decides: the line is
//! written only when `LOG_LEVEL` lets INFO through for [`TARGET`]. On a terminal (coloured
//! output) and before [`install`], the line goes through `tracing` as before.

use std::cell::RefCell;
use std::io::Stderr;
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::Level;
use uuid::Uuid;

use crate::config::LogFormat;
use crate::telemetry::json;
use crate::telemetry::logging::BufferedWriter;

/// The target the access line is logged under (`LOG_LEVEL=justiam_server::http=warn` mutes it).
pub const TARGET: &str = "justiam_server::http";

/// What the access line says of one request.
pub struct AccessEntry<'a> {
    /// The `X-Request-Id` (the client's own, or the one made for the request).
    pub request_id: &'a str,
    pub method: &'a str,
    /// The route template, or `unmatched`.
    pub route: &'a str,
    pub status: u16,
    pub latency: Duration,
    /// The authenticated caller, if any.
    pub principal_id: Option<Uuid>,
    /// `pat` or `jwt`, with `principal_id`.
    pub credential: Option<&'static str>,
}

struct Sink {
    out: BufferedWriter<Stderr>,
    format: LogFormat,
}

static SINK: OnceLock<Sink> = OnceLock::new();

thread_local! {
    /// The line being formatted, reused so that a line costs no allocation.
    static LINE: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(512));
}

/// From now on, access lines are formatted here and written into `out`, the buffer behind the
/// process's `tracing` subscriber. Called once by [`super::logging::init`], for uncoloured output.
pub fn install(out: BufferedWriter<Stderr>, format: LogFormat) {
    let _ = SINK.set(Sink { out, format });
}

/// Writes the access line of one request, if the log filter lets it through.
pub fn record(entry: &AccessEntry<'_>) {
    if !tracing::enabled!(target: TARGET, Level::INFO) {
        return;
    }
    let Some(sink) = SINK.get() else {
        return through_tracing(entry);
    };
    LINE.with_borrow_mut(|line| {
        line.clear();
        write_line(line, sink.format, entry, Utc::now());
        sink.out.write_line(line);
    });
}

fn through_tracing(entry: &AccessEntry<'_>) {
    tracing::info!(
        target: TARGET,
        request_id = entry.request_id,
        method = %entry.method,
        route = %entry.route,
        status = entry.status,
        latency_ms = latency_ms(entry.latency),
        principal_id = entry.principal_id.map(tracing::field::display),
        credential = entry.credential,
        "request"
    );
}

/// Whole microseconds, as milliseconds: `0.005`, not `0.0053159999999999995`.
fn latency_ms(latency: Duration) -> f64 {
    latency.as_micros() as f64 / 1000.0
}

/// The line as `tracing-subscriber`'s formatter writes the event of [`through_tracing`] (with the
/// plain field formatter of [`super::logging`] for text), newline included.
fn write_line(line: &mut Vec<u8>, format: LogFormat, entry: &AccessEntry<'_>, at: DateTime<Utc>) {
    let mut stamp = [0u8; 27];
    let timestamp = justiam_types::timestamp::write_rfc3339_micros(&at, &mut stamp).unwrap_or("-");
    match format {
        LogFormat::Text => {
            line.extend_from_slice(timestamp.as_bytes());
            line.extend_from_slice(b"  INFO ");
            line.extend_from_slice(TARGET.as_bytes());
            line.extend_from_slice(b": request");
        }
        LogFormat::Json => {
            line.extend_from_slice(b"{\"timestamp\":\"");
            line.extend_from_slice(timestamp.as_bytes());
            line.extend_from_slice(b"\",\"level\":\"INFO\",\"message\":\"request\"");
        }
    }
    let mut field = |name: &str, value: Value<'_>| value.write(line, format, name);
    // Quoted in text: a log reader never takes what follows the id for another field.
    field("request_id", Value::Quoted(entry.request_id));
    field("method", Value::Shown(entry.method));
    field("route", Value::Shown(entry.route));
    field("status", Value::Status(entry.status));
    field("latency_ms", Value::Latency(entry.latency));
    if let Some(principal_id) = entry.principal_id {
        field("principal_id", Value::Id(principal_id));
    }
    if let Some(credential) = entry.credential {
        field("credential", Value::Quoted(credential));
    }
    if format == LogFormat::Json {
        line.extend_from_slice(b",\"target\":\"");
        line.extend_from_slice(TARGET.as_bytes());
        line.extend_from_slice(b"\"}");
    }
    line.push(b'\n');
}

/// A field's value, written as `tracing-subscriber` writes the value of [`through_tracing`]'s
/// event: text shows `%` values as they are and `&str` values quoted; JSON has strings for both.
enum Value<'a> {
    Shown(&'a str),
    Quoted(&'a str),
    Status(u16),
    Latency(Duration),
    Id(Uuid),
}

impl Value<'_> {
    fn write(&self, line: &mut Vec<u8>, format: LogFormat, name: &str) {
        match format {
            LogFormat::Text => {
                line.push(b' ');
                line.extend_from_slice(name.as_bytes());
                line.push(b'=');
                match self {
                    Value::Shown(text) => line.extend_from_slice(text.as_bytes()),
                    Value::Id(id) => write_uuid(line, *id),
                    _ => self.write_json(line),
                }
            }
            LogFormat::Json => {
                line.extend_from_slice(b",\"");
                line.extend_from_slice(name.as_bytes());
                line.extend_from_slice(b"\":");
                self.write_json(line);
            }
        }
    }

    fn write_json(&self, line: &mut Vec<u8>) {
        match self {
            Value::Shown(text) | Value::Quoted(text) => json::write_str(line, text),
            Value::Status(status) => {
                line.extend_from_slice(itoa::Buffer::new().format(*status).as_bytes())
            }
            Value::Latency(latency) => write_latency(line, *latency),
            Value::Id(id) => json::write_uuid(line, *id),
        }
    }
}

/// [`latency_ms`] as both `f64` formatters write it (`Debug` for text, ryu for JSON): the
/// shortest decimal, and `.0` for whole milliseconds.
fn write_latency(line: &mut Vec<u8>, latency: Duration) {
    let micros = latency.as_micros();
    let mut number = itoa::Buffer::new();
    line.extend_from_slice(number.format(micros / 1000).as_bytes());
    line.push(b'.');
    let fraction = (micros % 1000) as u32;
    if fraction == 0 {
        line.push(b'0');
        return;
    }
    let digits = [fraction / 100, fraction / 10 % 10, fraction % 10];
    let significant = if digits[2] != 0 {
        3
    } else if digits[1] != 0 {
        2
    } else {
        1
    };
    line.extend(digits[..significant].iter().map(|d| b'0' + *d as u8));
}

fn write_uuid(line: &mut Vec<u8>, id: Uuid) {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    line.extend_from_slice(id.hyphenated().encode_lower(&mut text).as_bytes());
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    /// The lines `tracing-subscriber` writes, collected.
    #[derive(Clone, Default)]
    struct Collected(Arc<Mutex<Vec<u8>>>);

    impl Write for Collected {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lines").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What `tracing-subscriber`, set up as [`crate::telemetry::logging::init`] sets it up, writes
    /// for the entry — with the timestamp cut off (the fast line's is tested apart).
    fn through_subscriber(format: LogFormat, entry: &AccessEntry<'_>) -> String {
        let out = Collected::default();
        let writer = {
            let out = out.clone();
            move || out.clone()
        };
        let builder = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(writer);
        match format {
            LogFormat::Json => tracing::subscriber::with_default(
                builder
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .finish(),
                || through_tracing(entry),
            ),
            LogFormat::Text => tracing::subscriber::with_default(
                builder
                    .fmt_fields(crate::telemetry::logging::plain_fields())
                    .finish(),
                || through_tracing(entry),
            ),
        }
        let text = String::from_utf8(out.0.lock().expect("lines").clone()).expect("utf-8");
        let (timestamp, rest) = split_timestamp(&text);
        assert!(
            timestamp.len() == 27 && timestamp.ends_with('Z') && timestamp.as_bytes()[19] == b'.',
            "the subscriber's timestamps have six digits of microseconds: {text}"
        );
        rest
    }

    fn fast(format: LogFormat, entry: &AccessEntry<'_>) -> String {
        let mut line = Vec::new();
        let at = Utc
            .timestamp_opt(1_796_031_426, 140_236_789)
            .single()
            .expect("time");
        write_line(&mut line, format, entry, at);
        let text = String::from_utf8(line).expect("utf-8");
        let (timestamp, rest) = split_timestamp(&text);
        assert_eq!(timestamp, "2026-11-30T09:37:06.140236Z");
        rest
    }

    /// The line's timestamp, and the line without it.
    fn split_timestamp(line: &str) -> (String, String) {
        let start = if line.starts_with('{') {
            "{\"timestamp\":\"".len()
        } else {
            0
        };
        let end = line.find('Z').expect("a timestamp") + 1;
        (
            line[start..end].to_owned(),
            format!("{}{}", &line[..start], &line[end..]),
        )
    }

    fn entry<'a>(
        request_id: &'a str,
        method: &'a str,
        micros: u64,
        caller: Option<(Uuid, &'static str)>,
    ) -> AccessEntry<'a> {
        AccessEntry {
            request_id,
            method,
            route: "/api/v1/users/{id}",
            status: 404,
            latency: Duration::from_micros(micros),
            principal_id: caller.map(|c| c.0),
            credential: caller.map(|c| c.1),
        }
    }

    #[test]
    fn writes_what_tracing_writes() {
        let user = Uuid::now_v7();
        for format in [LogFormat::Text, LogFormat::Json] {
            for caller in [None, Some((user, "pat")), Some((user, "jwt"))] {
                for micros in [
                    0,
                    1,
                    7,
                    10,
                    50,
                    999,
                    1000,
                    1001,
                    19_942,
                    1_500_000,
                    86_400_000_000,
                ] {
                    let entry = entry(
                        "01a22c2c-ce91-761d-a922-35c5266da952",
                        "GET",
                        micros,
                        caller,
                    );
                    assert_eq!(fast(format, &entry), through_subscriber(format, &entry));
                }
            }
        }
    }

    proptest! {
        /// Ids with quotes, backslashes, spaces and tabs are written as tracing writes them too
        /// (the observe layer replaces a client's id holding one, but the line does not rely on it).
        #[test]
        fn any_request_id_and_method_is_written_as_tracing_writes_it(
            request_id in "[\t -~]{0,40}",
            method in "[A-Z!#$%&'*+.^_`|~-]{1,12}",
            micros in 0u64..10_000_000_000,
        ) {
            let entry = entry(&request_id, &method, micros, None);
            for format in [LogFormat::Text, LogFormat::Json] {
                prop_assert_eq!(fast(format, &entry), through_subscriber(format, &entry));
            }
        }
    }

    #[test]
    fn the_timestamp_is_the_subscribers() {
        let mut line = Vec::new();
        let at = Utc
            .timestamp_opt(1_796_031_426, 5_000)
            .single()
            .expect("time");
        write_line(&mut line, LogFormat::Text, &entry("x", "GET", 0, None), at);
        assert!(
            line.starts_with(b"2026-11-30T09:37:06.000005Z  INFO justiam_server::http: request "),
            "{}",
            String::from_utf8_lossy(&line)
        );
    }
}

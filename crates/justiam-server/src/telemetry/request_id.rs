//! Request ids (`X-Request-Id`) that cost nothing to make: a UUID v7 drawn once per process, then
//! counted up. Unique across nodes (time and 74 random bits at start) and within the process, and
//! unlike a fresh UUID v4 per request, no call into the kernel's random number generator. Each
//! thread takes the numbers in blocks of [`BLOCK`], so that a request does not write a counter
//! shared by all threads (the ids of one thread are consecutive, not those of the process).

use std::cell::Cell;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::HeaderValue;
use uuid::Uuid;

static FIRST: LazyLock<(u64, u64)> = LazyLock::new(|| Uuid::now_v7().as_u64_pair());
static ISSUED: AtomicU64 = AtomicU64::new(0);
const BLOCK: u64 = 4096;

thread_local! {
    /// The next number of this thread's block, and the end of the block.
    static NEXT: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

fn next_number() -> u64 {
    NEXT.with(|next| {
        let (mut number, mut end) = next.get();
        if number == end {
            number = ISSUED.fetch_add(BLOCK, Ordering::Relaxed);
            end = number + BLOCK;
        }
        next.set((number + 1, end));
        number
    })
}

/// The longest request id a client may bring.
pub const MAX_CLIENT_ID_BYTES: usize = 128;

/// Whether a client's own `X-Request-Id` is kept: 1 to [`MAX_CLIENT_ID_BYTES`] bytes of
/// `[A-Za-z0-9._:@+/=-]`, which UUIDs, ULIDs, trace ids and base64 need. A space, a quote, a `\` or
/// a control character could end the value in a log line and start a forged field there
/// (`zzz" status=200`), so an id holding one is replaced. Every request passes here: one pass over
/// the bytes through a table, nothing allocated.
pub fn acceptable(id: &[u8]) -> bool {
    !id.is_empty() && id.len() <= MAX_CLIENT_ID_BYTES && id.iter().all(|b| ID_BYTE[*b as usize])
}

const ID_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(
            b as u8,
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b':' | b'@' | b'+' | b'/' | b'=' | b'-'
        );
        b += 1;
    }
    table
};

tokio::task_local! {
    /// The `X-Request-Id` of the request being handled (set by the observe layer).
    pub(crate) static REQUEST: HeaderValue;
}

/// The id of the request being handled (`-` outside one), for the warnings and errors it causes:
/// `tracing::error!(request_id = current_request_id().as_str(), ...)`. A `&str` field, so that
/// text logs quote it as the access line does.
pub fn current_request_id() -> String {
    REQUEST
        .try_with(|id| id.to_str().unwrap_or("-").to_owned())
        .unwrap_or_else(|_| "-".to_owned())
}

/// The request id of a request that did not bring an acceptable one of its own.
pub fn next_header_value() -> HeaderValue {
    let (high, low) = *FIRST;
    let id = Uuid::from_u64_pair(high, low.wrapping_add(next_number()));
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    HeaderValue::from_bytes(id.hyphenated().encode_lower(&mut text).as_bytes())
        .unwrap_or_else(|_| HeaderValue::from_static("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_current_request_id_is_known_while_the_request_is_handled() {
        assert_eq!(current_request_id(), "-");
        let inside = REQUEST
            .scope(HeaderValue::from_static("req-42"), async {
                tokio::task::yield_now().await;
                current_request_id()
            })
            .await;
        assert_eq!(inside, "req-42");
        assert_eq!(current_request_id(), "-");
    }

    #[test]
    fn ids_are_distinct_across_threads() {
        let ids: Vec<String> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        (0..5000)
                            .map(|_| next_header_value().to_str().expect("ascii").to_owned())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            threads
                .into_iter()
                .flat_map(|t| t.join().expect("thread"))
                .collect()
        });
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), 20_000);
    }

    #[test]
    fn client_ids_are_kept_only_when_a_log_line_can_hold_them() {
        let longest = "a".repeat(MAX_CLIENT_ID_BYTES);
        for kept in [
            "0192f8d4-7c1e-7a3b-9c2d-4e5f6a7b8c9d",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "lb-01:req/AbC+dE==",
            "user@host.example_1",
            longest.as_str(),
        ] {
            assert!(acceptable(kept.as_bytes()), "{kept}");
        }
        let too_long = "a".repeat(MAX_CLIENT_ID_BYTES + 1);
        for replaced in [
            "",
            too_long.as_str(),
            r#"zzz" principal_id=0192f8d4-7c1e-7a3b-9c2d-4e5f6a7b8c9d status=200"#,
            "a b",
            "a\tb",
            "a\"b",
            "a\\b",
            "a'b",
            "a,b",
            "a;b",
            "a\u{7f}",
            "caf\u{e9}",
        ] {
            assert!(!acceptable(replaced.as_bytes()), "{replaced:?}");
        }
        // Every byte outside the set, alone and after an acceptable prefix.
        for byte in 0..=255u8 {
            let allowed = byte.is_ascii_alphanumeric() || b"._:@+/=-".contains(&byte);
            assert_eq!(acceptable(&[byte]), allowed, "{byte:#04x}");
            assert_eq!(acceptable(&[b'a', byte]), allowed, "{byte:#04x}");
        }
    }

    #[test]
    fn ids_are_distinct_uuids() {
        let ids: Vec<String> = (0..1000)
            .map(|_| next_header_value().to_str().expect("ascii").to_owned())
            .collect();
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        for id in &ids {
            assert!(Uuid::parse_str(id).is_ok(), "{id}");
            assert!(acceptable(id.as_bytes()), "{id}");
        }
    }
}

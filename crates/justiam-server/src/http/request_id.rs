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

/// The request id of a request that did not bring its own.
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
    fn ids_are_distinct_uuids() {
        let ids: Vec<String> = (0..1000)
            .map(|_| next_header_value().to_str().expect("ascii").to_owned())
            .collect();
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        for id in &ids {
            assert!(Uuid::parse_str(id).is_ok(), "{id}");
        }
    }
}

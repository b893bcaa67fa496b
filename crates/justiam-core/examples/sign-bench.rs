//! CPU per ID-token signature (issue 15), beside the portal JWT's HS256 signature measured in the
//! same run: `cargo run --release -p justiam-core --example sign-bench [iterations]`.
//!
//! Both sign claims of the size the provider issues (an ID token with profile and email claims).
//! One thread, so wall time is CPU time; prints one JSON line that scripts/bench records.

use std::hint::black_box;
use std::time::Instant;

use justiam_core::jwt::{Claims, JwtSigner};
use justiam_core::oidc::jws::{self, TYP_JWT};
use justiam_core::oidc::keys::SigningKey;
use serde_json::json;

fn per_op_us(iterations: u32, mut op: impl FnMut()) -> f64 {
    // Warm caches and the allocator before measuring.
    for _ in 0..iterations / 10 + 1 {
        op();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        op();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations: u32 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(2000);
    let key = SigningKey::generate()?.key;
    let claims = json!({
        "iss": "https://id.example.com",
        "sub": "01936f3e-5a4b-7c8d-9e0f-1a2b3c4d5e6f",
        "aud": "justiam_app_3fZk9QmB2xV7pL4nR8tY1wEa",
        "azp": "justiam_app_3fZk9QmB2xV7pL4nR8tY1wEa",
        "exp": 1_800_003_600_i64,
        "iat": 1_800_000_000_i64,
        "auth_time": 1_799_999_000_i64,
        "sid": "01936f3e-5a4b-7c8d-9e0f-1a2b3c4d5e70",
        "nonce": "n-0S6_WzA2Mj",
        "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
        "email": "alice@example.com",
        "email_verified": true,
        "name": "Alice Liddell",
        "given_name": "Alice",
        "family_name": "Liddell",
        "preferred_username": "alice",
    });
    let rs256 = per_op_us(iterations, || {
        black_box(jws::sign(&key, TYP_JWT, black_box(&claims)).ok());
    });
    let portal = JwtSigner::new(&[7u8; 32], "https://id.example.com");
    let portal_claims = Claims {
        sub: "01936f3e-5a4b-7c8d-9e0f-1a2b3c4d5e6f".to_owned(),
        sid: "01936f3e-5a4b-7c8d-9e0f-1a2b3c4d5e70".to_owned(),
        iat: 1_800_000_000,
        exp: 1_800_086_400,
        iss: "https://id.example.com".to_owned(),
    };
    let hs256 = per_op_us(iterations * 10, || {
        black_box(portal.sign(black_box(&portal_claims)));
    });
    println!(
        "{}",
        json!({
            "iterations": iterations,
            "rs256_id_token_us": rs256,
            "hs256_portal_jwt_us": hs256,
            "ratio": rs256 / hs256,
        })
    );
    Ok(())
}

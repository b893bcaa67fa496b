//! The OpenID Connect provider's cryptography: signing keys and RS256 JWS. The flows live in
//! [`crate::service`] (`Iam::authorize`, `Iam::exchange_code`, …).

pub mod jws;
pub mod keys;

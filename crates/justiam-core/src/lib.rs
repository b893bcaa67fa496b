//! JustIAM's domain and storage: everything but HTTP.
//!
//! Handlers in the server parse requests into the types of [`model`], then call one function of
//! [`service::Iam`] with the caller's [`authz::Principal`]. Authorization lives here, so no route
//! can forget it.
//!
//! The storage is private to this crate: services take and return the types of [`model`], the
//! server opens the database with [`database`] and reaches it only through [`service::Iam`].

pub mod authz;
pub mod database;
pub mod error;
pub mod jwt;
pub mod model;
pub mod oidc;
pub mod password;
pub mod sealing;
pub mod secret;
pub mod service;
mod store;
pub mod time;
pub mod token;
pub mod totp;

pub use error::CoreError;

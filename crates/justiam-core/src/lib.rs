//! JustIAM's domain and storage: everything but HTTP.
//!
//! Handlers in the server parse requests into the types of [`model`], then call one function of
//! [`service::Iam`] with the caller's [`authz::Principal`]. Authorization lives here, so no route
//! can forget it.

pub mod authz;
pub mod error;
pub mod jwt;
pub mod model;
pub mod password;
pub mod secret;
pub mod service;
pub mod store;
pub mod time;
pub mod token;

pub use error::CoreError;

//! The one integration-test binary of the server: each module covers one area of the API, and
//! (almost) every test runs on both SQLite and PostgreSQL.

mod common;

mod admin;
mod applications;
mod auth;
mod cli;
mod conventions;
mod crash;
mod escalation;
mod federation;
mod fine_grained;
mod hostile;
mod inventory;
mod leaks;
mod machine_cli;
mod machine_identity;
mod machine_revocation;
mod mail;
mod mfa;
mod multinode;
mod observability;
mod oidc;
mod oidc_refusals;
mod openapi;
mod races;
mod readme;
mod relying_parties;
mod rotation;
mod self_inspection;
mod smoke;
mod startup;
mod tokens;
mod transport;
mod ui;
mod users;
mod webhooks;

//! The JustIAM server: configuration, the HTTP API and start-up. The `justiam` binary (`main.rs`) is
//! a thin command line over this library; integration tests start servers through it too.

pub mod app;
pub mod config;
pub mod http;
pub mod listener;
pub mod mail;
pub mod oauth;
pub mod outbox;
pub mod server;
pub mod telemetry;
pub mod ui;
pub mod webhook;

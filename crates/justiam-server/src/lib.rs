//! The JustIAM server: configuration, the HTTP API and start-up. The `justiam` binary (`main.rs`) is
//! a thin command line over this library; integration tests start servers through it too.

pub mod access_log;
pub mod config;
mod exposition;
pub mod http;
mod json;
pub mod listener;
pub mod logging;
pub mod metrics;
pub mod server;
pub mod ui;

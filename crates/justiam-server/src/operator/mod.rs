//! The `justiam` binary's operator commands that need the server's internals (the database, the
//! clap definition of `justiam serve`), unlike the client commands of `justiam-cli`. `serve`,
//! `migrate`, `admin create` and `openapi` are short enough to live in `main.rs`.

pub mod backup;
pub mod mail;

#[cfg(test)]
mod reference;

//! The floor for `scripts/bench`: axum with one handler and nothing else (no database, no
//! middleware, no logging), on the same crates and runtime as `justiam serve`. What it serves on a
//! machine bounds what any server built on this stack can, so the benchmark reports it beside
//! JustIAM's own figures.
//!
//! `bare-axum 127.0.0.1:8090` serves `GET /healthz` until it is stopped.

use axum::Router;
use axum::http::header;
use axum::routing::get;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".to_owned());
    let app = Router::new().route(
        "/healthz",
        get(|| async {
            (
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"status":"ok"}"#,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await
}

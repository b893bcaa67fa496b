//! The Terraform provider for JustIAM (plugin protocol 6, on `tf-provider`).
//!
//! It talks to the server only through `justiam-client`. Terraform starts a fresh provider process
//! for every phase and asks for the resources before it configures the provider, so no state is
//! kept between calls: the configured client lives in a [`Shared`] handle that the provider fills
//! in `configure` and every resource and data source reads.

mod data_sources;
mod diag;
mod provider;
mod resources;
mod schema;

pub use provider::JustIamProvider;

/// Serves the provider to Terraform (prints the go-plugin handshake on stdout).
pub async fn serve() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tf_provider::serve("justiam", JustIamProvider::default())
        .await
        .map_err(|e| e.into())
}

//! `terraform-provider-justiam`: started by Terraform, never by hand.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    match terraform_provider_justiam::serve().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("terraform-provider-justiam: {err:#}");
            eprintln!(
                "This program is a Terraform plugin: Terraform starts it. See docs/terraform.md."
            );
            std::process::ExitCode::FAILURE
        }
    }
}

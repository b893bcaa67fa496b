//! `justiam service-account client …` and `justiam service-account federated …`: a service
//! account's OAuth clients and federated credentials (docs/machine-identity.md).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Subcommand;
use justiam_types::machine::{
    ClientAuthMethod, CreateFederatedCredential, CreateServiceAccountClient,
    CreatedServiceAccountClient, FederatedCredential, ServiceAccountClient,
};

use super::OutputFormat;
use super::PageArgs;
use super::error::Failure;
use super::output::{self, fields, time, time_opt};
use super::session::{Context, user_id};

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create an OAuth client; with a secret (the default) the secret is printed once.
    Create {
        /// The service account's id or email.
        account: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// Authenticate with a JWT signed by this key instead of a secret (private_key_jwt): a
        /// file holding one PEM public key, or a JWKS.
        #[arg(long, value_name = "FILE")]
        public_key: Option<PathBuf>,
    },
    /// List the service account's clients.
    List {
        account: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Delete a client (by its id); its access tokens are refused at once.
    Delete { account: String, id: uuid::Uuid },
}

#[derive(Debug, Subcommand)]
pub enum FederatedCommand {
    /// Trust tokens of an outside issuer that match the conditions.
    Create {
        /// The service account's id or email.
        account: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// The issuer, exactly as the tokens' iss (https).
        #[arg(long)]
        issuer: String,
        /// The aud the tokens must carry.
        #[arg(long)]
        audience: String,
        /// The exact sub the tokens must carry.
        #[arg(long)]
        subject: Option<String>,
        /// A claim condition CLAIM=VALUE (`*` matches anything); CLAIM may be a JSON Pointer to a
        /// nested claim (`/kubernetes.io/namespace=ci`); repeat for more.
        #[arg(long = "claim", value_name = "CLAIM=VALUE")]
        claims: Vec<String>,
    },
    /// List the service account's federated credentials.
    List {
        account: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Delete a federated credential (by its id); the access tokens it gave are refused at once.
    Delete { account: String, id: uuid::Uuid },
}

fn client_pairs(c: &ServiceAccountClient) -> Vec<(&'static str, String)> {
    let mut pairs = vec![
        ("id", c.id.to_string()),
        ("client id", c.client_id.clone()),
        ("name", c.name.clone()),
        ("authentication", c.auth_method.as_str().to_owned()),
    ];
    if let Some(hint) = &c.secret_hint {
        pairs.push(("secret", hint.clone()));
    }
    pairs.push(("created", time(&c.created_at)));
    pairs.push(("last used", time_opt(c.last_used_at.as_ref())));
    pairs
}

const SECRET_WARNING: &str = "justiam: warning: copy the client secret now; it is shown only this once and cannot be retrieved later";

fn created_client(
    format: OutputFormat,
    created: &CreatedServiceAccountClient,
) -> Result<(), Failure> {
    match format {
        OutputFormat::Json => output::json(created),
        OutputFormat::Table => {
            let mut pairs = client_pairs(&created.client);
            if let Some(secret) = &created.client_secret {
                pairs.push(("client secret", secret.clone()));
            }
            output::print(&format!(
                "Created client {}.\n{}",
                created.client.name,
                fields(&pairs)
            ))?;
            if created.client_secret.is_some() {
                eprintln!("{SECRET_WARNING}");
            }
            Ok(())
        }
    }
}

fn federated_fields(fc: &FederatedCredential) -> String {
    let conditions: Vec<String> = fc
        .subject
        .iter()
        .map(|s| format!("sub={s}"))
        .chain(fc.claims.iter().map(|(k, v)| format!("{k}={v}")))
        .collect();
    fields(&[
        ("id", fc.id.to_string()),
        ("name", fc.name.clone()),
        ("issuer", fc.issuer.clone()),
        ("audience", fc.audience.clone()),
        ("conditions", conditions.join(" ")),
        ("created", time(&fc.created_at)),
        ("last used", time_opt(fc.last_used_at.as_ref())),
    ])
}

/// The key file of `--public-key`: JSON is a JWKS, anything else a PEM key.
fn key_file(path: &PathBuf) -> Result<(Option<serde_json::Value>, Option<String>), Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    if text.trim_start().starts_with('{') {
        let jwks = serde_json::from_str(&text)
            .map_err(|e| Failure::usage(format!("{} is not a JSON JWKS: {e}", path.display())))?;
        Ok((Some(jwks), None))
    } else {
        Ok((None, Some(text)))
    }
}

pub async fn run_client(ctx: &Context, command: ClientCommand) -> Result<(), Failure> {
    let client = &ctx.client;
    match command {
        ClientCommand::Create {
            account,
            name,
            description,
            public_key,
        } => {
            let id = user_id(client, &account).await?;
            let (jwks, public_key_pem) = match &public_key {
                Some(path) => key_file(path)?,
                None => (None, None),
            };
            let input = CreateServiceAccountClient {
                name,
                description: description.unwrap_or_default(),
                auth_method: if public_key.is_some() {
                    ClientAuthMethod::PrivateKeyJwt
                } else {
                    ClientAuthMethod::ClientSecret
                },
                jwks,
                public_key_pem,
            };
            let created = client.create_service_account_client(id, &input).await?;
            created_client(ctx.output, &created)
        }
        ClientCommand::List { account, page } => {
            let id = user_id(client, &account).await?;
            let answer = client
                .list_service_account_clients(id, &page.params(None))
                .await?;
            output::list(
                ctx.output,
                &answer,
                &["ID", "CLIENT ID", "NAME", "AUTHENTICATION", "LAST USED"],
                |c| {
                    vec![
                        c.id.to_string(),
                        c.client_id.clone(),
                        c.name.clone(),
                        c.auth_method.as_str().to_owned(),
                        time_opt(c.last_used_at.as_ref()),
                    ]
                },
            )
        }
        ClientCommand::Delete { account, id } => {
            let account_id = user_id(client, &account).await?;
            client.delete_service_account_client(account_id, id).await?;
            output::note(ctx.output, &format!("Deleted client {id} of {account}."))
        }
    }
}

pub async fn run_federated(ctx: &Context, command: FederatedCommand) -> Result<(), Failure> {
    let client = &ctx.client;
    match command {
        FederatedCommand::Create {
            account,
            name,
            description,
            issuer,
            audience,
            subject,
            claims,
        } => {
            let id = user_id(client, &account).await?;
            let mut conditions = BTreeMap::new();
            for claim in claims {
                let Some((name, value)) = claim.split_once('=') else {
                    return Err(Failure::usage(format!(
                        "--claim {claim:?}: write it CLAIM=VALUE"
                    )));
                };
                conditions.insert(name.to_owned(), value.to_owned());
            }
            let input = CreateFederatedCredential {
                name,
                description: description.unwrap_or_default(),
                issuer,
                audience,
                subject,
                claims: conditions,
            };
            let fc = client.create_federated_credential(id, &input).await?;
            output::show(ctx.output, &fc, |fc| {
                format!(
                    "Created federated credential {}.\n{}",
                    fc.name,
                    federated_fields(fc)
                )
            })
        }
        FederatedCommand::List { account, page } => {
            let id = user_id(client, &account).await?;
            let answer = client
                .list_federated_credentials(id, &page.params(None))
                .await?;
            output::list(
                ctx.output,
                &answer,
                &["ID", "NAME", "ISSUER", "AUDIENCE", "LAST USED"],
                |fc| {
                    vec![
                        fc.id.to_string(),
                        fc.name.clone(),
                        fc.issuer.clone(),
                        fc.audience.clone(),
                        time_opt(fc.last_used_at.as_ref()),
                    ]
                },
            )
        }
        FederatedCommand::Delete { account, id } => {
            let account_id = user_id(client, &account).await?;
            client.delete_federated_credential(account_id, id).await?;
            output::note(
                ctx.output,
                &format!("Deleted federated credential {id} of {account}."),
            )
        }
    }
}

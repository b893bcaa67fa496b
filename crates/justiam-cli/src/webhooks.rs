//! `justiam webhook …` (administrators).

use clap::{Args, Subcommand};
use justiam_types::Page;
use justiam_types::webhook::{Webhook, WebhookInput};
use uuid::Uuid;

use super::error::Failure;
use super::output::{self, fields, time, time_opt};
use super::session::Context;
use super::{ClientArgs, PageArgs};

#[derive(Debug, Args)]
pub struct WebhookArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: WebhookCommand,
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// List webhooks, oldest first.
    List {
        /// Only webhooks whose URL contains this text.
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Create a webhook; a generated secret is printed once.
    Create {
        /// The http(s) URL events are POSTed to.
        #[arg(long)]
        url: String,
        /// An event type or family (`token.created`, `user.*`); repeat or separate with commas.
        #[arg(long = "event", value_delimiter = ',', required = true)]
        events: Vec<String>,
        /// Read the signing secret from standard input (first line) instead of generating one.
        #[arg(long)]
        secret_stdin: bool,
    },
    /// Show one webhook.
    Get { id: Uuid },
    /// Replace a webhook's URL and events (and its secret with --secret-stdin).
    Update {
        id: Uuid,
        #[arg(long)]
        url: String,
        #[arg(long = "event", value_delimiter = ',', required = true)]
        events: Vec<String>,
        #[arg(long)]
        secret_stdin: bool,
    },
    /// Delete a webhook and its waiting deliveries.
    Delete { id: Uuid },
    /// A webhook's delivery log, newest first.
    Deliveries {
        id: Uuid,
        /// Only deliveries whose event type contains this text.
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Queue a `webhook.test` event for this webhook.
    Test { id: Uuid },
}

fn webhook_fields(w: &Webhook) -> String {
    fields(&[
        ("id", w.id.to_string()),
        ("url", w.url.clone()),
        ("events", w.events.join(" ")),
        ("secret", w.secret_hint.clone()),
        ("created", time(&w.created_at)),
        ("updated", time(&w.updated_at)),
    ])
}

fn read_secret(from_stdin: bool) -> Result<Option<String>, Failure> {
    if !from_stdin {
        return Ok(None);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Failure::usage(format!("cannot read the secret from standard input: {e}")))?;
    let secret = line.trim_end_matches(['\r', '\n']).to_owned();
    if secret.is_empty() {
        return Err(Failure::usage(
            "--secret-stdin was given but standard input is empty",
        ));
    }
    Ok(Some(secret))
}

pub async fn run(ctx: &Context, command: WebhookCommand) -> Result<(), Failure> {
    let client = &ctx.client;
    match command {
        WebhookCommand::List { search, page } => {
            let page: Page<Webhook> = client.list_webhooks(&page.params(search)).await?;
            output::list(ctx.output, &page, &["ID", "URL", "EVENTS", "SECRET"], |w| {
                vec![
                    w.id.to_string(),
                    w.url.clone(),
                    w.events.join(" "),
                    w.secret_hint.clone(),
                ]
            })
        }
        WebhookCommand::Create {
            url,
            events,
            secret_stdin,
        } => {
            let body = WebhookInput {
                url,
                events,
                secret: read_secret(secret_stdin)?,
            };
            let created = client.create_webhook(&body).await?;
            output::show(ctx.output, &created, |c| {
                let mut text = format!(
                    "Created webhook {}.\n{}",
                    c.webhook.id,
                    webhook_fields(&c.webhook)
                );
                if let Some(secret) = &c.secret {
                    text.push_str(&fields(&[("secret", secret.clone())]));
                    eprintln!(
                        "justiam: warning: copy the secret now; it is shown only this once and cannot be retrieved later"
                    );
                }
                text
            })
        }
        WebhookCommand::Get { id } => {
            let webhook = client.get_webhook(id).await?;
            output::show(ctx.output, &webhook, webhook_fields)
        }
        WebhookCommand::Update {
            id,
            url,
            events,
            secret_stdin,
        } => {
            let body = WebhookInput {
                url,
                events,
                secret: read_secret(secret_stdin)?,
            };
            let webhook = client.update_webhook(id, &body).await?;
            output::show(ctx.output, &webhook, |w| {
                format!("Updated webhook {}.\n{}", w.id, webhook_fields(w))
            })
        }
        WebhookCommand::Delete { id } => {
            client.delete_webhook(id).await?;
            output::note(ctx.output, &format!("Deleted webhook {id}."))
        }
        WebhookCommand::Deliveries { id, search, page } => {
            let page = client.webhook_deliveries(id, &page.params(search)).await?;
            output::list(
                ctx.output,
                &page,
                &[
                    "ID", "EVENT", "STATUS", "ATTEMPTS", "HTTP", "CREATED", "DONE", "ERROR",
                ],
                |d| {
                    vec![
                        d.id.to_string(),
                        d.event_type.clone(),
                        d.status.clone(),
                        d.attempts.to_string(),
                        d.last_status.map(|s| s.to_string()).unwrap_or_default(),
                        time(&d.created_at),
                        time_opt(d.done_at.as_ref()),
                        d.last_error.clone().unwrap_or_default(),
                    ]
                },
            )
        }
        WebhookCommand::Test { id } => {
            let sent = client.send_webhook_test(id).await?;
            output::show(ctx.output, &sent, |s| {
                format!(
                    "Queued a test event (delivery {}); follow it with `justiam webhook deliveries {id}`.\n",
                    s.delivery_id
                )
            })
        }
    }
}

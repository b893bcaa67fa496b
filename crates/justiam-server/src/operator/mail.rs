//! `justiam mail test --to …`: sends one mail at once with the `SMTP_*` settings, outside the
//! outbox, so that an operator sees the SMTP server's answer (or the setting that is wrong).

use anyhow::{anyhow, bail};
use justiam_core::model::Email;
use justiam_core::service::outbox::{Mail, MailBody};
use justiam_server::config::MailArgs;
use justiam_server::mail::Mailer;

pub async fn test(args: &MailArgs, to: &str) -> anyhow::Result<()> {
    let Some(mailer) = Mailer::from_args(args)? else {
        bail!("mail is off: set SMTP_HOST (and SMTP_PORT, SMTP_TLS, SMTP_FROM as needed)");
    };
    let to = Email::parse("to", to).map_err(|e| anyhow!("--to: {e}"))?;
    let mail = Mail {
        to: to.as_str().to_owned(),
        body: MailBody::Test,
    };
    mailer
        .send(&mail)
        .await
        .map_err(|e| anyhow!("the test mail was not sent: {}", e.message))?;
    println!("Sent a test mail to {}.", to.as_str());
    Ok(())
}

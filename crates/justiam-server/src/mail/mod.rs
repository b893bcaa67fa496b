//! Outgoing mail: the SMTP transport (`SMTP_*`, through lettre over rustls) and the templates
//! that turn the core's [`Mail`] data into a plain-text and an HTML body.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use askama::Template;
use justiam_core::service::outbox::{Mail, MailBody, TokenNoticeKind};
use justiam_core::time::{Millis, to_datetime};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailArgs, SmtpTls};

/// Longest time one SMTP conversation may take; well under the outbox lease.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends mail through `SMTP_HOST`.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds the SMTP password: nothing of it is printed.
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

/// Why a mail was not sent.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    /// The SMTP server refused for good (a 5xx reply): retrying will not help.
    pub permanent: bool,
}

impl Mailer {
    /// The mailer `args` describe; `None` when `SMTP_HOST` is unset. Refuses, in one sentence, a
    /// setting that would send mail in clear text over a network or that cannot work.
    pub fn from_args(args: &MailArgs) -> anyhow::Result<Option<Mailer>> {
        let Some(host) = args
            .smtp_host
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
        else {
            return Ok(None);
        };
        let from: Mailbox = args.smtp_from.parse().with_context(|| {
            format!(
                "SMTP_FROM {:?} is not a mail address (such as `JustIAM <iam@example.com>`)",
                args.smtp_from
            )
        })?;
        let builder = match args.smtp_tls {
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .with_context(|| format!("SMTP_HOST {host:?} cannot be used for STARTTLS"))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .with_context(|| format!("SMTP_HOST {host:?} cannot be used for TLS"))?,
            SmtpTls::None => {
                if !is_loopback(host) {
                    bail!(
                        "SMTP_TLS=none sends passwords and reset links in clear text: it is allowed only for a loopback SMTP_HOST (localhost, 127.0.0.1, ::1), not {host:?}"
                    );
                }
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(25)
            }
        };
        let mut builder = builder.timeout(Some(SMTP_TIMEOUT));
        if let Some(port) = args.smtp_port {
            builder = builder.port(port);
        }
        match (&args.smtp_username, &args.smtp_password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
            }
            (None, None) => {}
            _ => bail!("SMTP_USERNAME and SMTP_PASSWORD go together: set both or neither"),
        }
        Ok(Some(Mailer {
            transport: builder.build(),
            from,
        }))
    }

    /// Renders and sends one mail.
    pub async fn send(&self, mail: &Mail) -> Result<(), SendError> {
        let message = self.message(mail).map_err(|e| SendError {
            message: format!("{e:#}"),
            permanent: true,
        })?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(error) => Err(SendError {
                permanent: error.is_permanent(),
                message: error.to_string(),
            }),
        }
    }

    fn message(&self, mail: &Mail) -> anyhow::Result<Message> {
        let to: Mailbox = mail
            .to
            .parse()
            .with_context(|| format!("{:?} is not a mail address", mail.to))?;
        let rendered = render(mail, &self.from.to_string())?;
        Ok(Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(rendered.subject)
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))?)
    }
}

/// `localhost` or a loopback address: the only hosts mail may reach without TLS.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A mail's subject and bodies.
#[derive(Debug)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

struct ResetData {
    to: String,
    link: String,
    expires: String,
    by_administrator: bool,
}

#[derive(Template)]
#[template(path = "mail/password_reset.txt")]
struct ResetText<'a> {
    m: &'a ResetData,
}

#[derive(Template)]
#[template(path = "mail/password_reset.html")]
struct ResetHtml<'a> {
    m: &'a ResetData,
}

struct NoticeData {
    headline: String,
    name: String,
    hint: String,
    owner: String,
    expires: String,
    advice: &'static str,
    link: String,
}

#[derive(Template)]
#[template(path = "mail/token_notice.txt")]
struct NoticeText<'a> {
    m: &'a NoticeData,
}

#[derive(Template)]
#[template(path = "mail/token_notice.html")]
struct NoticeHtml<'a> {
    m: &'a NoticeData,
}

struct TestData {
    from: String,
}

#[derive(Template)]
#[template(path = "mail/test.txt")]
struct TestText<'a> {
    m: &'a TestData,
}

#[derive(Template)]
#[template(path = "mail/test.html")]
struct TestHtml<'a> {
    m: &'a TestData,
}

fn when(at: Millis) -> String {
    to_datetime(at).format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The subject and both bodies of `mail`.
pub fn render(mail: &Mail, from: &str) -> anyhow::Result<Rendered> {
    let (subject, text, html) = match &mail.body {
        MailBody::PasswordReset {
            link,
            expires_at,
            by_administrator,
        } => {
            let m = ResetData {
                to: mail.to.clone(),
                link: link.clone(),
                expires: when(*expires_at),
                by_administrator: *by_administrator,
            };
            (
                "Reset your JustIAM password".to_owned(),
                ResetText { m: &m }.render()?,
                ResetHtml { m: &m }.render()?,
            )
        }
        MailBody::TokenNotice { notice, token } => {
            let (subject, headline, advice) = match notice {
                TokenNoticeKind::Created => (
                    format!("New JustIAM token \"{}\"", token.name),
                    "A personal access token was created.".to_owned(),
                    "If you did not create it, revoke it at once and change your password.",
                ),
                TokenNoticeKind::RevokedAsLeaked => (
                    format!("JustIAM token \"{}\" was revoked: it leaked", token.name),
                    "This token was found in a public place and reported as leaked, so JustIAM revoked it: it no longer works.".to_owned(),
                    "Create a new token where it is needed, and keep it out of code, logs and chats.",
                ),
                TokenNoticeKind::Expiring { days } => {
                    let left = if *days == 1 {
                        "1 day".to_owned()
                    } else {
                        format!("{days} days")
                    };
                    (
                        format!("JustIAM token \"{}\" expires in {left}", token.name),
                        format!("This token expires in {left}."),
                        "Rotate it before then where it is used, or let it expire if it is no longer needed.",
                    )
                }
            };
            let m = NoticeData {
                headline,
                name: token.name.clone(),
                hint: token.hint.clone(),
                owner: token.owner_email.clone(),
                expires: when(token.expires_at),
                advice,
                link: token.link.clone(),
            };
            (
                subject,
                NoticeText { m: &m }.render()?,
                NoticeHtml { m: &m }.render()?,
            )
        }
        MailBody::Test => {
            let m = TestData {
                from: from.to_owned(),
            };
            (
                "JustIAM test mail".to_owned(),
                TestText { m: &m }.render()?,
                TestHtml { m: &m }.render()?,
            )
        }
    };
    Ok(Rendered {
        subject,
        text,
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_text_smtp_only_on_loopback() {
        for host in ["localhost", "127.0.0.1", "::1", "[::1]", "127.5.6.7"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "mail.example.com",
            "10.0.0.1",
            "localhost.example.com",
            "0.0.0.0",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}

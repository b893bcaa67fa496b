//! A real SMTP server for the mail tests: Python's `aiosmtpd`, unmodified, run as
//! `python -m aiosmtpd -n -l 127.0.0.1:PORT -c aiosmtpd.handlers.Mailbox DIR`, which stores every
//! message it receives in the maildir `DIR`. It is installed (pinned in `tests/rp/requirements.txt`)
//! into `tests/rp/.venv` by `./scripts/test`; without it the tests skip loudly, or fail under
//! `JUSTIAM_TEST_REQUIRE_ALL=1`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::free_port;

pub struct SmtpServer {
    pub port: u16,
    python: PathBuf,
    maildir: tempfile::TempDir,
    child: Option<Child>,
}

/// One received message, decoded enough to assert on.
#[derive(Clone)]
pub struct Received {
    pub to: String,
    pub subject: String,
    /// Everything, headers and bodies (quoted-printable decoded).
    pub text: String,
}

/// Recipient and subject only: failure messages stay readable.
impl std::fmt::Debug for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} <- {:?}", self.to, self.subject)
    }
}

impl Received {
    /// The first `…/ui/password-reset?token=…` link in the mail.
    pub fn reset_link(&self) -> Option<String> {
        self.text
            .split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
            .find(|word| word.starts_with("http") && word.contains("/ui/password-reset?token="))
            .map(str::to_owned)
    }
}

impl SmtpServer {
    /// `aiosmtpd` on a free loopback port; `None` (after a loud SKIPPED) when it is not installed.
    pub async fn start() -> Option<SmtpServer> {
        Self::start_on(free_port()).await
    }

    /// Knows the port but does not listen yet (see [`SmtpServer::resume`]): SMTP is "down".
    pub async fn down() -> Option<SmtpServer> {
        let python = python()?;
        Some(SmtpServer {
            port: free_port(),
            python,
            maildir: tempfile::tempdir().expect("maildir"),
            child: None,
        })
    }

    async fn start_on(port: u16) -> Option<SmtpServer> {
        let mut server = Self::down().await?;
        server.port = port;
        server.resume().await;
        Some(server)
    }

    /// Starts (again) listening on the same port, with the same maildir.
    pub async fn resume(&mut self) {
        let child = Command::new(&self.python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(self.maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start aiosmtpd");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("aiosmtpd did not listen on port {}", self.port);
    }

    /// Stops listening: SMTP is down.
    pub async fn pause(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
            let _ = child.wait().await;
        }
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Received> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.path().join("mail").join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                let raw = std::fs::read_to_string(entry.path()).expect("read a received mail");
                out.push(parse(&raw));
            }
        }
        out
    }

    /// Waits until at least `count` messages arrived (at most `within`), and returns them all.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let messages = self.messages();
            if messages.len() >= count || tokio::time::Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn python() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rp/.venv/bin/python");
    let installed = std::process::Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if installed {
        return Some(python);
    }
    if std::env::var("JUSTIAM_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
        panic!(
            "aiosmtpd missing in tests/rp/.venv but JUSTIAM_TEST_REQUIRE_ALL=1: install it with \
             `source scripts/lib/tools.sh && justiam_relying_parties_setup` (./scripts/test does)"
        );
    }
    eprintln!(
        "SKIPPED: mail test, aiosmtpd missing (run `source scripts/lib/tools.sh && \
         justiam_relying_parties_setup`, or ./scripts/test)"
    );
    None
}

/// Headers `To` and `Subject`, and the whole message with quoted-printable soft breaks and
/// escapes decoded (enough for the ASCII mails JustIAM sends).
fn parse(raw: &str) -> Received {
    let header = |name: &str| {
        raw.lines()
            .take_while(|l| !l.is_empty())
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    Received {
        to: header("To"),
        subject: header("Subject"),
        text: decode_quoted_printable(raw),
    }
}

fn decode_quoted_printable(raw: &str) -> String {
    let unfolded = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = unfolded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

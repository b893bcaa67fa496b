//! Endpoint and credential resolution, `login`, `logout`, `whoami`, and looking up users, groups,
//! roles and applications by id or name.

use std::io::{BufRead, IsTerminal};

use clap::Args;
use justiam_client::{Client, Holder, ListParams};
use justiam_types::Page;
use justiam_types::mfa::LoginResult;
use uuid::Uuid;

use super::config::{self, SavedLogin};
use super::error::{Failure, code};
use super::output::{self, fields, time, yes_no};
use super::{ClientArgs, OutputFormat};

/// Used when neither `--endpoint`, `JUSTIAM_ENDPOINT` nor a saved login names a server.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:8080";

/// A resolved client: where, as whom, and how to print.
pub struct Context {
    pub client: Client,
    pub output: OutputFormat,
    /// The credential is a personal access token (not a portal JWT).
    pub pat: bool,
}

fn normalise(endpoint: &str) -> String {
    endpoint.trim().trim_end_matches('/').to_owned()
}

fn check_endpoint(endpoint: &str) -> Result<(), Failure> {
    if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
        Ok(())
    } else {
        Err(Failure::usage(format!(
            "the endpoint {endpoint:?} must start with http:// or https://"
        )))
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl Context {
    /// Endpoint: `--endpoint`, `JUSTIAM_ENDPOINT`, the saved login, then the default.
    /// Credential: `--token`, `JUSTIAM_TOKEN`, then the saved login — only when the endpoint is
    /// the one it was saved for, so a login JWT is never sent to another server.
    pub fn new(args: &ClientArgs) -> Result<Self, Failure> {
        let explicit_endpoint = non_empty(&args.endpoint).map(normalise);
        let explicit_token = non_empty(&args.token).map(str::to_owned);
        let saved = if explicit_endpoint.is_none() || explicit_token.is_none() {
            config::load()?
        } else {
            None
        };
        let endpoint = explicit_endpoint
            .clone()
            .or_else(|| saved.as_ref().map(|s| normalise(&s.endpoint)))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
        check_endpoint(&endpoint)?;
        let token = match (explicit_token, &saved) {
            (Some(token), _) => token,
            (None, Some(saved)) if normalise(&saved.endpoint) == endpoint => saved.token.clone(),
            (None, Some(saved)) => {
                return Err(Failure::new(
                    code::AUTH,
                    format!(
                        "no credential for {endpoint}: the saved login is for {}; run `justiam login --endpoint {endpoint}` or pass --token / JUSTIAM_TOKEN",
                        saved.endpoint
                    ),
                ));
            }
            (None, None) => {
                return Err(Failure::new(
                    code::AUTH,
                    "not logged in: run `justiam login`, or pass --token / set JUSTIAM_TOKEN",
                ));
            }
        };
        Ok(Self {
            pat: token.starts_with("justiam_pat_"),
            client: Client::new(&endpoint).with_token(token),
            output: args.output,
        })
    }
}

#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Email of the account; asked for when omitted on a terminal.
    #[arg(long, env = "JUSTIAM_EMAIL")]
    pub email: Option<String>,
    /// Read the password from the first line of standard input instead of asking for it (and,
    /// when the account has a second factor, its code from the second line).
    #[arg(long)]
    pub password_stdin: bool,
}

/// The first line of standard input, without its line ending.
pub fn read_stdin_line(what: &str) -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::other(format!("cannot read the {what} from standard input: {e}")))?;
    let line = line.trim_end_matches(['\r', '\n']).to_owned();
    if line.is_empty() {
        return Err(Failure::usage(format!(
            "--password-stdin was given but standard input has no {what}"
        )));
    }
    Ok(line)
}

/// Asks for a secret on the terminal, without echo.
pub fn prompt_secret(prompt: &str) -> Result<String, Failure> {
    let value = rpassword::prompt_password(prompt).map_err(|e| {
        Failure::usage(format!(
            "cannot ask for the password on the terminal ({e}); use --password-stdin"
        ))
    })?;
    if value.is_empty() {
        return Err(Failure::usage("the password is empty"));
    }
    Ok(value)
}

pub async fn login(args: LoginArgs) -> Result<(), Failure> {
    let endpoint = match non_empty(&args.client.endpoint) {
        Some(endpoint) => normalise(endpoint),
        None => config::load()
            .ok()
            .flatten()
            .map(|saved| normalise(&saved.endpoint))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
    };
    check_endpoint(&endpoint)?;
    let email = match non_empty(&args.email) {
        Some(email) => email.to_owned(),
        None if !args.password_stdin && std::io::stdin().is_terminal() => {
            eprint!("Email: ");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            let email = line.trim().to_owned();
            if email.is_empty() {
                return Err(Failure::usage("no email given"));
            }
            email
        }
        None => return Err(Failure::usage("--email is required")),
    };
    let password = if args.password_stdin {
        read_stdin_line("password")?
    } else {
        prompt_secret(&format!("Password for {email} at {endpoint}: "))?
    };
    let client = Client::new(&endpoint);
    let first = client.start_login(&email, &password).await?;
    drop(password);
    let answer = match first {
        LoginResult::Session(session) => session,
        LoginResult::MfaRequired(challenge) => {
            let code = if args.password_stdin {
                read_stdin_line("code of the authenticator app (second line)")?
            } else {
                eprint!("Code from your authenticator app (or a recovery code): ");
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                line.trim().to_owned()
            };
            client.verify_mfa(&challenge.mfa_token, &code).await?
        }
    };
    let saved = SavedLogin {
        endpoint: endpoint.clone(),
        token: answer.token,
        email: answer.user.email.clone(),
        expires_at: answer.expires_at,
    };
    let path = config::save(&saved)?;
    match args.client.output {
        OutputFormat::Json => output::json(&serde_json::json!({
            "endpoint": endpoint,
            "expires_at": answer.expires_at,
            "user": answer.user,
            "credentials_file": path,
        })),
        OutputFormat::Table => output::print(&format!(
            "Logged in to {endpoint} as {} until {}.\nThe session is saved in {}.\n",
            answer.user.email,
            time(&answer.expires_at),
            path.display()
        )),
    }
}

pub async fn logout(args: &ClientArgs) -> Result<(), Failure> {
    let Some(saved) = config::load()? else {
        return output::note(args.output, "Not logged in.");
    };
    let client = Client::new(&saved.endpoint).with_token(saved.token.clone());
    let ended = client.logout().await;
    config::remove()?;
    match ended {
        Ok(()) => {}
        // The session had already ended (expired or revoked): nothing left to do.
        Err(justiam_client::Error::Api { status, .. }) if status.as_u16() == 401 => {}
        Err(error) => {
            let failure = Failure::from(error);
            eprintln!(
                "justiam: warning: the saved login was removed, but the server did not end the session: {failure}"
            );
        }
    }
    output::note(
        args.output,
        &format!("Logged out of {} ({}).", saved.endpoint, saved.email),
    )
}

pub async fn whoami(ctx: &Context) -> Result<(), Failure> {
    let me = ctx.client.me().await?;
    let token = if ctx.pat {
        Some(ctx.client.token_self().await?)
    } else {
        None
    };
    output::show(ctx.output, &me, |me| {
        let user = &me.user;
        let permissions = if user.is_admin {
            "all (administrator)".to_owned()
        } else if me.permissions.is_empty() {
            "none".to_owned()
        } else {
            me.permissions.join(", ")
        };
        let mut pairs = vec![
            ("id", user.id.to_string()),
            ("email", user.email.clone()),
            ("name", full_name(&user.first_name, &user.last_name)),
            ("kind", kind(user).to_owned()),
            ("active", yes_no(user.is_active)),
            ("permissions", permissions),
            ("endpoint", ctx.client.endpoint().to_owned()),
        ];
        match &token {
            Some(token) => {
                pairs.push((
                    "credential",
                    format!(
                        "personal access token {:?} ({}), expires {}",
                        token.record.name,
                        token.record.id,
                        time(&token.record.expires_at)
                    ),
                ));
                if token.record.permissions.is_some() {
                    pairs.push(("token may use", token.effective_permissions.join(", ")));
                }
            }
            None => pairs.push(("credential", "login session (JWT)".to_owned())),
        }
        fields(&pairs)
    })
}

pub fn full_name(first: &str, last: &str) -> String {
    format!("{first} {last}").trim().to_owned()
}

pub fn kind(user: &justiam_types::User) -> &'static str {
    if user.is_service_account {
        "service account"
    } else if user.is_admin {
        "administrator"
    } else {
        "user"
    }
}

/// Walks every page of a list (narrowed by `search` where given) until `pick` finds an entry.
pub async fn find<T>(
    mut fetch: impl AsyncFnMut(ListParams) -> justiam_client::Result<Page<T>>,
    search: Option<&str>,
    mut pick: impl FnMut(&T) -> Option<Uuid>,
) -> Result<Option<Uuid>, Failure> {
    let mut page = 1u32;
    loop {
        let params = ListParams {
            page: Some(page),
            limit: Some(100),
            search: search.map(str::to_owned),
        };
        let answer = fetch(params).await?;
        if let Some(id) = answer.data.iter().find_map(&mut pick) {
            return Ok(Some(id));
        }
        let seen = u64::from(page) * u64::from(answer.limit.max(1));
        if answer.data.is_empty() || seen >= answer.total {
            return Ok(None);
        }
        page += 1;
    }
}

/// A user given as an id or an email.
pub async fn user_id(client: &Client, user: &str) -> Result<Uuid, Failure> {
    if let Ok(id) = Uuid::parse_str(user) {
        return Ok(id);
    }
    if !user.contains('@') {
        return Err(Failure::usage(format!(
            "{user:?} is neither a user id nor an email"
        )));
    }
    find(
        async |params| client.list_users(&params).await,
        Some(user),
        |u| u.email.eq_ignore_ascii_case(user).then_some(u.id),
    )
    .await?
    .ok_or_else(|| Failure::new(code::NOT_FOUND, format!("no user with the email {user}")))
}

/// A group given as an id or a name.
pub async fn group_id(client: &Client, group: &str) -> Result<Uuid, Failure> {
    if let Ok(id) = Uuid::parse_str(group) {
        return Ok(id);
    }
    find(
        async |params| client.list_groups(&params).await,
        Some(group),
        |g| (g.name == group).then_some(g.id),
    )
    .await?
    .ok_or_else(|| Failure::new(code::NOT_FOUND, format!("no group named {group:?}")))
}

/// A role given as an id or a name.
pub async fn role_id(client: &Client, role: &str) -> Result<Uuid, Failure> {
    if let Ok(id) = Uuid::parse_str(role) {
        return Ok(id);
    }
    find(
        async |params| client.list_roles(&params).await,
        Some(role),
        |r| (r.name == role).then_some(r.id),
    )
    .await?
    .ok_or_else(|| Failure::new(code::NOT_FOUND, format!("no role named {role:?}")))
}

/// An application given as an id, a client id (`justiam_app_…`) or a name.
pub async fn app_id(client: &Client, app: &str) -> Result<Uuid, Failure> {
    if let Ok(id) = Uuid::parse_str(app) {
        return Ok(id);
    }
    // The list's search looks at names and client ids alike.
    find(
        async |params| client.list_applications(&params).await,
        Some(app),
        |a| (a.name.eq_ignore_ascii_case(app) || a.client_id == app).then_some(a.id),
    )
    .await?
    .ok_or_else(|| {
        Failure::new(
            code::NOT_FOUND,
            format!("no application with the name or client id {app:?}"),
        )
    })
}

/// A user (id or email) or a group (id or name): one of the two `--user` / `--group` flags.
pub async fn holder(
    client: &Client,
    user: Option<&str>,
    group: Option<&str>,
) -> Result<Holder, Failure> {
    match (user, group) {
        (Some(user), _) => Ok(Holder::User(user_id(client, user).await?)),
        (None, Some(group)) => Ok(Holder::Group(group_id(client, group).await?)),
        (None, None) => Err(Failure::usage("give --user or --group")),
    }
}

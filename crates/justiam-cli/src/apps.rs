//! `justiam app …`: applications (OAuth / OpenID Connect clients), their secrets and who may sign
//! in to them.

use std::collections::HashMap;

use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use justiam_client::Client;
use justiam_types::application::{
    Application, ApplicationGrant, ApplicationSecret, ApplicationType, ClaimMapping,
    CreateApplication, CreateApplicationGrant, CreatedApplication, RotateApplicationSecret,
    UpdateApplication,
};
use uuid::Uuid;

use super::error::{Failure, code};
use super::output::{self, fields, time, yes_no};
use super::session::{Context, app_id, find, holder};
use super::{ClientArgs, OutputFormat, PageArgs};

#[derive(Debug, Args)]
pub struct AppArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: AppCommand,
}

/// Applications are named by id, client id (`justiam_app_…`) or exact name.
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// List applications.
    List {
        /// Only applications whose name contains this text.
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one application.
    #[command(alias = "show")]
    Get { app: String },
    /// Create an application; an `oidc` application's client secret is printed once.
    Create(CreateArgs),
    /// Change an application; only the given settings change, a list flag replaces the whole list.
    Update(UpdateArgs),
    /// Delete an application; the refresh tokens issued to it stop working.
    Delete { app: String },
    /// Issue a new client secret (printed once).
    RotateSecret {
        app: String,
        /// Seconds during which the previous secret keeps working (0 to 86400) [default: 0].
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(i64).range(0..=86400))]
        grace_period: Option<i64>,
    },
    /// Who may sign in to an application with restricted access.
    #[command(subcommand)]
    Grant(GrantCommand),
}

/// The kinds of application one can create (SAML does not exist yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AppType {
    /// A confidential client: a server that keeps a client secret.
    Oidc,
    /// A public client (single-page or native app): no secret, PKCE forced.
    Spa,
    /// A link in the dashboard only.
    External,
}

impl From<AppType> for ApplicationType {
    fn from(kind: AppType) -> Self {
        match kind {
            AppType::Oidc => ApplicationType::Oidc,
            AppType::Spa => ApplicationType::Spa,
            AppType::External => ApplicationType::External,
        }
    }
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A unique name (1–100 characters).
    #[arg(long)]
    pub name: String,
    #[arg(long = "type", value_enum, default_value_t = AppType::Oidc)]
    pub app_type: AppType,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The application's id, client id or name.
    pub app: String,
    /// New name.
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub settings: Settings,
}

/// The settings `create` and `update` share. A list flag given once with an empty value
/// (`--post-logout-redirect-uri ''`) sets the empty list.
#[derive(Debug, Args)]
pub struct Settings {
    /// The name shown to people (dashboard, consent).
    #[arg(long)]
    pub friendly_name: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    /// An allowed redirect URI (repeat for several); `regex:` makes it a pattern.
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Option<Vec<String>>,
    /// An allowed post-logout redirect URI (repeat for several).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// An allowed scope (repeat or separate with commas) [server default: openid,profile,email].
    #[arg(long = "scope", value_name = "SCOPE", value_delimiter = ',')]
    pub allowed_scopes: Option<Vec<String>>,
    /// A grant type: authorization_code, refresh_token (repeat or separate with commas).
    #[arg(long = "grant-type", value_name = "GRANT", value_delimiter = ',')]
    pub grant_types: Option<Vec<String>>,
    /// Require PKCE (always on for `spa`).
    #[arg(long, value_name = "BOOL")]
    pub require_pkce: Option<bool>,
    /// Lifetime of ID and access tokens in seconds (60 to 86400) [server default: 3600].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(i64).range(60..=86400))]
    pub token_expiry: Option<i64>,
    /// `true`: only users granted access (`justiam app grant add`) may sign in.
    #[arg(long, value_name = "BOOL")]
    pub access_restricted: Option<bool>,
    /// Whether the application appears in users' dashboards.
    #[arg(long, value_name = "BOOL")]
    pub show_in_dashboard: Option<bool>,
    /// Where the dashboard sends people; `''` removes it.
    #[arg(long, value_name = "URL")]
    pub launch_url: Option<String>,
    /// An extra claim, `CLAIM=VALUE` or `CLAIM@SCOPE=VALUE` (only with that scope); VALUE may use
    /// ${email}, ${username}, ${groups}, ${appRoles}, … Repeat for several; replaces the list.
    #[arg(long = "claim", value_name = "CLAIM[@SCOPE]=VALUE", value_parser = parse_claim)]
    pub claim_mappings: Option<Vec<ClaimMapping>>,
}

impl Settings {
    fn into_update(self, name: Option<String>) -> UpdateApplication {
        UpdateApplication {
            name,
            friendly_name: self.friendly_name,
            description: self.description,
            redirect_uris: self.redirect_uris.map(without_blanks),
            post_logout_redirect_uris: self.post_logout_redirect_uris.map(without_blanks),
            allowed_scopes: self.allowed_scopes.map(without_blanks),
            grant_types: self.grant_types.map(without_blanks),
            require_pkce: self.require_pkce,
            token_expiry: self.token_expiry,
            access_restricted: self.access_restricted,
            show_in_dashboard: self.show_in_dashboard,
            launch_url: self.launch_url,
            claim_mappings: self
                .claim_mappings
                .map(|claims| claims.into_iter().filter(|c| !c.claim.is_empty()).collect()),
        }
    }

    fn into_create(self, name: String, app_type: AppType) -> CreateApplication {
        let settings = self.into_update(None);
        CreateApplication {
            name,
            app_type: Some(app_type.into()),
            friendly_name: settings.friendly_name,
            description: settings.description,
            redirect_uris: settings.redirect_uris,
            post_logout_redirect_uris: settings.post_logout_redirect_uris,
            allowed_scopes: settings.allowed_scopes,
            grant_types: settings.grant_types,
            require_pkce: settings.require_pkce,
            token_expiry: settings.token_expiry,
            access_restricted: settings.access_restricted,
            show_in_dashboard: settings.show_in_dashboard,
            launch_url: settings.launch_url.filter(|url| !url.is_empty()),
            claim_mappings: settings.claim_mappings,
        }
    }
}

/// A list flag's values without the empty ones, so that `--flag ''` clears the list.
fn without_blanks(values: Vec<String>) -> Vec<String> {
    values
        .into_iter()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

/// `CLAIM=VALUE` or `CLAIM@SCOPE=VALUE`; `''` stands for "no claim" (clears the list).
fn parse_claim(text: &str) -> Result<ClaimMapping, String> {
    if text.is_empty() {
        return Ok(ClaimMapping {
            claim: String::new(),
            value: String::new(),
            required_scope: None,
        });
    }
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected CLAIM=VALUE or CLAIM@SCOPE=VALUE, got {text:?}"))?;
    let (claim, scope) = match key.split_once('@') {
        Some((claim, scope)) => (claim.trim(), Some(scope.trim())),
        None => (key.trim(), None),
    };
    if claim.is_empty() {
        return Err(format!("the claim name before '=' is empty in {text:?}"));
    }
    if scope.is_some_and(str::is_empty) {
        return Err(format!("the scope after '@' is empty in {text:?}"));
    }
    Ok(ClaimMapping {
        claim: claim.to_owned(),
        value: value.to_owned(),
        required_scope: scope.map(str::to_owned),
    })
}

#[derive(Debug, Subcommand)]
pub enum GrantCommand {
    /// List the users and groups granted access to an application.
    List {
        app: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Grant a user or a group access to an application.
    Add(GrantArgs),
    /// Take access back: by grant id, or by user or group.
    Remove(RemoveGrantArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("holder").required(true).args(["user", "group"])))]
pub struct GrantArgs {
    /// The application's id, client id or name.
    pub app: String,
    /// The user's id or email.
    #[arg(long)]
    pub user: Option<String>,
    /// The group's id or name.
    #[arg(long)]
    pub group: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["grant", "user", "group"])))]
pub struct RemoveGrantArgs {
    /// The application's id, client id or name.
    pub app: String,
    /// The grant's id (see `grant list`).
    pub grant: Option<Uuid>,
    /// The user's id or email.
    #[arg(long)]
    pub user: Option<String>,
    /// The group's id or name.
    #[arg(long)]
    pub group: Option<String>,
}

fn list_or_dash(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(", ")
    }
}

fn claim_text(claim: &ClaimMapping) -> String {
    match &claim.required_scope {
        Some(scope) => format!("{}@{scope}={}", claim.claim, claim.value),
        None => format!("{}={}", claim.claim, claim.value),
    }
}

fn app_pairs(app: &Application) -> Vec<(&'static str, String)> {
    let claims: Vec<String> = app.claim_mappings.iter().map(claim_text).collect();
    let mut pairs = vec![
        ("id", app.id.to_string()),
        ("client id", app.client_id.clone()),
        ("name", app.name.clone()),
        ("friendly name", app.friendly_name.clone()),
        ("type", app.app_type.as_str().to_owned()),
        ("description", app.description.clone()),
        ("redirect URIs", list_or_dash(&app.redirect_uris)),
        (
            "post-logout URIs",
            list_or_dash(&app.post_logout_redirect_uris),
        ),
        ("scopes", list_or_dash(&app.allowed_scopes)),
        ("grant types", list_or_dash(&app.grant_types)),
        ("require PKCE", yes_no(app.require_pkce)),
        ("token expiry", format!("{} s", app.token_expiry)),
        ("restricted", yes_no(app.access_restricted)),
        ("in dashboard", yes_no(app.show_in_dashboard)),
        (
            "launch URL",
            app.launch_url.clone().unwrap_or_else(|| "-".to_owned()),
        ),
        ("claims", list_or_dash(&claims)),
    ];
    if let Some(hint) = &app.secret_hint {
        pairs.push(("secret", hint.clone()));
    }
    pairs.push(("created", time(&app.created_at)));
    pairs.push(("updated", time(&app.updated_at)));
    pairs
}

fn app_fields(app: &Application) -> String {
    fields(&app_pairs(app))
}

const SECRET_WARNING: &str = "justiam: warning: copy the client secret now; it is shown only this once and cannot be retrieved later";

/// Prints a created application and, once, its secret.
fn created(format: OutputFormat, created: &CreatedApplication) -> Result<(), Failure> {
    match format {
        OutputFormat::Json => output::json(created),
        OutputFormat::Table => {
            let app = &created.application;
            let mut pairs = app_pairs(app);
            if let Some(secret) = &created.client_secret {
                pairs.push(("client secret", secret.clone()));
            }
            output::print(&format!(
                "Created application {}.\n{}",
                app.name,
                fields(&pairs)
            ))?;
            if created.client_secret.is_some() {
                eprintln!("{SECRET_WARNING}");
            }
            Ok(())
        }
    }
}

/// Prints a new secret, once.
fn rotated(format: OutputFormat, secret: &ApplicationSecret) -> Result<(), Failure> {
    match format {
        OutputFormat::Json => output::json(secret),
        OutputFormat::Table => {
            let previous = match &secret.previous_secret_expires_at {
                Some(at) => format!("works until {}", time(at)),
                None => "stopped working".to_owned(),
            };
            output::print(&fields(&[
                ("client id", secret.client_id.clone()),
                ("client secret", secret.client_secret.clone()),
                ("previous secret", previous),
            ]))?;
            eprintln!("{SECRET_WARNING}");
            Ok(())
        }
    }
}

fn app_row(app: &Application) -> Vec<String> {
    vec![
        app.id.to_string(),
        app.name.clone(),
        app.app_type.as_str().to_owned(),
        app.client_id.clone(),
        if app.access_restricted {
            "granted only"
        } else {
            "everyone"
        }
        .to_owned(),
        time(&app.created_at),
    ]
}

/// The user's email or the group's name behind a grant; the bare id when it cannot be read.
async fn holder_name(client: &Client, grant: &ApplicationGrant) -> (String, String) {
    match (grant.user_id, grant.group_id) {
        (Some(id), _) => match client.get_user(id).await {
            Ok(user) => ("user".to_owned(), user.email),
            Err(_) => ("user".to_owned(), id.to_string()),
        },
        (None, Some(id)) => match client.get_group(id).await {
            Ok(group) => ("group".to_owned(), group.name),
            Err(_) => ("group".to_owned(), id.to_string()),
        },
        (None, None) => ("?".to_owned(), "-".to_owned()),
    }
}

pub async fn run(ctx: &Context, command: AppCommand) -> Result<(), Failure> {
    let client = &ctx.client;
    match command {
        AppCommand::List { search, page } => {
            let answer = client.list_applications(&page.params(search)).await?;
            output::list(
                ctx.output,
                &answer,
                &["ID", "NAME", "TYPE", "CLIENT ID", "ACCESS", "CREATED"],
                app_row,
            )
        }
        AppCommand::Get { app } => {
            let id = app_id(client, &app).await?;
            let app = client.get_application(id).await?;
            output::show(ctx.output, &app, app_fields)
        }
        AppCommand::Create(args) => {
            let input = args.settings.into_create(args.name, args.app_type);
            let answer = client.create_application(&input).await?;
            created(ctx.output, &answer)
        }
        AppCommand::Update(args) => {
            let update = args.settings.into_update(args.name);
            if update == UpdateApplication::default() {
                return Err(Failure::usage(
                    "nothing to change: give at least one setting (see `justiam app update --help`)",
                ));
            }
            let id = app_id(client, &args.app).await?;
            let app = client.update_application(id, &update).await?;
            output::show(ctx.output, &app, |a| {
                format!("Updated application {}.\n{}", a.name, app_fields(a))
            })
        }
        AppCommand::Delete { app } => {
            let id = app_id(client, &app).await?;
            client.delete_application(id).await?;
            output::note(ctx.output, &format!("Deleted application {app}."))
        }
        AppCommand::RotateSecret { app, grace_period } => {
            let id = app_id(client, &app).await?;
            let body = RotateApplicationSecret {
                grace_period_seconds: grace_period,
            };
            let secret = client.rotate_application_secret(id, &body).await?;
            rotated(ctx.output, &secret)
        }
        AppCommand::Grant(command) => run_grant(ctx, command).await,
    }
}

async fn run_grant(ctx: &Context, command: GrantCommand) -> Result<(), Failure> {
    let client = &ctx.client;
    match command {
        GrantCommand::List { app, page } => {
            let id = app_id(client, &app).await?;
            let answer = client
                .list_application_grants(id, &page.params(None))
                .await?;
            if ctx.output == OutputFormat::Json {
                return output::json(&answer);
            }
            let mut names = HashMap::with_capacity(answer.data.len());
            for grant in &answer.data {
                names.insert(grant.id, holder_name(client, grant).await);
            }
            output::list(
                ctx.output,
                &answer,
                &["ID", "KIND", "WHO", "CREATED"],
                |grant| {
                    let (kind, who) = names.get(&grant.id).cloned().unwrap_or_default();
                    vec![grant.id.to_string(), kind, who, time(&grant.created_at)]
                },
            )
        }
        GrantCommand::Add(args) => {
            let id = app_id(client, &args.app).await?;
            let holder = holder(client, args.user.as_deref(), args.group.as_deref()).await?;
            let body = CreateApplicationGrant::from(holder);
            let grant = client.create_application_grant(id, &body).await?;
            let who = args.user.or(args.group).unwrap_or_default();
            output::show(ctx.output, &grant, |g| {
                format!(
                    "Granted {who} access to application {}.\n{}",
                    args.app,
                    fields(&[("grant id", g.id.to_string())])
                )
            })
        }
        GrantCommand::Remove(args) => {
            let id = app_id(client, &args.app).await?;
            let grant = match args.grant {
                Some(grant) => grant,
                None => {
                    let holder =
                        holder(client, args.user.as_deref(), args.group.as_deref()).await?;
                    let grants = async |params| client.list_application_grants(id, &params).await;
                    let found = find(grants, None, |g| holder.holds(g).then_some(g.id)).await?;
                    found.ok_or_else(|| {
                        Failure::new(
                            code::NOT_FOUND,
                            format!(
                                "{} has no grant on application {}",
                                args.user
                                    .as_deref()
                                    .or(args.group.as_deref())
                                    .unwrap_or("-"),
                                args.app
                            ),
                        )
                    })?
                }
            };
            client.delete_application_grant(id, grant).await?;
            output::note(
                ctx.output,
                &format!("Removed grant {grant} from application {}.", args.app),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: AppCommand,
    }

    fn parse(args: &[&str]) -> Result<AppCommand, clap::Error> {
        Cli::try_parse_from(std::iter::once("app").chain(args.iter().copied())).map(|c| c.command)
    }

    #[test]
    fn claims_parse_with_and_without_a_scope() {
        assert_eq!(
            parse_claim("department=${department}"),
            Ok(ClaimMapping {
                claim: "department".into(),
                value: "${department}".into(),
                required_scope: None,
            })
        );
        assert_eq!(
            parse_claim("roles@roles=${appRoles}"),
            Ok(ClaimMapping {
                claim: "roles".into(),
                value: "${appRoles}".into(),
                required_scope: Some("roles".into()),
            })
        );
        // Only the first '=' splits: the value may hold more.
        assert_eq!(parse_claim("x=a=b").map(|c| c.value), Ok("a=b".to_owned()));
        assert!(parse_claim("no-equals").is_err());
        assert!(parse_claim("=value").is_err());
        assert!(parse_claim("claim@=value").is_err());
    }

    #[test]
    fn create_sends_only_what_was_given() {
        let Ok(AppCommand::Create(args)) = parse(&[
            "create",
            "--name",
            "wiki",
            "--redirect-uri",
            "https://wiki.example.com/cb",
            "--redirect-uri",
            "http://127.0.0.1:8000/cb",
            "--scope",
            "openid,profile,groups",
            "--access-restricted",
            "true",
            "--claim",
            "team@groups=${groups}",
        ]) else {
            panic!("create parses");
        };
        let input = args.settings.into_create(args.name, args.app_type);
        assert_eq!(input.name, "wiki");
        assert_eq!(
            input.app_type,
            Some(ApplicationType::Oidc),
            "oidc by default"
        );
        assert_eq!(
            input.redirect_uris.as_deref(),
            Some(
                &[
                    "https://wiki.example.com/cb".to_owned(),
                    "http://127.0.0.1:8000/cb".to_owned()
                ][..]
            )
        );
        assert_eq!(
            input.allowed_scopes,
            Some(vec!["openid".into(), "profile".into(), "groups".into()])
        );
        assert_eq!(input.access_restricted, Some(true));
        assert_eq!(input.token_expiry, None, "the server's default applies");
        assert_eq!(input.claim_mappings.map(|c| c.len()), Some(1));
        let json = serde_json::to_value(CreateApplication {
            launch_url: None,
            ..CreateApplication::default()
        })
        .expect("JSON");
        assert!(json.get("launch_url").is_none(), "absent, not null: {json}");
    }

    #[test]
    fn update_clears_lists_with_an_empty_value() {
        let Ok(AppCommand::Update(args)) = parse(&[
            "update",
            "wiki",
            "--post-logout-redirect-uri",
            "",
            "--claim",
            "",
            "--launch-url",
            "",
        ]) else {
            panic!("update parses");
        };
        let update = args.settings.into_update(args.name);
        assert_eq!(update.post_logout_redirect_uris, Some(vec![]));
        assert_eq!(update.claim_mappings, Some(vec![]));
        assert_eq!(update.launch_url.as_deref(), Some(""), "'' removes the URL");
        assert_eq!(update.redirect_uris, None, "untouched");
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for args in [
            &["create", "--name", "x", "--type", "saml"][..],
            &["create", "--name", "x", "--token-expiry", "59"],
            &["create", "--name", "x", "--require-pkce", "maybe"],
            &["create", "--name", "x", "--claim", "novalue"],
            &["rotate-secret", "x", "--grace-period", "86401"],
            &["grant", "add", "x"],
            &["grant", "add", "x", "--user", "a@b.c", "--group", "g"],
            &["grant", "remove", "x"],
        ] {
            assert!(parse(args).is_err(), "{args:?} is refused");
        }
        assert!(parse(&["grant", "remove", "x", "--group", "ops"]).is_ok());
        assert!(parse(&["show", "wiki"]).is_ok(), "show is an alias of get");
    }
}

//! Applications, their secrets, grants and app mappings (`/ui/admin/applications`,
//! `/ui/admin/applications/{id}`), as `/applications` and `/app-mappings` of the API.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use justiam_core::CoreError;
use justiam_core::model::{
    AppMapping, Application, ApplicationGrant, ApplicationType, MappingHolder, PageRequest,
    Permission,
};
use justiam_core::token::CLIENT_SECRET_PREFIX;
use justiam_types::application::{
    CreateAppMapping, CreateApplication, CreateApplicationGrant, UpdateApplication,
};
use uuid::Uuid;

use self::claim_lines::ClaimLines;
use super::kit::session;
use super::kit::view::sentence;
use super::kit::{
    ConfirmPage, FieldErrors, Fields, Listing, Nav, Pager, Params, UiError, UiForm, UiUser,
    bad_request, field_error, notice_of, redirect, render, value, when,
};
use super::mfa::{StepUp, stepped_up};
use super::users::{no_user_with, user_by_email};
use crate::app::AppState;

mod claim_lines;

/// The cookie that carries a new client secret from the form's answer to the page showing it
/// once (`HttpOnly`, `SameSite=Strict`, two minutes, only on that page's path).
const NEW_SECRET_COOKIE: &str = "justiam_new_client_secret";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/ui/admin/applications",
            get(applications).post(create_application),
        )
        .route("/ui/admin/applications/new", get(new_application))
        .route(
            "/ui/admin/applications/{id}",
            get(application).post(update_application),
        )
        .route(
            "/ui/admin/applications/{id}/secret",
            get(secret_created).post(rotate_secret),
        )
        .route("/ui/admin/applications/{id}/grants", post(add_grant))
        .route(
            "/ui/admin/applications/{id}/grants/{grant}/remove",
            post(remove_grant),
        )
        .route("/ui/admin/applications/{id}/mappings", post(create_mapping))
        .route(
            "/ui/admin/applications/{id}/mappings/{mapping}/assignments",
            post(assign_mapping),
        )
        .route(
            "/ui/admin/applications/{id}/mappings/{mapping}/delete",
            get(delete_mapping_confirm).post(delete_mapping),
        )
        .route(
            "/ui/admin/applications/{id}/delete",
            get(delete_application_confirm).post(delete_application),
        )
}

fn type_label(t: ApplicationType) -> &'static str {
    match t {
        ApplicationType::Oidc => "OpenID Connect (confidential, with a secret)",
        ApplicationType::Spa => "Single-page or native app (public, PKCE)",
        ApplicationType::External => "External link",
        ApplicationType::Saml => "SAML",
    }
}

pub struct AppRow {
    pub id: Uuid,
    pub name: String,
    pub friendly_name: String,
    pub kind: &'static str,
    pub client_id: String,
    pub restricted: bool,
}

impl AppRow {
    fn of(a: &Application) -> AppRow {
        AppRow {
            id: a.id,
            name: a.name.clone(),
            friendly_name: a.friendly_name.clone(),
            kind: a.app_type.as_str(),
            client_id: a.client_id.clone(),
            restricted: a.access_restricted,
        }
    }
}

/// The values of the application form, as typed (or as stored, to edit).
pub struct AppForm {
    pub app_type: String,
    pub name: String,
    pub friendly_name: String,
    pub description: String,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub allowed_scopes: String,
    pub authorization_code: bool,
    pub refresh_token: bool,
    pub require_pkce: bool,
    pub token_expiry: String,
    pub access_restricted: bool,
    pub show_in_dashboard: bool,
    pub launch_url: String,
    /// One claim mapping per line (see [`ClaimLines`]).
    pub claim_mappings: String,
}

impl AppForm {
    fn blank() -> AppForm {
        AppForm {
            app_type: "oidc".to_owned(),
            name: String::new(),
            friendly_name: String::new(),
            description: String::new(),
            redirect_uris: String::new(),
            post_logout_redirect_uris: String::new(),
            allowed_scopes: "openid profile email".to_owned(),
            authorization_code: true,
            refresh_token: false,
            require_pkce: false,
            token_expiry: "3600".to_owned(),
            access_restricted: false,
            show_in_dashboard: true,
            launch_url: String::new(),
            claim_mappings: String::new(),
        }
    }

    fn of(a: &Application) -> AppForm {
        AppForm {
            app_type: a.app_type.as_str().to_owned(),
            name: a.name.clone(),
            friendly_name: a.friendly_name.clone(),
            description: a.description.clone(),
            redirect_uris: a.redirect_uris.join("\n"),
            post_logout_redirect_uris: a.post_logout_redirect_uris.join("\n"),
            allowed_scopes: a.allowed_scopes.join(" "),
            authorization_code: a.has_grant_type("authorization_code"),
            refresh_token: a.has_grant_type("refresh_token"),
            require_pkce: a.require_pkce,
            token_expiry: a.token_expiry.to_string(),
            access_restricted: a.access_restricted,
            show_in_dashboard: a.show_in_dashboard,
            launch_url: a.launch_url.clone().unwrap_or_default(),
            claim_mappings: ClaimLines::format(&a.claim_mappings),
        }
    }

    fn read(f: &Fields) -> AppForm {
        AppForm {
            app_type: f.get("type").unwrap_or("oidc").to_owned(),
            name: value(f, "name"),
            friendly_name: value(f, "friendly_name"),
            description: value(f, "description"),
            redirect_uris: f.raw("redirect_uris").to_owned(),
            post_logout_redirect_uris: f.raw("post_logout_redirect_uris").to_owned(),
            allowed_scopes: value(f, "allowed_scopes"),
            authorization_code: f
                .all("grant_type")
                .iter()
                .any(|g| g == "authorization_code"),
            refresh_token: f.all("grant_type").iter().any(|g| g == "refresh_token"),
            require_pkce: f.checked("require_pkce"),
            token_expiry: value(f, "token_expiry"),
            access_restricted: f.checked("access_restricted"),
            show_in_dashboard: f.checked("show_in_dashboard"),
            launch_url: value(f, "launch_url"),
            claim_mappings: f.raw("claim_mappings").to_owned(),
        }
    }

    fn lines(text: &str) -> Vec<String> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn grant_types(&self) -> Vec<String> {
        [
            (self.authorization_code, "authorization_code"),
            (self.refresh_token, "refresh_token"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, g)| g.to_owned())
        .collect()
    }

    fn token_expiry(&self) -> Result<i64, FieldErrors> {
        self.token_expiry.trim().parse::<i64>().map_err(|_| {
            let mut errors = FieldErrors::default();
            errors.add(
                "token_expiry",
                "Enter the token lifetime as a number of seconds (60 to 86400).",
            );
            errors
        })
    }

    fn app_type(&self) -> Result<ApplicationType, FieldErrors> {
        match self.app_type.as_str() {
            "oidc" => Ok(ApplicationType::Oidc),
            "spa" => Ok(ApplicationType::Spa),
            "external" => Ok(ApplicationType::External),
            "saml" => Ok(ApplicationType::Saml),
            _ => {
                let mut errors = FieldErrors::default();
                errors.add("type", "Choose a type.");
                Err(errors)
            }
        }
    }

    fn claim_lines(&self) -> Result<ClaimLines, FieldErrors> {
        ClaimLines::parse(&self.claim_mappings).map_err(|message| {
            let mut errors = FieldErrors::default();
            errors.add("claim_mappings", message);
            errors
        })
    }

    /// The service's input and the claim mappings' lines, to tell its refusals by line.
    fn to_create(&self) -> Result<(CreateApplication, ClaimLines), FieldErrors> {
        let app_type = self.app_type()?;
        let claims = self.claim_lines()?;
        let input = CreateApplication {
            name: self.name.clone(),
            app_type: Some(app_type),
            friendly_name: Some(self.friendly_name.clone()),
            description: Some(self.description.clone()),
            redirect_uris: Some(Self::lines(&self.redirect_uris)),
            post_logout_redirect_uris: Some(Self::lines(&self.post_logout_redirect_uris)),
            allowed_scopes: Some(
                self.allowed_scopes
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
            ),
            grant_types: Some(self.grant_types()),
            // The form's box is informative for a public client: PKCE is its only proof.
            require_pkce: Some(self.require_pkce || app_type == ApplicationType::Spa),
            token_expiry: Some(self.token_expiry()?),
            access_restricted: Some(self.access_restricted),
            show_in_dashboard: Some(self.show_in_dashboard),
            launch_url: Some(self.launch_url.clone()).filter(|u| !u.is_empty()),
            claim_mappings: Some(claims.mappings.clone()),
        };
        Ok((input, claims))
    }

    fn to_update(
        &self,
        current: &Application,
    ) -> Result<(UpdateApplication, ClaimLines), FieldErrors> {
        let app_type = current.app_type;
        // Mappings left as they were are not sent: saving the other fields never rewrites one
        // the box cannot write exactly (a claim holding `=` or `@`, a value with edge spaces).
        let unchanged = Self::lines(&self.claim_mappings)
            == Self::lines(&ClaimLines::format(&current.claim_mappings));
        let (claim_mappings, claims) = if unchanged {
            let claims = ClaimLines::parse(&self.claim_mappings).unwrap_or_default();
            (None, claims)
        } else {
            let claims = self.claim_lines()?;
            (Some(claims.mappings.clone()), claims)
        };
        let input = UpdateApplication {
            name: Some(self.name.clone()),
            friendly_name: Some(self.friendly_name.clone()),
            description: Some(self.description.clone()),
            redirect_uris: Some(Self::lines(&self.redirect_uris)),
            post_logout_redirect_uris: Some(Self::lines(&self.post_logout_redirect_uris)),
            allowed_scopes: Some(
                self.allowed_scopes
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
            ),
            grant_types: Some(self.grant_types()),
            require_pkce: Some(self.require_pkce || app_type == ApplicationType::Spa),
            token_expiry: Some(self.token_expiry()?),
            access_restricted: Some(self.access_restricted),
            show_in_dashboard: Some(self.show_in_dashboard),
            launch_url: Some(self.launch_url.clone()),
            claim_mappings,
        };
        Ok((input, claims))
    }
}

/// A refusal of the application form, next to its field: `redirect_uris[2]` belongs to the
/// `redirect_uris` box, a rule across fields to the field it names, a taken name to the name, an
/// unsupported type to the type; a claim mapping's refusal names the line it is on.
fn form_errors(error: CoreError, claims: &ClaimLines) -> Result<FieldErrors, UiError> {
    let field_of = |path: &str| {
        path.split([' ', '[', '.'])
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let (field, message) = match error {
        // A rule across fields names its field first (`require_pkce cannot be false …`).
        CoreError::Conflict {
            code: "inconsistent_application",
            message,
        } => (field_of(&message), message),
        CoreError::Conflict { message, .. } => ("name".to_owned(), message),
        CoreError::BadRequest { message, .. } => ("type".to_owned(), message),
        CoreError::Validation { field, message } => (field_of(&field), message),
        other => return Err(other.into()),
    };
    let message = if field == "claim_mappings" {
        claims.explain(&message)
    } else {
        message
    };
    let mut errors = FieldErrors::default();
    errors.add(&field, sentence(&message));
    Ok(errors)
}

#[derive(Template)]
#[template(path = "applications/list.html")]
struct ApplicationsPage {
    nav: Option<Nav>,
    apps: Vec<AppRow>,
    search: String,
    pager: Pager,
    can_create: bool,
    notice: Option<String>,
}

async fn applications(
    State(state): State<AppState>,
    user: UiUser,
    Query(q): Params,
) -> Result<Response, UiError> {
    let list = Listing::of(&q);
    let (rows, total) = state
        .iam
        .list_applications(&user.principal, list.search.as_deref(), list.page)
        .await?;
    Ok(render(ApplicationsPage {
        nav: Some(Nav::new(&user, "applications")),
        apps: rows.iter().map(AppRow::of).collect(),
        pager: list.pager("/ui/admin/applications", total),
        search: list.search.unwrap_or_default(),
        can_create: user.principal.has(Permission::AppsCreate),
        notice: notice_of(&q),
    }))
}

#[derive(Template)]
#[template(path = "applications/new.html")]
struct NewPage {
    nav: Option<Nav>,
    form: AppForm,
    creating: bool,
    /// The code, when the secret of an `oidc` application needs the step-up.
    step_up: StepUp,
    errors: FieldErrors,
}

async fn new_application(user: UiUser) -> Result<Response, UiError> {
    user.principal.require(Permission::AppsCreate)?;
    Ok(render(NewPage {
        nav: Some(Nav::new(&user, "applications")),
        form: AppForm::blank(),
        creating: true,
        step_up: StepUp::default(),
        errors: FieldErrors::default(),
    }))
}

async fn create_application(
    State(state): State<AppState>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    let typed = AppForm::read(&form.fields);
    let mut step_up = StepUp::default();
    let result = match typed.to_create() {
        Ok((input, claims)) => {
            let creation = state
                .iam
                .create_application(&user.principal, input, &user.meta);
            stepped_up(&state, &form, creation).await.map_err(|e| {
                if step_up.ask(&e) {
                    Ok(FieldErrors::default())
                } else {
                    form_errors(e, &claims)
                }
            })
        }
        Err(errors) => Err(Ok(errors)),
    };
    match result {
        Ok((app, Some(secret))) => Ok(show_once(&state, app.id, secret.expose())),
        Ok((app, None)) => redirect(&format!("/ui/admin/applications/{}?done=created", app.id)),
        Err(errors) => bad_request(NewPage {
            nav: Some(Nav::new(user, "applications")),
            form: typed,
            creating: true,
            step_up,
            errors: errors?,
        }),
    }
}

/// Answers a form that made a secret: the secret rides in a short-lived cookie scoped to the page
/// that shows it once, so it is never in a URL, a log line or the browser history.
fn show_once(state: &AppState, id: Uuid, secret: &str) -> Response {
    let path = format!("/ui/admin/applications/{id}/secret");
    let cookie = session::set_cookie(state, NEW_SECRET_COOKIE, secret, &path, Some(120), "Strict");
    ([(header::SET_COOKIE, cookie)], Redirect::to(&path)).into_response()
}

#[derive(Template)]
#[template(path = "applications/secret.html")]
struct SecretPage {
    nav: Option<Nav>,
    app: AppRow,
    secret: Option<String>,
}

async fn secret_created(
    State(state): State<AppState>,
    user: UiUser,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let app = state.iam.get_application(&user.principal, id).await?;
    let secret = session::cookie(&headers, NEW_SECRET_COOKIE)
        .filter(|v| v.starts_with(CLIENT_SECRET_PREFIX))
        .map(str::to_owned);
    let path = format!("/ui/admin/applications/{id}/secret");
    let clear = session::clear_cookie(&state, NEW_SECRET_COOKIE, &path);
    Ok((
        [
            (header::SET_COOKIE, clear),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        render(SecretPage {
            nav: Some(Nav::new(&user, "applications")),
            app: AppRow::of(&app),
            secret,
        }),
    )
        .into_response())
}

pub struct GrantRow {
    pub id: Uuid,
    pub who: String,
    pub kind: &'static str,
}

pub struct MappingRow {
    pub id: Uuid,
    pub variable_name: String,
    pub value: String,
    pub description: String,
}

impl MappingRow {
    fn of(m: &AppMapping) -> MappingRow {
        MappingRow {
            id: m.id,
            variable_name: m.variable_name.clone(),
            value: m.value.clone(),
            description: m.description.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "applications/app.html")]
struct AppPage {
    nav: Option<Nav>,
    app: AppRow,
    type_label: &'static str,
    description: String,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    scopes: String,
    grant_types: String,
    pkce: bool,
    token_expiry: i64,
    show_in_dashboard: bool,
    launch_url: Option<String>,
    claim_mappings: Vec<String>,
    secret_hint: Option<String>,
    confidential: bool,
    created: String,
    updated: String,
    form: AppForm,
    creating: bool,
    /// The grace period chosen for a new secret, kept while the step-up asks for the code.
    secret_grace: String,
    /// The code, when a new secret needs the step-up.
    step_up: StepUp,
    grants: Vec<GrantRow>,
    /// The application's mappings, with `roles.view`.
    mappings: Option<Vec<MappingRow>>,
    can_update: bool,
    can_delete: bool,
    can_create_mapping: bool,
    can_assign_mapping: bool,
    can_delete_mapping: bool,
    errors: FieldErrors,
    notice: Option<String>,
}

/// Who a grant names: the email or group name when the caller may see them, else the id.
async fn grant_row(state: &AppState, user: &UiUser, g: &ApplicationGrant) -> GrantRow {
    let p = &user.principal;
    match (g.user_id, g.group_id) {
        (Some(uid), _) => GrantRow {
            id: g.id,
            who: state
                .iam
                .get_user(p, uid)
                .await
                .map_or_else(|_| uid.to_string(), |u| u.email),
            kind: "user",
        },
        (None, Some(gid)) => GrantRow {
            id: g.id,
            who: state
                .iam
                .get_group(p, gid)
                .await
                .map_or_else(|_| gid.to_string(), |g| g.name),
            kind: "group",
        },
        (None, None) => GrantRow {
            id: g.id,
            who: String::new(),
            kind: "",
        },
    }
}

async fn app_page(
    state: &AppState,
    user: &UiUser,
    id: Uuid,
    q: &HashMap<String, String>,
) -> Result<AppPage, UiError> {
    let p = &user.principal;
    let a = state.iam.get_application(p, id).await?;
    let mut grants = Vec::new();
    for g in state.iam.list_application_grants(p, id).await? {
        grants.push(grant_row(state, user, &g).await);
    }
    let mappings = if p.has(Permission::RolesView) {
        let all = PageRequest {
            page: 1,
            limit: PageRequest::MAX_LIMIT,
        };
        let (rows, _) = state.iam.list_app_mappings(p, Some(id), None, all).await?;
        Some(rows.iter().map(MappingRow::of).collect())
    } else {
        None
    };
    Ok(AppPage {
        nav: Some(Nav::new(user, "applications")),
        app: AppRow::of(&a),
        type_label: type_label(a.app_type),
        description: a.description.clone(),
        redirect_uris: a.redirect_uris.clone(),
        post_logout_redirect_uris: a.post_logout_redirect_uris.clone(),
        scopes: a.allowed_scopes.join(" "),
        grant_types: a.grant_types.join(", "),
        pkce: a.pkce_required(),
        token_expiry: a.token_expiry,
        show_in_dashboard: a.show_in_dashboard,
        launch_url: a.launch_url.clone(),
        claim_mappings: a.claim_mappings.iter().map(ClaimLines::line).collect(),
        secret_hint: a.secret_hint.clone(),
        confidential: a.is_confidential(),
        created: when(a.created_at),
        updated: when(a.updated_at),
        form: AppForm::of(&a),
        creating: false,
        secret_grace: "0".to_owned(),
        step_up: StepUp::default(),
        grants,
        mappings,
        can_update: p.has(Permission::AppsUpdate),
        can_delete: p.has(Permission::AppsDelete),
        can_create_mapping: p.has(Permission::RolesCreate),
        can_assign_mapping: p.has(Permission::RolesUpdate),
        can_delete_mapping: p.has(Permission::RolesDelete),
        errors: FieldErrors::default(),
        notice: notice_of(q),
    })
}

async fn application(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
    Query(q): Params,
) -> Result<Response, UiError> {
    Ok(render(app_page(&state, &user, id, &q).await?))
}

/// The application page again with `errors` (and, for the edit form, what was typed).
async fn refused(
    state: &AppState,
    user: &UiUser,
    id: Uuid,
    errors: FieldErrors,
    typed: Option<AppForm>,
) -> Result<Response, UiError> {
    let mut page = app_page(state, user, id, &HashMap::new()).await?;
    page.errors = errors;
    if let Some(typed) = typed {
        page.form = typed;
    }
    bad_request(page)
}

async fn update_application(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    let current = state.iam.get_application(&user.principal, id).await?;
    let typed = AppForm::read(&form.fields);
    let result = match typed.to_update(&current) {
        Ok((input, claims)) => state
            .iam
            .update_application(&user.principal, id, input, &user.meta)
            .await
            .map_err(|e| form_errors(e, &claims)),
        Err(errors) => Err(Ok(errors)),
    };
    match result {
        Ok(_) => redirect(&format!("/ui/admin/applications/{id}?done=saved")),
        Err(errors) => {
            let mut typed = typed;
            typed.app_type = current.app_type.as_str().to_owned();
            refused(&state, user, id, errors?, Some(typed)).await
        }
    }
}

async fn rotate_secret(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    let chosen = form.fields.get("grace_period_seconds").unwrap_or("0");
    let grace = chosen.parse::<i64>().unwrap_or(0);
    let rotation =
        state
            .iam
            .rotate_application_secret(&user.principal, id, Some(grace), &user.meta);
    match stepped_up(&state, &form, rotation).await {
        Ok(rotated) => Ok(show_once(&state, id, rotated.secret.expose())),
        Err(e) => {
            let mut page = app_page(&state, user, id, &HashMap::new()).await?;
            page.secret_grace = chosen.to_owned();
            if !page.step_up.ask(&e) {
                page.errors =
                    FieldErrors::from_core(e, "secret", &[("grace_period_seconds", "secret")])?;
            }
            bad_request(page)
        }
    }
}

/// The user (by email) or group (by name) a form names, or the field to blame and why.
async fn holder_of(
    state: &AppState,
    user: &UiUser,
    f: &Fields,
) -> Result<Result<MappingHolder, (&'static str, String)>, UiError> {
    if let Some(email) = f.get("email") {
        return Ok(match user_by_email(state, user, email).await? {
            Some(uid) => Ok(MappingHolder::User(uid)),
            None => Err(("email", no_user_with(email))),
        });
    }
    if let Some(name) = f.get("group") {
        let (rows, _) = state
            .iam
            .list_groups(&user.principal, Some(name), PageRequest::default())
            .await?;
        return Ok(
            match rows.into_iter().find(|g| g.name.eq_ignore_ascii_case(name)) {
                Some(g) => Ok(MappingHolder::Group(g.id)),
                None => Err(("group", format!("There is no group named “{name}”."))),
            },
        );
    }
    Ok(Err((
        "email",
        "Enter a user's email or a group's name.".to_owned(),
    )))
}

async fn add_grant(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    // Permission first: a caller who may not grant learns nothing about users or groups.
    user.principal.require(Permission::AppsUpdate)?;
    let errors = match holder_of(&state, user, &form.fields).await? {
        Ok(holder) => {
            let input = match holder {
                MappingHolder::User(uid) => CreateApplicationGrant {
                    user_id: Some(uid),
                    group_id: None,
                },
                MappingHolder::Group(gid) => CreateApplicationGrant {
                    user_id: None,
                    group_id: Some(gid),
                },
            };
            match state
                .iam
                .add_application_grant(&user.principal, id, input, &user.meta)
                .await
            {
                Ok(_) => return redirect(&format!("/ui/admin/applications/{id}?done=added")),
                Err(e) => FieldErrors::from_core(
                    e,
                    "email",
                    &[("user_id", "email"), ("group_id", "group")],
                )?,
            }
        }
        Err((field, message)) => field_error(field, message),
    };
    refused(&state, user, id, errors, None).await
}

async fn remove_grant(
    State(state): State<AppState>,
    Path((id, grant)): Path<(Uuid, Uuid)>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .remove_application_grant(&user.principal, id, grant, &user.meta)
        .await?;
    redirect(&format!("/ui/admin/applications/{id}?done=removed"))
}

async fn create_mapping(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let f = &form.fields;
    let user = &form.user;
    let input = CreateAppMapping {
        application_id: id,
        variable_name: value(f, "variable_name"),
        value: value(f, "value"),
        description: f.get("mapping_description").map(str::to_owned),
    };
    match state
        .iam
        .create_app_mapping(&user.principal, input, &user.meta)
        .await
    {
        Ok(_) => redirect(&format!("/ui/admin/applications/{id}?done=created")),
        Err(e) => {
            let errors =
                FieldErrors::from_core(e, "value", &[("description", "mapping_description")])?;
            refused(&state, user, id, errors, None).await
        }
    }
}

async fn assign_mapping(
    State(state): State<AppState>,
    Path((id, mapping)): Path<(Uuid, Uuid)>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    user.principal.require(Permission::RolesUpdate)?;
    let assign = form.fields.get("action") != Some("unassign");
    let errors = match holder_of(&state, user, &form.fields).await? {
        Ok(holder) => match state
            .iam
            .set_app_mapping_assignment(&user.principal, holder, mapping, assign, &user.meta)
            .await
        {
            Ok(()) => {
                let done = if assign { "added" } else { "removed" };
                return redirect(&format!("/ui/admin/applications/{id}?done={done}"));
            }
            // Said beside the mappings, not the grant form's fields of the same names.
            Err(e) => {
                FieldErrors::from_core(e, "mapping", &[("mapping_id", "mapping")]).map(|e| {
                    let message = ["email", "group", "mapping"]
                        .iter()
                        .find_map(|f| e.get(f))
                        .unwrap_or("The mapping could not be changed.")
                        .to_owned();
                    field_error("mapping", message)
                })?
            }
        },
        Err((_, message)) => field_error("mapping", message),
    };
    refused(&state, user, id, errors, None).await
}

async fn delete_mapping_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path((id, mapping)): Path<(Uuid, Uuid)>,
) -> Result<Response, UiError> {
    let m = state
        .iam
        .check_can_delete_app_mapping(&user.principal, mapping)
        .await?;
    Ok(render(ConfirmPage {
        nav: Some(Nav::new(&user, "applications")),
        title: format!("Delete the mapping {} = {}?", m.variable_name, m.value),
        message: "Every user and group holding it loses it: the value leaves their tokens at their next sign-in. This cannot be undone.".to_owned(),
        action: format!("/ui/admin/applications/{id}/mappings/{mapping}/delete"),
        button: "Delete mapping".to_owned(),
        back: format!("/ui/admin/applications/{id}"),
    }))
}

async fn delete_mapping(
    State(state): State<AppState>,
    Path((id, mapping)): Path<(Uuid, Uuid)>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .delete_app_mapping(&user.principal, mapping, &user.meta)
        .await?;
    redirect(&format!("/ui/admin/applications/{id}?done=deleted"))
}

async fn delete_application_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let a = state
        .iam
        .check_can_delete_application(&user.principal, id)
        .await?;
    Ok(render(ConfirmPage {
        nav: Some(Nav::new(&user, "applications")),
        title: format!("Delete the application “{}”?", a.name),
        message: "Nobody can sign in to it any more; its refresh tokens, grants and app mappings are deleted with it, and its client secret stops working at once. This cannot be undone.".to_owned(),
        action: format!("/ui/admin/applications/{id}/delete"),
        button: "Delete application".to_owned(),
        back: format!("/ui/admin/applications/{id}"),
    }))
}

async fn delete_application(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .delete_application(&user.principal, id, &user.meta)
        .await?;
    redirect("/ui/admin/applications?done=deleted")
}

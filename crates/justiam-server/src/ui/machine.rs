//! A service account's OAuth clients and federated credentials (`/ui/admin/users/{id}/clients`,
//! `/ui/admin/users/{id}/federated-credentials`), as the API's `/users/{id}/clients` and
//! `/users/{id}/federated-credentials`. A new client's secret is shown once, like a token's.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use justiam_core::model::machine::{FederatedCredential, ServiceAccountClient};
use justiam_core::token::CLIENT_SECRET_PREFIX;
use justiam_types::machine::{
    ClientAuthMethod, CreateFederatedCredential, CreateServiceAccountClient,
};
use uuid::Uuid;

use super::kit::session;
use super::kit::{
    ConfirmPage, FieldErrors, Fields, Nav, Params, UiError, UiForm, UiUser, bad_request, notice_of,
    redirect, render, value, when,
};
use super::users::UserView;
use crate::app::AppState;

/// Carries a new client secret from the form's answer to the page that shows it once.
const NEW_SECRET_COOKIE: &str = "justiam_new_sa_client_secret";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/ui/admin/users/{id}/clients",
            get(clients).post(create_client),
        )
        .route(
            "/ui/admin/users/{id}/clients/{client}/secret",
            get(secret_created),
        )
        .route(
            "/ui/admin/users/{id}/clients/{client}/delete",
            get(delete_client_confirm).post(delete_client),
        )
        .route(
            "/ui/admin/users/{id}/federated-credentials",
            get(federated).post(create_federated),
        )
        .route(
            "/ui/admin/users/{id}/federated-credentials/{fc}/delete",
            get(delete_federated_confirm).post(delete_federated),
        )
}

pub struct ClientRow {
    pub id: Uuid,
    pub client_id: String,
    pub name: String,
    pub description: String,
    pub method: &'static str,
    pub hint: String,
    pub created: String,
    pub last_used: String,
}

impl ClientRow {
    fn of(c: &ServiceAccountClient) -> ClientRow {
        ClientRow {
            id: c.id,
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            method: match c.auth_method {
                ClientAuthMethod::ClientSecret => "Secret",
                ClientAuthMethod::PrivateKeyJwt => "Private key JWT",
            },
            hint: c
                .secret_hint
                .clone()
                .unwrap_or_else(|| format!("{} key(s)", c.jwks.len())),
            created: when(c.created_at),
            last_used: c
                .last_used_at
                .map(when)
                .unwrap_or_else(|| "never".to_owned()),
        }
    }
}

#[derive(Default)]
pub struct ClientForm {
    pub name: String,
    pub description: String,
    pub private_key_jwt: bool,
    pub public_key: String,
}

#[derive(Template)]
#[template(path = "machine/clients.html")]
struct ClientsPage {
    nav: Option<Nav>,
    account: UserView,
    clients: Vec<ClientRow>,
    form: ClientForm,
    errors: FieldErrors,
    notice: Option<String>,
}

async fn account_view(state: &AppState, user: &UiUser, id: Uuid) -> Result<UserView, UiError> {
    let account = state.iam.get_user(&user.principal, id).await?;
    Ok(UserView::of(&account))
}

async fn clients_page(
    state: &AppState,
    user: &UiUser,
    id: Uuid,
    q: &HashMap<String, String>,
) -> Result<ClientsPage, UiError> {
    let list = state
        .iam
        .list_service_account_clients(&user.principal, id)
        .await?;
    Ok(ClientsPage {
        nav: Some(Nav::new(user, "users")),
        account: account_view(state, user, id).await?,
        clients: list.iter().map(ClientRow::of).collect(),
        form: ClientForm::default(),
        errors: FieldErrors::default(),
        notice: notice_of(q),
    })
}

async fn clients(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
    Query(q): Params,
) -> Result<Response, UiError> {
    Ok(render(clients_page(&state, &user, id, &q).await?))
}

/// The public key field: a JWKS (JSON) or one PEM key.
fn key_input(text: &str) -> (Option<serde_json::Value>, Option<String>) {
    let text = text.trim();
    if text.starts_with('{') {
        match serde_json::from_str(text) {
            Ok(jwks) => (Some(jwks), None),
            Err(_) => (Some(serde_json::Value::Null), None),
        }
    } else {
        (None, Some(text.to_owned()).filter(|t| !t.is_empty()))
    }
}

async fn create_client(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    let f: &Fields = &form.fields;
    let mut page = clients_page(&state, user, id, &HashMap::new()).await?;
    page.form = ClientForm {
        name: value(f, "name"),
        description: value(f, "description"),
        private_key_jwt: f.get("auth_method") == Some("private_key_jwt"),
        public_key: value(f, "public_key"),
    };
    let (jwks, public_key_pem) = if page.form.private_key_jwt {
        key_input(&page.form.public_key)
    } else {
        (None, None)
    };
    let input = CreateServiceAccountClient {
        name: page.form.name.clone(),
        description: page.form.description.clone(),
        auth_method: if page.form.private_key_jwt {
            ClientAuthMethod::PrivateKeyJwt
        } else {
            ClientAuthMethod::ClientSecret
        },
        jwks,
        public_key_pem,
    };
    match state
        .iam
        .create_service_account_client(&user.principal, id, input, &user.meta)
        .await
    {
        Ok((client, Some(secret))) => Ok(show_once(&state, id, client.id, secret.expose())),
        Ok((_, None)) => redirect(&format!("/ui/admin/users/{id}/clients?done=created")),
        Err(e) => {
            page.errors = FieldErrors::from_core(
                e,
                "name",
                &[("jwks", "public_key"), ("public_key_pem", "public_key")],
            )?;
            bad_request(page)
        }
    }
}

/// The secret rides in a short-lived cookie scoped to the page that shows it once: never in a
/// URL, a log line or the browser history.
fn show_once(state: &AppState, id: Uuid, client: Uuid, secret: &str) -> Response {
    let path = format!("/ui/admin/users/{id}/clients/{client}/secret");
    let cookie = session::set_cookie(state, NEW_SECRET_COOKIE, secret, &path, Some(120), "Strict");
    ([(header::SET_COOKIE, cookie)], Redirect::to(&path)).into_response()
}

#[derive(Template)]
#[template(path = "machine/secret.html")]
struct SecretPage {
    nav: Option<Nav>,
    account: UserView,
    client: ClientRow,
    secret: Option<String>,
}

async fn secret_created(
    State(state): State<AppState>,
    user: UiUser,
    headers: HeaderMap,
    Path((id, client)): Path<(Uuid, Uuid)>,
) -> Result<Response, UiError> {
    let found = state
        .iam
        .get_service_account_client(&user.principal, id, client)
        .await?;
    let secret = session::cookie(&headers, NEW_SECRET_COOKIE)
        .filter(|v| v.starts_with(CLIENT_SECRET_PREFIX))
        .map(str::to_owned);
    let path = format!("/ui/admin/users/{id}/clients/{client}/secret");
    let clear = session::clear_cookie(&state, NEW_SECRET_COOKIE, &path);
    Ok((
        [
            (header::SET_COOKIE, clear),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        render(SecretPage {
            nav: Some(Nav::new(&user, "users")),
            account: account_view(&state, &user, id).await?,
            client: ClientRow::of(&found),
            secret,
        }),
    )
        .into_response())
}

async fn delete_client_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path((id, client)): Path<(Uuid, Uuid)>,
) -> Result<Response, UiError> {
    let c = state
        .iam
        .get_service_account_client(&user.principal, id, client)
        .await?;
    Ok(render(ConfirmPage {
        nav: Some(Nav::new(&user, "users")),
        title: format!("Delete the client “{}”?", c.name),
        message: "Its secret or key stops working, and every access token it obtained is refused at once. This cannot be undone.".to_owned(),
        action: format!("/ui/admin/users/{id}/clients/{client}/delete"),
        button: "Delete client".to_owned(),
        back: format!("/ui/admin/users/{id}/clients"),
    }))
}

async fn delete_client(
    State(state): State<AppState>,
    Path((id, client)): Path<(Uuid, Uuid)>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .delete_service_account_client(&user.principal, id, client, &user.meta)
        .await?;
    redirect(&format!("/ui/admin/users/{id}/clients?done=deleted"))
}

pub struct FederatedRow {
    pub id: Uuid,
    pub name: String,
    pub issuer: String,
    pub audience: String,
    pub conditions: String,
    pub last_used: String,
}

impl FederatedRow {
    fn of(fc: &FederatedCredential) -> FederatedRow {
        let mut conditions: Vec<String> = fc.subject.iter().map(|s| format!("sub = {s}")).collect();
        conditions.extend(fc.claims.iter().map(|(k, v)| format!("{k} = {v}")));
        FederatedRow {
            id: fc.id,
            name: fc.name.clone(),
            issuer: fc.issuer.clone(),
            audience: fc.audience.clone(),
            conditions: conditions.join("; "),
            last_used: fc
                .last_used_at
                .map(when)
                .unwrap_or_else(|| "never".to_owned()),
        }
    }
}

#[derive(Default)]
pub struct FederatedForm {
    pub name: String,
    pub description: String,
    pub issuer: String,
    pub audience: String,
    pub subject: String,
    pub claims: String,
}

#[derive(Template)]
#[template(path = "machine/federated.html")]
struct FederatedPage {
    nav: Option<Nav>,
    account: UserView,
    credentials: Vec<FederatedRow>,
    form: FederatedForm,
    errors: FieldErrors,
    notice: Option<String>,
}

async fn federated_page(
    state: &AppState,
    user: &UiUser,
    id: Uuid,
    q: &HashMap<String, String>,
) -> Result<FederatedPage, UiError> {
    let list = state
        .iam
        .list_federated_credentials(&user.principal, id)
        .await?;
    Ok(FederatedPage {
        nav: Some(Nav::new(user, "users")),
        account: account_view(state, user, id).await?,
        credentials: list.iter().map(FederatedRow::of).collect(),
        form: FederatedForm::default(),
        errors: FieldErrors::default(),
        notice: notice_of(q),
    })
}

async fn federated(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
    Query(q): Params,
) -> Result<Response, UiError> {
    Ok(render(federated_page(&state, &user, id, &q).await?))
}

/// `name=value` lines into claim conditions; a line without `=` is an error naming it.
fn claim_lines(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut claims = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once('=') else {
            return Err(format!(
                "Write each condition as claim=value: “{line}” has no =."
            ));
        };
        claims.insert(name.trim().to_owned(), value.trim().to_owned());
    }
    Ok(claims)
}

async fn create_federated(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    let f: &Fields = &form.fields;
    let mut page = federated_page(&state, user, id, &HashMap::new()).await?;
    page.form = FederatedForm {
        name: value(f, "name"),
        description: value(f, "description"),
        issuer: value(f, "issuer"),
        audience: value(f, "audience"),
        subject: value(f, "subject"),
        claims: value(f, "claims"),
    };
    let claims = match claim_lines(&page.form.claims) {
        Ok(claims) => claims,
        Err(message) => {
            page.errors.add("claims", message);
            return bad_request(page);
        }
    };
    let input = CreateFederatedCredential {
        name: page.form.name.clone(),
        description: page.form.description.clone(),
        issuer: page.form.issuer.clone(),
        audience: page.form.audience.clone(),
        subject: Some(page.form.subject.clone()).filter(|s| !s.trim().is_empty()),
        claims,
    };
    match state
        .iam
        .create_federated_credential(&user.principal, id, input, &user.meta)
        .await
    {
        Ok(_) => redirect(&format!(
            "/ui/admin/users/{id}/federated-credentials?done=created"
        )),
        Err(e) => {
            page.errors = FieldErrors::from_core(e, "name", &[])?;
            bad_request(page)
        }
    }
}

async fn delete_federated_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path((id, fc)): Path<(Uuid, Uuid)>,
) -> Result<Response, UiError> {
    let found = state
        .iam
        .get_federated_credential(&user.principal, id, fc)
        .await?;
    Ok(render(ConfirmPage {
        nav: Some(Nav::new(&user, "users")),
        title: format!("Delete the federated credential “{}”?", found.name),
        message: "Tokens of its issuer are no longer exchanged, and every access token it gave is refused at once. This cannot be undone.".to_owned(),
        action: format!("/ui/admin/users/{id}/federated-credentials/{fc}/delete"),
        button: "Delete federated credential".to_owned(),
        back: format!("/ui/admin/users/{id}/federated-credentials"),
    }))
}

async fn delete_federated(
    State(state): State<AppState>,
    Path((id, fc)): Path<(Uuid, Uuid)>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .delete_federated_credential(&user.principal, id, fc, &user.meta)
        .await?;
    redirect(&format!(
        "/ui/admin/users/{id}/federated-credentials?done=deleted"
    ))
}

//! A typed async client for the JustIAM HTTP API. Integration tests, the CLI and the Terraform
//! provider all use it, so tests exercise what users exercise.

use justiam_types::application::{
    AppMapping, Application, ApplicationGrant, ApplicationSecret, AssignAppMapping,
    CreateAppMapping, CreateApplication, CreateApplicationGrant, CreatedApplication,
    RotateApplicationSecret, UpdateAppMapping, UpdateApplication,
};
use justiam_types::machine::{
    CreateFederatedCredential, CreateServiceAccountClient, CreatedServiceAccountClient,
    FederatedCredential, ServiceAccountClient,
};
use justiam_types::mfa::{
    LoginResult, MfaCode, MfaStatus, RecoveryCodes, TotpEnrollment, VerifyMfa,
};
use justiam_types::webhook::{
    CreatedWebhook, Webhook, WebhookDelivery, WebhookInput, WebhookTestSent,
};
use justiam_types::{
    AddGroupMember, AdminRole, AssignAdminRole, AuditRecord, ChangePassword, CreateAdminRole,
    CreateGroup, CreateToken, CreateUser, CreatedToken, ErrorBody, Group, LoginRequest,
    LoginResponse, Me, Page, PatRecord, RevokeLeakedTokens, RoleAssignment, RotateToken, Session,
    TokenInventoryItem, TokenSelf, UpdateAdminRole, UpdateGroup, UpdateUser, User, Version,
};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with a non-2xx status and its error body.
    #[error("{status}: {} ({})", body.message, body.code)]
    Api { status: StatusCode, body: ErrorBody },
    #[error("cannot reach the server: {0}")]
    Http(#[from] reqwest::Error),
}

impl Error {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::Http(e) => e.status(),
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { body, .. } => Some(&body.code),
            Error::Http(_) => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// `?page&limit&search` of list calls; `None` leaves the server default.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ListParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("authenticated", &self.token.is_some())
            .finish()
    }
}

impl Client {
    /// A client for the server at `endpoint` (e.g. `https://justiam.example.com`).
    pub fn new(endpoint: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: endpoint.trim_end_matches('/').to_owned(),
            token: None,
        }
    }

    /// The same client, authenticating with `token` (a PAT or a portal JWT).
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        Self {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, format!("{}{}", self.base, path));
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    async fn send<T: DeserializeOwned>(&self, builder: reqwest::RequestBuilder) -> Result<T> {
        let response = check(builder.send().await?).await?;
        Ok(response.json().await?)
    }

    async fn send_empty(&self, builder: reqwest::RequestBuilder) -> Result<()> {
        check(builder.send().await?).await?;
        Ok(())
    }

    // --- authentication -------------------------------------------------------------------------

    /// A password login of an account without a second factor; for one with a second factor it
    /// fails with `mfa_required` (use [`Client::start_login`] and [`Client::verify_mfa`]).
    pub async fn login(&self, email: &str, password: &str) -> Result<LoginResponse> {
        match self.start_login(email, password).await? {
            LoginResult::Session(session) => Ok(session),
            LoginResult::MfaRequired(_) => Err(Error::Api {
                status: StatusCode::UNAUTHORIZED,
                body: ErrorBody {
                    code: "mfa_required".to_owned(),
                    message: "this account has a second factor: the login needs a code".to_owned(),
                    details: None,
                },
            }),
        }
    }

    /// The first step of a login: a session, or the second step's `mfa_token`.
    pub async fn start_login(&self, email: &str, password: &str) -> Result<LoginResult> {
        let body = LoginRequest {
            email: email.to_owned(),
            password: password.to_owned(),
        };
        self.send(self.request(Method::POST, "/api/v1/auth/login").json(&body))
            .await
    }

    /// The second step of a login: a TOTP code or a recovery code.
    pub async fn verify_mfa(&self, mfa_token: &str, code: &str) -> Result<LoginResponse> {
        let body = VerifyMfa {
            mfa_token: mfa_token.to_owned(),
            code: code.to_owned(),
        };
        self.send(
            self.request(Method::POST, "/api/v1/auth/mfa/verify")
                .json(&body),
        )
        .await
    }

    /// Step-up: checks a code again in this session.
    pub async fn reauthenticate_mfa(&self, code: &str) -> Result<()> {
        let body = MfaCode {
            code: code.to_owned(),
        };
        self.send_empty(
            self.request(Method::POST, "/api/v1/auth/mfa/reauth")
                .json(&body),
        )
        .await
    }

    pub async fn enroll_totp(&self) -> Result<TotpEnrollment> {
        self.send(self.request(Method::POST, "/api/v1/mfa/totp/enroll"))
            .await
    }

    pub async fn confirm_totp(&self, code: &str) -> Result<RecoveryCodes> {
        let body = MfaCode {
            code: code.to_owned(),
        };
        self.send(
            self.request(Method::POST, "/api/v1/mfa/totp/confirm")
                .json(&body),
        )
        .await
    }

    pub async fn my_mfa(&self) -> Result<MfaStatus> {
        self.send(self.request(Method::GET, "/api/v1/me/mfa")).await
    }

    pub async fn remove_my_totp(&self, code: &str) -> Result<()> {
        let body = MfaCode {
            code: code.to_owned(),
        };
        self.send_empty(
            self.request(Method::DELETE, "/api/v1/me/mfa/totp")
                .json(&body),
        )
        .await
    }

    pub async fn regenerate_recovery_codes(&self) -> Result<RecoveryCodes> {
        self.send(self.request(Method::POST, "/api/v1/me/mfa/recovery-codes"))
            .await
    }

    pub async fn reset_user_mfa(&self, user_id: Uuid) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/api/v1/users/{user_id}/mfa")))
            .await
    }

    pub async fn logout(&self) -> Result<()> {
        self.send_empty(self.request(Method::POST, "/api/v1/auth/logout"))
            .await
    }

    pub async fn me(&self) -> Result<Me> {
        self.send(self.request(Method::GET, "/api/v1/me")).await
    }

    pub async fn change_password(&self, current_password: &str, new_password: &str) -> Result<()> {
        let body = ChangePassword {
            current_password: current_password.to_owned(),
            new_password: new_password.to_owned(),
        };
        self.send_empty(self.request(Method::PUT, "/api/v1/me/password").json(&body))
            .await
    }

    // --- users ----------------------------------------------------------------------------------

    pub async fn list_users(&self, params: &ListParams) -> Result<Page<User>> {
        self.send(self.request(Method::GET, "/api/v1/users").query(params))
            .await
    }

    pub async fn create_user(&self, user: &CreateUser) -> Result<User> {
        self.send(self.request(Method::POST, "/api/v1/users").json(user))
            .await
    }

    pub async fn get_user(&self, id: Uuid) -> Result<User> {
        self.send(self.request(Method::GET, &format!("/api/v1/users/{id}")))
            .await
    }

    pub async fn update_user(&self, id: Uuid, update: &UpdateUser) -> Result<User> {
        self.send(
            self.request(Method::PUT, &format!("/api/v1/users/{id}"))
                .json(update),
        )
        .await
    }

    pub async fn delete_user(&self, id: Uuid) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/api/v1/users/{id}")))
            .await
    }

    // --- personal access tokens -----------------------------------------------------------------

    pub async fn create_my_token(&self, name: &str, expires_in_days: i64) -> Result<CreatedToken> {
        let body = CreateToken {
            name: name.to_owned(),
            expires_in_days,
            permissions: None,
        };
        self.send(self.request(Method::POST, "/api/v1/me/tokens").json(&body))
            .await
    }

    pub async fn list_my_tokens(&self, params: &ListParams) -> Result<Page<PatRecord>> {
        self.send(self.request(Method::GET, "/api/v1/me/tokens").query(params))
            .await
    }

    pub async fn revoke_my_token(&self, id: Uuid) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/api/v1/me/tokens/{id}")))
            .await
    }

    pub async fn create_user_token(
        &self,
        user_id: Uuid,
        name: &str,
        expires_in_days: i64,
    ) -> Result<CreatedToken> {
        let body = CreateToken {
            name: name.to_owned(),
            expires_in_days,
            permissions: None,
        };
        self.send(
            self.request(Method::POST, &format!("/api/v1/users/{user_id}/tokens"))
                .json(&body),
        )
        .await
    }

    pub async fn list_user_tokens(
        &self,
        user_id: Uuid,
        params: &ListParams,
    ) -> Result<Page<PatRecord>> {
        self.send(
            self.request(Method::GET, &format!("/api/v1/users/{user_id}/tokens"))
                .query(params),
        )
        .await
    }

    pub async fn revoke_user_token(&self, user_id: Uuid, token_id: Uuid) -> Result<()> {
        self.send_empty(self.request(
            Method::DELETE,
            &format!("/api/v1/users/{user_id}/tokens/{token_id}"),
        ))
        .await
    }

    /// Creates a token with every option (fine-grained `permissions`) for the caller, or for the
    /// service account `user_id`.
    pub async fn create_token(
        &self,
        user_id: Option<Uuid>,
        body: &CreateToken,
    ) -> Result<CreatedToken> {
        let path = match user_id {
            Some(id) => format!("/api/v1/users/{id}/tokens"),
            None => "/api/v1/me/tokens".to_owned(),
        };
        self.send(self.request(Method::POST, &path).json(body))
            .await
    }

    /// Rotates a token of the caller (`user_id` None) or of a service account.
    pub async fn rotate_token(
        &self,
        user_id: Option<Uuid>,
        token_id: Uuid,
        body: &RotateToken,
    ) -> Result<CreatedToken> {
        let path = match user_id {
            Some(id) => format!("/api/v1/users/{id}/tokens/{token_id}/rotate"),
            None => format!("/api/v1/me/tokens/{token_id}/rotate"),
        };
        self.send(self.request(Method::POST, &path).json(body))
            .await
    }

    /// What the calling PAT holds and when it expires.
    pub async fn token_self(&self) -> Result<TokenSelf> {
        self.send(self.request(Method::GET, "/api/v1/me/tokens/self"))
            .await
    }

    /// Reports token values found in the wild (no authentication needed).
    pub async fn report_leaked_tokens(&self, tokens: Vec<String>) -> Result<()> {
        let body = RevokeLeakedTokens { tokens };
        self.send_empty(
            self.request(Method::POST, "/api/v1/tokens/revoke")
                .json(&body),
        )
        .await
    }

    /// The token inventory; `filters` are extra query pairs: `owner_id`, `state`, `expires_before`,
    /// `unused_since`.
    pub async fn token_inventory(
        &self,
        params: &ListParams,
        filters: &[(&str, &str)],
    ) -> Result<Page<TokenInventoryItem>> {
        self.send(
            self.request(Method::GET, "/api/v1/tokens")
                .query(params)
                .query(filters),
        )
        .await
    }

    /// Revokes any token by id (`DELETE /api/v1/tokens/{id}`): an administrator any token, a holder
    /// of `service_accounts.tokens` a service account's.
    pub async fn revoke_any_token(&self, token_id: Uuid) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/api/v1/tokens/{token_id}")))
            .await
    }

    // --- groups ---------------------------------------------------------------------------------

    pub async fn list_groups(&self, params: &ListParams) -> Result<Page<Group>> {
        self.send(self.request(Method::GET, "/api/v1/groups").query(params))
            .await
    }

    pub async fn create_group(&self, group: &CreateGroup) -> Result<Group> {
        self.send(self.request(Method::POST, "/api/v1/groups").json(group))
            .await
    }

    pub async fn get_group(&self, id: Uuid) -> Result<Group> {
        self.send(self.request(Method::GET, &format!("/api/v1/groups/{id}")))
            .await
    }

    pub async fn update_group(&self, id: Uuid, update: &UpdateGroup) -> Result<Group> {
        self.send(
            self.request(Method::PUT, &format!("/api/v1/groups/{id}"))
                .json(update),
        )
        .await
    }

    pub async fn delete_group(&self, id: Uuid) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/api/v1/groups/{id}")))
            .await
    }

    pub async fn list_group_members(&self, id: Uuid, params: &ListParams) -> Result<Page<User>> {
        self.send(
            self.request(Method::GET, &format!("/api/v1/groups/{id}/members"))
                .query(params),
        )
        .await
    }

    pub async fn add_group_member(&self, id: Uuid, user_id: Uuid) -> Result<()> {
        let body = AddGroupMember { user_id };
        self.send_empty(
            self.request(Method::POST, &format!("/api/v1/groups/{id}/members"))
                .json(&body),
        )
        .await
    }

    pub async fn remove_group_member(&self, id: Uuid, user_id: Uuid) -> Result<()> {
        self.send_empty(self.request(
            Method::DELETE,
            &format!("/api/v1/groups/{id}/members/{user_id}"),
        ))
        .await
    }

    pub async fn list_group_roles(&self, id: Uuid) -> Result<Page<AdminRole>> {
        self.send(self.request(Method::GET, &format!("/api/v1/groups/{id}/admin-roles")))
            .await
    }

    /// One page of the admin roles assigned to a group.
    pub async fn list_group_roles_page(
        &self,
        id: Uuid,
        params: &ListParams,
    ) -> Result<Page<AdminRole>> {
        self.send(
            self.request(Method::GET, &format!("/api/v1/groups/{id}/admin-roles"))
                .query(params),
        )
        .await
    }

    pub async fn assign_group_role(&self, id: Uuid, role_id: Uuid) -> Result<()> {
        let body = AssignAdminRole { role_id };
        self.send_empty(
            self.request(Method::POST, &format!("/api/v1/groups/{id}/admin-roles"))
                .json(&body),
        )
        .await
    }

    pub async fn unassign_group_role(&self, id: Uuid, role_id: Uuid) -> Result<()> {
        self.send_empty(self.request(
            Method::DELETE,
            &format!("/api/v1/groups/{id}/admin-roles/{role_id}"),
        ))
        .await
    }

    // --- admin roles ----------------------------------------------------------------------------

    pub async fn list_roles(&self, params: &ListParams) -> Result<Page<AdminRole>> {
        self.send(
            self.request(Method::GET, "/api/v1/admin-roles")
                .query(params),
        )
        .await
    }

    pub async fn create_role(&self, role: &CreateAdminRole) -> Result<AdminRole> {
        self.send(self.request(Method::POST, "/api/v1/admin-roles").json(role))
            .await
    }

    pub async fn get_role(&self, id: Uuid) -> Result<AdminRole> {
        self.send(self.request(Method::GET, &format!("/api/v1/admin-roles/{id}")))
            .await
    }

    pub async fn update_role(&self, id: Uuid, update: &UpdateAdminRole) -> Result<AdminRole> {
        self.send(
            self.request(Method::PUT, &format!("/api/v1/admin-roles/{id}"))
                .json(update),
        )
        .await
    }

    pub async fn delete_role(&self, id: Uuid) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/api/v1/admin-roles/{id}")))
            .await
    }

    pub async fn list_user_roles(&self, user_id: Uuid) -> Result<Page<RoleAssignment>> {
        self.send(self.request(Method::GET, &format!("/api/v1/users/{user_id}/admin-roles")))
            .await
    }

    pub async fn assign_user_role(&self, user_id: Uuid, role_id: Uuid) -> Result<()> {
        let body = AssignAdminRole { role_id };
        self.send_empty(
            self.request(
                Method::POST,
                &format!("/api/v1/users/{user_id}/admin-roles"),
            )
            .json(&body),
        )
        .await
    }

    pub async fn unassign_user_role(&self, user_id: Uuid, role_id: Uuid) -> Result<()> {
        self.send_empty(self.request(
            Method::DELETE,
            &format!("/api/v1/users/{user_id}/admin-roles/{role_id}"),
        ))
        .await
    }

    // --- applications ---------------------------------------------------------------------------

    pub async fn list_applications(&self, params: &ListParams) -> Result<Page<Application>> {
        self.send(
            self.request(Method::GET, "/api/v1/applications")
                .query(params),
        )
        .await
    }

    /// Creates an application; for `oidc` the answer carries the client secret, shown once.
    pub async fn create_application(
        &self,
        application: &CreateApplication,
    ) -> Result<CreatedApplication> {
        self.send(
            self.request(Method::POST, "/api/v1/applications")
                .json(application),
        )
        .await
    }

    pub async fn get_application(&self, id: Uuid) -> Result<Application> {
        self.send(self.request(Method::GET, &format!("/api/v1/applications/{id}")))
            .await
    }

    /// Replaces the fields present in `update`, keeps the others.
    pub async fn update_application(
        &self,
        id: Uuid,
        update: &UpdateApplication,
    ) -> Result<Application> {
        self.send(
            self.request(Method::PUT, &format!("/api/v1/applications/{id}"))
                .json(update),
        )
        .await
    }

    pub async fn delete_application(&self, id: Uuid) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/api/v1/applications/{id}")))
            .await
    }

    /// Issues a new client secret (shown once); the previous one works for the grace period.
    pub async fn rotate_application_secret(
        &self,
        id: Uuid,
        body: &RotateApplicationSecret,
    ) -> Result<ApplicationSecret> {
        self.send(
            self.request(Method::POST, &format!("/api/v1/applications/{id}/secret"))
                .json(body),
        )
        .await
    }

    /// `GET /api/v1/users/{id}/clients`: a service account's OAuth clients.
    pub async fn list_service_account_clients(
        &self,
        account: Uuid,
        params: &ListParams,
    ) -> Result<Page<ServiceAccountClient>> {
        self.send(
            self.request(Method::GET, &format!("/api/v1/users/{account}/clients"))
                .query(params),
        )
        .await
    }

    /// `POST /api/v1/users/{id}/clients`: the answer carries a `client_secret` client's secret,
    /// the one time it is shown.
    pub async fn create_service_account_client(
        &self,
        account: Uuid,
        client: &CreateServiceAccountClient,
    ) -> Result<CreatedServiceAccountClient> {
        self.send(
            self.request(Method::POST, &format!("/api/v1/users/{account}/clients"))
                .json(client),
        )
        .await
    }

    pub async fn get_service_account_client(
        &self,
        account: Uuid,
        id: Uuid,
    ) -> Result<ServiceAccountClient> {
        self.send(self.request(
            Method::GET,
            &format!("/api/v1/users/{account}/clients/{id}"),
        ))
        .await
    }

    pub async fn delete_service_account_client(&self, account: Uuid, id: Uuid) -> Result<()> {
        self.send_empty(self.request(
            Method::DELETE,
            &format!("/api/v1/users/{account}/clients/{id}"),
        ))
        .await
    }

    /// `GET /api/v1/users/{id}/federated-credentials`.
    pub async fn list_federated_credentials(
        &self,
        account: Uuid,
        params: &ListParams,
    ) -> Result<Page<FederatedCredential>> {
        self.send(
            self.request(
                Method::GET,
                &format!("/api/v1/users/{account}/federated-credentials"),
            )
            .query(params),
        )
        .await
    }

    pub async fn create_federated_credential(
        &self,
        account: Uuid,
        credential: &CreateFederatedCredential,
    ) -> Result<FederatedCredential> {
        self.send(
            self.request(
                Method::POST,
                &format!("/api/v1/users/{account}/federated-credentials"),
            )
            .json(credential),
        )
        .await
    }

    pub async fn get_federated_credential(
        &self,
        account: Uuid,
        id: Uuid,
    ) -> Result<FederatedCredential> {
        self.send(self.request(
            Method::GET,
            &format!("/api/v1/users/{account}/federated-credentials/{id}"),
        ))
        .await
    }

    pub async fn delete_federated_credential(&self, account: Uuid, id: Uuid) -> Result<()> {
        self.send_empty(self.request(
            Method::DELETE,
            &format!("/api/v1/users/{account}/federated-credentials/{id}"),
        ))
        .await
    }

    pub async fn list_application_grants(
        &self,
        id: Uuid,
        params: &ListParams,
    ) -> Result<Page<ApplicationGrant>> {
        self.send(
            self.request(Method::GET, &format!("/api/v1/applications/{id}/grants"))
                .query(params),
        )
        .await
    }

    pub async fn create_application_grant(
        &self,
        id: Uuid,
        grant: &CreateApplicationGrant,
    ) -> Result<ApplicationGrant> {
        self.send(
            self.request(Method::POST, &format!("/api/v1/applications/{id}/grants"))
                .json(grant),
        )
        .await
    }

    pub async fn delete_application_grant(&self, id: Uuid, grant_id: Uuid) -> Result<()> {
        self.send_empty(self.request(
            Method::DELETE,
            &format!("/api/v1/applications/{id}/grants/{grant_id}"),
        ))
        .await
    }

    // --- app role mappings ----------------------------------------------------------------------

    /// `filters` are extra query pairs, e.g. `application_id`.
    pub async fn list_app_mappings(
        &self,
        params: &ListParams,
        filters: &[(&str, &str)],
    ) -> Result<Page<AppMapping>> {
        self.send(
            self.request(Method::GET, "/api/v1/app-mappings")
                .query(params)
                .query(filters),
        )
        .await
    }

    pub async fn create_app_mapping(&self, mapping: &CreateAppMapping) -> Result<AppMapping> {
        self.send(
            self.request(Method::POST, "/api/v1/app-mappings")
                .json(mapping),
        )
        .await
    }

    pub async fn get_app_mapping(&self, id: Uuid) -> Result<AppMapping> {
        self.send(self.request(Method::GET, &format!("/api/v1/app-mappings/{id}")))
            .await
    }

    pub async fn update_app_mapping(
        &self,
        id: Uuid,
        update: &UpdateAppMapping,
    ) -> Result<AppMapping> {
        self.send(
            self.request(Method::PUT, &format!("/api/v1/app-mappings/{id}"))
                .json(update),
        )
        .await
    }

    pub async fn delete_app_mapping(&self, id: Uuid) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/api/v1/app-mappings/{id}")))
            .await
    }

    /// The mappings assigned to a user (directly) or to a group.
    pub async fn list_assigned_app_mappings(
        &self,
        holder: Holder,
        params: &ListParams,
    ) -> Result<Page<AppMapping>> {
        self.send(
            self.request(Method::GET, &holder.mappings_path())
                .query(params),
        )
        .await
    }

    /// Gives a mapping to a user or a group (`holder`).
    pub async fn assign_app_mapping(&self, holder: Holder, mapping_id: Uuid) -> Result<()> {
        let body = AssignAppMapping { mapping_id };
        self.send_empty(
            self.request(Method::POST, &holder.mappings_path())
                .json(&body),
        )
        .await
    }

    /// Takes a mapping back from a user or a group (`holder`).
    pub async fn unassign_app_mapping(&self, holder: Holder, mapping_id: Uuid) -> Result<()> {
        self.send_empty(self.request(
            Method::DELETE,
            &format!("{}/{mapping_id}", holder.mappings_path()),
        ))
        .await
    }

    // --- audit and sessions ---------------------------------------------------------------------

    /// `filters` are extra query pairs: `action`, `actor_id`, `target_id`, `since`, `until`.
    pub async fn list_audit(
        &self,
        params: &ListParams,
        filters: &[(&str, &str)],
    ) -> Result<Page<AuditRecord>> {
        self.send(
            self.request(Method::GET, "/api/v1/audit")
                .query(params)
                .query(filters),
        )
        .await
    }

    pub async fn list_sessions(&self, params: &ListParams) -> Result<Page<Session>> {
        self.send(self.request(Method::GET, "/api/v1/sessions").query(params))
            .await
    }

    pub async fn revoke_session(&self, id: Uuid) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/api/v1/sessions/{id}")))
            .await
    }

    pub async fn revoke_user_sessions(&self, user_id: Uuid) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/api/v1/users/{user_id}/sessions")))
            .await
    }

    // --- operations -----------------------------------------------------------------------------

    pub async fn version(&self) -> Result<Version> {
        self.send(self.request(Method::GET, "/api/v1/version"))
            .await
    }

    // --- webhooks ---------------------------------------------------------------------------------

    pub async fn list_webhooks(&self, params: &ListParams) -> Result<Page<Webhook>> {
        self.send(self.request(Method::GET, "/api/v1/webhooks").query(params))
            .await
    }

    /// Creates a webhook; the answer carries the secret when the server generated it.
    pub async fn create_webhook(&self, body: &WebhookInput) -> Result<CreatedWebhook> {
        self.send(self.request(Method::POST, "/api/v1/webhooks").json(body))
            .await
    }

    pub async fn get_webhook(&self, id: Uuid) -> Result<Webhook> {
        self.send(self.request(Method::GET, &format!("/api/v1/webhooks/{id}")))
            .await
    }

    /// Replaces URL and events (and the secret when `body.secret` is set).
    pub async fn update_webhook(&self, id: Uuid, body: &WebhookInput) -> Result<Webhook> {
        self.send(
            self.request(Method::PUT, &format!("/api/v1/webhooks/{id}"))
                .json(body),
        )
        .await
    }

    pub async fn delete_webhook(&self, id: Uuid) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/api/v1/webhooks/{id}")))
            .await
    }

    pub async fn webhook_deliveries(
        &self,
        id: Uuid,
        params: &ListParams,
    ) -> Result<Page<WebhookDelivery>> {
        self.send(
            self.request(Method::GET, &format!("/api/v1/webhooks/{id}/deliveries"))
                .query(params),
        )
        .await
    }

    pub async fn send_webhook_test(&self, id: Uuid) -> Result<WebhookTestSent> {
        self.send(self.request(Method::POST, &format!("/api/v1/webhooks/{id}/test")))
            .await
    }

    /// Any request, for callers that need the raw status, headers and JSON (tests, scripts).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<RawResponse> {
        let mut builder = self.request(method, path);
        if let Some(body) = body {
            builder = builder.json(body);
        }
        let response = builder.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        Ok(RawResponse {
            status,
            headers,
            json,
        })
    }
}

/// A user or a group: who holds an app role mapping or an application grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    User(Uuid),
    Group(Uuid),
}

impl Holder {
    fn mappings_path(self) -> String {
        match self {
            Holder::User(id) => format!("/api/v1/users/{id}/app-mappings"),
            Holder::Group(id) => format!("/api/v1/groups/{id}/app-mappings"),
        }
    }

    /// Whether `grant` is this holder's.
    pub fn holds(self, grant: &ApplicationGrant) -> bool {
        match self {
            Holder::User(id) => grant.user_id == Some(id),
            Holder::Group(id) => grant.group_id == Some(id),
        }
    }
}

impl From<Holder> for CreateApplicationGrant {
    fn from(holder: Holder) -> Self {
        match holder {
            Holder::User(id) => CreateApplicationGrant {
                user_id: Some(id),
                group_id: None,
            },
            Holder::Group(id) => CreateApplicationGrant {
                user_id: None,
                group_id: Some(id),
            },
        }
    }
}

/// A response as it came, for [`Client::raw`].
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub json: serde_json::Value,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `code` of an error body.
    pub fn code(&self) -> Option<&str> {
        self.json.get("code").and_then(|c| c.as_str())
    }
}

async fn check(response: reqwest::Response) -> Result<reqwest::Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let bytes = response.bytes().await?;
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| ErrorBody {
        code: "unknown".to_owned(),
        message: String::from_utf8_lossy(&bytes).chars().take(500).collect(),
        details: None,
    });
    Err(Error::Api { status, body })
}

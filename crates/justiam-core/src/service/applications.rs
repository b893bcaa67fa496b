//! Applications (OAuth / OpenID Connect clients), their secrets and grants; and what the OAuth
//! endpoints ask of them (no principal there: the caller is a client or a browser).
//!
//! No application state is cached: the OAuth endpoints read it from the database at each request,
//! so an edit, a rotation, a grant removal or a deletion holds at once on every node.

use justiam_types::application::{CreateApplication, CreateApplicationGrant, UpdateApplication};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::cache::Invalidation;
use super::{Iam, audit_by};
use crate::authz::{Principal, RequestMeta};
use crate::error::{CoreError, CoreResult};
use crate::model::application::{
    CLIENT_ID_PREFIX, CLIENT_ID_RANDOM_LEN, DEFAULT_GRANT_TYPES, DEFAULT_SCOPES,
    TOKEN_EXPIRY_DEFAULT, saml_unsupported,
};
use crate::model::{
    Application, ApplicationGrant, ApplicationType, Description, EntityName, PageRequest,
    Permission, User, parse_claim_mappings, parse_friendly_name, parse_grace_period,
    parse_grant_types, parse_launch_url, parse_redirect_uris, parse_scopes, parse_token_expiry,
};
use crate::secret::Secret;
use crate::store::audit::{self, AuditEntry};
use crate::store::{
    applications, groups, is_foreign_key_violation, is_unique_violation, new_id, users,
};
use crate::time::{Millis, now_millis};
use crate::token::{self, CLIENT_SECRET_PREFIX, TokenDigest};

fn name_taken() -> CoreError {
    CoreError::conflict("conflict", "an application with this name already exists")
}

fn app_audit(
    principal: &Principal,
    meta: &RequestMeta,
    action: &'static str,
    id: Uuid,
    details: serde_json::Value,
) -> AuditEntry {
    AuditEntry {
        target_type: Some("application"),
        target_id: Some(id),
        details: Some(details),
        ..audit_by(principal, meta, action)
    }
}

fn randomness_failed(e: getrandom::Error) -> CoreError {
    CoreError::Internal(anyhow::anyhow!("OS randomness: {e}"))
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// A new client secret and its digest.
fn new_client_secret() -> CoreResult<(Secret, TokenDigest)> {
    let secret = token::generate_with_prefix(CLIENT_SECRET_PREFIX).map_err(randomness_failed)?;
    let digest = token::digest(secret.expose());
    Ok((secret, digest))
}

/// A rotated secret: the new value, shown once, and when the previous one stops working.
#[derive(Debug)]
pub struct RotatedSecret {
    pub application: Application,
    pub secret: Secret,
    pub previous_valid_until: Option<Millis>,
}

impl Iam {
    pub async fn list_applications(
        &self,
        principal: &Principal,
        search: Option<&str>,
        page: PageRequest,
    ) -> CoreResult<(Vec<Application>, u64)> {
        principal.require(Permission::AppsView)?;
        Ok(applications::list(&self.db.pool, search, page).await?)
    }

    pub async fn get_application(
        &self,
        principal: &Principal,
        id: Uuid,
    ) -> CoreResult<Application> {
        principal.require(Permission::AppsView)?;
        self.application(id).await
    }

    pub(crate) async fn application(&self, id: Uuid) -> CoreResult<Application> {
        applications::get(&self.db.pool, id)
            .await?
            .ok_or_else(|| CoreError::not_found("application"))
    }

    /// Creates an application; an `oidc` one comes with its client secret, returned here once.
    pub async fn create_application(
        &self,
        principal: &Principal,
        input: CreateApplication,
        meta: &RequestMeta,
    ) -> CoreResult<(Application, Option<Secret>)> {
        principal.require(Permission::AppsCreate)?;
        let app_type = input.app_type.unwrap_or(ApplicationType::Oidc);
        if app_type == ApplicationType::Saml {
            return Err(saml_unsupported());
        }
        let claim_mappings = parse_claim_mappings(&input.claim_mappings.unwrap_or_default())?;
        let now = now_millis();
        let mut app = Application {
            id: new_id(),
            client_id: format!(
                "{CLIENT_ID_PREFIX}{}",
                token::random_base62(CLIENT_ID_RANDOM_LEN).map_err(randomness_failed)?
            ),
            name: EntityName::parse(&input.name)?.as_str().to_owned(),
            friendly_name: parse_friendly_name(input.friendly_name.as_deref().unwrap_or(""))?,
            description: Description::parse(input.description.as_deref().unwrap_or(""))?
                .as_str()
                .to_owned(),
            app_type,
            redirect_uris: parse_redirect_uris(
                "redirect_uris",
                &input.redirect_uris.unwrap_or_default(),
            )?,
            post_logout_redirect_uris: parse_redirect_uris(
                "post_logout_redirect_uris",
                &input.post_logout_redirect_uris.unwrap_or_default(),
            )?,
            allowed_scopes: match &input.allowed_scopes {
                Some(scopes) => parse_scopes(scopes)?,
                None => strings(DEFAULT_SCOPES),
            },
            grant_types: match &input.grant_types {
                Some(grants) => parse_grant_types(grants)?,
                None => strings(DEFAULT_GRANT_TYPES),
            },
            // A public client has only PKCE to prove itself: on unless said otherwise (and
            // `check` refuses "otherwise").
            require_pkce: input
                .require_pkce
                .unwrap_or(app_type == ApplicationType::Spa),
            token_expiry: parse_token_expiry(input.token_expiry.unwrap_or(TOKEN_EXPIRY_DEFAULT))?,
            access_restricted: input.access_restricted.unwrap_or(false),
            show_in_dashboard: input.show_in_dashboard.unwrap_or(true),
            launch_url: input
                .launch_url
                .as_deref()
                .map(parse_launch_url)
                .transpose()?,
            claim_mappings,
            secret_hint: None,
            created_at: now,
            updated_at: now,
        };
        app.check()?;
        let secret = if app.is_confidential() {
            // A client secret is a long-lived credential: minting one is a step-up action.
            self.require_recent_mfa(principal, now).await?;
            let (secret, digest) = new_client_secret()?;
            app.secret_hint = Some(token::hint(secret.expose()));
            Some((secret, digest))
        } else {
            None
        };
        let mut tx = self.db.pool.begin().await?;
        match applications::insert(&mut *tx, &app, secret.as_ref().map(|(_, d)| d)).await {
            Err(e) if is_unique_violation(&e) => return Err(name_taken()),
            other => other?,
        }
        let details = serde_json::json!({
            "name": app.name,
            "type": app.app_type.as_str(),
            "client_id": app.client_id,
        });
        audit::insert(
            &mut *tx,
            &app_audit(principal, meta, "application.created", app.id, details),
        )
        .await?;
        tx.commit().await?;
        Ok((app, secret.map(|(s, _)| s)))
    }

    /// Replaces the fields present in `input`; the whole result must pass the same rules as a
    /// new application.
    pub async fn update_application(
        &self,
        principal: &Principal,
        id: Uuid,
        input: UpdateApplication,
        meta: &RequestMeta,
    ) -> CoreResult<Application> {
        principal.require(Permission::AppsUpdate)?;
        let mut app = self.application(id).await?;
        let mut changed: Vec<&str> = Vec::new();
        if let Some(name) = &input.name {
            app.name = EntityName::parse(name)?.as_str().to_owned();
            changed.push("name");
        }
        if let Some(friendly_name) = &input.friendly_name {
            app.friendly_name = parse_friendly_name(friendly_name)?;
            changed.push("friendly_name");
        }
        if let Some(description) = &input.description {
            app.description = Description::parse(description)?.as_str().to_owned();
            changed.push("description");
        }
        if let Some(uris) = &input.redirect_uris {
            app.redirect_uris = parse_redirect_uris("redirect_uris", uris)?;
            changed.push("redirect_uris");
        }
        if let Some(uris) = &input.post_logout_redirect_uris {
            app.post_logout_redirect_uris = parse_redirect_uris("post_logout_redirect_uris", uris)?;
            changed.push("post_logout_redirect_uris");
        }
        if let Some(scopes) = &input.allowed_scopes {
            app.allowed_scopes = parse_scopes(scopes)?;
            changed.push("allowed_scopes");
        }
        if let Some(grants) = &input.grant_types {
            app.grant_types = parse_grant_types(grants)?;
            changed.push("grant_types");
        }
        if let Some(require_pkce) = input.require_pkce {
            app.require_pkce = require_pkce;
            changed.push("require_pkce");
        }
        if let Some(expiry) = input.token_expiry {
            app.token_expiry = parse_token_expiry(expiry)?;
            changed.push("token_expiry");
        }
        if let Some(restricted) = input.access_restricted {
            app.access_restricted = restricted;
            changed.push("access_restricted");
        }
        if let Some(show) = input.show_in_dashboard {
            app.show_in_dashboard = show;
            changed.push("show_in_dashboard");
        }
        if let Some(launch_url) = &input.launch_url {
            app.launch_url = match launch_url.as_str() {
                "" => None,
                url => Some(parse_launch_url(url)?),
            };
            changed.push("launch_url");
        }
        if let Some(mappings) = &input.claim_mappings {
            app.claim_mappings = parse_claim_mappings(mappings)?;
            changed.push("claim_mappings");
        }
        app.check()?;
        app.updated_at = now_millis();
        let mut tx = self.db.pool.begin().await?;
        match applications::update(&mut *tx, &app).await {
            Ok(true) => {}
            Ok(false) => return Err(CoreError::not_found("application")),
            Err(e) if is_unique_violation(&e) => return Err(name_taken()),
            Err(e) => return Err(e.into()),
        }
        // Where codes may be sent is what an attacker with `apps.update` would change: keep the
        // new values, not just the field names.
        let mut details = serde_json::json!({ "name": app.name, "changed": changed });
        if input.redirect_uris.is_some() {
            details["redirect_uris"] = serde_json::json!(app.redirect_uris);
        }
        if input.post_logout_redirect_uris.is_some() {
            details["post_logout_redirect_uris"] = serde_json::json!(app.post_logout_redirect_uris);
        }
        audit::insert(
            &mut *tx,
            &app_audit(principal, meta, "application.updated", id, details),
        )
        .await?;
        // Restricting access or changing claim mappings changes what its live access tokens
        // answer at userinfo, on every node.
        self.commit_and_invalidate(tx, Invalidation::All).await?;
        Ok(app)
    }

    /// Whether the caller may delete application `id`: the application, or the refusal
    /// [`Iam::delete_application`] would answer (it asks the same).
    pub async fn check_can_delete_application(
        &self,
        principal: &Principal,
        id: Uuid,
    ) -> CoreResult<Application> {
        principal.require(Permission::AppsDelete)?;
        self.application(id).await
    }

    /// Deletes an application. The foreign keys take its grants, mappings, codes, refresh tokens
    /// and sign-in records with it, in the same statement: nothing it issued can be redeemed or
    /// refreshed afterwards.
    pub async fn delete_application(
        &self,
        principal: &Principal,
        id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        let app = self.check_can_delete_application(principal, id).await?;
        let mut tx = self.db.pool.begin().await?;
        if !applications::delete(&mut *tx, id).await? {
            return Err(CoreError::not_found("application"));
        }
        let details = serde_json::json!({ "name": app.name, "client_id": app.client_id });
        audit::insert(
            &mut *tx,
            &app_audit(principal, meta, "application.deleted", id, details),
        )
        .await?;
        self.commit_and_invalidate(tx, Invalidation::All).await?;
        Ok(())
    }

    /// A new client secret, returned once. With a grace period the previous secret keeps working
    /// until it ends (so a deployment can switch without downtime); without one it stops now.
    pub async fn rotate_application_secret(
        &self,
        principal: &Principal,
        id: Uuid,
        grace_period_seconds: Option<i64>,
        meta: &RequestMeta,
    ) -> CoreResult<RotatedSecret> {
        principal.require(Permission::AppsUpdate)?;
        let grace = parse_grace_period(grace_period_seconds.unwrap_or(0))?;
        let mut app = self.application(id).await?;
        if !app.is_confidential() {
            // The application's type, not the request's shape, refuses this: a 409.
            return Err(CoreError::conflict(
                "no_client_secret",
                format!(
                    "this is a {} application, not a confidential (oidc) client: it has no \
                     secret to rotate",
                    app.app_type.as_str()
                ),
            ));
        }
        let now = now_millis();
        self.require_recent_mfa(principal, now).await?;
        let (secret, digest) = new_client_secret()?;
        let previous_valid_until = (grace > 0).then(|| now + grace * 1000);
        let hint = token::hint(secret.expose());
        let mut tx = self.db.pool.begin().await?;
        if !applications::set_secret(&mut *tx, id, &digest, &hint, previous_valid_until, now)
            .await?
        {
            return Err(CoreError::not_found("application"));
        }
        let details = serde_json::json!({ "name": app.name, "grace_period_seconds": grace });
        audit::insert(
            &mut *tx,
            &app_audit(principal, meta, "application.secret_rotated", id, details),
        )
        .await?;
        tx.commit().await?;
        app.secret_hint = Some(hint);
        app.updated_at = now;
        Ok(RotatedSecret {
            application: app,
            secret,
            previous_valid_until,
        })
    }

    pub async fn list_application_grants(
        &self,
        principal: &Principal,
        application_id: Uuid,
    ) -> CoreResult<Vec<ApplicationGrant>> {
        principal.require(Permission::AppsView)?;
        self.application(application_id).await?;
        Ok(applications::list_grants(&self.db.pool, application_id).await?)
    }

    /// Lets a user, or every member of a group, sign in to an `access_restricted` application.
    pub async fn add_application_grant(
        &self,
        principal: &Principal,
        application_id: Uuid,
        input: CreateApplicationGrant,
        meta: &RequestMeta,
    ) -> CoreResult<ApplicationGrant> {
        principal.require(Permission::AppsUpdate)?;
        let app = self.application(application_id).await?;
        let grant = ApplicationGrant {
            id: new_id(),
            application_id,
            user_id: input.user_id,
            group_id: input.group_id,
            created_at: now_millis(),
        };
        let details = match (input.user_id, input.group_id) {
            (Some(user_id), None) => {
                let user = users::get(&self.db.pool, user_id)
                    .await?
                    .ok_or_else(|| CoreError::unknown_reference("user_id", "user"))?;
                serde_json::json!({ "user_id": user_id, "email": user.email, "application": app.name })
            }
            (None, Some(group_id)) => {
                let group = groups::get(&self.db.pool, group_id)
                    .await?
                    .ok_or_else(|| CoreError::unknown_reference("group_id", "group"))?;
                serde_json::json!({ "group_id": group_id, "group": group.name, "application": app.name })
            }
            _ => {
                return Err(CoreError::validation(
                    "user_id",
                    "give exactly one of user_id and group_id",
                ));
            }
        };
        let mut tx = self.db.pool.begin().await?;
        match applications::insert_grant(&mut *tx, &grant).await {
            Err(e) if is_unique_violation(&e) => {
                return Err(CoreError::conflict(
                    "conflict",
                    "this user or group is already granted the application",
                ));
            }
            // The application, user or group was deleted between the checks above and this
            // insert: the answer those checks would give now.
            Err(e) if is_foreign_key_violation(&e) => {
                drop(tx);
                self.application(application_id).await?;
                return Err(match input.user_id {
                    Some(_) => CoreError::unknown_reference("user_id", "user"),
                    None => CoreError::unknown_reference("group_id", "group"),
                });
            }
            other => other?,
        }
        audit::insert(
            &mut *tx,
            &app_audit(
                principal,
                meta,
                "application.grant_added",
                application_id,
                details,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(grant)
    }

    /// Removes a grant. Refresh tokens of users who lose access fail at their next use: the
    /// token endpoint asks [`Iam::may_sign_in`] at every refresh.
    pub async fn remove_application_grant(
        &self,
        principal: &Principal,
        application_id: Uuid,
        grant_id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        principal.require(Permission::AppsUpdate)?;
        let app = self.application(application_id).await?;
        let grant = applications::get_grant(&self.db.pool, application_id, grant_id)
            .await?
            .ok_or_else(|| CoreError::not_found("grant"))?;
        let mut tx = self.db.pool.begin().await?;
        if !applications::delete_grant(&mut *tx, application_id, grant_id).await? {
            return Err(CoreError::not_found("grant"));
        }
        let details = serde_json::json!({
            "grant_id": grant_id,
            "user_id": grant.user_id,
            "group_id": grant.group_id,
            "application": app.name,
        });
        audit::insert(
            &mut *tx,
            &app_audit(
                principal,
                meta,
                "application.grant_removed",
                application_id,
                details,
            ),
        )
        .await?;
        let scope = grant.user_id.map_or(Invalidation::All, Invalidation::User);
        self.commit_and_invalidate(tx, scope).await?;
        Ok(())
    }
}

/// What the OAuth endpoints ask. No principal: the caller is a client or a browser, and each
/// method answers only what the protocol needs.
impl Iam {
    /// The application with this public `client_id`, if any.
    pub async fn application_by_client_id(
        &self,
        client_id: &str,
    ) -> CoreResult<Option<Application>> {
        Ok(applications::get_by_client_id(&self.db.pool, client_id).await?)
    }

    /// Client authentication at the token endpoint: the confidential application whose current
    /// secret, or previous secret still in its grace period, is `secret`. `None` alike for an
    /// unknown client, a public client and a wrong secret, so the answer tells nothing apart;
    /// digests are compared in constant time.
    pub async fn authenticate_client(
        &self,
        client_id: &str,
        secret: &str,
    ) -> CoreResult<Option<Application>> {
        let well_formed = token::check_format_with_prefix(CLIENT_SECRET_PREFIX, secret).is_ok();
        let presented = token::digest(secret);
        let Some((app, secrets)) = applications::get_with_secrets(&self.db.pool, client_id).await?
        else {
            return Ok(None);
        };
        let now = now_millis();
        let current = secrets
            .current
            .is_some_and(|d| bool::from(d.ct_eq(&presented)));
        let previous = secrets
            .previous
            .is_some_and(|(d, until)| bool::from(d.ct_eq(&presented)) && until > now);
        // `&` and `|`, not `&&` and `||`: both digests are always compared.
        let accepted = well_formed & (current | previous) & app.is_confidential();
        Ok(accepted.then_some(app))
    }

    /// Whether `uri` is one of the application's redirect URIs: the exact string, or a whole
    /// match of a `regex:` pattern. Never a prefix, never case-insensitive.
    pub fn redirect_uri_allowed(&self, app: &Application, uri: &str) -> bool {
        crate::model::redirect_uri_allowed(&app.redirect_uris, uri)
    }

    /// The same rule for `post_logout_redirect_uri`.
    pub fn post_logout_redirect_uri_allowed(&self, app: &Application, uri: &str) -> bool {
        crate::model::redirect_uri_allowed(&app.post_logout_redirect_uris, uri)
    }

    /// Whether the user may sign in to the application now: the application signs people in
    /// (not `external`), the user exists, is active and is not a service account, and, when the
    /// application is `access_restricted`, is granted it directly or through a group. Asked at
    /// every authorization and every refresh, so a removed grant holds at once.
    pub async fn may_sign_in(&self, app: &Application, user_id: Uuid) -> CoreResult<bool> {
        match users::get(&self.db.pool, user_id).await? {
            Some(user) => self.may_sign_in_as(app, &user).await,
            None => Ok(false),
        }
    }

    /// [`Iam::may_sign_in`] for a user already read.
    pub async fn may_sign_in_as(&self, app: &Application, user: &User) -> CoreResult<bool> {
        if !app.signs_in() || !user.is_active || user.is_service_account {
            return Ok(false);
        }
        if !app.access_restricted {
            return Ok(true);
        }
        Ok(applications::is_granted(&self.db.pool, app.id, user.id).await?)
    }

    /// `(variable_name, value)` of the application's app mappings the user holds, directly or
    /// through a group, each pair once (for the `roles` claim and `${variable}` templates).
    pub async fn app_mapping_values(
        &self,
        app: &Application,
        user_id: Uuid,
    ) -> CoreResult<Vec<(String, String)>> {
        Ok(crate::store::app_mappings::values_for_user(&self.db.pool, app.id, user_id).await?)
    }
}

-- Applications and the OpenID Connect provider (issue 15), SQLite flavour (booleans INTEGER 0/1, digests BLOB).
-- Same conventions as 0001: times are unix milliseconds, ids UUID v7 text, lists that are only ever
-- read whole are stored as JSON text (redirect URIs, claim mappings) or space-separated words (scopes).

CREATE TABLE applications (
    id                         TEXT PRIMARY KEY,
    -- The public OAuth client_id (`justiam_app_` + random); never changes.
    client_id                  TEXT NOT NULL UNIQUE,
    name                       TEXT NOT NULL,
    name_lower                 TEXT NOT NULL UNIQUE,
    friendly_name              TEXT NOT NULL DEFAULT '',
    description                TEXT NOT NULL DEFAULT '',
    -- `oidc` (confidential), `spa` (public, PKCE forced), `external` (a link only).
    app_type                   TEXT NOT NULL,
    -- SHA-256 of the client secret (`oidc` only); the previous one stays valid until its end.
    secret_digest              BLOB,
    secret_hint                TEXT,
    previous_secret_digest     BLOB,
    previous_secret_expires_at BIGINT,
    redirect_uris              TEXT NOT NULL DEFAULT '[]',
    post_logout_redirect_uris  TEXT NOT NULL DEFAULT '[]',
    allowed_scopes             TEXT NOT NULL DEFAULT 'openid profile email',
    grant_types                TEXT NOT NULL DEFAULT 'authorization_code',
    require_pkce               INTEGER NOT NULL DEFAULT 0,
    token_expiry               BIGINT NOT NULL DEFAULT 3600,
    access_restricted          INTEGER NOT NULL DEFAULT 0,
    show_in_dashboard          INTEGER NOT NULL DEFAULT 1,
    launch_url                 TEXT,
    claim_mappings             TEXT NOT NULL DEFAULT '[]',
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL
);
CREATE INDEX applications_by_created ON applications (created_at DESC, id DESC);

-- Who may sign in to an `access_restricted` application: one user or one group per row.
CREATE TABLE application_grants (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    user_id        TEXT REFERENCES users (id) ON DELETE CASCADE,
    group_id       TEXT REFERENCES user_groups (id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);
CREATE UNIQUE INDEX application_grants_user ON application_grants (application_id, user_id);
CREATE UNIQUE INDEX application_grants_group ON application_grants (application_id, group_id);
CREATE INDEX application_grants_by_user ON application_grants (user_id);
CREATE INDEX application_grants_by_group ON application_grants (group_id);

-- App role mappings: `roles` claim values and `${variable}` values of claim mappings.
CREATE TABLE app_mappings (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    variable_name  TEXT NOT NULL,
    value          TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (application_id, variable_name, value)
);
CREATE INDEX app_mappings_by_created ON app_mappings (created_at DESC, id DESC);

CREATE TABLE user_app_mappings (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mapping_id TEXT NOT NULL REFERENCES app_mappings (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, mapping_id)
);
CREATE INDEX user_app_mappings_by_mapping ON user_app_mappings (mapping_id);

CREATE TABLE group_app_mappings (
    group_id   TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    mapping_id TEXT NOT NULL REFERENCES app_mappings (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, mapping_id)
);
CREATE INDEX group_app_mappings_by_mapping ON group_app_mappings (mapping_id);

-- Signing keys. The private key (PKCS#8 DER) never leaves the server. A key is `active` until the
-- next rotation, then stays published in the JWKS until `retire_after` (the last token it signed has
-- expired), then is deleted.
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL,
    private_der  BLOB NOT NULL,
    public_jwk   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    rotated_at   BIGINT,
    retire_after BIGINT
);
CREATE INDEX signing_keys_by_created ON signing_keys (created_at DESC);

-- Sessions gain a kind: `portal` (a portal JWT, as before) or `sso` (the `idp_sid` cookie of the
-- login page; its cookie value is a random secret stored only as this digest).
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'portal';
ALTER TABLE sessions ADD COLUMN secret_digest BLOB;
ALTER TABLE sessions ADD COLUMN auth_time BIGINT;
CREATE UNIQUE INDEX sessions_by_secret ON sessions (secret_digest);

-- Authorization codes: single use, short-lived, bound to client, redirect URI and PKCE challenge.
CREATE TABLE oauth_codes (
    code_digest           BLOB PRIMARY KEY,
    application_id        TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    user_id               TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id            TEXT,
    redirect_uri          TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    nonce                 TEXT,
    code_challenge        TEXT,
    auth_time             BIGINT NOT NULL,
    created_at            BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    -- Set at the first redemption; a second one revokes `family_id`.
    used_at               BIGINT,
    family_id             TEXT
);
CREATE INDEX oauth_codes_by_expiry ON oauth_codes (expires_at);

-- Refresh tokens: opaque, digest-stored, rotated at every use. All tokens descending from one
-- authorization share `family_id`; presenting a used one revokes the family.
CREATE TABLE oauth_refresh_tokens (
    id             TEXT PRIMARY KEY,
    token_digest   BLOB NOT NULL UNIQUE,
    family_id      TEXT NOT NULL,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id     TEXT,
    scope          TEXT NOT NULL,
    auth_time      BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    revoked_at     BIGINT
);
CREATE INDEX oauth_refresh_by_family ON oauth_refresh_tokens (family_id);
CREATE INDEX oauth_refresh_by_user_app ON oauth_refresh_tokens (user_id, application_id);
CREATE INDEX oauth_refresh_by_expiry ON oauth_refresh_tokens (expires_at);

-- "Applications you signed in to": one row per user and application, kept by every sign-in.
CREATE TABLE oauth_authorizations (
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    application_id  TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    scope           TEXT NOT NULL,
    first_signed_in BIGINT NOT NULL,
    last_signed_in  BIGINT NOT NULL,
    PRIMARY KEY (user_id, application_id)
);
CREATE INDEX oauth_authorizations_by_app ON oauth_authorizations (application_id);

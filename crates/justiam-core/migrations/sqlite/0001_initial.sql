-- JustIAM schema, SQLite flavour. Times are unix milliseconds (BIGINT), ids are UUID v7 text,
-- booleans are INTEGER 0/1 (the `Any` driver cannot read a SQLite BOOLEAN column).

CREATE TABLE users (
    id                 TEXT PRIMARY KEY,
    email              TEXT NOT NULL,
    email_lower        TEXT NOT NULL UNIQUE,
    username           TEXT NOT NULL UNIQUE,
    first_name         TEXT NOT NULL DEFAULT '',
    last_name          TEXT NOT NULL DEFAULT '',
    password_hash      TEXT,
    is_active          INTEGER NOT NULL DEFAULT 1,
    is_admin           INTEGER NOT NULL DEFAULT 0,
    is_service_account INTEGER NOT NULL DEFAULT 0,
    auth_source        TEXT NOT NULL DEFAULT 'internal',
    -- Bumped by every write that must serialise per user (token creation); see store::tokens.
    revision           BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX users_by_created ON users (created_at DESC, id DESC);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ip         TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_created ON sessions (created_at DESC, id DESC);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE user_groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_lower  TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX user_groups_by_created ON user_groups (created_at DESC, id DESC);

CREATE TABLE group_members (
    group_id   TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_by_user ON group_members (user_id);

CREATE TABLE admin_roles (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_lower  TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    -- Space-separated permission strings from the catalogue.
    permissions TEXT NOT NULL DEFAULT '',
    is_builtin  INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE user_admin_roles (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id    TEXT NOT NULL REFERENCES admin_roles (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_admin_roles_by_role ON user_admin_roles (role_id);

CREATE TABLE group_admin_roles (
    group_id   TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    role_id    TEXT NOT NULL REFERENCES admin_roles (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, role_id)
);
CREATE INDEX group_admin_roles_by_role ON group_admin_roles (role_id);

CREATE TABLE personal_access_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    -- Equal to `name` while the token is neither revoked nor known expired, NULL after: the unique
    -- index below then enforces "one active token per name" even under concurrent creations.
    active_name  TEXT,
    token_digest BLOB NOT NULL UNIQUE,
    token_hint   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    last_used_ip TEXT,
    -- When set in the future: the end of a rotation grace period.
    revoked_at   BIGINT,
    -- `leaked`, `rotated`, `revoked` (by its owner or an operator); NULL while not revoked.
    revoke_reason TEXT,
    created_by   TEXT,
    -- Fine-grained tokens: space-separated permissions; NULL = the owner's full power.
    permissions  TEXT,
    -- Rotation chain.
    rotated_from TEXT,
    replaced_by  TEXT
);
CREATE UNIQUE INDEX pat_active_name ON personal_access_tokens (user_id, active_name);
CREATE INDEX pat_by_user ON personal_access_tokens (user_id, created_at DESC, id DESC);
CREATE INDEX pat_by_created ON personal_access_tokens (created_at DESC, id DESC);
CREATE INDEX pat_by_expiry ON personal_access_tokens (expires_at);

CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY,
    at            BIGINT NOT NULL,
    actor_id      TEXT,
    actor_email   TEXT,
    credential    TEXT,
    credential_id TEXT,
    action        TEXT NOT NULL,
    target_type   TEXT,
    target_id     TEXT,
    ip            TEXT,
    user_agent    TEXT,
    details       TEXT
);
CREATE INDEX audit_by_at ON audit_log (at DESC, id DESC);
CREATE INDEX audit_by_action ON audit_log (action, at DESC);
CREATE INDEX audit_by_actor ON audit_log (actor_id, at DESC);
CREATE INDEX audit_by_target ON audit_log (target_id, at DESC);

-- Failed-login counters, shared by every node (keys: `account:<email>`, `ip:<address>`).
CREATE TABLE auth_throttle (
    key           TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    window_start  BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL
);

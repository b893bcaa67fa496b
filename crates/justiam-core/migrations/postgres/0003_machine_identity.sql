-- Machine identity without long-lived secrets (issue 16), PostgreSQL flavour.
-- Same conventions as 0001 and 0002: times are unix milliseconds, ids UUID v7 text, small lists
-- read whole are JSON text.

-- OAuth clients of service accounts, for the client_credentials grant.
CREATE TABLE service_account_clients (
    id                TEXT PRIMARY KEY,
    -- The service account the client's tokens act as; the client goes with it.
    user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The public OAuth client_id (`justiam_sa_` + 24 random base62 characters); never changes.
    client_id         TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    -- `client_secret` (basic or post) or `private_key_jwt` (RFC 7523).
    auth_method       TEXT NOT NULL,
    -- SHA-256 of the secret (`justiam_cs_…`, shown once) and its last four characters.
    secret_digest     BYTEA,
    secret_hint       TEXT,
    -- The registered public keys for private_key_jwt, as a JWKS (a PEM key is stored converted).
    jwks              TEXT,
    -- Who created it (a user id; kept as text when that user is gone).
    created_by        TEXT,
    created_at        BIGINT NOT NULL,
    -- Last successful grant, written at most once a minute per client.
    last_used_at      BIGINT
);
CREATE INDEX service_account_clients_by_user ON service_account_clients (user_id, created_at);

-- Trust in an outside issuer: its tokens that match are exchanged for the service account's.
CREATE TABLE federated_credentials (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- The outside issuer, byte for byte as its tokens' `iss` (https, or http on loopback).
    issuer      TEXT NOT NULL,
    -- The `aud` its tokens must carry.
    audience    TEXT NOT NULL,
    -- The `sub` its tokens must carry, exactly; NULL when only `claims` decide.
    subject     TEXT,
    -- JSON object: claim name -> value, exact or with `*` globs; every one must match.
    claims      TEXT NOT NULL DEFAULT '{}',
    created_by  TEXT,
    created_at  BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX federated_credentials_by_user ON federated_credentials (user_id, created_at);
CREATE INDEX federated_credentials_by_issuer ON federated_credentials (issuer);

-- `jti` values of client assertions and federated tokens already accepted: never twice, on any
-- node. Kept until the token they came in would have expired anyway, then purged.
CREATE TABLE used_token_ids (
    -- Whose identifier space: the client_id of an assertion, or the outside issuer.
    issuer     TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, jti)
);
CREATE INDEX used_token_ids_by_expiry ON used_token_ids (expires_at);

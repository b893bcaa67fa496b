-- Revocation of service accounts' access tokens (issue 16, RFC 7009), PostgreSQL flavour.
-- Same conventions as 0001 and 0003: times are unix milliseconds, ids UUID v7 text.

-- Access tokens revoked before they expire, by their `jti` (a UUID v7 each token gets when it is
-- issued). A token whose `jti` is here is refused on /api/v1 and introspects `active: false`. The
-- check is made when a node checks a token it has not cached; revoking drops the account's cached
-- credentials on every node. A row is kept until the token would have expired anyway, then
-- purged with the used token identifiers (hourly).
CREATE TABLE revoked_access_tokens (
    jti        TEXT PRIMARY KEY,
    -- The service account the token acts as; its rows go with it.
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    revoked_at BIGINT NOT NULL,
    -- The token's own `exp`, in milliseconds: after it the row is useless and purged.
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_access_tokens_by_expiry ON revoked_access_tokens (expires_at);

-- Multi-factor authentication (issue 17), PostgreSQL flavour.
-- Same conventions as 0001: times are unix milliseconds, ids UUID v7 text, secrets only as digests
-- or sealed (AES-256-GCM), never in plain text.

-- One authenticator app (TOTP, RFC 6238) per user.
CREATE TABLE mfa_totp (
    user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- The 20-byte shared secret sealed with AES-256-GCM: nonce (12 bytes) || ciphertext || tag,
    -- the user id as associated data (a row copied to another user does not open).
    secret       BYTEA NOT NULL,
    -- Which encryption key sealed it: the first 8 bytes of SHA-256 of the key, hex. A key rotation
    -- re-seals the rows whose key_id is the previous key's.
    key_id       TEXT NOT NULL,
    -- NULL while the enrollment waits for its first code; set when confirmed.
    confirmed_at BIGINT,
    -- The last accepted 30-second time step: a code of this step or an earlier one is refused, so
    -- a code works once, on every node.
    last_step    BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);

-- Ten single-use recovery codes per enrolled user, as SHA-256 digests.
CREATE TABLE mfa_recovery_codes (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_digest BYTEA NOT NULL,
    -- When it was used; a used code stays (for the count of remaining codes) and never works again.
    used_at     BIGINT,
    PRIMARY KEY (user_id, code_digest)
);

-- Logins between the password and the second factor: the `mfa_token` (kind `login`) or the
-- enrollment-only token (kind `enrollment`), stored as the SHA-256 digest of the value.
CREATE TABLE mfa_challenges (
    token_digest BYTEA PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX mfa_challenges_by_expiry ON mfa_challenges (expires_at);

-- When the second factor was last checked for a session (portal JWT or SSO): the login's second
-- step, or a re-check (`POST /api/v1/auth/mfa/reauth`). NULL: never in this session. Minting
-- tokens and secrets needs a recent one (MFA_REAUTH_MINUTES).
ALTER TABLE sessions ADD COLUMN mfa_at BIGINT;

-- Mail, notifications and webhooks (issue 18), SQLite flavour (digests BLOB).
-- Same conventions as 0001: times are unix milliseconds, ids UUID v7 text.

-- The durable outbox: every mail (and webhook delivery) is a row written in the same transaction as
-- the change that causes it, and sent afterwards by a background worker on some node.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    -- `mail` or `webhook`.
    kind            TEXT NOT NULL,
    -- What the message is about: a mail template (`password_reset`, `token_created`, …) or a
    -- webhook event type (`token.created`, …).
    topic           TEXT NOT NULL,
    -- Who it goes to: an email address, or the webhook's id.
    recipient       TEXT NOT NULL,
    -- What the sender needs, as JSON. A mail's is erased once it is sent or given up (it may hold
    -- a password-reset link); a webhook's is the body delivered, kept for the delivery log.
    payload         TEXT NOT NULL,
    -- `pending` (due at next_attempt_at), `sending` (claimed until lease_until), `sent`, `failed`.
    status          TEXT NOT NULL,
    -- Attempts started so far.
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- The node that claimed the row and until when; past it another node may take it over.
    claimed_by      TEXT,
    lease_until     BIGINT,
    created_at      BIGINT NOT NULL,
    -- Retries stop after this; the row is then `failed`.
    give_up_at      BIGINT NOT NULL,
    -- When it was sent or given up.
    done_at         BIGINT,
    -- The last attempt's failure (no secret: an SMTP reply or an HTTP status line).
    last_error      TEXT,
    -- The last attempt's HTTP status (webhooks).
    last_status     BIGINT
);
-- The worker's question: what is due now?
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_recipient ON outbox (recipient, created_at);

-- Password-reset links: single use, stored as the SHA-256 of the link's token only.
CREATE TABLE password_resets (
    token_digest BLOB PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    -- Set when the link is used, or made void by a later reset of the same account.
    used_at      BIGINT
);
CREATE INDEX password_resets_by_user ON password_resets (user_id);
CREATE INDEX password_resets_by_expiry ON password_resets (expires_at);

-- Token notices already sent: one row per token and notice (`expiring_7d`, `expiring_1d`, …),
-- inserted in the transaction that writes the mail, so that a notice goes out once across
-- restarts and nodes (the primary key refuses the second).
CREATE TABLE token_notices (
    token_id   TEXT NOT NULL REFERENCES personal_access_tokens (id) ON DELETE CASCADE,
    notice     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (token_id, notice)
);

-- Webhooks (`is_admin` only): where events are POSTed, signed with the webhook's secret.
CREATE TABLE webhooks (
    id            TEXT PRIMARY KEY,
    -- http(s) target; its address is checked at creation and again at every delivery.
    url           TEXT NOT NULL,
    -- Event types and families (`token.created`, `application.*`), space-separated with a space at
    -- both ends, so that `LIKE '% type %'` finds the subscribers of an event.
    events        TEXT NOT NULL,
    -- The signing secret sealed with AES-256-GCM under a key derived from JWT_SECRET
    -- (base64 of nonce + ciphertext): a copy of the database alone cannot sign deliveries.
    secret_sealed TEXT NOT NULL,
    -- The secret's last characters, to tell secrets apart.
    secret_hint   TEXT NOT NULL,
    created_by    TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

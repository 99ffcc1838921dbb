-- API keys issued and revoked while the service runs (issue 5): kept hashed, like configured
-- keys. A configured key (LEDGER_API_KEYS) that is revoked gets a row without a digest.
CREATE TABLE api_keys (
    key_id      text PRIMARY KEY,        -- the first 12 hex digits of the key's SHA-256
    digest      text UNIQUE,             -- the key's SHA-256, hex; NULL: a configured key
    role        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

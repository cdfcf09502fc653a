-- Gateway API keys. Only a SHA-256 of the secret is stored; the key itself is shown once, when created.
-- The prefix is the public half of the key (ss_<prefix>_<secret>) and finds the row without scanning hashes.
CREATE TABLE api_keys (
    prefix      text        PRIMARY KEY,
    name        text        NOT NULL,
    secret_hash bytea       NOT NULL,
    scopes      text[]      NOT NULL CHECK (cardinality(scopes) > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text,
    revoked_at  timestamptz
);

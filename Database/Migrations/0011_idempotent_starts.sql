-- Each start request a client makes with an Idempotency-Key, and what it started. The same key with the same
-- body finds the same workflow; the same key with another body is refused; a business id (an order id) can be
-- claimed by one key only, so two different requests cannot silently share one workflow.
CREATE TABLE idempotent_starts (
    api_key_prefix text        NOT NULL,
    scope          text        NOT NULL,
    idempotency_key text       NOT NULL,
    request_hash   bytea       NOT NULL,
    resource_id    text        NOT NULL,
    workflow_id    text        NOT NULL,
    run_id         text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_prefix, scope, idempotency_key),
    UNIQUE (scope, resource_id)
);

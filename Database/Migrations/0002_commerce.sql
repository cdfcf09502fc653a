-- The commerce data model: customers, catalogue, inventory, orders, payments, refunds, shipping, returns,
-- approvals, workflow read models and webhook delivery of the outbox.
--
-- Conventions: snake_case; business ids are text chosen by the caller or derived from workflow ids
-- (order 'o-123', payment 'o-123:payment'), so a retried activity computes the same key and hits the same row;
-- money is numeric(19,4) next to a char(3) ISO currency, never floating point; times are timestamptz;
-- every side effect that a retry could repeat has a unique key (idempotency_key or a natural composite key).

-- Customers ----------------------------------------------------------------------------------------------

CREATE TABLE customers (
    id         text        PRIMARY KEY,
    email      text        NOT NULL UNIQUE,
    name       text        NOT NULL,
    phone      text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE customer_addresses (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id text        NOT NULL REFERENCES customers (id),
    kind        text        NOT NULL CHECK (kind IN ('shipping', 'billing')),
    is_default  boolean     NOT NULL DEFAULT false,
    name        text        NOT NULL,
    company     text,
    line1       text        NOT NULL,
    line2       text,
    city        text        NOT NULL,
    region      text        NOT NULL,          -- US state or Canadian province code
    postal_code text        NOT NULL,
    country     char(2)     NOT NULL,
    phone       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX customer_addresses_customer ON customer_addresses (customer_id);
CREATE UNIQUE INDEX customer_addresses_one_default ON customer_addresses (customer_id, kind) WHERE is_default;

-- Catalogue ----------------------------------------------------------------------------------------------

CREATE TABLE products (
    sku                text        PRIMARY KEY,
    name               text        NOT NULL,
    description        text,
    weight_grams       integer     NOT NULL CHECK (weight_grams > 0),
    length_mm          integer     NOT NULL CHECK (length_mm > 0),
    width_mm           integer     NOT NULL CHECK (width_mm > 0),
    height_mm          integer     NOT NULL CHECK (height_mm > 0),
    returnable         boolean     NOT NULL DEFAULT true,
    return_window_days integer     NOT NULL DEFAULT 30 CHECK (return_window_days >= 0),
    active             boolean     NOT NULL DEFAULT true,
    created_at         timestamptz NOT NULL DEFAULT now()
);

-- One price per currency the product is sold in (the demo sells in USD and CAD).
CREATE TABLE product_prices (
    sku      text          NOT NULL REFERENCES products (sku),
    currency char(3)       NOT NULL,
    amount   numeric(19,4) NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (sku, currency)
);

-- Inventory ----------------------------------------------------------------------------------------------

CREATE TABLE inventory_locations (
    id          text        PRIMARY KEY,
    name        text        NOT NULL,
    line1       text        NOT NULL,
    line2       text,
    city        text        NOT NULL,
    region      text        NOT NULL,
    postal_code text        NOT NULL,
    country     char(2)     NOT NULL,
    phone       text,
    -- Lower ships first when several locations could fill a line.
    priority    integer     NOT NULL DEFAULT 100,
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- allocated is stock promised to reservations but still on the shelf; available is what can still be promised.
CREATE TABLE inventory_balances (
    location_id text        NOT NULL REFERENCES inventory_locations (id),
    sku         text        NOT NULL REFERENCES products (sku),
    on_hand     integer     NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    allocated   integer     NOT NULL DEFAULT 0 CHECK (allocated >= 0),
    available   integer     GENERATED ALWAYS AS (on_hand - allocated) STORED,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (location_id, sku),
    CHECK (allocated <= on_hand)
);

CREATE INDEX inventory_balances_sku ON inventory_balances (sku);

CREATE TABLE inventory_reservations (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    text        NOT NULL,
    sku         text        NOT NULL REFERENCES products (sku),
    location_id text        NOT NULL REFERENCES inventory_locations (id),
    quantity    integer     NOT NULL CHECK (quantity > 0),
    status      text        NOT NULL DEFAULT 'reserved' CHECK (status IN ('reserved', 'released', 'committed')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, sku, location_id)
);

-- Stock changes that are not reservations (restock on return, manual counts), each applied once by its key.
CREATE TABLE inventory_adjustments (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key text        NOT NULL UNIQUE,
    location_id     text        NOT NULL REFERENCES inventory_locations (id),
    sku             text        NOT NULL REFERENCES products (sku),
    on_hand_delta   integer     NOT NULL,
    reason          text        NOT NULL,
    reference_id    text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Orders -------------------------------------------------------------------------------------------------

CREATE TABLE orders (
    id               text          PRIMARY KEY,
    customer_id      text          NOT NULL REFERENCES customers (id),
    status           text          NOT NULL DEFAULT 'pending' CHECK (status IN (
                         'pending', 'reserved', 'authorized', 'awaiting_approval', 'approved', 'captured',
                         'shipped', 'delivered', 'completed', 'cancelled', 'rejected', 'failed')),
    currency         char(3)       NOT NULL,
    subtotal         numeric(19,4) NOT NULL CHECK (subtotal >= 0),
    shipping_total   numeric(19,4) NOT NULL DEFAULT 0 CHECK (shipping_total >= 0),
    tax_total        numeric(19,4) NOT NULL DEFAULT 0 CHECK (tax_total >= 0),
    total            numeric(19,4) NOT NULL CHECK (total >= 0),
    shipping_address jsonb         NOT NULL,
    billing_address  jsonb,
    placed_at        timestamptz   NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    updated_at       timestamptz   NOT NULL DEFAULT now()
);

CREATE INDEX orders_customer ON orders (customer_id, placed_at DESC);

CREATE TABLE order_items (
    order_id   text          NOT NULL REFERENCES orders (id),
    line_no    integer       NOT NULL CHECK (line_no > 0),
    sku        text          NOT NULL REFERENCES products (sku),
    quantity   integer       NOT NULL CHECK (quantity > 0),
    unit_price numeric(19,4) NOT NULL CHECK (unit_price >= 0),
    line_total numeric(19,4) NOT NULL CHECK (line_total >= 0),
    PRIMARY KEY (order_id, line_no),
    UNIQUE (order_id, sku)
);

-- Payments -----------------------------------------------------------------------------------------------

-- One row per authorisation. task_token is the Temporal task token of the activity that waits for the
-- provider's settlement callback; the gateway completes that activity with it.
CREATE TABLE payments (
    id                  text          PRIMARY KEY,
    order_id            text          NOT NULL,
    customer_id         text,
    idempotency_key     text          NOT NULL UNIQUE,
    provider            text          NOT NULL,
    provider_payment_id text          UNIQUE,
    status              text          NOT NULL DEFAULT 'pending' CHECK (status IN (
                            'pending', 'authorized', 'declined', 'failed', 'captured', 'voided',
                            'partially_refunded', 'refunded')),
    amount              numeric(19,4) NOT NULL CHECK (amount > 0),
    currency            char(3)       NOT NULL,
    captured_amount     numeric(19,4) NOT NULL DEFAULT 0 CHECK (captured_amount >= 0),
    refunded_amount     numeric(19,4) NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0),
    payment_method      text,
    task_token          bytea,
    failure_code        text,
    failure_message     text,
    authorized_at       timestamptz,
    captured_at         timestamptz,
    voided_at           timestamptz,
    created_at          timestamptz   NOT NULL DEFAULT now(),
    updated_at          timestamptz   NOT NULL DEFAULT now(),
    CHECK (captured_amount <= amount),
    CHECK (refunded_amount <= captured_amount)
);

CREATE INDEX payments_order ON payments (order_id);

CREATE TABLE refunds (
    id                 text          PRIMARY KEY,
    payment_id         text          NOT NULL REFERENCES payments (id),
    order_id           text          NOT NULL,
    return_id          text,
    idempotency_key    text          NOT NULL UNIQUE,
    provider_refund_id text          UNIQUE,
    status             text          NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    amount             numeric(19,4) NOT NULL CHECK (amount > 0),
    currency           char(3)       NOT NULL,
    reason             text,
    task_token         bytea,
    failure_message    text,
    requested_at       timestamptz   NOT NULL DEFAULT now(),
    settled_at         timestamptz,
    updated_at         timestamptz   NOT NULL DEFAULT now()
);

CREATE INDEX refunds_payment ON refunds (payment_id);

-- Double-entry-style money movements booked after a provider confirms them (captures, refunds, fees).
CREATE TABLE ledger_entries (
    id              bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key text          NOT NULL UNIQUE,
    order_id        text          NOT NULL,
    payment_id      text,
    refund_id       text,
    kind            text          NOT NULL CHECK (kind IN ('capture', 'refund', 'restocking_fee')),
    amount          numeric(19,4) NOT NULL,
    currency        char(3)       NOT NULL,
    created_at      timestamptz   NOT NULL DEFAULT now()
);

-- Provider callbacks already handled, so a duplicated webhook is acknowledged without acting twice.
CREATE TABLE provider_webhook_events (
    provider    text        NOT NULL,
    event_id    text        NOT NULL,
    event_type  text        NOT NULL,
    payload     jsonb       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);

-- Risk -----------------------------------------------------------------------------------------------------

CREATE TABLE risk_assessments (
    order_id          text        PRIMARY KEY,
    score             integer     NOT NULL CHECK (score BETWEEN 0 AND 100),
    requires_approval boolean     NOT NULL,
    reasons           jsonb       NOT NULL DEFAULT '[]'::jsonb,
    assessed_at       timestamptz NOT NULL DEFAULT now()
);

-- Shipping -------------------------------------------------------------------------------------------------

CREATE TABLE shipments (
    id              text        PRIMARY KEY,
    order_id        text        NOT NULL,
    return_id       text,
    direction       text        NOT NULL DEFAULT 'outbound' CHECK (direction IN ('outbound', 'return')),
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN (
                        'pending', 'label_purchased', 'printed', 'shipped', 'in_transit', 'delivered',
                        'exception', 'voided', 'cancelled')),
    from_location_id text       REFERENCES inventory_locations (id),
    ship_from       jsonb       NOT NULL,
    ship_to         jsonb       NOT NULL,
    carrier         text,
    service         text,
    tracking_number text,
    weight_grams    integer     CHECK (weight_grams > 0),
    length_mm       integer,
    width_mm        integer,
    height_mm       integer,
    shipped_at      timestamptz,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX shipments_order ON shipments (order_id);
CREATE INDEX shipments_tracking ON shipments (carrier, tracking_number);

CREATE TABLE shipment_items (
    shipment_id text    NOT NULL REFERENCES shipments (id),
    sku         text    NOT NULL REFERENCES products (sku),
    quantity    integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (shipment_id, sku)
);

-- A purchased carrier label. The artwork is kept inline (ZPL text, PDF bytes) or as paths when stored on disk.
CREATE TABLE labels (
    id               text          PRIMARY KEY,
    shipment_id      text          NOT NULL REFERENCES shipments (id),
    idempotency_key  text          NOT NULL UNIQUE,
    carrier          text          NOT NULL,
    service          text          NOT NULL,
    tracking_number  text          NOT NULL,
    carrier_label_id text,
    cost             numeric(19,4) NOT NULL CHECK (cost >= 0),
    currency         char(3)       NOT NULL,
    zpl              text,
    pdf              bytea,
    zpl_path         text,
    pdf_path         text,
    voided           boolean       NOT NULL DEFAULT false,
    voided_at        timestamptz,
    created_at       timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (carrier, tracking_number)
);

CREATE INDEX labels_shipment ON labels (shipment_id);

CREATE TABLE print_stations (
    id           text        PRIMARY KEY,
    name         text        NOT NULL,
    location_id  text        REFERENCES inventory_locations (id),
    format       text        NOT NULL DEFAULT 'zpl' CHECK (format IN ('zpl', 'pdf')),
    endpoint     text,
    active       boolean     NOT NULL DEFAULT true,
    last_seen_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE print_jobs (
    id              text        PRIMARY KEY,
    label_id        text        NOT NULL REFERENCES labels (id),
    station_id      text        NOT NULL REFERENCES print_stations (id),
    idempotency_key text        NOT NULL UNIQUE,
    format          text        NOT NULL CHECK (format IN ('zpl', 'pdf')),
    status          text        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'printed', 'failed', 'cancelled')),
    attempts        integer     NOT NULL DEFAULT 0,
    task_token      bytea,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    acknowledged_at timestamptz
);

CREATE INDEX print_jobs_station_queue ON print_jobs (station_id, created_at) WHERE status IN ('queued', 'sent');

CREATE TABLE carrier_tracking_events (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    carrier           text        NOT NULL,
    provider_event_id text        NOT NULL,
    tracking_number   text        NOT NULL,
    shipment_id       text        REFERENCES shipments (id),
    status            text        NOT NULL,
    description       text,
    location          text,
    occurred_at       timestamptz NOT NULL,
    received_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (carrier, provider_event_id)
);

CREATE INDEX carrier_tracking_events_tracking ON carrier_tracking_events (carrier, tracking_number, occurred_at);

-- Returns ------------------------------------------------------------------------------------------------

-- RMA numbers are short and human-friendly (RMA-100001); the return id stays the workflow's business key.
CREATE SEQUENCE rma_numbers START 100001;

CREATE TABLE returns (
    id              text          PRIMARY KEY,
    rma_number      text          NOT NULL UNIQUE,
    order_id        text          NOT NULL REFERENCES orders (id),
    customer_id     text          NOT NULL REFERENCES customers (id),
    status          text          NOT NULL DEFAULT 'requested' CHECK (status IN (
                        'requested', 'approved', 'rejected', 'label_issued', 'received', 'inspected',
                        'refunded', 'closed', 'expired', 'cancelled')),
    reason          text,
    currency        char(3)       NOT NULL,
    item_total      numeric(19,4) NOT NULL DEFAULT 0 CHECK (item_total >= 0),
    restocking_fee  numeric(19,4) NOT NULL DEFAULT 0 CHECK (restocking_fee >= 0),
    refund_amount   numeric(19,4) NOT NULL DEFAULT 0 CHECK (refund_amount >= 0),
    requested_at    timestamptz   NOT NULL DEFAULT now(),
    approved_at     timestamptz,
    received_at     timestamptz,
    closed_at       timestamptz,
    updated_at      timestamptz   NOT NULL DEFAULT now()
);

CREATE INDEX returns_order ON returns (order_id);

CREATE TABLE return_items (
    return_id  text          NOT NULL REFERENCES returns (id),
    sku        text          NOT NULL REFERENCES products (sku),
    quantity   integer       NOT NULL CHECK (quantity > 0),
    unit_price numeric(19,4) NOT NULL CHECK (unit_price >= 0),
    reason     text,
    condition  text          CHECK (condition IN ('new', 'opened', 'damaged')),
    restocked  boolean       NOT NULL DEFAULT false,
    PRIMARY KEY (return_id, sku)
);

-- Approvals ----------------------------------------------------------------------------------------------

-- A request for a human decision and, once made, the decision: who, when, what and why.
CREATE TABLE approvals (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workflow_id      text        NOT NULL,
    subject_type     text        NOT NULL CHECK (subject_type IN ('order', 'refund', 'return')),
    subject_id       text        NOT NULL,
    requested_reason text        NOT NULL,
    requested_at     timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz,
    decision         text        CHECK (decision IN ('approved', 'rejected', 'expired')),
    decided_by       text,
    decided_at       timestamptz,
    decision_reason  text,
    UNIQUE (workflow_id, subject_type, subject_id)
);

CREATE INDEX approvals_pending ON approvals (requested_at) WHERE decision IS NULL;

-- Read models --------------------------------------------------------------------------------------------

-- One row per workflow run, written by the workflow itself (through an activity), so lists and searches
-- come from SQL instead of Temporal visibility.
CREATE TABLE workflow_runs (
    workflow_id   text          PRIMARY KEY,
    workflow_type text          NOT NULL,
    business_id   text          NOT NULL,
    customer_id   text,
    status        text          NOT NULL,
    stage         text          NOT NULL,
    amount        numeric(19,4),
    currency      char(3),
    -- Bumped on every write so an out-of-order (older) update from a retried activity cannot overwrite a newer one.
    version       bigint        NOT NULL DEFAULT 0,
    started_at    timestamptz   NOT NULL,
    updated_at    timestamptz   NOT NULL,
    closed_at     timestamptz,
    details       jsonb         NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX workflow_runs_type_status ON workflow_runs (workflow_type, status, updated_at DESC);
CREATE INDEX workflow_runs_customer ON workflow_runs (customer_id, started_at DESC);
CREATE INDEX workflow_runs_business ON workflow_runs (business_id);

-- Notifications ------------------------------------------------------------------------------------------

-- Email-shaped customer notifications; delivery is the outbox's job (no SMTP in this product).
CREATE TABLE notifications (
    id              uuid        PRIMARY KEY,
    idempotency_key text        NOT NULL UNIQUE,
    customer_id     text,
    channel         text        NOT NULL DEFAULT 'email',
    recipient       text        NOT NULL,
    template        text        NOT NULL,
    subject         text        NOT NULL,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Outbox delivery to webhook subscribers -----------------------------------------------------------------

-- A monotonically increasing position lets stream readers (SSE Last-Event-ID) resume after a given event.
ALTER TABLE outbox_events ADD COLUMN position bigint GENERATED ALWAYS AS IDENTITY UNIQUE;

CREATE TABLE webhook_subscriptions (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    url         text        NOT NULL,
    secret      text        NOT NULL,
    -- Empty means every event type.
    event_types text[]      NOT NULL DEFAULT '{}',
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per (event, subscriber): the dispatcher's work queue and its current state.
CREATE TABLE webhook_deliveries (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid        NOT NULL REFERENCES outbox_events (id),
    subscription_id uuid        NOT NULL REFERENCES webhook_subscriptions (id),
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    delivered_at    timestamptz,
    last_error      text,
    UNIQUE (event_id, subscription_id)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

-- Every HTTP attempt, kept for operators to see why a subscriber is not receiving events.
CREATE TABLE webhook_delivery_attempts (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id  bigint      NOT NULL REFERENCES webhook_deliveries (id),
    attempt      integer     NOT NULL,
    attempted_at timestamptz NOT NULL,
    status_code  integer,
    error        text,
    duration_ms  integer     NOT NULL,
    UNIQUE (delivery_id, attempt)
);

-- Fan each new event out to the subscriptions that want it, in the event's own transaction, so no event
-- is ever missed by a dispatcher and none needs a cursor.
CREATE FUNCTION enqueue_webhook_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (event_id, subscription_id, next_attempt_at)
    SELECT NEW.id, s.id, NEW.occurred_at
    FROM webhook_subscriptions s
    WHERE s.active AND (cardinality(s.event_types) = 0 OR NEW.event_type = ANY (s.event_types))
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END;
$$;

CREATE TRIGGER outbox_events_enqueue_webhooks AFTER INSERT ON outbox_events
    FOR EACH ROW EXECUTE FUNCTION enqueue_webhook_deliveries();

-- Reads come from SQL: each run writes its whole status view (the answer of its Status query) with every
-- read-model write, so GET /{resource}/{id} never needs the workflow, live or closed. run_id is the Temporal run
-- that wrote it (the Temporal UI link); version already orders the writes.
ALTER TABLE workflow_runs ADD COLUMN view jsonb;
ALTER TABLE workflow_runs ADD COLUMN run_id text;

-- Lists per resource, newest first, keyset-paged on (started_at, workflow_id), optionally by status or customer.
CREATE INDEX workflow_runs_type_started ON workflow_runs (workflow_type, started_at DESC, workflow_id DESC);
CREATE INDEX workflow_runs_type_status_started ON workflow_runs (workflow_type, status, started_at DESC, workflow_id DESC);
CREATE INDEX workflow_runs_type_customer_started ON workflow_runs (workflow_type, customer_id, started_at DESC, workflow_id DESC);
-- Search by tracking number (orders, labels, returns record it among their details).
CREATE INDEX workflow_runs_tracking ON workflow_runs ((details ->> 'trackingNumber')) WHERE details ? 'trackingNumber';

-- Stock below this many available units at a location wants reordering; 0 means no reorder point is set.
ALTER TABLE inventory_balances ADD COLUMN reorder_point integer NOT NULL DEFAULT 0 CHECK (reorder_point >= 0);

-- Lists search by the customer's email, as people type it (any case).
CREATE INDEX customers_email_lower ON customers (lower(email));

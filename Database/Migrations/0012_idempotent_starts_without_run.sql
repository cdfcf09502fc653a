-- A retry learns the run id from Temporal itself (the start is use-existing), so the gateway no longer writes
-- it here: one statement per claim instead of two.
ALTER TABLE idempotent_starts DROP COLUMN run_id;

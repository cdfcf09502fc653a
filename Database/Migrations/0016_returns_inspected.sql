-- When and by whom a return was inspected. Set once, by the inspection that re-priced it: a retry of that step
-- (its first attempt committed but the worker never reported it) finds the mark and writes nothing again, so the
-- return.inspected event exists once.
ALTER TABLE returns ADD COLUMN inspected_at timestamptz, ADD COLUMN inspected_by text;

-- A shipment whose label run failed (or was cancelled) is closed as such, with the reason, instead of staying
-- 'pending' forever.
ALTER TABLE shipments DROP CONSTRAINT shipments_status_check;
ALTER TABLE shipments ADD CONSTRAINT shipments_status_check CHECK (status IN (
    'pending', 'label_purchased', 'printed', 'shipped', 'in_transit', 'delivered',
    'exception', 'voided', 'cancelled', 'failed'));
ALTER TABLE shipments ADD COLUMN failure_reason text;

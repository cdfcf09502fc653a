-- Domain events written in the same transaction as the state change they describe (transactional outbox).
-- Inserting a row notifies 'outbox' listeners, which feed the gateway's Server-Sent-Events streams.
CREATE TABLE outbox_events (
    id             uuid        PRIMARY KEY,
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    event_type     text        NOT NULL,
    payload        jsonb       NOT NULL,
    occurred_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX outbox_events_aggregate ON outbox_events (aggregate_type, aggregate_id, occurred_at);

CREATE FUNCTION notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', json_build_object(
        'id', NEW.id, 'aggregateType', NEW.aggregate_type, 'aggregateId', NEW.aggregate_id,
        'eventType', NEW.event_type)::text);
    RETURN NEW;
END;
$$;

CREATE TRIGGER outbox_events_notify AFTER INSERT ON outbox_events
    FOR EACH ROW EXECUTE FUNCTION notify_outbox();

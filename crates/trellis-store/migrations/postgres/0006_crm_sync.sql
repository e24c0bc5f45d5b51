-- CRM sync: one row per registration saying whether the CRM has heard of
-- its latest state. A trigger on the event log keeps it current, inside the
-- transaction of the change (an outbox with no extra round trip): each event
-- on a registration bumps `version` and makes the row pending. A dispatcher
-- claims pending rows in batches, sends each registration's state as it is
-- then (so the CRM only ever sees newer states of a record), and marks the
-- version it sent; a change that raced the send leaves the row pending.

CREATE TABLE crm_sync (
    registration_id BIGINT PRIMARY KEY REFERENCES registrations(id),
    -- Changes seen; the dispatcher sends the state as of its claim.
    version        BIGINT NOT NULL,
    synced_version BIGINT NOT NULL DEFAULT 0,
    -- The latest event that made the row pending: what a dead letter is
    -- retried by.
    event_id       BIGINT NOT NULL,
    -- pending, synced, or failed (a dead letter staff can retry).
    state          TEXT NOT NULL,
    -- The CRM's own id for the record, once known.
    record_id      TEXT,
    last_error     TEXT,
    attempts       BIGINT NOT NULL DEFAULT 0,
    next_at        BIGINT NOT NULL,
    -- A dispatching process's claim, so no two send the same row.
    claimed_until  BIGINT,
    -- When the change now pending happened: sync lag is measured from it.
    changed_at     BIGINT NOT NULL,
    synced_at      BIGINT
);
CREATE INDEX crm_sync_due ON crm_sync(next_at) WHERE state = 'pending';
CREATE INDEX crm_sync_failed ON crm_sync(state) WHERE state = 'failed';
CREATE UNIQUE INDEX crm_sync_record ON crm_sync(record_id);

-- Reminders and breaches change nothing the CRM shows, so they are left out.
CREATE FUNCTION crm_sync_on_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO crm_sync (registration_id, version, event_id, state, next_at, changed_at)
    VALUES (NEW.registration_id, 1, NEW.id, 'pending', NEW.at, NEW.at)
    ON CONFLICT (registration_id) DO UPDATE SET
        version = crm_sync.version + 1,
        event_id = excluded.event_id,
        -- A row already pending keeps its schedule (and any backoff); a
        -- synced or failed one is due at once, with fresh attempts.
        next_at = CASE WHEN crm_sync.state = 'pending' THEN crm_sync.next_at ELSE excluded.next_at END,
        attempts = CASE WHEN crm_sync.state = 'pending' THEN crm_sync.attempts ELSE 0 END,
        changed_at = CASE WHEN crm_sync.state = 'pending' THEN crm_sync.changed_at ELSE excluded.changed_at END,
        state = 'pending';
    RETURN NULL;
END
$$;
CREATE TRIGGER crm_sync_on_event AFTER INSERT ON events FOR EACH ROW
WHEN (NEW.registration_id IS NOT NULL
  AND NEW.kind NOT IN ('response_sla_breached', 'meeting_reminded'))
EXECUTE FUNCTION crm_sync_on_event();

-- Where reading changes back from the CRM resumes (`changes` cursors), by
-- name, so a restart neither misses nor repeats a page.
CREATE TABLE sync_cursors (
    name       TEXT PRIMARY KEY,
    cursor     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Signed webhook deliveries already acted on, so a captured request sent
-- again inside its signature's freshness window is refused. Kept a little
-- longer than any window, then pruned.
CREATE TABLE webhook_deliveries (
    key         TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_age ON webhook_deliveries(received_at);

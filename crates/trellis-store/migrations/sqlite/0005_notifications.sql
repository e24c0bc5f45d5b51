-- Outgoing notifications, written in the same transaction as the change
-- they tell of (an outbox) and delivered afterwards, at least once, with
-- retries; a message that keeps failing is kept as a dead letter for staff.

CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,
    -- The Message-ID a reply answers, so mail clients thread it.
    in_reply_to  TEXT,
    -- pending, sent or dead.
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    -- A delivering process's claim, so no two send the same message.
    claimed_until INTEGER,
    last_error   TEXT,
    registration_id INTEGER,
    created_at   INTEGER NOT NULL,
    sent_at      INTEGER
);
CREATE INDEX notifications_due ON notifications(next_at) WHERE status = 'pending';

-- Periodic work done once per period (a partner's weekly summary, a
-- quarter's review reminder), keyed by what and when: inserting the key is
-- claiming the work, in the transaction that queues its messages.
CREATE TABLE timers_done (
    key     TEXT PRIMARY KEY,
    done_at INTEGER NOT NULL
);

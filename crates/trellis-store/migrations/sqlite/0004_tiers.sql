-- Partner tiers: the measurements criteria read, quarterly reviews with
-- their proposals, appeals, and tiers held by hand. Metric values are exact
-- decimals stored as ten-thousandths (INTEGER); dates without a time of day
-- are ISO 8601 text.

CREATE TABLE metrics (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    partner_id  INTEGER NOT NULL REFERENCES partners(id),
    metric      TEXT NOT NULL,
    value       INTEGER NOT NULL,
    occurred_at INTEGER NOT NULL,
    -- What the sender calls this measurement: a repeat is the same row.
    source_id   TEXT NOT NULL UNIQUE,
    evidence    TEXT,
    -- What count_distinct_active counts (a certified person, a case study).
    item        TEXT,
    expires_on  TEXT,
    recorded_at INTEGER NOT NULL
);
-- Covering, in the order a scorecard and a review group by: both read
-- every aggregate from the index alone, without touching the table.
CREATE INDEX metrics_partner ON metrics(partner_id, metric, occurred_at, value, item, expires_on);

-- Where a partner stands between reviews.
ALTER TABLE partners ADD COLUMN tier_since INTEGER;
-- The quarter whose review granted grace; NULL when not in grace.
ALTER TABLE partners ADD COLUMN grace_quarter TEXT;
-- Overall progress to the next tier in thousandths, when last computed, so
-- a nudge is recorded once, when progress crosses the threshold.
ALTER TABLE partners ADD COLUMN progress_permille INTEGER NOT NULL DEFAULT 0;

CREATE TABLE reviews (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    quarter      TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    published_at INTEGER
);
-- One published review per quarter.
CREATE UNIQUE INDEX reviews_published ON reviews(quarter) WHERE status = 'published';

CREATE TABLE review_proposals (
    review_id     INTEGER NOT NULL REFERENCES reviews(id),
    partner_id    INTEGER NOT NULL REFERENCES partners(id),
    current_tier  TEXT NOT NULL,
    proposed_tier TEXT NOT NULL,
    action        TEXT NOT NULL,
    reasons       TEXT NOT NULL,
    recovery_plan TEXT NOT NULL,
    -- Set when staff changed the proposal, with why.
    adjusted_reason TEXT,
    PRIMARY KEY (review_id, partner_id)
);

CREATE TABLE appeals (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    review_id     INTEGER NOT NULL REFERENCES reviews(id),
    partner_id    INTEGER NOT NULL REFERENCES partners(id),
    message       TEXT NOT NULL,
    evidence_urls TEXT NOT NULL,
    status        TEXT NOT NULL,
    reason        TEXT,
    created_at    INTEGER NOT NULL,
    decided_at    INTEGER,
    UNIQUE (review_id, partner_id)
);

CREATE TABLE tier_exceptions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    partner_id    INTEGER NOT NULL REFERENCES partners(id),
    tier          TEXT NOT NULL,
    previous_tier TEXT NOT NULL,
    reason        TEXT NOT NULL,
    ends_on       TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    -- When it stopped applying (lapsed or replaced); NULL while it holds.
    ended_at      INTEGER
);
CREATE INDEX tier_exceptions_open ON tier_exceptions(ends_on) WHERE ended_at IS NULL;
CREATE INDEX events_partner ON events(partner_id, id) WHERE partner_id IS NOT NULL;

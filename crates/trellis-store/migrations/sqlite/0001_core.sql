-- Trellis core schema (SQLite). Timestamps are UTC microseconds since the
-- Unix epoch (INTEGER); lists are JSON arrays (TEXT); money is integer minor
-- units beside an ISO 4217 code. The PostgreSQL schema has the same shape.

CREATE TABLE partners (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    tier          TEXT NOT NULL,
    email_domains TEXT NOT NULL DEFAULT '[]',
    regions       TEXT NOT NULL DEFAULT '[]',
    segments      TEXT NOT NULL DEFAULT '[]',
    created_at    INTEGER NOT NULL
);

CREATE TABLE partner_users (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    partner_id INTEGER NOT NULL REFERENCES partners(id),
    name       TEXT NOT NULL,
    email      TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE INDEX partner_users_partner ON partner_users(partner_id);

-- Bearer tokens, stored as SHA-256 of the secret: tokens are random and
-- long, so a slow password hash would add nothing but latency.
CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL,
    partner_id INTEGER REFERENCES partners(id),
    label      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    -- The key reversed, so a prefix scan finds names with a typo up front.
    name_rkey  TEXT NOT NULL,
    domain     TEXT UNIQUE,
    source     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX accounts_name_key ON accounts(name_key);
CREATE INDEX accounts_name_rkey ON accounts(name_rkey);

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, email)
);

CREATE TABLE conflicts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    policy      TEXT NOT NULL,
    status      TEXT NOT NULL,
    winner_id   INTEGER,
    reason      TEXT,
    opened_at   INTEGER NOT NULL,
    resolved_at INTEGER
);
CREATE INDEX conflicts_status ON conflicts(status, id);

CREATE TABLE registrations (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    partner_id       INTEGER NOT NULL REFERENCES partners(id),
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    contact_id       INTEGER NOT NULL REFERENCES contacts(id),
    conflict_id      INTEGER REFERENCES conflicts(id),
    kind             TEXT NOT NULL,
    channel          TEXT NOT NULL,
    status           TEXT NOT NULL,
    status_reason    TEXT,
    company_name     TEXT NOT NULL,
    company_domain   TEXT,
    contact_name     TEXT NOT NULL,
    contact_email    TEXT NOT NULL,
    use_case         TEXT,
    segment          TEXT,
    region           TEXT,
    product          TEXT,
    deal_stage       TEXT,
    deal_amount      INTEGER,
    deal_currency    TEXT,
    deal_close_date  TEXT,
    deal_next_step   TEXT,
    won_amount       INTEGER,
    won_currency     TEXT,
    submitted_at     INTEGER NOT NULL,
    approved_at      INTEGER,
    hold_until       INTEGER,
    meeting_due      INTEGER,
    first_meeting_at INTEGER,
    closed_at        INTEGER,
    -- When the expiry sweep must look at this row again (NULL: never).
    expires_at       INTEGER,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX registrations_account ON registrations(account_id, status);
CREATE INDEX registrations_partner ON registrations(partner_id, id);
CREATE INDEX registrations_status ON registrations(status, id);
CREATE INDEX registrations_expiry ON registrations(expires_at) WHERE expires_at IS NOT NULL;

-- The append-only event log: who, when, what changed and why.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              INTEGER NOT NULL,
    actor           TEXT NOT NULL,
    kind            TEXT NOT NULL,
    registration_id INTEGER,
    partner_id      INTEGER,
    account_id      INTEGER,
    conflict_id     INTEGER,
    why             TEXT NOT NULL,
    data            TEXT NOT NULL
);
CREATE INDEX events_registration ON events(registration_id, id) WHERE registration_id IS NOT NULL;
CREATE INDEX events_conflict ON events(conflict_id, id) WHERE conflict_id IS NOT NULL;

-- Idempotency-Key replay store, per principal (IETF draft "The
-- Idempotency-Key HTTP Header Field").
CREATE TABLE idempotency_keys (
    principal    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    -- The registration the request created, written in its transaction.
    registration_id INTEGER NOT NULL,
    -- The answer, filled in once sent (NULL if the process died first).
    status       INTEGER,
    body         TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (principal, key)
);

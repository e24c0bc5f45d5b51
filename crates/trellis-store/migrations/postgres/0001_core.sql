-- Trellis core schema (PostgreSQL). Timestamps are UTC microseconds since the
-- Unix epoch (BIGINT); lists are JSON arrays (TEXT); money is integer minor
-- units beside an ISO 4217 code. The SQLite schema has the same shape.

CREATE TABLE partners (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    tier          TEXT NOT NULL,
    email_domains TEXT NOT NULL DEFAULT '[]',
    regions       TEXT NOT NULL DEFAULT '[]',
    segments      TEXT NOT NULL DEFAULT '[]',
    created_at    BIGINT NOT NULL
);

CREATE TABLE partner_users (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id BIGINT NOT NULL REFERENCES partners(id),
    name       TEXT NOT NULL,
    email      TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX partner_users_partner ON partner_users(partner_id);

-- Bearer tokens, stored as SHA-256 of the secret: tokens are random and
-- long, so a slow password hash would add nothing but latency.
CREATE TABLE api_tokens (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL,
    partner_id BIGINT REFERENCES partners(id),
    label      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE accounts (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL,
    -- Byte order ("C"), so prefix range scans use the index.
    name_key   TEXT COLLATE "C" NOT NULL,
    -- The key reversed, so a prefix scan finds names with a typo up front.
    name_rkey  TEXT COLLATE "C" NOT NULL,
    domain     TEXT UNIQUE,
    source     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX accounts_name_key ON accounts(name_key);
CREATE INDEX accounts_name_rkey ON accounts(name_rkey);

CREATE TABLE contacts (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, email)
);

CREATE TABLE conflicts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    policy      TEXT NOT NULL,
    status      TEXT NOT NULL,
    winner_id   BIGINT,
    reason      TEXT,
    opened_at   BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX conflicts_status ON conflicts(status, id);

CREATE TABLE registrations (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id       BIGINT NOT NULL REFERENCES partners(id),
    account_id       BIGINT NOT NULL REFERENCES accounts(id),
    contact_id       BIGINT NOT NULL REFERENCES contacts(id),
    conflict_id      BIGINT REFERENCES conflicts(id),
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
    deal_amount      BIGINT,
    deal_currency    TEXT,
    deal_close_date  TEXT,
    deal_next_step   TEXT,
    won_amount       BIGINT,
    won_currency     TEXT,
    submitted_at     BIGINT NOT NULL,
    approved_at      BIGINT,
    hold_until       BIGINT,
    meeting_due      BIGINT,
    first_meeting_at BIGINT,
    closed_at        BIGINT,
    -- When the expiry sweep must look at this row again (NULL: never).
    expires_at       BIGINT,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX registrations_account ON registrations(account_id, status);
CREATE INDEX registrations_partner ON registrations(partner_id, id);
CREATE INDEX registrations_status ON registrations(status, id);
CREATE INDEX registrations_expiry ON registrations(expires_at) WHERE expires_at IS NOT NULL;

-- The append-only event log: who, when, what changed and why.
CREATE TABLE events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              BIGINT NOT NULL,
    actor           TEXT NOT NULL,
    kind            TEXT NOT NULL,
    registration_id BIGINT,
    partner_id      BIGINT,
    account_id      BIGINT,
    conflict_id     BIGINT,
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
    registration_id BIGINT NOT NULL,
    -- The answer, filled in once sent (NULL if the process died first).
    status       BIGINT,
    body         TEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (principal, key)
);

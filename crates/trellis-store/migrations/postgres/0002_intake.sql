-- No-login intake: which partner a sender speaks for, password-free status
-- links, Slack users linked to partner users, and a log of every message a
-- channel received and what became of it. Secrets are stored as SHA-256.

CREATE TABLE partner_domains (
    domain     TEXT PRIMARY KEY,
    partner_id BIGINT NOT NULL REFERENCES partners(id)
);

CREATE TABLE status_links (
    token_hash      TEXT PRIMARY KEY,
    registration_id BIGINT NOT NULL REFERENCES registrations(id),
    email           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);

CREATE TABLE slack_link_codes (
    code_hash       TEXT PRIMARY KEY,
    partner_user_id BIGINT NOT NULL REFERENCES partner_users(id),
    expires_at      BIGINT NOT NULL
);

CREATE TABLE slack_users (
    team_id         TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    partner_user_id BIGINT NOT NULL REFERENCES partner_users(id),
    linked_at       BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE intake_log (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel         TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    sender          TEXT NOT NULL,
    -- registered | incomplete | refused | duplicate | invalid
    outcome         TEXT NOT NULL,
    registration_id BIGINT,
    detail          TEXT NOT NULL
);
CREATE INDEX intake_log_channel ON intake_log(channel, id);

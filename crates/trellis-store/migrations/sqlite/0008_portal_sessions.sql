-- The partner portal signs people in without a password: a link mailed to a
-- partner user, spent on first use, opens a session kept in a cookie. Both
-- secrets are stored only as SHA-256 hashes, so a copy of the database opens
-- nothing; a session ends when it expires or its holder signs out.
CREATE TABLE portal_sign_in_links (
    token_hash      TEXT PRIMARY KEY,
    partner_user_id INTEGER NOT NULL REFERENCES partner_users(id),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);

CREATE TABLE portal_sessions (
    token_hash      TEXT PRIMARY KEY,
    partner_user_id INTEGER NOT NULL REFERENCES partner_users(id),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);

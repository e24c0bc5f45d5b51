-- The staff workspace's people: partner managers and RevOps, each an admin
-- or a manager. A password is optional and stored only as an argon2 PHC
-- string; without one the person signs in by a mailed single-use link.
-- Links and sessions are kept as SHA-256 hashes of their secrets, like the
-- portal's, in tables of their own so a partner's secret never opens the
-- staff workspace.
CREATE TABLE staff_users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'manager')),
    password_hash TEXT,
    created_at    INTEGER NOT NULL
);

CREATE TABLE staff_sign_in_links (
    token_hash    TEXT PRIMARY KEY,
    staff_user_id INTEGER NOT NULL REFERENCES staff_users(id),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);

CREATE TABLE staff_sessions (
    token_hash    TEXT PRIMARY KEY,
    staff_user_id INTEGER NOT NULL REFERENCES staff_users(id),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);

-- Expired links and sessions are swept away by their expiry.
CREATE INDEX staff_sign_in_links_expiry ON staff_sign_in_links(expires_at);
CREATE INDEX staff_sessions_expiry ON staff_sessions(expires_at);
CREATE INDEX portal_sign_in_links_expiry ON portal_sign_in_links(expires_at);
CREATE INDEX portal_sessions_expiry ON portal_sessions(expires_at);

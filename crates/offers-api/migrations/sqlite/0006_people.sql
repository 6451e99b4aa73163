-- Issue 14: people, roles per area, named tokens, token secret rotation, sessions, audit.
-- Times are Unix epoch milliseconds. Secrets are never stored: passwords as argon2id PHC
-- strings, session cookies and invitation tokens as the hex SHA-256 of their value.

-- Accounts (one per e-mail address, across projects). Whether one may act in a project is its
-- membership's `status`, so one project's people managers never lock anyone out of another.
CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    email           TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    created_ms      INTEGER NOT NULL,
    last_sign_in_ms INTEGER
);

-- Custom roles of a project (the built-in owner, editor and viewer are not stored).
-- `grants` is offers_core::access::Grants as JSON.
CREATE TABLE roles (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    grants     TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (project_id, name)
);

-- Who belongs to which project with which role. Exactly one account owner per project
-- (`is_owner`, role `owner`): the partial unique index allows no second one.
CREATE TABLE memberships (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    is_owner   INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE UNIQUE INDEX memberships_one_owner ON memberships (project_id) WHERE is_owner = 1;
CREATE INDEX memberships_by_user ON memberships (user_id);

-- Invitations: the link's token as SHA-256; usable once, until `expires_ms` (72 h).
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    name        TEXT,
    role        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    invited_by  TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL,
    accepted_ms INTEGER
);
CREATE INDEX invitations_by_project ON invitations (project_id, expires_ms);

-- Studio sessions: the cookie's SHA-256; idle and absolute expiry are checked on every call.
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Named bearer tokens: role, optional expiry, revocation, last use (to the minute). The
-- token itself carries its row id and `jti` and is signed (auth.rs); only the row decides.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id   INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    jti          TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER,
    revoked_ms   INTEGER,
    last_used_ms INTEGER,
    UNIQUE (project_id, name)
);

-- Token secrets rotated out (`token rotate-secret`): tokens signed with one verify until
-- `valid_until_ms`.
CREATE TABLE token_secret_history (
    project_id     INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    secret         TEXT NOT NULL,
    retired_ms     INTEGER NOT NULL,
    valid_until_ms INTEGER NOT NULL,
    PRIMARY KEY (project_id, secret)
);

-- The audit log: every change, written in the change's transaction; `changes` is a JSON
-- object {field: {before, after}}. Pruned by retention; no API writes or deletes it.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    at_ms      INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    changes    TEXT NOT NULL
);
CREATE INDEX audit_log_by_project ON audit_log (project_id, id);
CREATE INDEX audit_log_by_time ON audit_log (at_ms);

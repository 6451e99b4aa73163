-- Offers schema, SQLite flavour. Times are Unix epoch milliseconds (INTEGER).

CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- The per-deployment secret every bearer token's MAC key derives from (32 random bytes, hex).
INSERT INTO settings (key, value) VALUES ('token_secret', lower(hex(randomblob(32))));

CREATE TABLE projects (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    api_key    TEXT NOT NULL UNIQUE,
    public_key TEXT NOT NULL UNIQUE,
    secret     TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE offers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id    INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- The validated offer (offers_core::OfferSpec) as JSON.
    spec          TEXT NOT NULL,
    audience_type TEXT NOT NULL,
    start_ms      INTEGER NOT NULL,
    end_ms        INTEGER,
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL
);
CREATE INDEX offers_by_project ON offers (project_id, id);
CREATE INDEX offers_live ON offers (project_id, start_ms, end_ms);

CREATE TABLE offer_rooms (
    offer_id INTEGER NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    room_id  TEXT NOT NULL,
    PRIMARY KEY (offer_id, room_id)
);
CREATE INDEX offer_rooms_by_room ON offer_rooms (room_id);

CREATE TABLE offer_users (
    offer_id INTEGER NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL,
    PRIMARY KEY (offer_id, user_id)
);
CREATE INDEX offer_users_by_user ON offer_users (user_id);

CREATE TABLE known_rooms (
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    PRIMARY KEY (project_id, external_id)
);

CREATE TABLE known_users (
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    PRIMARY KEY (project_id, external_id)
);

CREATE TABLE opt_outs (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id)
);

-- Issue 5: identity verification and CORS settings per project, widget events (figures).

-- The key of the HMAC a host back end computes over a user id (`sig`); `ids_` + 48 hex digits.
ALTER TABLE projects ADD COLUMN identity_secret TEXT NOT NULL DEFAULT '';
UPDATE projects
SET identity_secret = 'ids_' || substr(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 1, 48)
WHERE identity_secret = '';
-- true: a user id without a valid `sig` is treated as anonymous.
ALTER TABLE projects ADD COLUMN require_user_signature BOOLEAN NOT NULL DEFAULT false;
-- JSON array of origins (`https://host[:port]`) allowed to call the widget endpoints; [] = any.
ALTER TABLE projects ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';

-- Impressions, clicks and closes sent by the widget. `event_id` is the client's id: a retried
-- batch inserts nothing twice. No foreign key to offers: events outlive a deleted offer until
-- the retention purge removes them.
CREATE TABLE events (
    project_id  BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    event_id    TEXT NOT NULL,
    offer_id    BIGINT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('impression', 'click', 'close')),
    room_id     TEXT NOT NULL,
    user_id     TEXT,
    at_ms       BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    PRIMARY KEY (project_id, event_id)
);
CREATE INDEX events_by_offer ON events (project_id, offer_id, at_ms);
CREATE INDEX events_by_time ON events (at_ms);
CREATE INDEX offers_by_end ON offers (end_ms);

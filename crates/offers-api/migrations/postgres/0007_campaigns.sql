-- Issue 15: campaigns — the variant of each widget event, the host's tracked events,
-- conversions and their attribution, the project's caps on pop-ups and attribution window.
-- Times are Unix epoch milliseconds.

-- The variant shown (0-based index into the offer's `variants`); NULL for an offer without.
ALTER TABLE events ADD COLUMN variant BIGINT;
-- A user's events, newest first: the feed's `recentPopups` (impressions of the last 7 days)
-- and a conversion's attribution (the last click within the window).
CREATE INDEX events_by_user ON events (project_id, user_id, at_ms) WHERE user_id IS NOT NULL;

-- Caps on pop-ups across offers, per user: 0 is no cap.
ALTER TABLE projects ADD COLUMN cap_session BIGINT NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN cap_day BIGINT NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN cap_week BIGINT NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN min_gap_ms BIGINT NOT NULL DEFAULT 0;
-- Conversions go to the user's last click at most this many hours before.
ALTER TABLE projects ADD COLUMN attribution_window_hours BIGINT NOT NULL DEFAULT 24;

-- Events the host page reported (`Offers.track`), unique per (`project_id`, `event_id`).
-- `props` is the JSON object as sent. Counted as an offer's `triggered` by name.
CREATE TABLE tracked_events (
    project_id  BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    event_id    TEXT NOT NULL,
    name        TEXT NOT NULL,
    props       TEXT NOT NULL DEFAULT '{}',
    room_id     TEXT NOT NULL,
    user_id     TEXT,
    conversion  BOOLEAN NOT NULL DEFAULT false,
    value       DOUBLE PRECISION,
    at_ms       BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    PRIMARY KEY (project_id, event_id)
);
CREATE INDEX tracked_events_by_name ON tracked_events (project_id, name, at_ms);
CREATE INDEX tracked_events_by_time ON tracked_events (at_ms);

-- Conversions (`POST /external/conversion`, or a tracked event flagged `conversion` from an
-- identified user), unique per (`project_id`, `conversion_id`): the client's id makes a retry
-- store nothing. `offer_id` / `variant`: the attributed click's, NULL when none.
CREATE TABLE conversions (
    project_id    BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    conversion_id TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    name          TEXT NOT NULL,
    value         DOUBLE PRECISION,
    at_ms         BIGINT NOT NULL,
    offer_id      BIGINT,
    variant       BIGINT,
    received_ms   BIGINT NOT NULL,
    PRIMARY KEY (project_id, conversion_id)
);
CREATE INDEX conversions_by_offer ON conversions (project_id, offer_id, at_ms);
CREATE INDEX conversions_by_time ON conversions (at_ms);

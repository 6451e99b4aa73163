-- Issue 11: audiences (SPEC §7). User profiles, segments, the offers' segment references and
-- test sends.

-- One profile per project user: the validated offers_core::Profile as JSON. A profile's user
-- is also a known user (`known_users`).
CREATE TABLE profiles (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    profile    TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id)
);

-- The profiles' tags, queryable (`GET /external/user?tag=`).
CREATE TABLE profile_tags (
    project_id INTEGER NOT NULL,
    user_id    TEXT NOT NULL,
    tag        TEXT NOT NULL,
    PRIMARY KEY (project_id, tag, user_id),
    FOREIGN KEY (project_id, user_id) REFERENCES profiles (project_id, user_id) ON DELETE CASCADE
);
CREATE INDEX profile_tags_by_user ON profile_tags (project_id, user_id);

-- A segment: its validated definition (offers_core::SegmentSpec) as JSON. A list segment's
-- user ids live in `segment_members`, not in `spec`.
CREATE TABLE segments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    spec       TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX segments_by_project ON segments (project_id, id);

CREATE TABLE segment_members (
    segment_id INTEGER NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    PRIMARY KEY (segment_id, user_id)
);
CREATE INDEX segment_members_by_user ON segment_members (user_id);

-- Which segments an offer includes (excluded = 0) or excludes (excluded = 1): a segment in use
-- cannot be deleted (409).
CREATE TABLE offer_segments (
    offer_id   INTEGER NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    segment_id INTEGER NOT NULL,
    excluded   INTEGER NOT NULL,
    PRIMARY KEY (offer_id, segment_id, excluded)
);
CREATE INDEX offer_segments_by_segment ON offer_segments (segment_id);

-- An offer's tags (`GET /external/offer?tag=`).
CREATE TABLE offer_tags (
    offer_id INTEGER NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    tag      TEXT NOT NULL,
    PRIMARY KEY (offer_id, tag)
);
CREATE INDEX offer_tags_by_tag ON offer_tags (tag);

-- Test sends (`POST /external/offer/{id}/test`): shown to the user until `until_ms`, ignoring
-- schedule and frequency, never counted.
CREATE TABLE test_sends (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    offer_id   INTEGER NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    until_ms   INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id, offer_id)
);
CREATE INDEX test_sends_by_until ON test_sends (until_ms);

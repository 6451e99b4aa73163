-- The Studio's saved draft: one per project (seed 000: "you can save only one draft at a
-- time"). `draft` is the JSON object as the client sent it, not validated (work in progress);
-- `editing` the offer it edits, if any (no foreign key: the offer may be deleted meanwhile);
-- `etag` changes on every write (If-Match).
CREATE TABLE drafts (
    project_id BIGINT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    draft      TEXT NOT NULL,
    editing    BIGINT,
    etag       TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);

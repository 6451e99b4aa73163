-- Issue 12: personal offers are private by default. A project created from now on requires a
-- signed user id (`sig`) for anything targeted at a user; the INSERT sets it explicitly
-- (`store::NEW_PROJECTS_REQUIRE_USER_SIGNATURE`). Existing projects keep their setting: no row
-- is updated. SQLite cannot change a column's default in place, and rebuilding `projects` would
-- cascade into every table that references it, so the column's default (0) stays and only
-- applies to rows written by hand; this migration records the change for parity with
-- PostgreSQL's 0004.
SELECT 1;

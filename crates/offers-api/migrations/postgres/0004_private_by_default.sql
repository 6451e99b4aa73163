-- Issue 12: personal offers are private by default. A project created from now on requires a
-- signed user id (`sig`) for anything targeted at a user; the INSERT sets it explicitly
-- (`store::NEW_PROJECTS_REQUIRE_USER_SIGNATURE`), and the column default agrees for rows
-- written by hand. Existing projects keep their setting: no row is updated.
ALTER TABLE projects ALTER COLUMN require_user_signature SET DEFAULT true;

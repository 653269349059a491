-- Servers keep validated sessions in memory for a few seconds: whatever ends a session or changes what a
-- session carries (email, username, verification, deactivation) tells every server at commit, on the change
-- events channel, whoever wrote it (a server, a script, an operator). A user's deleted sessions send one
-- payload per transaction (PostgreSQL folds identical notifications).
-- The body is an E'' string whose statement ends are written \073, because the PGlite migration path
-- splits scripts at every semicolon character.
CREATE FUNCTION "prompt_booster_auth_changed"() RETURNS trigger LANGUAGE plpgsql AS
E'BEGIN PERFORM pg_notify(''prompt_booster_changes'', json_build_object(''u'', to_jsonb(OLD) ->> TG_ARGV[0], ''o'', ''db'', ''a'', 1)::text)\073 RETURN NULL\073 END'
;

CREATE TRIGGER "Session_ended" AFTER DELETE ON "Session"
  FOR EACH ROW EXECUTE FUNCTION "prompt_booster_auth_changed"('userId');

CREATE TRIGGER "User_signed_in_state_changed" AFTER UPDATE OF "email", "username", "isActive", "emailVerifiedAt" ON "User"
  FOR EACH ROW WHEN (OLD."email" IS DISTINCT FROM NEW."email" OR OLD."username" IS DISTINCT FROM NEW."username"
    OR OLD."isActive" IS DISTINCT FROM NEW."isActive" OR OLD."emailVerifiedAt" IS DISTINCT FROM NEW."emailVerifiedAt")
  EXECUTE FUNCTION "prompt_booster_auth_changed"('id');

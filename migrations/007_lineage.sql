-- 007_lineage: every token dies with what it rests on (SPEC §4.4, §4.5, §5).
--
-- Revocations gain the kinds a token's lineage can name: a consent, a person,
-- a client, an agent's can_act_for entry and its may_impersonate. The person,
-- client, can_act_for and may_impersonate kinds are standing revocations:
-- created_at is the moment they took effect, and they kill the tokens issued
-- at or before it (the thing revoked may be allowed again later). A second
-- revocation of the same thing moves that moment forward, and every change is
-- announced to every authzd.
ALTER TABLE revocations DROP CONSTRAINT revocations_kind_check;
ALTER TABLE revocations ADD CONSTRAINT revocations_kind_check
    CHECK (kind IN ('jti', 'grant', 'session', 'consent', 'user', 'client', 'act_for', 'impersonate'));

-- payload: "<tenant> <kind> <expires_at> <at> <value>", the value last (it
-- may hold spaces)
CREATE OR REPLACE FUNCTION authz_revoke_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('authz_revoke', NEW.tenant_id::text || ' ' || NEW.kind || ' '
                      || extract(epoch from NEW.expires_at)::bigint::text || ' '
                      || extract(epoch from NEW.created_at)::bigint::text || ' ' || NEW.value);
    RETURN NULL;
END $$;
DROP TRIGGER revocations_notify ON revocations;
CREATE TRIGGER revocations_notify AFTER INSERT OR UPDATE ON revocations
    FOR EACH ROW EXECUTE FUNCTION authz_revoke_notify();

-- A consent has an identity: tokens exchanged under it name it, and
-- withdrawing it revokes that id. Consenting again makes a new one.
ALTER TABLE consents ADD COLUMN id text NOT NULL DEFAULT md5(gen_random_uuid()::text);
CREATE UNIQUE INDEX consents_id ON consents (tenant_id, id);

-- A session exists from the request on (SPEC §4.5): its sid is made with the
-- request, listed while pending, denied or expired, and becomes the id of
-- the session grant when the request is approved.
ALTER TABLE ciba_requests ADD COLUMN sid text;
UPDATE ciba_requests SET sid = coalesce(grant_id, md5(gen_random_uuid()::text));
ALTER TABLE ciba_requests ALTER COLUMN sid SET NOT NULL;
CREATE UNIQUE INDEX ciba_requests_sid ON ciba_requests (tenant_id, sid);

-- live session grants of an agent for a person, newest first (token exchange
-- under a session's right)
CREATE INDEX grants_live_sessions ON grants (tenant_id, user_id, client_id, created_at DESC)
    WHERE kind = 'ciba' AND revoked_at IS NULL;

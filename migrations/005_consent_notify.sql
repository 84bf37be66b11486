-- 005_consent_notify: every authzd keeps consents cached for token exchange;
-- a consent granted, widened or withdrawn anywhere drops them everywhere.
CREATE FUNCTION authz_consent_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('authz_consent', COALESCE(NEW.tenant_id, OLD.tenant_id)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER consents_notify AFTER INSERT OR UPDATE OR DELETE ON consents
    FOR EACH ROW EXECUTE FUNCTION authz_consent_notify();

-- 011_lifecycle: agent lifecycle (SPEC §13). Clients get an owner (a person's
-- sub, optional), a status and last_used_at; people get a status; client
-- secrets become rows so that a rotation can leave the previous secret
-- working until it expires.

ALTER TABLE clients ADD COLUMN owner uuid REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE clients ADD COLUMN status text NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'disabled'));
ALTER TABLE clients ADD COLUMN last_used_at timestamptz;
CREATE INDEX clients_owner ON clients (tenant_id, owner) WHERE owner IS NOT NULL;

ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'disabled'));

-- A client's secrets: the keyed hash of each (never the secret), when it
-- stops working (NULL: never), and when it last authenticated the client.
-- clients.secret_hash stays the newest one, so that every writer of a
-- client's secret keeps working: the trigger below turns each new value into
-- a row, and a client that loses its secret method loses its rows.
CREATE TABLE client_secrets (
    id            text PRIMARY KEY DEFAULT 'cs_' || md5(gen_random_uuid()::text),
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id     text NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    hash          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    UNIQUE (client_id, hash)
);
CREATE INDEX client_secrets_hash ON client_secrets (hash);

INSERT INTO client_secrets (tenant_id, client_id, hash, created_at)
    SELECT tenant_id, client_id, secret_hash, created_at FROM clients
    WHERE secret_hash IS NOT NULL;

CREATE FUNCTION authz_client_secret_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.secret_hash IS NULL THEN
        IF TG_OP = 'UPDATE' AND OLD.secret_hash IS NOT NULL THEN
            DELETE FROM client_secrets WHERE client_id = NEW.client_id;
        END IF;
    ELSIF TG_OP = 'INSERT' OR OLD.secret_hash IS DISTINCT FROM NEW.secret_hash THEN
        INSERT INTO client_secrets (tenant_id, client_id, hash)
            VALUES (NEW.tenant_id, NEW.client_id, NEW.secret_hash)
            ON CONFLICT (client_id, hash) DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER clients_secret_rows AFTER INSERT OR UPDATE OF secret_hash ON clients
    FOR EACH ROW EXECUTE FUNCTION authz_client_secret_rows();

-- last_used_at is written in batches (at most once a minute per client):
-- such an update changes nothing a cache holds, so it announces nothing.
DROP TRIGGER clients_cache ON clients;
CREATE TRIGGER clients_cache AFTER INSERT OR DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION authz_cache_notify();
CREATE TRIGGER clients_cache_update AFTER UPDATE ON clients
    FOR EACH ROW WHEN ((to_jsonb(OLD) - 'last_used_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at'))
    EXECUTE FUNCTION authz_cache_notify();
CREATE TRIGGER client_secrets_cache AFTER INSERT OR DELETE ON client_secrets
    FOR EACH ROW EXECUTE FUNCTION authz_cache_notify();
CREATE TRIGGER client_secrets_cache_update AFTER UPDATE ON client_secrets
    FOR EACH ROW WHEN ((to_jsonb(OLD) - 'last_used_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at'))
    EXECUTE FUNCTION authz_cache_notify();

-- Leak reports revoke root tokens (SPEC §13): a revoked one stays as a row,
-- so that the report can say what it was.
ALTER TABLE root_tokens ADD COLUMN revoked_at timestamptz;

-- The cascades of SPEC §13 find a client's live grants and its consents.
CREATE INDEX grants_client_live ON grants (tenant_id, client_id) WHERE revoked_at IS NULL;
CREATE INDEX consents_client ON consents (tenant_id, client_id);

-- authzctl tenants disable: a disabled tenant is as unknown (every token of
-- it ends, nothing is issued) until it is enabled again.
ALTER TABLE tenants ADD COLUMN status text NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'disabled'));

-- 009_pdp: every tool call a decision (SPEC §12).
--
-- The tool catalog of each protected resource (an MCP server): a tool's
-- scopes, risk and approval. Part of the tenant's cached snapshot, so the
-- table tells every authzd to drop it (authz_cache), like resources.
ALTER TABLE resources ADD COLUMN unknown_tools text NOT NULL DEFAULT 'deny'
    CHECK (unknown_tools IN ('deny', 'allow'));

CREATE TABLE resource_tools (
    tenant_id   uuid NOT NULL,
    resource    text NOT NULL,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    scopes      text[] NOT NULL DEFAULT '{}',
    risk        text NOT NULL DEFAULT 'read' CHECK (risk IN ('read', 'write', 'destructive')),
    approval    text NOT NULL DEFAULT 'none' CHECK (approval IN ('none', 'session')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, resource, name),
    FOREIGN KEY (tenant_id, resource) REFERENCES resources (tenant_id, uri) ON DELETE CASCADE
);
CREATE TRIGGER resource_tools_cache AFTER INSERT OR UPDATE OR DELETE ON resource_tools
    FOR EACH ROW EXECUTE FUNCTION authz_cache_notify();

-- Drift settings of a tenant: off, alert (default) or deny; the window of
-- the baseline; where alerts are posted (signed like the approval webhook).
ALTER TABLE tenants ADD COLUMN drift_mode text NOT NULL DEFAULT 'alert'
    CHECK (drift_mode IN ('off', 'alert', 'deny'));
ALTER TABLE tenants ADD COLUMN drift_window_days integer NOT NULL DEFAULT 14
    CHECK (drift_window_days BETWEEN 1 AND 365);
ALTER TABLE tenants ADD COLUMN drift_webhook_url text
    CHECK (drift_webhook_url IS NULL OR length(drift_webhook_url) BETWEEN 1 AND 2000);

-- Each agent's baseline: the (server, tool) pairs it was allowed, with the
-- first and last use (last_used is kept to within an hour), and when the
-- last drift alert of the pair was raised (one alert per new pair, also
-- with several authzd: the row is the lock). A pair is in the baseline
-- while last_used is inside the tenant's window.
CREATE TABLE agent_baseline (
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id   text NOT NULL,
    server      text NOT NULL,
    tool        text NOT NULL,
    first_used  timestamptz,
    last_used   timestamptz,
    drift_at    timestamptz,
    PRIMARY KEY (tenant_id, client_id, server, tool)
);

-- every authzd keeps the baselines cached: a change anywhere drops the
-- tenant's (payload: the tenant id)
CREATE FUNCTION authz_baseline_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('authz_baseline', COALESCE(NEW.tenant_id, OLD.tenant_id)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER agent_baseline_notify AFTER INSERT OR UPDATE OR DELETE ON agent_baseline
    FOR EACH ROW EXECUTE FUNCTION authz_baseline_notify();

-- drift alerts go through the outbox, signed like the approval webhook
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('webhook', 'ping', 'drift'));

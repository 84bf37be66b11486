-- 001_init: tenants, their signing keys, resources, clients, people, root tokens
-- and the append-only audit trail. Applied by `authzctl migrate` inside one
-- transaction; the version is recorded in schema_migrations.

CREATE TABLE tenants (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug                    text NOT NULL UNIQUE
                            CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    display_name            text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    registration_policy     text NOT NULL DEFAULT 'closed'
                            CHECK (registration_policy IN ('open', 'token', 'closed')),
    access_token_ttl        integer NOT NULL DEFAULT 300
                            CHECK (access_token_ttl BETWEEN 5 AND 86400),
    max_session_ttl         integer NOT NULL DEFAULT 3600
                            CHECK (max_session_ttl BETWEEN 60 AND 2592000),
    approval_webhook_url    text,
    approval_webhook_secret text,
    signing_alg             text NOT NULL DEFAULT 'ES256'
                            CHECK (signing_alg IN ('ES256', 'EdDSA', 'RS256')),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);

-- A tenant's signing keys. The private key is sealed with AES-256-GCM under a
-- key derived from the master key and the tenant id; only the public JWK is
-- stored in the clear. A retired key stays published until publish_until, the
-- moment the last token it signed expires.
CREATE TABLE signing_keys (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kid             text NOT NULL UNIQUE,
    alg             text NOT NULL CHECK (alg IN ('ES256', 'EdDSA', 'RS256')),
    public_jwk      jsonb NOT NULL,
    sealed_private  bytea NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    -- the longest lifetime of any token this key may have signed (grows when
    -- the tenant's access_token_ttl grows while the key is active)
    max_token_ttl   integer NOT NULL DEFAULT 300,
    created_at      timestamptz NOT NULL DEFAULT now(),
    retired_at      timestamptz,
    publish_until   timestamptz
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (tenant_id) WHERE active;

-- Protected resources (RFC 8707 resource indicators, e.g. MCP servers).
CREATE TABLE resources (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    uri         text NOT NULL CHECK (length(uri) BETWEEN 1 AND 2000),
    scopes      text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, uri)
);

-- OAuth clients (agents, MCP clients, resource servers). secret_hash is the
-- keyed hash of a server-generated secret; the secret itself is never stored.
CREATE TABLE clients (
    id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id                   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id                   text NOT NULL UNIQUE,
    secret_hash                 text,
    client_name                 text,
    token_endpoint_auth_method  text NOT NULL
                                CHECK (token_endpoint_auth_method IN
                                  ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
    grant_types                 text[] NOT NULL DEFAULT '{}',
    response_types              text[] NOT NULL DEFAULT '{}',
    redirect_uris               text[] NOT NULL DEFAULT '{}',
    allowed_scopes              text[] NOT NULL DEFAULT '{}',
    allowed_resources           text[] NOT NULL DEFAULT '{}',
    can_act_for                 text[] NOT NULL DEFAULT '{}',
    introspects                 text[] NOT NULL DEFAULT '{}',
    may_impersonate             boolean NOT NULL DEFAULT false,
    jwks                        jsonb,
    jwks_uri                    text,
    metadata                    jsonb NOT NULL DEFAULT '{}',
    dynamic                     boolean NOT NULL DEFAULT false,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX clients_tenant ON clients (tenant_id);

-- People. sub is the id; usernames may change.
CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    username        text NOT NULL CHECK (length(username) BETWEEN 1 AND 200),
    password_hash   text NOT NULL,
    scopes          text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, username)
);

-- Operator root tokens (authzctl root-token), stored as keyed hashes.
CREATE TABLE root_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash  text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The audit trail: append-only. Rows are written in the same commit as the
-- decision they record, before the answer leaves.
CREATE TABLE audit (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid REFERENCES tenants(id) ON DELETE SET NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    event       text NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('success', 'failure')),
    client_id   text,
    subject     text,
    actor_chain text[] NOT NULL DEFAULT '{}',
    session_id  text,
    resources   text[],
    scope       text,
    reason      text,
    request_id  text,
    source      text,
    details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_tenant_at ON audit (tenant_id, at DESC, id DESC);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit rows are append-only';
END $$;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- Cache invalidation: every authzd LISTENs on authz_cache and drops what it
-- holds for the tenant named in the payload.
CREATE FUNCTION authz_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t uuid;
BEGIN
    IF TG_TABLE_NAME = 'tenants' THEN
        t := COALESCE(NEW.id, OLD.id);
        IF TG_OP = 'DELETE' THEN t := OLD.id; END IF;
    ELSIF TG_OP = 'DELETE' THEN
        t := OLD.tenant_id;
    ELSE
        t := NEW.tenant_id;
    END IF;
    PERFORM pg_notify('authz_cache', t::text);
    RETURN NULL;
END $$;
CREATE TRIGGER tenants_cache AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION authz_cache_notify();
CREATE TRIGGER signing_keys_cache AFTER INSERT OR UPDATE OR DELETE ON signing_keys
    FOR EACH ROW EXECUTE FUNCTION authz_cache_notify();
CREATE TRIGGER resources_cache AFTER INSERT OR UPDATE OR DELETE ON resources
    FOR EACH ROW EXECUTE FUNCTION authz_cache_notify();
CREATE TRIGGER clients_cache AFTER INSERT OR UPDATE OR DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION authz_cache_notify();
CREATE TRIGGER users_cache AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION authz_cache_notify();

-- 002_people_and_grants: browser sign-in sessions, consents, grants (token
-- families), authorization codes, refresh tokens, revocations, and the
-- single-use record of client assertion ids.

-- A person's signed-in browser session. id is the keyed hash of the cookie
-- value; the cookie value itself is never stored.
CREATE TABLE browser_sessions (
    id          text PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  text NOT NULL,
    auth_time   timestamptz NOT NULL DEFAULT now(),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX browser_sessions_expiry ON browser_sessions (expires_at);

-- What a person allowed a client: never asked again for a subset.
CREATE TABLE consents (
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id   text NOT NULL,
    scopes      text[] NOT NULL DEFAULT '{}',
    resources   text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, client_id)
);

-- A grant is one authorization and the family of tokens issued under it
-- (code -> access + refresh -> rotated refresh ...). Revoking the grant makes
-- every token of the family inactive. Access tokens name their grant in the
-- jti ("<grant id>.<random>").
CREATE TABLE grants (
    id              text PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id       text NOT NULL,
    user_id         uuid REFERENCES users(id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('authorization_code', 'ciba')),
    scopes          text[] NOT NULL,
    resources       text[] NOT NULL DEFAULT '{}',
    auth_time       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,
    revoked_at      timestamptz,
    revoked_reason  text
);
CREATE INDEX grants_user_client ON grants (tenant_id, user_id, client_id);

-- Authorization codes: single use, short lived, stored as keyed hashes.
CREATE TABLE auth_codes (
    code_hash       text PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    grant_id        text NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
    client_id       text NOT NULL,
    user_id         uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri    text NOT NULL,
    code_challenge  text NOT NULL,
    scopes          text[] NOT NULL,
    resources       text[] NOT NULL DEFAULT '{}',
    auth_time       timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);

-- Refresh tokens: opaque, stored as keyed hashes, rotated on every use.
CREATE TABLE refresh_tokens (
    token_hash  text PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    grant_id    text NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
    client_id   text NOT NULL,
    scopes      text[] NOT NULL,
    resources   text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

-- Revocations every authzd must honour: an access token (jti), a grant (a
-- whole token family) or a session. Kept until what they revoke has expired.
CREATE TABLE revocations (
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('jti', 'grant', 'session')),
    value       text NOT NULL,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, kind, value)
);

-- Client assertion ids (RFC 7523 jti) seen, for single use across every
-- authzd sharing the database.
CREATE TABLE assertion_jtis (
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id   text NOT NULL,
    jti         text NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, client_id, jti)
);

-- Sign-in attempts, for limiting password guessing per user and per source.
CREATE TABLE signin_attempts (
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    key         text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signin_attempts_key ON signin_attempts (tenant_id, key, at);

CREATE FUNCTION authz_revoke_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('authz_revoke', NEW.tenant_id::text || ' ' || NEW.kind || ' ' || NEW.value
                      || ' ' || extract(epoch from NEW.expires_at)::bigint::text);
    RETURN NULL;
END $$;
CREATE TRIGGER revocations_notify AFTER INSERT ON revocations
    FOR EACH ROW EXECUTE FUNCTION authz_revoke_notify();

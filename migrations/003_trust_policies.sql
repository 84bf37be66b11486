-- 003_trust_policies: external issuers a tenant trusts (SPEC §7, §4.4):
-- workload identity tokens (Kubernetes service accounts, SPIFFE JWT-SVIDs, CI
-- OIDC tokens) that map to an agent client, and foreign person tokens whose
-- user_claim names one of the tenant's users. Several policies may name one
-- issuer. A change reaches every authzd through authz_cache (trigger below).

CREATE TABLE trust_policies (
    tenant_id        uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name             text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    issuer           text NOT NULL CHECK (length(issuer) BETWEEN 1 AND 1000),
    -- exactly one of: an inline JWK Set, or where to fetch it
    jwks             jsonb CHECK (jwks IS NULL OR jsonb_typeof(jwks) = 'object'),
    jwks_uri         text CHECK (length(jwks_uri) BETWEEN 1 AND 2000),
    audience         text NOT NULL CHECK (length(audience) BETWEEN 1 AND 1000),
    -- glob on sub ('*' matches any run of characters); NULL: any sub
    subject_pattern  text CHECK (length(subject_pattern) BETWEEN 1 AND 1000),
    -- top-level claim -> exact string value
    required_claims  jsonb NOT NULL DEFAULT '{}'
                     CHECK (jsonb_typeof(required_claims) = 'object'),
    -- seconds since iat; NULL: no limit
    max_token_age    integer CHECK (max_token_age > 0),
    use              text[] NOT NULL
                     CHECK (cardinality(use) BETWEEN 1 AND 2
                            AND use <@ ARRAY['actor', 'subject']::text[]),
    maps_to_client   text CHECK (length(maps_to_client) BETWEEN 1 AND 255),
    user_claim       text CHECK (length(user_claim) BETWEEN 1 AND 200),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name),
    CHECK ((jwks IS NULL) <> (jwks_uri IS NULL)),
    CHECK (NOT ('actor' = ANY (use)) OR maps_to_client IS NOT NULL),
    CHECK (NOT ('subject' = ANY (use)) OR user_claim IS NOT NULL)
);

CREATE TRIGGER trust_policies_cache AFTER INSERT OR UPDATE OR DELETE ON trust_policies
    FOR EACH ROW EXECUTE FUNCTION authz_cache_notify();

-- assertion_jtis (002) is pruned by expiry as new ids arrive
CREATE INDEX assertion_jtis_expiry ON assertion_jtis (expires_at);

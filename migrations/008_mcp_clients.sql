-- 008_mcp_clients: what MCP clients of 2026 need (SPEC §11, issue 13).
--
-- Tenant settings: which client ID metadata documents (CIMD) the tenant
-- accepts, and how long a rotated refresh token may be presented again by
-- its client and answered with the same successor.
ALTER TABLE tenants
    ADD COLUMN cimd_policy text NOT NULL DEFAULT 'open'
        CHECK (cimd_policy IN ('open', 'allowlist', 'off')),
    -- host globs ('*' matches any run of characters) for cimd_policy allowlist
    ADD COLUMN cimd_hosts text[] NOT NULL DEFAULT '{}'
        CHECK (cardinality(cimd_hosts) <= 200),
    ADD COLUMN refresh_retry_window integer NOT NULL DEFAULT 0
        CHECK (refresh_retry_window BETWEEN 0 AND 60);

-- What each scope of a resource lets a client do, in words a person reads on
-- the consent and approval pages (scope -> description).
ALTER TABLE resources
    ADD COLUMN scope_descriptions jsonb NOT NULL DEFAULT '{}'
        CHECK (jsonb_typeof(scope_descriptions) = 'object');

-- Trust policies gain the use "id-jag": the issuer's identity assertion
-- authorization grants (draft-ietf-oauth-identity-assertion-authz-grant) are
-- accepted at the JWT bearer grant; the person is named by user_claim.
ALTER TABLE trust_policies DROP CONSTRAINT trust_policies_use_check;
ALTER TABLE trust_policies ADD CONSTRAINT trust_policies_use_check
    CHECK (cardinality(use) BETWEEN 1 AND 3
           AND use <@ ARRAY['actor', 'subject', 'id-jag']::text[]);
ALTER TABLE trust_policies ADD CONSTRAINT trust_policies_id_jag_user_claim_check
    CHECK (NOT ('id-jag' = ANY (use)) OR user_claim IS NOT NULL);

-- RFC 7523 §3 item 7 for the JWT bearer grant: an ID-JAG's jti is used once
-- per issuer, across every authzd sharing the database.
CREATE TABLE grant_assertion_jtis (
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    issuer      text NOT NULL,
    jti         text NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, issuer, jti)
);
CREATE INDEX grant_assertion_jtis_expiry ON grant_assertion_jtis (expires_at);

-- refresh_retry_window: the successor of a rotated refresh token, sealed
-- under the tenant's key (crypto_seal_text), kept beside the old token's row
-- for the window only (the sweeper deletes it after retry_until). A side
-- table, so that a rotation still updates refresh_tokens in place (HOT).
CREATE TABLE refresh_successors (
    token_hash        text PRIMARY KEY,
    tenant_id         uuid NOT NULL,
    successor_sealed  text NOT NULL,
    retry_until       timestamptz NOT NULL
);
CREATE INDEX refresh_successors_until ON refresh_successors (retry_until);

-- Tokens issued under a trust policy (the JWT bearer grant) rest on it:
-- deleting or replacing the policy ends them (a standing revocation, as the
-- name may be used again).
ALTER TABLE revocations DROP CONSTRAINT revocations_kind_check;
ALTER TABLE revocations ADD CONSTRAINT revocations_kind_check
    CHECK (kind IN ('jti', 'grant', 'session', 'consent', 'user', 'client', 'act_for',
                    'impersonate', 'trust'));

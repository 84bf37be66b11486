-- 012_console: sign-ins to the operator console (SPEC §13, {public_url}/console/).
--
-- A console session is either the root operator's (signed in once with the
-- root token: tenant_id and user_id NULL) or a tenant administrator's (a
-- person whose scopes include admin, signed in through the tenant's sign-in
-- page: tenant_id and user_id set). As for the tenants' browser sessions,
-- only the keyed hash of the cookie is stored, and each session has its own
-- CSRF token for the console's forms. Signing out deletes the row, so its
-- cookie and its CSRF token are worth nothing afterwards.
CREATE TABLE console_sessions (
    id_hash     text PRIMARY KEY,
    tenant_id   uuid REFERENCES tenants(id) ON DELETE CASCADE,
    user_id     uuid REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    CHECK ((tenant_id IS NULL) = (user_id IS NULL))
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);

-- keyset paging of the admin lists (SPEC §13 "Lists"): by creation time, then id
CREATE INDEX tenants_page ON tenants (created_at, id);
CREATE INDEX clients_page ON clients (tenant_id, created_at, id);
CREATE INDEX users_page ON users (tenant_id, created_at, id);

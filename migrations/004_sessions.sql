-- 004_sessions: approval-gated session grants (OpenID CIBA) and the durable
-- outbox that delivers ping notifications and approval webhooks.

-- A backchannel authentication request: an agent asks to act for a person
-- on one task. Once approved it becomes a session: a grant of kind 'ciba'
-- whose id is the session id (sid) and whose expires_at is the session end.
CREATE TABLE ciba_requests (
    auth_req_id         text PRIMARY KEY,
    tenant_id           uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id           text NOT NULL,
    user_id             uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scopes              text[] NOT NULL,
    resources           text[] NOT NULL DEFAULT '{}',
    binding_message     text NOT NULL,
    session_ttl         integer NOT NULL CHECK (session_ttl > 0),
    poll_interval       integer NOT NULL DEFAULT 5,
    delivery            text NOT NULL DEFAULT 'poll' CHECK (delivery IN ('poll', 'ping')),
    notification_token  text,
    state               text NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'approved', 'denied', 'expired')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    last_poll_at        timestamptz,
    decided_at          timestamptz,
    approver            text,
    grant_id            text REFERENCES grants(id) ON DELETE SET NULL,
    redeemed_at         timestamptz,
    expiry_audited      boolean NOT NULL DEFAULT false
);
CREATE INDEX ciba_requests_user ON ciba_requests (tenant_id, user_id, state);
CREATE INDEX ciba_requests_created ON ciba_requests (tenant_id, created_at DESC);

-- Messages to deliver over HTTP, retried with backoff until delivered, so
-- that none is lost across a restart.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('webhook', 'ping')),
    url             text NOT NULL,
    body            text NOT NULL,
    bearer          text,
    auth_req_id     text,
    client_id       text,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;

-- wake the outbox workers of every authzd at once
CREATE FUNCTION authz_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('authz_outbox', NEW.id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH ROW EXECUTE FUNCTION authz_outbox_notify();

-- CIBA client metadata (OpenID CIBA Core §4): how tokens are delivered and
-- where ping notifications go.
ALTER TABLE clients
    ADD COLUMN backchannel_token_delivery_mode text NOT NULL DEFAULT 'poll'
        CHECK (backchannel_token_delivery_mode IN ('poll', 'ping')),
    ADD COLUMN backchannel_client_notification_endpoint text;

/*
 * outbox.c: the storage side of the outbox (the durable messages authz
 * delivers over HTTP: CIBA ping notifications and approval webhooks) and of
 * the sweeper that ends requests and sessions on time, with the audit rows
 * each change leaves. Delivery itself (HTTP, signatures, backoff) is in
 * authz/notify/outbox.c.
 *
 * Messages are rows of `outbox`, written in the same transaction as the
 * decision that caused them, so none is lost across a restart. Due rows are
 * leased (FOR UPDATE SKIP LOCKED, so several authzd never send one message
 * twice at once), then marked delivered or given their next attempt.
 */
#include "storage/outbox.h"
#include "storage/db.h"
#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void outbox_audit(PGconn *c, const char *tenant_id, const char *event, bool ok,
                      const char *client_id, const char *session_id, const char *subject,
                      const char *reason, const char *details)
{
    struct audit_event e = {0};
    e.tenant_id = tenant_id;
    e.event = event;
    e.success = ok;
    e.client_id = client_id;
    e.session_id = session_id;
    e.subject = subject;
    e.reason = reason;
    e.details = details;
    e.source = "authzd";
    audit_insert(c, &e, 1);
}

int outbox_enqueue(struct dbtx *tx, const struct outbox_message *m)
{
    const char *v[7] = {m->tenant_id, m->kind, m->url, m->body, m->bearer, m->auth_req_id, m->client_id};
    return db_q(tx,
                "INSERT INTO outbox (tenant_id, kind, url, body, bearer, auth_req_id, client_id) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                7, v)
               ? 0
               : -1;
}

PGresult *outbox_lease_due(PGconn *c, int lease_secs, int batch)
{
    char lease[16], lim[16];
    snprintf(lease, sizeof lease, "%d", lease_secs);
    snprintf(lim, sizeof lim, "%d", batch);
    const char *lv[2] = {lease, lim};
    return pq_exec(c,
                   "UPDATE outbox SET next_attempt_at = now() + make_interval(secs => $1::int) "
                   "WHERE id IN (SELECT id FROM outbox WHERE delivered_at IS NULL AND "
                   "next_attempt_at <= now() ORDER BY id LIMIT $2::int FOR UPDATE SKIP LOCKED) "
                   "RETURNING id, tenant_id, kind, url, body, bearer, auth_req_id, client_id, "
                   "attempts, (SELECT approval_webhook_secret FROM tenants WHERE id = outbox.tenant_id), "
                   "(SELECT user_id::text FROM ciba_requests q WHERE q.auth_req_id = outbox.auth_req_id), "
                   "(SELECT sid FROM ciba_requests q WHERE q.auth_req_id = outbox.auth_req_id)",
                   2, lv, NULL, 0);
}

void outbox_delivered(PGconn *c, const char *id)
{
    const char *v[1] = {id};
    PQclear(pq_exec(c, "UPDATE outbox SET delivered_at = now(), attempts = attempts + 1, "
                       "last_error = NULL WHERE id = $1::bigint", 1, v, NULL, 0));
}

void outbox_retry_later(PGconn *c, const char *id, int after_secs, const char *error)
{
    char bs[16];
    snprintf(bs, sizeof bs, "%d", after_secs);
    const char *v[3] = {id, bs, error};
    PQclear(pq_exec(c, "UPDATE outbox SET attempts = attempts + 1, last_error = $3, "
                       "next_attempt_at = now() + make_interval(secs => $2::int) "
                       "WHERE id = $1::bigint", 3, v, NULL, 0));
}

/* Requests nobody decided in time, and sessions that reached their end. */
void outbox_sweep(PGconn *c)
{
    /* each state change and its audit row in one transaction */
    PQclear(pq_exec(c, "BEGIN", 0, NULL, NULL, 0));
    PGresult *res = pq_exec(c,
                            "UPDATE ciba_requests SET state = 'expired', expiry_audited = true "
                            "WHERE state = 'pending' AND expires_at <= now() "
                            "RETURNING tenant_id, client_id, user_id, auth_req_id, sid",
                            0, NULL, NULL, 0);
    for (int i = 0; res && i < PQntuples(res); i++) {
        char det[200];
        snprintf(det, sizeof det, "{\"auth_req_id\":\"%.100s\",\"what\":\"request\"}", PQgetvalue(res, i, 3));
        outbox_audit(c, PQgetvalue(res, i, 0), "session.expired", true, PQgetvalue(res, i, 1),
                  PQgetvalue(res, i, 4),
                  PQgetvalue(res, i, 2), "the request was not decided in time", det);
    }
    PQclear(res);
    res = pq_exec(c,
                  "UPDATE ciba_requests q SET expiry_audited = true FROM grants g "
                  "WHERE g.id = q.grant_id AND q.state = 'approved' AND NOT q.expiry_audited "
                  "AND g.expires_at <= now() AND g.revoked_at IS NULL "
                  "RETURNING q.tenant_id, q.client_id, q.user_id, q.auth_req_id, g.id",
                  0, NULL, NULL, 0);
    for (int i = 0; res && i < PQntuples(res); i++) {
        char det[200];
        snprintf(det, sizeof det, "{\"auth_req_id\":\"%.100s\",\"what\":\"session\"}", PQgetvalue(res, i, 3));
        outbox_audit(c, PQgetvalue(res, i, 0), "session.expired", true, PQgetvalue(res, i, 1),
                  PQgetvalue(res, i, 4), PQgetvalue(res, i, 2), "the session reached its end", det);
    }
    PQclear(res);
    PQclear(pq_exec(c, "COMMIT", 0, NULL, NULL, 0));
    /* housekeeping: what nothing can use any more */
    PQclear(pq_exec(c, "DELETE FROM revocations WHERE expires_at < now() - interval '1 hour'", 0, NULL, NULL, 0));
    PQclear(pq_exec(c, "DELETE FROM assertion_jtis WHERE expires_at < now() - interval '1 hour'", 0, NULL, NULL, 0));
    PQclear(pq_exec(c, "DELETE FROM grant_assertion_jtis WHERE expires_at < now() - interval '1 hour'", 0, NULL, NULL, 0));
    PQclear(pq_exec(c, "DELETE FROM refresh_successors WHERE retry_until < now()", 0, NULL, NULL, 0));
    PQclear(pq_exec(c, "DELETE FROM auth_codes WHERE expires_at < now() - interval '1 hour'", 0, NULL, NULL, 0));
    PQclear(pq_exec(c, "DELETE FROM browser_sessions WHERE expires_at < now()", 0, NULL, NULL, 0));
    PQclear(pq_exec(c, "DELETE FROM signin_attempts WHERE at < now() - interval '1 day'", 0, NULL, NULL, 0));
}

/* Refresh tokens past their expiry (rotated ones are kept until then, for
 * reuse detection): every refresh adds a row, so without this the table
 * only grows. Hourly, and at start; a bounded delete at a time, so no
 * statement holds its locks for long. The oldest rows come first in the
 * heap, so each delete finds its rows early in its scan. */
void store_purge_refresh_tokens(PGconn *c)
{
    for (int round = 0; round < 100; round++) {
        PGresult *res = pq_exec(c,
                                "DELETE FROM refresh_tokens WHERE ctid = ANY (ARRAY(SELECT ctid FROM "
                                "refresh_tokens WHERE expires_at < now() - interval '1 hour' "
                                "LIMIT 5000))",
                                0, NULL, NULL, 0);
        long n = res ? strtol(PQcmdTuples(res), NULL, 10) : 0;
        PQclear(res);
        if (n < 5000)
            return;
    }
}

/* Webhook secrets stored before they were sealed: seal them (once, at
 * start; the conditional UPDATE leaves a secret changed meanwhile alone). */
void store_seal_legacy_secrets(PGconn *c, const uint8_t master_key[32])
{
    PGresult *res = pq_exec(c,
                            "SELECT id::text, approval_webhook_secret FROM tenants "
                            "WHERE approval_webhook_secret IS NOT NULL "
                            "AND approval_webhook_secret NOT LIKE 'sealed:v1:%'",
                            0, NULL, NULL, 0);
    for (int i = 0; res && i < PQntuples(res); i++) {
        const char *tid = PQgetvalue(res, i, 0), *plain = PQgetvalue(res, i, 1);
        char *sealed = crypto_seal_text(master_key, tid, "approval_webhook_secret", plain);
        if (!sealed)
            continue;
        const char *v[3] = {tid, sealed, plain};
        PQclear(pq_exec(c,
                        "UPDATE tenants SET approval_webhook_secret = $2 WHERE id = $1::uuid "
                        "AND approval_webhook_secret = $3",
                        3, v, NULL, 0));
        free(sealed);
    }
    PQclear(res);
}


/*
 * outbox.c: durable delivery of CIBA ping notifications and approval
 * webhooks, and the sweeper that ends requests and sessions on time.
 *
 * Messages are rows of `outbox`, written in the same transaction as the
 * decision that caused them, so none is lost across a restart. One thread
 * per authzd leases due rows (FOR UPDATE SKIP LOCKED, so several authzd
 * never send one message twice at once), POSTs them, and records success or
 * schedules a retry with exponential backoff. Webhooks are signed:
 * Authz-Signature: t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>.<body>")).
 */
#include "storage/db.h"
#include "http/fetch.h"
#include "config.h"
#include "log.h"
#include "util/arena.h"
#include "crypto/crypto.h"
#include "cache.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_t outbox_thread;
static atomic_bool outbox_stop;
static pthread_mutex_t wake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cv = PTHREAD_COND_INITIALIZER;
static const struct config *g_cfg_ob;

#define LEASE_SECS 60
#define MAX_ATTEMPTS 30
#define BATCH 10

void outbox_wake(void)
{
    pthread_mutex_lock(&wake_mu);
    pthread_cond_signal(&wake_cv);
    pthread_mutex_unlock(&wake_mu);
}

static void sign(const char *secret, const char *body, char *out, size_t outlen)
{
    long t = (long)time(NULL);
    char tsb[24];
    int tl = snprintf(tsb, sizeof tsb, "%ld", t);
    size_t bl = strlen(body);
    char *msg = malloc((size_t)tl + 1 + bl);
    memcpy(msg, tsb, (size_t)tl);
    msg[tl] = '.';
    memcpy(msg + tl + 1, body, bl);
    unsigned char md[32];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)msg, (size_t)tl + 1 + bl, md,
         &mdlen);
    free(msg);
    char hex[65];
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
    snprintf(out, outlen, "Authz-Signature: t=%ld,v1=%s", t, hex);
}

static void audit_one(PGconn *c, const char *tenant_id, const char *event, bool ok,
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

static void deliver_due(PGconn *c)
{
    char lease[16];
    snprintf(lease, sizeof lease, "%d", LEASE_SECS);
    const char *lv[1] = {lease};
    PGresult *res = pq_exec(c,
                            "UPDATE outbox SET next_attempt_at = now() + make_interval(secs => $1::int) "
                            "WHERE id IN (SELECT id FROM outbox WHERE delivered_at IS NULL AND "
                            "next_attempt_at <= now() ORDER BY id LIMIT " "10" " FOR UPDATE SKIP LOCKED) "
                            "RETURNING id, tenant_id, kind, url, body, bearer, auth_req_id, client_id, "
                            "attempts, (SELECT approval_webhook_secret FROM tenants WHERE id = outbox.tenant_id), "
                            "(SELECT user_id::text FROM ciba_requests q WHERE q.auth_req_id = outbox.auth_req_id), "
                            "(SELECT grant_id FROM ciba_requests q WHERE q.auth_req_id = outbox.auth_req_id)",
                            1, lv, NULL, 0);
    if (!res)
        return;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *id = PQgetvalue(res, i, 0), *tid = PQgetvalue(res, i, 1);
        const char *kind = PQgetvalue(res, i, 2), *url = PQgetvalue(res, i, 3);
        const char *body = PQgetvalue(res, i, 4);
        const char *bearer = PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5);
        const char *areq = PQgetvalue(res, i, 6), *cid = PQgetvalue(res, i, 7);
        int attempts = atoi(PQgetvalue(res, i, 8));
        const char *secret_stored = PQgetisnull(res, i, 9) ? NULL : PQgetvalue(res, i, 9);
        const char *bearer_stored = bearer;
        const char *subject = PQgetisnull(res, i, 10) ? NULL : PQgetvalue(res, i, 10);
        const char *sid = PQgetisnull(res, i, 11) ? NULL : PQgetvalue(res, i, 11);
        /* both are sealed at rest under the tenant's key */
        char *secret = secret_stored
                           ? crypto_open_text(g_master_key, tid, "approval_webhook_secret", secret_stored)
                           : NULL;
        char *bearer_open = bearer_stored ? crypto_open_text(g_master_key, tid,
                                                             "client_notification_token", bearer_stored)
                                          : NULL;
        bearer = bearer_open;
        char auth[1200] = "", sig[160] = "";
        const char *hdrs[4] = {"Content-Type: application/json", NULL, NULL, NULL};
        int nh = 1;
        bool unusable = (secret_stored && !secret) || (bearer_stored && !bearer_open);
        if (!strcmp(kind, "ping") && bearer) {
            snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
            hdrs[nh++] = auth;
        }
        if (!strcmp(kind, "webhook") && secret) {
            sign(secret, body, sig, sizeof sig);
            hdrs[nh++] = sig;
        }
        char err[256] = "";
        const char *why = NULL;
        int status = 0, ok = 0;
        if (unusable) {
            snprintf(err, sizeof err, "a sealed secret of this delivery cannot be opened");
        } else if (fetch_post(url, hdrs, body, strlen(body), 5000, &status, &why) == 0) {
            ok = status >= 200 && status < 300;
            if (!ok)
                snprintf(err, sizeof err, "HTTP status %d", status);
        } else {
            snprintf(err, sizeof err, "%s", why ? why : "delivery failed");
        }
        if (ok) {
            const char *v[1] = {id};
            PGresult *u = pq_exec(c, "UPDATE outbox SET delivered_at = now(), attempts = attempts + 1, "
                                     "last_error = NULL WHERE id = $1::bigint", 1, v, NULL, 0);
            PQclear(u);
            char det[256];
            snprintf(det, sizeof det, "{\"channel\":\"%s\",\"auth_req_id\":\"%.100s\",\"attempts\":%d}",
                     kind, areq, attempts + 1);
            audit_one(c, tid, "session.notified", true, cid, sid, subject, NULL, det);
        } else {
            int next = attempts + 1;
            int backoff = next >= 9 ? 300 : (1 << next);
            char bs[16];
            snprintf(bs, sizeof bs, "%d", next >= MAX_ATTEMPTS ? 86400 * 365 : backoff);
            const char *v[3] = {id, bs, err};
            PGresult *u = pq_exec(c, "UPDATE outbox SET attempts = attempts + 1, last_error = $3, "
                                     "next_attempt_at = now() + make_interval(secs => $2::int) "
                                     "WHERE id = $1::bigint", 3, v, NULL, 0);
            PQclear(u);
            log_msg(LOG_WARN, "outbox: %s delivery %s failed (attempt %d): %s", kind, id, next, err);
            if (next >= MAX_ATTEMPTS) {
                char det[160];
                snprintf(det, sizeof det, "{\"channel\":\"%s\",\"attempts\":%d}", kind, next);
                audit_one(c, tid, "session.notified", false, cid, sid, subject, "delivery given up", det);
            }
        }
        if (secret) {
            OPENSSL_cleanse(secret, strlen(secret));
            free(secret);
        }
        if (bearer_open) {
            OPENSSL_cleanse(bearer_open, strlen(bearer_open));
            free(bearer_open);
        }
        OPENSSL_cleanse(auth, sizeof auth);
    }
    PQclear(res);
}

/* Requests nobody decided in time, and sessions that reached their end. */
static void sweep(PGconn *c)
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
        audit_one(c, PQgetvalue(res, i, 0), "session.expired", true, PQgetvalue(res, i, 1),
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
        audit_one(c, PQgetvalue(res, i, 0), "session.expired", true, PQgetvalue(res, i, 1),
                  PQgetvalue(res, i, 4), PQgetvalue(res, i, 2), "the session reached its end", det);
    }
    PQclear(res);
    PQclear(pq_exec(c, "COMMIT", 0, NULL, NULL, 0));
    /* housekeeping: what nothing can use any more */
    PQclear(pq_exec(c, "DELETE FROM revocations WHERE expires_at < now() - interval '1 hour'", 0, NULL, NULL, 0));
    PQclear(pq_exec(c, "DELETE FROM assertion_jtis WHERE expires_at < now() - interval '1 hour'", 0, NULL, NULL, 0));
    PQclear(pq_exec(c, "DELETE FROM auth_codes WHERE expires_at < now() - interval '1 hour'", 0, NULL, NULL, 0));
    PQclear(pq_exec(c, "DELETE FROM browser_sessions WHERE expires_at < now()", 0, NULL, NULL, 0));
    PQclear(pq_exec(c, "DELETE FROM signin_attempts WHERE at < now() - interval '1 day'", 0, NULL, NULL, 0));
}

/* Refresh tokens past their expiry (rotated ones are kept until then, for
 * reuse detection): every refresh adds a row, so without this the table
 * only grows. Hourly, and at start; a bounded delete at a time, so no
 * statement holds its locks for long. The oldest rows come first in the
 * heap, so each delete finds its rows early in its scan. */
static void purge_refresh_tokens(PGconn *c)
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
static void seal_legacy_secrets(PGconn *c)
{
    PGresult *res = pq_exec(c,
                            "SELECT id::text, approval_webhook_secret FROM tenants "
                            "WHERE approval_webhook_secret IS NOT NULL "
                            "AND approval_webhook_secret NOT LIKE 'sealed:v1:%'",
                            0, NULL, NULL, 0);
    for (int i = 0; res && i < PQntuples(res); i++) {
        const char *tid = PQgetvalue(res, i, 0), *plain = PQgetvalue(res, i, 1);
        char *sealed = crypto_seal_text(g_master_key, tid, "approval_webhook_secret", plain);
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

static void *outbox_main(void *arg)
{
    (void)arg;
    db_thread_block_signals();
    PGconn *c = NULL;
    time_t last_sweep = 0, last_purge = 0;
    while (!atomic_load(&outbox_stop)) {
        if (c && PQstatus(c) != CONNECTION_OK) {
            PQfinish(c);
            c = NULL;
        }
        if (!c)
            c = db_connect(g_cfg_ob->database_url, NULL, 0);
        if (c) {
            deliver_due(c);
            time_t now = time(NULL);
            if (now - last_sweep >= 2) {
                sweep(c);
                last_sweep = now;
            }
            if (now - last_purge >= 3600) {
                if (last_purge == 0)
                    seal_legacy_secrets(c);
                purge_refresh_tokens(c);
                last_purge = now;
            }
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 500 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&wake_mu);
        if (!atomic_load(&outbox_stop))
            pthread_cond_timedwait(&wake_cv, &wake_mu, &ts);
        pthread_mutex_unlock(&wake_mu);
    }
    PQfinish(c);
    return NULL;
}

void outbox_start(const struct config *cfg)
{
    g_cfg_ob = cfg;
    pthread_create(&outbox_thread, NULL, outbox_main, NULL);
}

void outbox_shutdown(void)
{
    atomic_store(&outbox_stop, true);
    outbox_wake();
    pthread_join(outbox_thread, NULL);
}

/*
 * outbox.c: durable delivery of CIBA ping notifications and approval
 * webhooks, and the clock that runs the sweeper (storage/outbox.c ends
 * requests and sessions on time).
 *
 * One thread per authzd leases due messages, POSTs them through the one
 * outbound fetcher (net/fetch.c: limits, address checks), and records
 * success or schedules a retry with exponential backoff. Webhooks are
 * signed, and so are drift alerts (kind "drift", SPEC §12, written with
 * their agent.drift audit row): Authz-Signature: t=<unix>,v1=hex(HMAC-SHA256(
 * secret, "<t>.<body>")), the secret being the tenant's approval_webhook_secret.
 * NOTIFY authz_outbox (runtime/listener.c) wakes it at once.
 */
#include "notify/outbox.h"
#include "runtime/runtime.h"
#include "storage/db.h"
#include "storage/outbox.h"
#include "net/fetch.h"
#include "config.h"
#include "log.h"
#include "crypto/crypto.h"
#include "cache.h"

#include <openssl/crypto.h>
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

static void deliver_due(PGconn *c)
{
    PGresult *res = outbox_lease_due(c, LEASE_SECS, BATCH);
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
        /* SPEC §12: drift alerts are signed like the approval webhook */
        bool drift = !strcmp(kind, "drift");
        if ((!strcmp(kind, "webhook") || drift) && secret) {
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
        if (ok && drift) {
            outbox_delivered(c, id); /* its agent.drift row was written with it */
        } else if (ok) {
            outbox_delivered(c, id);
            char det[256];
            snprintf(det, sizeof det, "{\"channel\":\"%s\",\"auth_req_id\":\"%.100s\",\"attempts\":%d}",
                     kind, areq, attempts + 1);
            outbox_audit(c, tid, "session.notified", true, cid, sid, subject, NULL, det);
        } else {
            int next = attempts + 1;
            int backoff = next >= 9 ? 300 : (1 << next);
            outbox_retry_later(c, id, next >= MAX_ATTEMPTS ? 86400 * 365 : backoff, err);
            log_msg(LOG_WARN, "outbox: %s delivery %s failed (attempt %d): %s", kind, id, next, err);
            if (next >= MAX_ATTEMPTS && !drift) {
                char det[160];
                snprintf(det, sizeof det, "{\"channel\":\"%s\",\"attempts\":%d}", kind, next);
                outbox_audit(c, tid, "session.notified", false, cid, sid, subject, "delivery given up", det);
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

static void *outbox_main(void *arg)
{
    (void)arg;
    runtime_block_signals();
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
                outbox_sweep(c);
                last_sweep = now;
            }
            if (now - last_purge >= 3600) {
                if (last_purge == 0)
                    store_seal_legacy_secrets(c, g_master_key);
                store_purge_refresh_tokens(c);
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

/*
 * rotate.c: the storage side of the rotation committer (see rotate.h;
 * the thread that batches them is authz/runtime/rotation.c).
 *
 * One batch is one transaction: a single statement rotates every old token
 * that is still current (a conditional UPDATE: not rotated, not revoked) and
 * inserts the successors of exactly those, then one COPY writes their
 * token.refreshed audit rows, then one COMMIT. Before, every refresh paid a
 * statement and a commit of its own, and PostgreSQL's per-statement work
 * bounded the refresh grant.
 *
 * A batch that fails for a reason other than a lost connection (a deadlock
 * with another authzd's batch, a grant deleted meanwhile) is retried one
 * rotation at a time, so one bad row cannot fail its neighbours.
 */
#include "storage/rotate.h"
#include "storage/db.h"
#include "storage/pgarray.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "cache.h"
#include "crypto/crypto.h"
#include "util/arena.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* The input rows drive the join (a nested loop over the primary key: one
 * index probe per rotation); each old token is rotated only while it is
 * still current, and only those get their successor. */
static const char ROTATE_SQL[] =
    "WITH rot AS (UPDATE refresh_tokens t SET rotated_at = now() "
    "  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
    "    $7::bigint[]) WITH ORDINALITY "
    "    AS inp(tenant_id, old_hash, new_hash, client_id, scopes, resources, expires_at, idx) "
    "  WHERE t.token_hash = inp.old_hash AND t.tenant_id = inp.tenant_id "
    "    AND t.rotated_at IS NULL AND t.revoked_at IS NULL "
    "  RETURNING inp.idx, inp.new_hash, t.grant_id, inp.tenant_id, inp.client_id, inp.scopes, "
    "    inp.resources, inp.expires_at), "
    "ins AS (INSERT INTO refresh_tokens (token_hash, tenant_id, grant_id, client_id, scopes, "
    "  resources, expires_at) SELECT new_hash, tenant_id, grant_id, client_id, scopes::text[], "
    "  resources::text[], to_timestamp(expires_at) FROM rot) "
    "SELECT idx FROM rot";

void rotation_init(struct rotation *rot, const char *tenant_id, const char *old_hash,
                   const char *new_token)
{
    rot->tenant_id = tenant_id;
    snprintf(rot->old_hash, sizeof rot->old_hash, "%s", old_hash);
    crypto_secret_hash(g_secret_pepper, new_token, strlen(new_token), rot->new_hash);
    rot->outcome = -1;
}

static bool conn_lost(PGconn *c, PGresult *res)
{
    const char *ss = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return PQstatus(c) != CONNECTION_OK || !ss || !strncmp(ss, "08", 2) ||
           !strncmp(ss, "57P", 3);
}

static void exec_simple(PGconn *c, const char *sql)
{
    PQclear(PQexec(c, sql));
}

/* Runs one batch (n rotations) in one transaction.
 * Sets each rotation's outcome to 1 or 0. Returns 0 on success, -1 when the
 * connection is gone, -2 when the batch failed otherwise (rolled back), -3
 * when the connection was found dead before anything was sent (safe to run
 * again on a new one; after that point a lost COMMIT may have happened). */
int rotate_batch(PGconn *c, bool *prepared, struct rotation **rots, int n)
{
    if (!*prepared) {
        /* This connection runs one statement whose right plan is known:
         * probe the primary key once per rotation. Left to itself, the
         * planner picks a hash join over a sequential scan while the table
         * is small (a fresh database), and the prepared plan keeps that
         * until the next ANALYZE, however large the table has grown. One
         * generic plan also spares planning every batch. */
        PQclear(PQexec(c, "SET plan_cache_mode = force_generic_plan; SET enable_hashjoin = off; "
                          "SET enable_mergejoin = off; SET enable_seqscan = off"));
        PGresult *res = PQprepare(c, "az_rotate", ROTATE_SQL, 7, NULL);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            log_msg(LOG_WARN, "rotation: prepare failed: %s", PQresultErrorMessage(res));
        int rc = ok ? 0 : conn_lost(c, res) ? -3 : -2;
        PQclear(res);
        if (!ok)
            return rc;
        *prepared = true;
    }
    struct strbuf a[7];
    for (int k = 0; k < 7; k++) {
        sb_init(&a[k]);
        sb_putc(&a[k], '{');
    }
    for (int i = 0; i < n; i++) {
        struct rotation *rot = rots[i];
        char ex[24];
        snprintf(ex, sizeof ex, "%lld", (long long)rot->expires_at);
        const char *f[7] = {rot->tenant_id, rot->old_hash, rot->new_hash, rot->client_id,
                            rot->scopes_pg, rot->resources_pg ? rot->resources_pg : "{}", ex};
        for (int k = 0; k < 7; k++) {
            if (i)
                sb_putc(&a[k], ',');
            pgarray_append_elem(&a[k], f[k]);
        }
        rot->outcome = 0;
    }
    const char *vals[7];
    for (int k = 0; k < 7; k++) {
        sb_putc(&a[k], '}');
        vals[k] = a[k].buf;
    }

    int rc = 0;
    PGresult *res = PQexec(c, "BEGIN");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = conn_lost(c, res) ? -3 : -2;
        PQclear(res);
        goto out;
    }
    PQclear(res);
    res = PQexecPrepared(c, "az_rotate", 7, vals, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = conn_lost(c, res) ? -1 : -2;
        if (rc == -2)
            log_msg(n > 1 ? LOG_INFO : LOG_WARN, "rotation batch of %d failed: %s", n,
                    PQresultErrorMessage(res));
        PQclear(res);
        goto fail;
    }
    /* which rotations took place: their idx (1-based) came back */
    for (int t = 0; t < PQntuples(res); t++) {
        long idx = strtol(PQgetvalue(res, t, 0), NULL, 10);
        if (idx >= 1 && idx <= n)
            rots[idx - 1]->outcome = 1;
    }
    PQclear(res);
    /* SPEC §11 refresh_retry_window: the successors of those rotated that
     * keep one, in the same transaction, so that a retry that finds the old
     * token rotated also finds its successor */
    for (int i = 0; i < n; i++) {
        struct rotation *rot = rots[i];
        if (rot->outcome != 1 || !rot->successor_sealed || rot->retry_window <= 0)
            continue;
        char win[16];
        snprintf(win, sizeof win, "%d", rot->retry_window);
        const char *sv[4] = {rot->old_hash, rot->tenant_id, rot->successor_sealed, win};
        res = PQexecParams(c,
                           "INSERT INTO refresh_successors (token_hash, tenant_id, "
                           "successor_sealed, retry_until) VALUES ($1, $2, $3, now() + "
                           "make_interval(secs => $4::int)) ON CONFLICT (token_hash) DO NOTHING",
                           4, NULL, sv, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            rc = conn_lost(c, res) ? -1 : -2;
            PQclear(res);
            goto fail;
        }
        PQclear(res);
    }
    /* the token.refreshed rows of those, in the same transaction */
    struct audit_event *head = NULL, *tail = NULL;
    int rows = 0;
    for (int i = 0; i < n; i++) {
        struct audit_event *e = rots[i]->audit;
        if (rots[i]->outcome != 1 || !e)
            continue;
        e->next = NULL;
        if (tail)
            tail->next = e;
        else
            head = e;
        tail = e;
        rows++;
    }
    if (rows && audit_copy(c, head, rows) < 0) {
        rc = PQstatus(c) != CONNECTION_OK ? -1 : -2;
        goto fail;
    }
    res = PQexec(c, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = conn_lost(c, res) ? -1 : -2;
        PQclear(res);
        goto fail;
    }
    PQclear(res);
    metrics_rotation_batch(n);
    goto out;
fail:
    if (PQstatus(c) == CONNECTION_OK)
        exec_simple(c, "ROLLBACK");
out:
    /* a lost connection: 503; a failed statement: nothing was rotated, and
     * the handler's `lost` callback looks at the token again */
    if (rc < 0)
        for (int i = 0; i < n; i++)
            rots[i]->outcome = rc == -2 ? 0 : -1;
    for (int k = 0; k < 7; k++)
        sb_free(&a[k]);
    return rc;
}


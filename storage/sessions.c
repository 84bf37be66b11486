/*
 * sessions.c: the rows of approval-gated sessions (SPEC §4.5, CIBA Core):
 * a request (ciba_requests) from the backchannel authentication endpoint,
 * its polls, its decision, the session grant an approval creates (id = the
 * request's sid), and the active session a revocation ends. What each row
 * means, and which audit row goes with it, is decided in authz/oauth/
 * (bc_authorize.c, grant_ciba.c, ciba.c); the approval pages' reads are in
 * storage/approvals.c and the sweeper's in storage/outbox.c.
 * Every statement is parameterized and filtered by tenant.
 */
#include "storage/sessions.h"
#include "storage/db.h"
#include "storage/grants.h"
#include "storage/pgarray.h"
#include "util/arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *text_at(struct dbtx *tx, PGresult *res, int col)
{
    return PQgetisnull(res, 0, col) ? NULL : arena_strdup(tx->arena, PQgetvalue(res, 0, col));
}

static bool bool_at(PGresult *res, int col)
{
    return PQgetvalue(res, 0, col)[0] == 't';
}

/* A statement that changes rows: 0, or -1 when it failed. */
static int run(struct dbtx *tx, const char *sql, int n, const char *const *vals)
{
    return db_q(tx, sql, n, vals) ? 0 : -1;
}

/* A statement with $1 = the tenant and $2 = key that reads (or returns) at
 * most one row: 1 with it in *res, 0 when there is none, -1 on failure. */
static int one_row(struct dbtx *tx, const char *sql, const char *tenant_id, const char *key,
                   PGresult **res)
{
    const char *v[2] = {tenant_id, key};
    *res = db_q(tx, sql, 2, v);
    if (!*res)
        return -1;
    return PQntuples(*res) == 1 ? 1 : 0;
}

/* ---------------------------------------------------------------- */
/* the request                                                       */

int ciba_request_insert(struct dbtx *tx, const struct ciba_request_new *q)
{
    char ttls[24], exps[24];
    snprintf(ttls, sizeof ttls, "%ld", q->session_ttl);
    snprintf(exps, sizeof exps, "%ld", q->expires_in);
    const char *v[12] = {q->auth_req_id, q->tenant_id, q->client_id, q->user_id,
                         q->scopes_pg, q->resources_pg, q->binding_message, ttls,
                         q->ping ? "ping" : "poll", q->notification_token_sealed, exps, q->sid};
    return run(tx,
               "INSERT INTO ciba_requests (auth_req_id, tenant_id, client_id, user_id, scopes, "
               "resources, binding_message, session_ttl, delivery, notification_token, expires_at, "
               "sid) VALUES ($1, $2, $3, $4::uuid, $5::text[], $6::text[], $7, $8::int, $9, $10, "
               "now() + make_interval(secs => $11::int), $12)",
               12, v);
}

/* ---------------------------------------------------------------- */
/* polling                                                           */

int ciba_request_lock_for_poll(struct dbtx *tx, const char *tenant_id, const char *auth_req_id,
                               struct ciba_poll *out)
{
    memset(out, 0, sizeof *out);
    PGresult *res;
    int found = one_row(tx,
                        "SELECT client_id, user_id, state, expires_at <= now(), "
                        "last_poll_at IS NOT NULL AND last_poll_at > now() - make_interval(secs => poll_interval), "
                        "grant_id, redeemed_at IS NOT NULL "
                        "FROM ciba_requests WHERE tenant_id = $1 AND auth_req_id = $2 FOR UPDATE",
                        tenant_id, auth_req_id, &res);
    if (found <= 0)
        return found;
    out->client_id = text_at(tx, res, 0);
    out->user_id = text_at(tx, res, 1);
    out->state = text_at(tx, res, 2);
    out->expired = bool_at(res, 3);
    out->too_fast = bool_at(res, 4);
    out->grant_id = text_at(tx, res, 5);
    out->redeemed = bool_at(res, 6);
    return 1;
}

int ciba_request_polled(struct dbtx *tx, const char *tenant_id, const char *auth_req_id,
                        bool slow_down)
{
    const char *v[2] = {tenant_id, auth_req_id};
    if (slow_down)
        return run(tx,
                   "UPDATE ciba_requests SET poll_interval = poll_interval + 5, "
                   "last_poll_at = now() WHERE tenant_id = $1 AND auth_req_id = $2",
                   2, v);
    return run(tx, "UPDATE ciba_requests SET last_poll_at = now() WHERE tenant_id = $1 AND auth_req_id = $2",
               2, v);
}

int ciba_request_redeemed(struct dbtx *tx, const char *tenant_id, const char *auth_req_id)
{
    const char *v[2] = {tenant_id, auth_req_id};
    return run(tx, "UPDATE ciba_requests SET redeemed_at = now() WHERE tenant_id = $1 AND auth_req_id = $2",
               2, v);
}

int ciba_request_expire(struct dbtx *tx, const char *tenant_id, const char *auth_req_id,
                        const char **sid, const char **client_id)
{
    *sid = *client_id = NULL;
    PGresult *res;
    int found = one_row(tx,
                        "UPDATE ciba_requests SET state = 'expired', expiry_audited = true "
                        "WHERE tenant_id = $1 AND auth_req_id = $2 AND state = 'pending' "
                        "RETURNING sid, client_id",
                        tenant_id, auth_req_id, &res);
    if (found <= 0)
        return found;
    *sid = text_at(tx, res, 0);
    *client_id = text_at(tx, res, 1);
    return 1;
}

/* ---------------------------------------------------------------- */
/* the decision                                                      */

int ciba_request_lock_for_decision(struct dbtx *tx, const char *tenant_id,
                                   const char *auth_req_id, struct ciba_request *out)
{
    memset(out, 0, sizeof *out);
    PGresult *res;
    int found = one_row(tx,
                        "SELECT q.client_id, q.user_id, u.username, q.state, q.expires_at <= now(), "
                        "q.scopes::text, q.resources::text, q.session_ttl, q.delivery, "
                        "q.notification_token, q.binding_message, q.sid, u.scopes::text "
                        "FROM ciba_requests q JOIN users u ON u.id = q.user_id "
                        "WHERE q.tenant_id = $1 AND q.auth_req_id = $2 FOR UPDATE OF q",
                        tenant_id, auth_req_id, &res);
    if (found <= 0)
        return found;
    out->client_id = text_at(tx, res, 0);
    out->user_id = text_at(tx, res, 1);
    out->username = text_at(tx, res, 2);
    out->state = text_at(tx, res, 3);
    out->expired = bool_at(res, 4);
    out->scopes.n = pgarray_parse(tx->arena, PQgetvalue(res, 0, 5), &out->scopes.v);
    out->resources.n = pgarray_parse(tx->arena, PQgetvalue(res, 0, 6), &out->resources.v);
    out->session_ttl = strtol(PQgetvalue(res, 0, 7), NULL, 10);
    out->ping = !strcmp(PQgetvalue(res, 0, 8), "ping");
    out->notification_token_sealed = text_at(tx, res, 9);
    out->binding_message = text_at(tx, res, 10);
    out->sid = text_at(tx, res, 11);
    out->held.n = pgarray_parse(tx->arena, PQgetvalue(res, 0, 12), &out->held.v);
    return 1;
}

int ciba_request_approve(struct dbtx *tx, const char *tenant_id, const char *auth_req_id,
                         const struct ciba_request *q, const char *approver,
                         const char *scopes_pg, const char *resources_pg, int64_t now)
{
    /* the session is a grant whose id is the sid */
    char gid[32];
    snprintf(gid, sizeof gid, "%s", q->sid);
    if (grant_create(tx, tenant_id, q->client_id, q->user_id, "ciba", scopes_pg, resources_pg, now,
                     now + q->session_ttl, gid) < 0)
        return -1;
    return run(tx,
               "UPDATE ciba_requests SET state = 'approved', decided_at = now(), approver = $3, "
               "grant_id = $4 WHERE tenant_id = $1 AND auth_req_id = $2",
               4, (const char *[]){tenant_id, auth_req_id, approver, gid});
}

int ciba_request_deny(struct dbtx *tx, const char *tenant_id, const char *auth_req_id,
                      const char *approver)
{
    return run(tx,
               "UPDATE ciba_requests SET state = 'denied', decided_at = now(), approver = $3 "
               "WHERE tenant_id = $1 AND auth_req_id = $2",
               3, (const char *[]){tenant_id, auth_req_id, approver});
}

/* ---------------------------------------------------------------- */
/* sessions                                                          */

int session_grant_get(struct dbtx *tx, const char *tenant_id, const char *sid,
                      struct grant_row *out)
{
    memset(out, 0, sizeof *out);
    PGresult *res;
    int found = one_row(tx,
                        "SELECT g.scopes::text, g.resources::text, extract(epoch from g.auth_time)::bigint, "
                        "extract(epoch from g.expires_at)::bigint, g.expires_at <= now(), "
                        "g.revoked_at IS NOT NULL, u.scopes::text "
                        "FROM grants g JOIN users u ON u.id = g.user_id "
                        "WHERE g.tenant_id = $1 AND g.id = $2",
                        tenant_id, sid, &res);
    if (found <= 0)
        return found;
    out->grant_id = out->sid = arena_strdup(tx->arena, sid);
    out->scopes_pg = text_at(tx, res, 0);
    out->resources_pg = text_at(tx, res, 1);
    out->auth_time = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    out->grant_expires_at = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    out->expired = bool_at(res, 4);
    out->revoked = bool_at(res, 5);
    out->nscopes = pgarray_parse(tx->arena, out->scopes_pg, &out->scopes);
    out->nresources = pgarray_parse(tx->arena, out->resources_pg, &out->resources);
    out->nuser_scopes = pgarray_parse(tx->arena, PQgetvalue(res, 0, 6), &out->user_scopes);
    return 1;
}

int session_find_active(struct dbtx *tx, const char *tenant_id, const char *sid,
                        struct session_live *out)
{
    memset(out, 0, sizeof *out);
    PGresult *res;
    int found = one_row(tx,
                        "SELECT user_id, client_id, extract(epoch from expires_at)::bigint FROM grants "
                        "WHERE tenant_id = $1 AND id = $2 AND kind = 'ciba' AND revoked_at IS NULL "
                        "AND expires_at > now()",
                        tenant_id, sid, &res);
    if (found <= 0)
        return found;
    out->user_id = text_at(tx, res, 0);
    out->client_id = text_at(tx, res, 1);
    out->expires_at = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    return 1;
}

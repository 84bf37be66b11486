/*
 * approvals.c: the reads of the approval pages (SPEC §4.5): a person's
 * pending session requests and active sessions, one request of theirs, and
 * the ownership check (with a row lock) before they revoke a session.
 * Every statement is parameterized and filtered by tenant and person. The
 * decision itself and the end of a session are oauth/ciba.c's (their rows:
 * storage/sessions.c).
 */
#include "storage/approvals.h"
#include "storage/db.h"
#include "storage/users.h"
#include "util/arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns read_row() expects, in order. A pending request past its
 * expiry reads as expired (the sweeper may not have marked it yet). */
#define APPROVAL_COLUMNS                                                                       \
    "q.auth_req_id, q.client_id, c.client_name, q.binding_message, "                          \
    "array_to_json(coalesce(g.scopes, q.scopes))::text, "                                     \
    "array_to_json(coalesce(g.resources, q.resources))::text, q.session_ttl, "        \
    "extract(epoch from q.created_at)::bigint, extract(epoch from q.expires_at)::bigint, "    \
    "CASE WHEN q.state = 'pending' AND q.expires_at <= now() THEN 'expired' "                 \
    "     ELSE q.state END, "                                                                  \
    "extract(epoch from q.decided_at)::bigint, q.approver, q.sid, "                            \
    "extract(epoch from g.expires_at)::bigint, "                                               \
    "CASE WHEN g.id IS NULL THEN NULL WHEN g.revoked_at IS NOT NULL THEN 'revoked' "          \
    "     WHEN g.expires_at <= now() THEN 'ended' ELSE 'active' END "

#define APPROVAL_FROM                                                                          \
    "FROM ciba_requests q "                                                                    \
    "LEFT JOIN grants g ON g.tenant_id = q.tenant_id AND g.id = q.grant_id AND g.kind = 'ciba' " \
    "LEFT JOIN clients c ON c.tenant_id = q.tenant_id AND c.client_id = q.client_id "

static const char *text_or_null(struct dbtx *tx, PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return arena_strdup(tx->arena, PQgetvalue(res, row, col));
}

static int64_t int_or_zero(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static int read_row(struct dbtx *tx, PGresult *res, int row, struct approval *a)
{
    memset(a, 0, sizeof *a);
    a->auth_req_id = text_or_null(tx, res, row, 0);
    a->client_id = text_or_null(tx, res, row, 1);
    a->client_name = text_or_null(tx, res, row, 2);
    if (a->client_name && !*a->client_name)
        a->client_name = NULL;
    a->binding_message = text_or_null(tx, res, row, 3);
    if (store_json_string_set(tx, PQgetvalue(res, row, 4), &a->scopes) < 0 ||
        store_json_string_set(tx, PQgetvalue(res, row, 5), &a->resources) < 0)
        return -1;
    a->session_ttl = (long)int_or_zero(res, row, 6);
    a->created_at = int_or_zero(res, row, 7);
    a->expires_at = int_or_zero(res, row, 8);
    a->state = text_or_null(tx, res, row, 9);
    a->decided_at = int_or_zero(res, row, 10);
    a->approver = text_or_null(tx, res, row, 11);
    a->sid = text_or_null(tx, res, row, 12);
    a->session_ends_at = int_or_zero(res, row, 13);
    a->session_state = text_or_null(tx, res, row, 14);
    return 0;
}

static int read_rows(struct dbtx *tx, PGresult *res, struct approval **out)
{
    int n = PQntuples(res);
    *out = arena_alloc(tx->arena, sizeof **out * (size_t)(n + 1));
    for (int i = 0; i < n; i++)
        if (read_row(tx, res, i, &(*out)[i]) < 0)
            return -1;
    return n;
}

int store_approvals_pending(struct dbtx *tx, const char *tenant_id, const char *user_id, int limit,
                            struct approval **out)
{
    *out = NULL;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *v[3] = {tenant_id, user_id, lim};
    PGresult *res = db_q(tx,
                         "SELECT " APPROVAL_COLUMNS APPROVAL_FROM
                         "WHERE q.tenant_id = $1 AND q.user_id = $2::uuid AND q.state = 'pending' "
                         "AND q.expires_at > now() "
                         "ORDER BY q.created_at DESC, q.auth_req_id DESC LIMIT $3::int",
                         3, v);
    if (!res)
        return -1;
    return read_rows(tx, res, out);
}

int store_approvals_sessions(struct dbtx *tx, const char *tenant_id, const char *user_id, int limit,
                             struct approval **out)
{
    *out = NULL;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *v[3] = {tenant_id, user_id, lim};
    PGresult *res = db_q(tx,
                         "SELECT " APPROVAL_COLUMNS APPROVAL_FROM
                         "WHERE q.tenant_id = $1 AND q.user_id = $2::uuid AND q.state = 'approved' "
                         "AND g.id IS NOT NULL AND g.user_id = $2::uuid AND g.revoked_at IS NULL "
                         "AND g.expires_at > now() "
                         "ORDER BY g.created_at DESC, g.id DESC LIMIT $3::int",
                         3, v);
    if (!res)
        return -1;
    return read_rows(tx, res, out);
}

int store_approval_get(struct dbtx *tx, const char *tenant_id, const char *auth_req_id,
                       const char *user_id, struct approval *out)
{
    memset(out, 0, sizeof *out);
    const char *v[3] = {tenant_id, auth_req_id, user_id};
    PGresult *res = db_q(tx,
                         "SELECT " APPROVAL_COLUMNS APPROVAL_FROM
                         "WHERE q.tenant_id = $1 AND q.auth_req_id = $2 AND q.user_id = $3::uuid",
                         3, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    return read_row(tx, res, 0, out) < 0 ? -1 : 1;
}

int store_approval_session_lock(struct dbtx *tx, const char *tenant_id, const char *sid,
                                const char *user_id)
{
    const char *v[3] = {tenant_id, sid, user_id};
    PGresult *res = db_q(tx,
                         "SELECT 1 FROM grants WHERE tenant_id = $1 AND id = $2 AND kind = 'ciba' "
                         "AND user_id = $3::uuid FOR UPDATE",
                         3, v);
    if (!res)
        return -1;
    return PQntuples(res) == 1 ? 1 : 0;
}

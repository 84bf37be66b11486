/*
 * lists.c: the keyset-paged admin lists, a person's consents, the console's
 * sign-ins and what the console shows (storage/lists.h). Positions are
 * (created_at in microseconds, id): microseconds because that is what a
 * timestamptz holds, so that two rows never compare equal on time alone
 * unless they are, and the id breaks those ties.
 */
#include "storage/lists.h"
#include "storage/db.h"
#include "storage/store.h"
#include "storage/users.h"
#include "util/arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US(col) "(extract(epoch from " col ") * 1000000)::bigint"
/* the timestamptz of a position's microseconds, exactly (the inverse of US),
 * so that a page is an index range scan on (tenant_id, created_at, id) */
#define AT(param) "('epoch'::timestamptz + " param "::bigint * interval '1 microsecond')"

static const char *lim_text(struct dbtx *tx, int limit)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%d", limit);
    return arena_strdup(tx->arena, buf);
}

PGresult *store_tenants_page(struct dbtx *tx, const char *cur_us, const char *cur_id, int limit)
{
    const char *p[3] = {cur_us, cur_id, lim_text(tx, limit)};
    return db_q(tx,
                "SELECT json_build_object('id', id, 'slug', slug, 'display_name', display_name, "
                "'status', status, 'created_at', " SQL_TS("created_at") ")::text, " US("created_at") ", id::text "
                "FROM tenants WHERE ($1::bigint IS NULL OR (created_at, id) > (" AT("$1") ", $2::uuid)) "
                "ORDER BY created_at, id LIMIT $3::int",
                3, p);
}

PGresult *store_users_page(struct dbtx *tx, const char *tenant_id, const char *status,
                           const char *cur_us, const char *cur_id, int limit)
{
    const char *p[5] = {tenant_id, cur_us, cur_id, lim_text(tx, limit), status};
    return db_q(tx,
                "SELECT json_build_object('id', id, 'username', username, 'scopes', scopes, "
                "'status', status, 'created_at', " SQL_TS("created_at") ", 'updated_at', "
                SQL_TS("updated_at") ")::text, " US("created_at") ", id::text FROM users "
                "WHERE tenant_id = $1 AND ($5::text IS NULL OR status = $5) "
                "AND ($2::bigint IS NULL OR (created_at, id) > (" AT("$2") ", $3::uuid)) "
                "ORDER BY created_at, id LIMIT $4::int",
                5, p);
}

/* a client's row: its JSON, then its position */
#define CLIENT_ROW                                                                                 \
    "SELECT json_build_object('client_id', c.client_id, 'client_name', c.client_name, "          \
    "'token_endpoint_auth_method', c.token_endpoint_auth_method, 'grant_types', c.grant_types, " \
    "'scope', array_to_string(c.allowed_scopes, ' '), 'dynamic', c.dynamic, "                     \
    "'owner', c.owner, 'owner_username', o.username, 'status', c.status, 'last_used_at', "       \
    "CASE WHEN c.last_used_at IS NULL THEN NULL ELSE " SQL_TS("c.last_used_at") " END, "          \
    "'created_at', " SQL_TS("c.created_at") ")::text, " US("c.created_at") ", c.id::text "        \
    "FROM clients c LEFT JOIN users o ON o.id = c.owner AND o.tenant_id = c.tenant_id "

PGresult *store_clients_page(struct dbtx *tx, const char *tenant_id, const char *owner,
                             const char *status, const char *cur_us, const char *cur_id, int limit)
{
    const char *p[6] = {tenant_id, cur_us, cur_id, lim_text(tx, limit), owner, status};
    /* owner compares as text: a value that is no sub matches nothing */
    return db_q(tx,
                CLIENT_ROW "WHERE c.tenant_id = $1 AND ($5::text IS NULL OR c.owner::text = $5) "
                "AND ($6::text IS NULL OR c.status = $6) "
                "AND ($2::bigint IS NULL OR (c.created_at, c.id) > (" AT("$2") ", $3::uuid)) "
                "ORDER BY c.created_at, c.id LIMIT $4::int",
                6, p);
}

PGresult *store_client_row(struct dbtx *tx, const char *tenant_id, const char *client_id)
{
    const char *p[2] = {tenant_id, client_id};
    return db_q(tx, CLIENT_ROW "WHERE c.tenant_id = $1 AND c.client_id = $2", 2, p);
}

PGresult *store_audit_page(struct dbtx *tx, const char *tenant_id, const char *since,
                           const char *until, const char *user, const char *client,
                           const char *session, const char *event, const char *cur_us,
                           const char *cur_id, int limit)
{
    const char *p[10] = {tenant_id, since, until, user, client, session, event, cur_us, cur_id,
                         lim_text(tx, limit)};
    return db_q(
        tx,
        "SELECT json_build_object('id', id::text, 'at', " SQL_TS("at") ", 'event', event, "
        "'outcome', outcome, 'client_id', client_id, 'subject', subject, 'actor_chain', "
        "actor_chain, 'session_id', session_id, 'resources', resources, 'scope', scope, "
        "'reason', reason, 'request_id', request_id, 'source', source, 'details', details)::text, "
        "(extract(epoch from at) * 1000000)::bigint, id FROM audit "
        "WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR at >= $2::timestamptz) "
        "AND ($3::timestamptz IS NULL OR at < $3::timestamptz) "
        "AND ($4::text IS NULL OR subject = $4) AND ($5::text IS NULL OR client_id = $5) "
        "AND ($6::text IS NULL OR session_id = $6) AND ($7::text IS NULL OR event = $7) "
        "AND ($8::bigint IS NULL OR (at, id) < (" AT("$8") ", $9::bigint)) "
        "ORDER BY at DESC, id DESC LIMIT $10::int",
        10, p);
}

int store_person_consents(struct dbtx *tx, const char *tenant_id, const char *user_id, int limit,
                          struct person_consent **out)
{
    *out = NULL;
    const char *p[3] = {tenant_id, user_id, lim_text(tx, limit)};
    PGresult *res = db_q(tx,
                         "SELECT c.client_id, cl.client_name, array_to_json(c.scopes)::text, "
                         "array_to_json(c.resources)::text, "
                         "floor(extract(epoch from c.updated_at))::bigint "
                         "FROM consents c LEFT JOIN clients cl ON cl.tenant_id = c.tenant_id "
                         "AND cl.client_id = c.client_id "
                         "WHERE c.tenant_id = $1 AND c.user_id = $2::uuid "
                         "ORDER BY c.updated_at DESC, c.client_id LIMIT $3::int",
                         3, p);
    if (!res)
        return -1;
    int n = PQntuples(res);
    struct person_consent *v = arena_alloc(tx->arena, sizeof *v * (size_t)(n ? n : 1));
    memset(v, 0, sizeof *v * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        v[i].client_id = arena_strdup(tx->arena, PQgetvalue(res, i, 0));
        v[i].client_name = PQgetisnull(res, i, 1) ? NULL : arena_strdup(tx->arena, PQgetvalue(res, i, 1));
        if (store_json_string_set(tx, PQgetvalue(res, i, 2), &v[i].scopes) < 0 ||
            store_json_string_set(tx, PQgetvalue(res, i, 3), &v[i].resources) < 0)
            return -1;
        v[i].updated_at = strtoll(PQgetvalue(res, i, 4), NULL, 10);
    }
    *out = v;
    return n;
}

int store_console_session_create(struct dbtx *tx, const char *id_hash, const char *tenant_id,
                                 const char *user_id, const char *csrf_token, int ttl)
{
    /* expired sign-ins go, a bounded batch at a time */
    if (!db_q(tx,
              "DELETE FROM console_sessions WHERE id_hash IN (SELECT id_hash FROM "
              "console_sessions WHERE expires_at < now() LIMIT 100 FOR UPDATE SKIP LOCKED)",
              0, NULL))
        return -1;
    char ttl_s[16];
    snprintf(ttl_s, sizeof ttl_s, "%d", ttl);
    const char *p[5] = {id_hash, tenant_id, user_id, csrf_token, ttl_s};
    return db_q(tx,
                "INSERT INTO console_sessions (id_hash, tenant_id, user_id, csrf_token, expires_at) "
                "VALUES ($1, $2::uuid, $3::uuid, $4, now() + make_interval(secs => $5::int))",
                5, p)
               ? 0
               : -1;
}

int store_console_session_find(struct dbtx *tx, const char *id_hash, struct console_session *out)
{
    memset(out, 0, sizeof *out);
    const char *p[1] = {id_hash};
    PGresult *res = db_q(tx,
                         "SELECT s.tenant_id::text, t.slug, s.user_id::text, u.username, "
                         "array_to_json(u.scopes)::text, s.csrf_token "
                         "FROM console_sessions s LEFT JOIN tenants t ON t.id = s.tenant_id "
                         "LEFT JOIN users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id "
                         "AND u.status = 'active' "
                         "WHERE s.id_hash = $1 AND s.expires_at > now()",
                         1, p);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    out->csrf_token = arena_strdup(tx->arena, PQgetvalue(res, 0, 5));
    if (PQgetisnull(res, 0, 0)) {
        out->root = true;
        return 1;
    }
    if (PQgetisnull(res, 0, 2) || PQgetisnull(res, 0, 3))
        return 0; /* the person is gone */
    out->tenant_id = arena_strdup(tx->arena, PQgetvalue(res, 0, 0));
    out->tenant_slug = arena_strdup(tx->arena, PQgetvalue(res, 0, 1));
    out->user_id = arena_strdup(tx->arena, PQgetvalue(res, 0, 2));
    out->username = arena_strdup(tx->arena, PQgetvalue(res, 0, 3));
    if (store_json_string_set(tx, PQgetvalue(res, 0, 4), &out->scopes) < 0)
        return -1;
    return 1;
}

int store_console_session_delete(struct dbtx *tx, const char *id_hash)
{
    const char *p[1] = {id_hash};
    return db_q(tx, "DELETE FROM console_sessions WHERE id_hash = $1", 1, p) ? 0 : -1;
}

PGresult *store_console_sessions_page(struct dbtx *tx, const char *tenant_id, const char *cur_us,
                                      const char *cur_id, int limit)
{
    const char *p[4] = {tenant_id, cur_us, cur_id, lim_text(tx, limit)};
    return db_q(tx,
                "SELECT g.id, g.client_id, u.username, array_to_string(g.scopes, ' '), "
                SQL_TS("g.expires_at") ", " SQL_TS("g.created_at") ", " US("g.created_at") ", g.id "
                "FROM grants g JOIN users u ON u.id = g.user_id "
                "WHERE g.tenant_id = $1 AND g.kind = 'ciba' AND g.revoked_at IS NULL "
                "AND g.expires_at > now() "
                "AND ($2::bigint IS NULL OR (" US("g.created_at") ", g.id) < ($2::bigint, $3::text)) "
                "ORDER BY " US("g.created_at") " DESC, g.id DESC LIMIT $4::int",
                4, p);
}

PGresult *store_agent_activity(struct dbtx *tx, const char *tenant_id, const char *client_id,
                               const char *bucket, int n)
{
    char ns[16];
    snprintf(ns, sizeof ns, "%d", n - 1);
    const char *p[4] = {tenant_id, client_id, bucket, ns};
    return db_q(tx,
                "WITH b AS (SELECT generate_series(date_trunc($3, now()) - ($4::int * "
                "('1 ' || $3)::interval), date_trunc($3, now()), ('1 ' || $3)::interval) AS s) "
                "SELECT floor(extract(epoch from b.s))::bigint, "
                "count(a.id) FILTER (WHERE a.event = 'tool.allowed'), "
                "count(a.id) FILTER (WHERE a.event = 'tool.denied'), "
                "count(a.id) FILTER (WHERE a.event LIKE 'token.%') "
                "FROM b LEFT JOIN audit a ON a.tenant_id = $1 AND a.client_id = $2 "
                "AND a.at >= b.s AND a.at < b.s + ('1 ' || $3)::interval "
                "GROUP BY b.s ORDER BY b.s",
                4, p);
}

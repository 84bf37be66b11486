/*
 * admin_people.c: the admin API's statements on people, their consents,
 * the grants made under those, and their approval-gated sessions
 * (storage/admin.h). Sign-in, browser sessions and consent recording are
 * in users.c and consents.c; the CIBA request's life is in sessions.c.
 */
#include "storage/admin.h"
#include "storage/db.h"
#include "storage/store.h"
#include "util/arena.h"

#include <string.h>

int store_user_json(struct dbtx *tx, const char *tenant_id, const char *username,
                    const char **json)
{
    const char *p[2] = {tenant_id, username};
    PGresult *res = db_q(tx,
                         "SELECT json_build_object('id', id, 'username', username, 'scopes', "
                         "scopes, 'status', status, 'created_at', " SQL_TS("created_at") ", 'updated_at', "
                         SQL_TS("updated_at") ")::text FROM users "
                         "WHERE tenant_id = $1 AND username = $2",
                         2, p);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return 0;
    *json = PQgetvalue(res, 0, 0);
    return 1;
}

int store_user_insert(struct dbtx *tx, const char *tenant_id, const char *username,
                      const char *password_hash, const char *scopes_pg, const char **id)
{
    const char *p[4] = {tenant_id, username, password_hash, scopes_pg};
    PGresult *res = db_q(tx,
                         "INSERT INTO users (tenant_id, username, password_hash, scopes) "
                         "VALUES ($1, $2, $3, $4::text[]) ON CONFLICT (tenant_id, username) "
                         "DO NOTHING RETURNING id",
                         4, p);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return 1;
    *id = PQgetvalue(res, 0, 0);
    return 0;
}

int store_user_update(struct dbtx *tx, const char *tenant_id, const char *username,
                      const char *new_username, const char *password_hash, const char *scopes_pg,
                      const char **id, const char **old_scopes_pg)
{
    const char *p[5] = {tenant_id, username, new_username, password_hash, scopes_pg};
    PGresult *res = db_q(tx,
                         "WITH old AS (SELECT id, scopes FROM users WHERE tenant_id = $1 AND "
                         "username = $2 FOR UPDATE) "
                         "UPDATE users u SET username = coalesce($3, u.username), "
                         "password_hash = coalesce($4, u.password_hash), "
                         "scopes = coalesce($5::text[], u.scopes), updated_at = now() "
                         "FROM old WHERE u.id = old.id RETURNING u.id, old.scopes::text",
                         5, p);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return 0;
    *id = PQgetvalue(res, 0, 0);
    *old_scopes_pg = PQgetvalue(res, 0, 1);
    return 1;
}

int store_user_delete(struct dbtx *tx, const char *tenant_id, const char *username,
                      const char **id)
{
    const char *p[2] = {tenant_id, username};
    PGresult *res = db_q(
        tx, "DELETE FROM users WHERE tenant_id = $1 AND username = $2 RETURNING id", 2, p);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return 0;
    *id = PQgetvalue(res, 0, 0);
    return 1;
}

int store_consents_list(struct dbtx *tx, const char *tenant_id, const char *user_id,
                        const char *client_id, const char **json)
{
    const char *p[3] = {tenant_id, user_id, client_id};
    PGresult *res = db_q(
        tx,
        "SELECT coalesce(json_agg(json_build_object('client_id', c.client_id, 'subject', "
        "c.user_id, 'username', u.username, 'scopes', c.scopes, 'resources', c.resources, "
        /* RFC 9396 task details the person approved (SPEC §12), null when none */
        "'authorization_details', c.authorization_details, 'created_at', " SQL_TS("c.created_at") ", 'updated_at', " SQL_TS("c.updated_at")
        ") ORDER BY c.created_at), '[]')::text FROM consents c JOIN users u ON u.id = c.user_id "
        "WHERE c.tenant_id = $1 AND ($2::uuid IS NULL OR c.user_id = $2::uuid) "
        "AND ($3::text IS NULL OR c.client_id = $3)",
        3, p);
    if (!res)
        return -1;
    *json = PQgetvalue(res, 0, 0);
    return 0;
}

int store_consents_delete(struct dbtx *tx, const char *tenant_id, const char *user_id,
                          const char *client_id, struct consent_withdrawn **out)
{
    const char *p[3] = {tenant_id, user_id, client_id};
    PGresult *res = db_q(tx,
                         "DELETE FROM consents WHERE tenant_id = $1 AND ($2::uuid IS NULL OR "
                         "user_id = $2::uuid) AND ($3::text IS NULL OR client_id = $3) "
                         "RETURNING user_id, client_id, id",
                         3, p);
    if (!res)
        return -1;
    int n = PQntuples(res);
    *out = arena_alloc(tx->arena, (size_t)(n ? n : 1) * sizeof **out);
    for (int i = 0; i < n; i++) {
        (*out)[i].user_id = PQgetvalue(res, i, 0);
        (*out)[i].client_id = PQgetvalue(res, i, 1);
        (*out)[i].id = PQgetvalue(res, i, 2);
    }
    return n;
}

int store_grants_live(struct dbtx *tx, const char *tenant_id, const char *user_id,
                      const char *client_id, const char ***ids)
{
    const char *q[3] = {tenant_id, user_id, client_id};
    PGresult *g = db_q(tx,
                       "SELECT id FROM grants WHERE tenant_id = $1 AND user_id = $2::uuid AND "
                       "client_id = $3 AND revoked_at IS NULL",
                       3, q);
    if (!g)
        return -1;
    int n = PQntuples(g);
    *ids = arena_alloc(tx->arena, (size_t)(n ? n : 1) * sizeof **ids);
    for (int k = 0; k < n; k++)
        (*ids)[k] = PQgetvalue(g, k, 0);
    return n;
}

PGresult *store_sessions_page(struct dbtx *tx, const char *tenant_id,
                              const struct sessions_filter *f)
{
    const char *p[7] = {tenant_id, f->user_id, f->client_id, f->state, f->cur_us, f->cur_id,
                        f->limit};
    return db_q(
        tx,
        "SELECT json_build_object('sid', sid, 'auth_req_id', auth_req_id, 'client_id', client_id, "
        "'subject', subject, 'username', username, 'scope', scope, 'resources', resources, "
        "'binding_message', binding_message, 'authorization_details', authorization_details, "
        "'state', state, 'created_at', created_at, 'expires_at', expires_at)::text, us, "
        "auth_req_id FROM ("
        " SELECT q.sid, q.auth_req_id, q.client_id, q.user_id::text AS subject, u.username, "
        " array_to_string(coalesce(g.scopes, q.scopes), ' ') AS scope, "
        " coalesce(g.resources, q.resources) AS resources, q.binding_message, "
        " coalesce(g.authorization_details, q.authorization_details) AS authorization_details, "
        " CASE WHEN q.state = 'pending' AND q.expires_at <= now() THEN 'expired' "
        "      WHEN q.state <> 'approved' THEN q.state "
        "      WHEN g.revoked_at IS NOT NULL THEN 'revoked' "
        "      WHEN g.expires_at <= now() THEN 'expired' ELSE 'active' END AS state, "
        " " SQL_TS("q.created_at") " AS created_at, "
        " " SQL_TS("coalesce(g.expires_at, q.expires_at)") " AS expires_at, "
        " (extract(epoch from q.created_at) * 1000000)::bigint AS us "
        " FROM ciba_requests q JOIN users u ON u.id = q.user_id "
        " LEFT JOIN grants g ON g.id = q.grant_id "
        " WHERE q.tenant_id = $1 AND ($2::text IS NULL OR q.user_id::text = $2) "
        " AND ($3::text IS NULL OR q.client_id = $3)) s "
        "WHERE ($4::text IS NULL OR state = $4) "
        "AND ($5::bigint IS NULL OR (us, auth_req_id) < ($5::bigint, $6::text)) "
        "ORDER BY us DESC, auth_req_id DESC LIMIT $7::int",
        7, p);
}

/*
 * users.c: what signing a person in needs from the database: the password
 * hash of a username, the record of sign-in attempts that limits password
 * guessing, and browser sessions (stored by the keyed hash of their cookie).
 * Every statement is parameterized.
 */
#include "storage/users.h"
#include "storage/db.h"
#include "util/arena.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_json_string_set(struct dbtx *tx, const char *json, struct scopeset *out)
{
    out->v = NULL;
    out->n = 0;
    json_error_t je;
    json_t *a = json_loads(json, 0, &je);
    if (!json_is_array(a)) {
        json_decref(a);
        return -1;
    }
    out->v = arena_alloc(tx->arena, sizeof(char *) * (json_array_size(a) + 1));
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        if (json_is_string(e))
            out->v[out->n++] = arena_strdup(tx->arena, json_string_value(e));
    }
    json_decref(a);
    return 0;
}

int store_user_login(struct dbtx *tx, const char *tenant_id, const char *username,
                     struct user_login *out)
{
    memset(out, 0, sizeof *out);
    const char *p[2] = {tenant_id, username};
    PGresult *res = db_q(tx,
                         /* SPEC §13: "a disabled person cannot sign in" */
                         "SELECT id::text, password_hash FROM users "
                         "WHERE tenant_id = $1 AND username = $2 AND status = 'active'",
                         2, p);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    out->id = arena_strdup(tx->arena, PQgetvalue(res, 0, 0));
    out->password_hash = arena_strdup(tx->arena, PQgetvalue(res, 0, 1));
    return 1;
}

/* ---- sign-in attempts ---- */

int store_signin_record(struct dbtx *tx, const char *tenant_id, struct signin_keys *k, int window,
                        int user_limit, int source_limit, int *n_user, int *n_source,
                        int *retry_after)
{
    *n_user = *n_source = 0;
    *retry_after = 0;
    k->user_row[0] = k->source_row[0] = '\0';
    char win[16];
    snprintf(win, sizeof win, "%d", window);

    /* old rows of this tenant go first, a bounded batch at a time, skipping
     * rows another sign-in is deleting (no waiting, no deadlock) */
    const char *pp[2] = {tenant_id, win};
    if (!db_q(tx,
              "DELETE FROM signin_attempts WHERE ctid IN (SELECT ctid FROM signin_attempts "
              "WHERE tenant_id = $1 AND at < now() - make_interval(secs => $2::int) "
              "LIMIT 1000 FOR UPDATE SKIP LOCKED)",
              2, pp))
        return -1;

    /* the attempt is recorded before the password is checked, and
     * committed at once (no transaction is open): a burst of parallel
     * guesses sees itself */
    const char *ip[3] = {tenant_id, k->user_key, k->source_key};
    PGresult *res = db_q(tx,
                         "INSERT INTO signin_attempts (tenant_id, key, at) VALUES "
                         "($1, $2, clock_timestamp()), ($1, $3, clock_timestamp()) "
                         "RETURNING key, ctid::text",
                         3, ip);
    if (!res || PQntuples(res) != 2)
        return -1;
    for (int i = 0; i < 2; i++) {
        char *dst = strcmp(PQgetvalue(res, i, 0), k->user_key) == 0 ? k->user_row : k->source_row;
        snprintf(dst, sizeof k->user_row, "%s", PQgetvalue(res, i, 1));
    }

    const char *cp[4] = {tenant_id, k->user_key, k->source_key, win};
    res = db_q(tx,
               "SELECT key, ctid::text, greatest(1, ceil(extract(epoch from "
               "at + make_interval(secs => $4::int) - clock_timestamp())))::int "
               "FROM signin_attempts WHERE tenant_id = $1 AND key IN ($2, $3) "
               "AND at > clock_timestamp() - make_interval(secs => $4::int) ORDER BY at",
               4, cp);
    if (!res)
        return -1;
    int rows = PQntuples(res);
    /* seconds until each earlier attempt leaves the window, oldest first */
    int *left_user = arena_alloc(tx->arena, sizeof(int) * (size_t)(rows + 1));
    int *left_source = arena_alloc(tx->arena, sizeof(int) * (size_t)(rows + 1));
    int nu = 0, ns = 0;
    for (int i = 0; i < rows; i++) {
        bool is_user = strcmp(PQgetvalue(res, i, 0), k->user_key) == 0;
        const char *ctid = PQgetvalue(res, i, 1);
        int left = atoi(PQgetvalue(res, i, 2));
        if (is_user) {
            (*n_user)++;
            if (strcmp(ctid, k->user_row) != 0)
                left_user[nu++] = left;
        } else {
            (*n_source)++;
            if (strcmp(ctid, k->source_row) != 0)
                left_source[ns++] = left;
        }
    }
    /* over a limit: the earlier attempts alone fill it; the key is free
     * again when enough of them have left the window */
    if (*n_user > user_limit && nu >= user_limit) {
        int ra = left_user[nu - user_limit];
        if (ra > *retry_after)
            *retry_after = ra;
    }
    if (*n_source > source_limit && ns >= source_limit) {
        int ra = left_source[ns - source_limit];
        if (ra > *retry_after)
            *retry_after = ra;
    }
    if ((*n_user > user_limit || *n_source > source_limit) && *retry_after == 0)
        *retry_after = window;
    return 0;
}

int store_signin_forget(struct dbtx *tx, const char *tenant_id, const struct signin_keys *k,
                        bool clear_user)
{
    const char *p[6] = {tenant_id,     k->user_key, k->user_row[0] ? k->user_row : "(0,0)",
                        k->source_key, k->source_row[0] ? k->source_row : "(0,0)",
                        clear_user ? "true" : "false"};
    return db_q(tx,
                "DELETE FROM signin_attempts WHERE tenant_id = $1 AND ("
                "(key = $2 AND ctid = $3::tid) OR (key = $4 AND ctid = $5::tid) OR "
                "($6::boolean AND key = $2))",
                6, p)
               ? 0
               : -1;
}

/* ---- browser sessions ---- */

int store_session_find(struct dbtx *tx, const char *tenant_id, const char *id_hash,
                       struct web_session *out)
{
    memset(out, 0, sizeof *out);
    const char *p[2] = {id_hash, tenant_id};
    PGresult *res = db_q(tx,
                         "SELECT s.user_id::text, u.username, array_to_json(u.scopes)::text, "
                         "s.csrf_token, floor(extract(epoch from s.auth_time))::bigint "
                         "FROM browser_sessions s JOIN users u ON u.id = s.user_id "
                         "AND u.tenant_id = s.tenant_id "
                         "WHERE s.id = $1 AND s.tenant_id = $2 AND s.expires_at > now()",
                         2, p);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    out->user_id = arena_strdup(tx->arena, PQgetvalue(res, 0, 0));
    out->username = arena_strdup(tx->arena, PQgetvalue(res, 0, 1));
    if (store_json_string_set(tx, PQgetvalue(res, 0, 2), &out->scopes) < 0)
        return -1;
    out->csrf_token = arena_strdup(tx->arena, PQgetvalue(res, 0, 3));
    out->auth_time = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    return 1;
}

int store_session_create(struct dbtx *tx, const char *tenant_id, const char *id_hash,
                         const char *user_id, const char *csrf_token, int ttl,
                         int64_t *auth_time)
{
    /* expired sessions go, a bounded batch at a time, without waiting on
     * rows another sign-in is deleting */
    if (!db_q(tx,
              "DELETE FROM browser_sessions WHERE id IN (SELECT id FROM browser_sessions "
              "WHERE expires_at < now() LIMIT 100 FOR UPDATE SKIP LOCKED)",
              0, NULL))
        return -1;
    char ttl_s[16];
    snprintf(ttl_s, sizeof ttl_s, "%d", ttl);
    const char *p[5] = {id_hash, tenant_id, user_id, csrf_token, ttl_s};
    PGresult *res = db_q(tx,
                         "INSERT INTO browser_sessions (id, tenant_id, user_id, csrf_token, "
                         "expires_at) VALUES ($1, $2, $3::uuid, $4, "
                         "now() + make_interval(secs => $5::int)) "
                         "RETURNING floor(extract(epoch from auth_time))::bigint",
                         5, p);
    if (!res || PQntuples(res) != 1)
        return -1;
    *auth_time = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    return 0;
}

int store_session_delete(struct dbtx *tx, const char *tenant_id, const char *id_hash)
{
    const char *p[2] = {id_hash, tenant_id};
    return db_q(tx, "DELETE FROM browser_sessions WHERE id = $1 AND tenant_id = $2", 2, p) ? 0
                                                                                          : -1;
}

int store_sessions_end_for_user(struct dbtx *tx, const char *tenant_id, const char *user_id)
{
    const char *p[2] = {tenant_id, user_id};
    return db_q(tx, "DELETE FROM browser_sessions WHERE tenant_id = $1 AND user_id = $2::uuid", 2, p)
               ? 0
               : -1;
}

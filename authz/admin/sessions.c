/*
 * sessions.c: GET /admin/v1/tenants/{t}/sessions (filters user, client,
 * state; keyset cursor) and POST .../sessions/{sid}/revoke, which ends the
 * session and everything derived from it on every authzd at once. Neither
 * takes a body: none, or {}, and nothing else (admin_no_body).
 */
#include "admin/admin.h"
#include "admin/body.h"
#include "oauth/ciba.h"
#include "storage/db.h"
#include "storage/store.h"
#include "crypto/crypto.h"
#include "http/http.h"
#include "cache.h"
#include "util/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void list(struct req *r, struct tenant *t)
{
    static const char *names[] = {"user", "client", "state", "cursor"};
    const char *v[4];
    for (int i = 0; i < 4; i++) {
        v[i] = req_query_param(r, names[i]);
        if (!v[i] && req_query_has(r, names[i])) {
            admin_problem(r, 400, arena_sprintf(r->arena, "malformed or empty %s", names[i]));
            return;
        }
    }
    if (v[2] && strcmp(v[2], "pending") && strcmp(v[2], "active") && strcmp(v[2], "denied") &&
        strcmp(v[2], "expired") && strcmp(v[2], "revoked")) {
        admin_problem(r, 400, "state must be pending, active, denied, expired or revoked");
        return;
    }
    const char *cur_ts = NULL, *cur_id = NULL;
    if (v[3]) {
        char buf[160];
        ssize_t n = b64url_decode(v[3], strlen(v[3]), buf, sizeof buf - 1);
        char *sep = n > 0 ? memchr(buf, ' ', (size_t)n) : NULL;
        if (!sep) {
            admin_problem(r, 400, "malformed cursor");
            return;
        }
        buf[n] = '\0';
        *sep = '\0';
        for (char *p = buf; *p; p++)
            if (*p < '0' || *p > '9') {
                admin_problem(r, 400, "malformed cursor");
                return;
            }
        cur_ts = arena_strdup(r->arena, buf);
        cur_id = arena_strdup(r->arena, sep + 1);
    }
    char lim[16];
    snprintf(lim, sizeof lim, "%d", AUTHZ_SESSIONS_PAGE + 1);
    const char *p[7] = {t->id, v[0], v[1], v[2], cur_ts, cur_id, lim};
    PGresult *res = db_q(
        &r->tx,
        "SELECT json_build_object('sid', sid, 'auth_req_id', auth_req_id, 'client_id', client_id, "
        "'subject', subject, 'username', username, 'scope', scope, 'resources', resources, "
        "'binding_message', binding_message, 'state', state, 'created_at', created_at, "
        "'expires_at', expires_at)::text, us, auth_req_id FROM ("
        " SELECT q.sid, q.auth_req_id, q.client_id, q.user_id::text AS subject, u.username, "
        " array_to_string(coalesce(g.scopes, q.scopes), ' ') AS scope, "
        " coalesce(g.resources, q.resources) AS resources, q.binding_message, "
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
    if (!res)
        return;
    admin_page_answer(r, res, "sessions", AUTHZ_SESSIONS_PAGE, ' ');
}

void admin_sessions(struct req *r, const struct caller *who, struct tenant *t, const char *sid,
                    const char *action)
{
    if (!sid) {
        if (r->method != M_GET) {
            admin_problem(r, 405, "method not allowed here");
            resp_header(r, "Allow", "GET, HEAD");
            return;
        }
        if (admin_no_body(r))
            list(r, t);
        return;
    }
    if (!action || strcmp(action, "revoke") != 0) {
        admin_problem(r, 404, "no such endpoint");
        return;
    }
    if (r->method != M_POST) {
        admin_problem(r, 405, "method not allowed here");
        resp_header(r, "Allow", "POST");
        return;
    }
    if (!admin_no_body(r) || db_begin(&r->tx) < 0)
        return;
    int rc = session_revoke(r, t, sid, who->root ? "admin:root" : arena_sprintf(r->arena, "admin:%s", who->who));
    if (rc <= 0) {
        db_rollback(&r->tx);
        if (rc == 0)
            admin_problem(r, 404, "no such active session");
        return;
    }
    if (admin_tx_commit(r, NULL)) {
        struct strbuf sb;
        sb_init(&sb);
        sb_puts(&sb, "{\"sid\":");
        sb_json_str(&sb, sid);
        sb_puts(&sb, ",\"state\":\"revoked\"}");
        size_t len;
        char *body = sb_steal(&sb, &len);
        resp_set(r, 200, "application/json", body, len);
    }
}

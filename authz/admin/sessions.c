/*
 * sessions.c: GET /admin/v1/tenants/{t}/sessions (filters user, client,
 * state; keyset cursor) and POST .../sessions/{sid}/revoke, which ends the
 * session and everything derived from it on every authzd at once. Neither
 * takes a body: none, or {}, and nothing else (admin_no_body).
 */
#include "admin/admin.h"
#include "admin/body.h"
#include "oauth/ciba.h"
#include "storage/admin.h"
#include "storage/db.h"
#include "storage/store.h"
#include "crypto/crypto.h"
#include "http/http.h"
#include "cache.h"
#include "util/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void admin_sessions_list(struct req *r, const struct admin_call *c)
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
    struct sessions_filter f = {.user_id = v[0], .client_id = v[1], .state = v[2],
                                .cur_us = cur_ts, .cur_id = cur_id, .limit = lim};
    PGresult *res = store_sessions_page(&r->tx, c->t->id, &f);
    if (!res)
        return;
    admin_page_answer(r, res, "sessions", AUTHZ_SESSIONS_PAGE, ' ');
}

void admin_session_revoke(struct req *r, const struct admin_call *c)
{
    const char *sid = c->arg;
    if (db_begin(&r->tx) < 0)
        return;
    int rc = session_revoke(r, c->t, sid,
                            c->who->root ? "admin:root" : arena_sprintf(r->arena, "admin:%s", c->who->who));
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

/*
 * consents.c: GET and DELETE /admin/v1/tenants/{t}/consents?user=&client=.
 * Listing shows what each person allowed each client; withdrawing deletes
 * the consent and revokes every grant made under it (its refresh tokens and
 * access tokens become inactive on every authzd at once).
 */
#include "admin/admin.h"
#include "admin/body.h"
#include "storage/grants.h"
#include "storage/db.h"
#include "storage/store.h"
#include "http/http.h"
#include "cache.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool uuid_like(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

int consents_withdraw(struct req *r, const struct tenant *t, const char *user, const char *client,
                      const char *by)
{
    const char *p[3] = {t->id, user, client};
    PGresult *res = db_q(&r->tx,
                         "DELETE FROM consents WHERE tenant_id = $1 AND ($2::uuid IS NULL OR "
                         "user_id = $2::uuid) AND ($3::text IS NULL OR client_id = $3) "
                         "RETURNING user_id, client_id, scopes::text, resources::text, id",
                         3, p);
    if (!res) {
        db_rollback(&r->tx);
        return -1;
    }
    int n = PQntuples(res);
    /* revoke every live grant made under the withdrawn consents and the
     * consent itself (tokens exchanged under it name it in their lineage);
     * their tokens live at most the longest token lifetime */
    int64_t until = revocation_horizon();
    for (int i = 0; i < n; i++) {
        const char *q[3] = {t->id, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)};
        PGresult *g = db_q(&r->tx,
                           "SELECT id FROM grants WHERE tenant_id = $1 AND user_id = $2::uuid AND "
                           "client_id = $3 AND revoked_at IS NULL",
                           3, q);
        if (!g) {
            db_rollback(&r->tx);
            return -1;
        }
        for (int k = 0; k < PQntuples(g); k++)
            if (grant_revoke(&r->tx, t->id, PQgetvalue(g, k, 0), "consent withdrawn", until) < 0) {
                db_rollback(&r->tx);
                return -1;
            }
        if (revocation_record(&r->tx, t->id, REV_CONSENT, PQgetvalue(res, i, 4), until) < 0) {
            db_rollback(&r->tx);
            return -1;
        }
        struct audit_event *e = audit_add(r, "consent.withdrawn", true);
        e->tenant_id = t->id;
        e->subject = arena_strdup(r->arena, PQgetvalue(res, i, 0));
        e->client_id = arena_strdup(r->arena, PQgetvalue(res, i, 1));
        e->details = arena_sprintf(r->arena, "{\"by\":\"%s\",\"grants_revoked\":%d}", by,
                                   PQntuples(g));
    }
    return n;
}

void admin_consents(struct req *r, const struct caller *who, struct tenant *t)
{
    /* neither call takes a body (a POST is refused below with 405) */
    if ((r->method == M_GET || r->method == M_DELETE) && !admin_no_body(r))
        return;
    const char *user = req_query_param(r, "user");
    const char *client = req_query_param(r, "client");
    if ((!user && req_query_has(r, "user")) || (!client && req_query_has(r, "client"))) {
        admin_problem(r, 400, "malformed query parameter");
        return;
    }
    if (user && !uuid_like(user)) {
        /* a person's sub is their user id; anything else matches nobody */
        if (r->method == M_GET) {
            resp_json(r, 200, strdup("{\"consents\":[]}"));
            resp_header(r, "Cache-Control", "no-store"); /* as every consent list */
            return;
        }
        admin_problem(r, 404, "no such consent");
        return;
    }
    const char *p[3] = {t->id, user, client};
    if (r->method == M_GET) {
        PGresult *res = db_q(
            &r->tx,
            "SELECT coalesce(json_agg(json_build_object('client_id', c.client_id, 'subject', "
            "c.user_id, 'username', u.username, 'scopes', c.scopes, 'resources', c.resources, "
            "'created_at', " SQL_TS("c.created_at") ", 'updated_at', " SQL_TS("c.updated_at")
            ") ORDER BY c.created_at), '[]')::text FROM consents c JOIN users u ON u.id = c.user_id "
            "WHERE c.tenant_id = $1 AND ($2::uuid IS NULL OR c.user_id = $2::uuid) "
            "AND ($3::text IS NULL OR c.client_id = $3)",
            3, p);
        if (!res)
            return;
        struct strbuf sb;
        sb_init(&sb);
        sb_printf(&sb, "{\"consents\":%s}", PQgetvalue(res, 0, 0));
        size_t len;
        char *body = sb_steal(&sb, &len);
        resp_set(r, 200, "application/json", body, len);
        resp_header(r, "Cache-Control", "no-store");
        return;
    }
    if (r->method != M_DELETE) {
        admin_problem(r, 405, "method not allowed here");
        resp_header(r, "Allow", "GET, HEAD, DELETE");
        return;
    }
    if (!user && !client) {
        admin_problem(r, 400, "name the consents to withdraw with user= and/or client=");
        return;
    }
    if (db_begin(&r->tx) < 0)
        return;
    int n = consents_withdraw(r, t, user, client, who->root ? "root" : "tenant-admin");
    if (n < 0)
        return;
    if (n == 0) {
        db_rollback(&r->tx);
        admin_problem(r, 404, "no such consent");
        return;
    }
    if (admin_tx_commit(r, t->id))
        resp_json(r, 200, strdup(arena_sprintf(r->arena, "{\"withdrawn\":%d}", n)));
}

/*
 * consents.c: GET and DELETE /admin/v1/tenants/{t}/consents?user=&client=.
 * Listing shows what each person allowed each client; withdrawing deletes
 * the consent and revokes every grant made under it (its refresh tokens and
 * access tokens become inactive on every authzd at once).
 */
#include "admin/admin.h"
#include "util/text.h"
#include "admin/body.h"
#include "storage/admin.h"
#include "storage/grants.h"
#include "storage/db.h"
#include "storage/store.h"
#include "http/http.h"
#include "cache.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int consents_withdraw(struct req *r, const struct tenant *t, const char *user, const char *client,
                      const char *by)
{
    struct consent_withdrawn *w;
    int n = store_consents_delete(&r->tx, t->id, user, client, &w);
    if (n < 0) {
        db_rollback(&r->tx);
        return -1;
    }
    /* revoke every live grant made under the withdrawn consents and the
     * consent itself (tokens exchanged under it name it in their lineage);
     * their tokens live at most the longest token lifetime */
    int64_t until = revocation_horizon();
    for (int i = 0; i < n; i++) {
        const char **grants;
        int ng = store_grants_live(&r->tx, t->id, w[i].user_id, w[i].client_id, &grants);
        if (ng < 0) {
            db_rollback(&r->tx);
            return -1;
        }
        for (int k = 0; k < ng; k++)
            if (grant_revoke(&r->tx, t->id, grants[k], "consent withdrawn", until) < 0) {
                db_rollback(&r->tx);
                return -1;
            }
        if (revocation_record(&r->tx, t->id, REV_CONSENT, w[i].id, until) < 0) {
            db_rollback(&r->tx);
            return -1;
        }
        struct audit_event *e = audit_add(r, "consent.withdrawn", true);
        e->tenant_id = t->id;
        e->subject = arena_strdup(r->arena, w[i].user_id);
        e->client_id = arena_strdup(r->arena, w[i].client_id);
        e->details = arena_sprintf(r->arena, "{\"by\":\"%s\",\"grants_revoked\":%d}", by, ng);
    }
    return n;
}

/* The user= and client= filters. false when answered: a malformed one is
 * 400; a user= that is no user id matches nobody (empty list / 404). */
static bool filters(struct req *r, const char **user, const char **client)
{
    *user = req_query_param(r, "user");
    *client = req_query_param(r, "client");
    if ((!*user && req_query_has(r, "user")) || (!*client && req_query_has(r, "client"))) {
        admin_problem(r, 400, "malformed query parameter");
        return false;
    }
    if (*user && !text_uuid(*user, false)) {
        /* a person's sub is their user id; anything else matches nobody */
        if (r->method == M_GET) {
            resp_json(r, 200, strdup("{\"consents\":[]}"));
            resp_header(r, "Cache-Control", "no-store"); /* as every consent list */
            return false;
        }
        admin_problem(r, 404, "no such consent");
        return false;
    }
    return true;
}

void admin_consents_list(struct req *r, const struct admin_call *c)
{
    const char *user, *client, *json;
    if (!filters(r, &user, &client) || store_consents_list(&r->tx, c->t->id, user, client, &json) < 0)
        return;
    struct strbuf sb;
    sb_init(&sb);
    sb_printf(&sb, "{\"consents\":%s}", json);
    size_t len;
    char *body = sb_steal(&sb, &len);
    resp_set(r, 200, "application/json", body, len);
    resp_header(r, "Cache-Control", "no-store");
}

void admin_consents_withdraw(struct req *r, const struct admin_call *c)
{
    struct tenant *t = c->t;
    const char *user, *client;
    if (!filters(r, &user, &client))
        return;
    if (!user && !client) {
        admin_problem(r, 400, "name the consents to withdraw with user= and/or client=");
        return;
    }
    if (db_begin(&r->tx) < 0)
        return;
    int n = consents_withdraw(r, t, user, client, c->who->root ? "root" : "tenant-admin");
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

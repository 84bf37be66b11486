/*
 * admin.c: the tenant admin API (SPEC §7) under /admin/v1. JSON in, JSON
 * out, RFC 9457 problem details for errors. A caller is either the operator
 * (root token from `authzctl root-token`) or holds an access token of tenant
 * T with scope admin, which reaches tenant T only: anything else answers 404,
 * so a tenant admin cannot even learn which other tenants exist. Every change
 * writes its admin.changed audit row in the same transaction.
 *
 * This file authenticates the caller, finds the call in the route table
 * (method, path pattern -> handler; the collection files hold the
 * handlers, admin/admin.h lists them) and answers 404 and 405 (with Allow)
 * for what the table does not name. A call that takes no body is marked so
 * in the table and refused here when it comes with one; each call that takes
 * a body names its members in a table (admin/body.h) next to its handler,
 * and anything else in the body is refused before a row is touched.
 */
#include "admin/admin.h"
#include "admin/body.h"
#include "admin/lifecycle.h"
#include "http/routes.h"
#include "oauth/oauth.h"
#include "policy/client_metadata.h"
#include "policy/scope.h"
#include "storage/db.h"
#include "storage/pgarray.h"
#include "storage/store.h"
#include "util/text.h"
#include "cache.h"
#include "util/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


/* ---------------------------------------------------------------- */
/* small helpers                                                     */

void admin_problem(struct req *r, int status, const char *detail)
{
    resp_problem(r, status, NULL, detail);
}

void admin_answer_json(struct req *r, int status, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    resp_json(r, status, s);
    resp_header(r, "Cache-Control", "no-store");
}

void admin_answer_text(struct req *r, int status, const char *json)
{
    resp_json(r, status, strdup(json));
    resp_header(r, "Cache-Control", "no-store");
}

const char *admin_scope_list(struct req *r, json_t *v, const char *field)
{
    struct cm_list l;
    const char *why = NULL;
    if (cm_string_list(r->arena, v, field, &CM_SCOPE_TOKEN, AUTHZ_ADMIN_ARRAY_MAX, &l, &why) < 0) {
        admin_problem(r, 400, why);
        return NULL;
    }
    return pgarray_build(r->arena, l.v, l.n);
}

void admin_audit_change(struct req *r, const char *tenant_id, const struct caller *who,
                         const char *action, const char *target)
{
    struct audit_event *e = audit_add(r, "admin.changed", true);
    e->tenant_id = tenant_id;
    e->client_id = who->root ? NULL : who->who;
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "{\"action\":");
    sb_json_str(&sb, action);
    sb_puts(&sb, ",\"by\":");
    sb_json_str(&sb, who->root ? "root" : who->who);
    if (target) {
        sb_puts(&sb, ",\"target\":");
        sb_json_str(&sb, target);
    }
    sb_putc(&sb, '}');
    e->details = arena_strdup(r->arena, sb.buf);
    sb_free(&sb);
}

/* Writes the audit rows and commits the open transaction; drops the
 * tenant's cached data on this node at once (NOTIFY does the others). */
bool admin_tx_commit(struct req *r, const char *tenant_id)
{
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        db_rollback(&r->tx); /* drops the audit rows of the change that did not happen */
        if (!r->tx.down)
            admin_problem(r, 500, "the change could not be committed");
        return false;
    }
    if (tenant_id)
        cache_invalidate_tenant(tenant_id);
    return true;
}

/* ---------------------------------------------------------------- */
/* authentication of the caller                                      */

static bool authenticate(struct req *r, struct caller *who)
{
    const char *h = req_header(r, "authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
        admin_problem(r, 401, "a Bearer token is required");
        resp_header(r, "WWW-Authenticate", "Bearer realm=\"authz-admin\"");
        return false;
    }
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    memset(who, 0, sizeof *who);
    /* root tokens: azroot_ (SPEC §13), and azr_ as made before it */
    if (!strncmp(tok, "azroot_", 7) || !strncmp(tok, "azr_", 4)) {
        int ok = store_root_token_check(&r->tx, tok);
        if (ok == 1) {
            who->root = true;
            return true;
        }
        if (ok < 0)
            return false;
    } else {
        char *slug = access_token_tenant_slug(r, tok);
        struct tenant *t = NULL;
        if (slug)
            cache_tenant(&r->tx, r->can_block, slug, &t);
        if (r->tx.down)
            return false;
        if (t) {
            /* active: signature, expiry, and not revoked */
            json_t *claims = access_token_active(t, tok);
            bool ok = false;
            if (claims) {
                const char *aud = json_string_value(json_object_get(claims, "aud"));
                const char *scope = json_string_value(json_object_get(claims, "scope"));
                const char *cid = json_string_value(json_object_get(claims, "client_id"));
                const char *sub = json_string_value(json_object_get(claims, "sub"));
                struct scopeset ss;
                /* an admin token is a client acting as itself (client
                 * credentials: sub = client_id, no actor) for the issuer */
                if (aud && !strcmp(aud, t->issuer) && scope &&
                    scope_parse(r->arena, scope, &ss) == 0 && scope_has(&ss, "admin") && cid &&
                    sub && !strcmp(sub, cid) && !json_object_get(claims, "act")) {
                    ok = true;
                    who->tenant_slug = arena_strdup(r->arena, t->slug);
                    who->who = arena_strdup(r->arena, cid);
                } else {
                    /* an active token of tenant T that is not an admin
                     * token: outside T the answer is 404 (nothing outside
                     * one's tenant is visible), inside T 403 */
                    who->tenant_slug = arena_strdup(r->arena, t->slug);
                    who->not_admin = true;
                    ok = true;
                    /* SPEC §13: "a client with scope leaks:report may
                     * report for its tenant" (POST /admin/v1/leaks only) */
                    if (aud && !strcmp(aud, t->issuer) && scope &&
                        scope_parse(r->arena, scope, &ss) == 0 && scope_has(&ss, "leaks:report") &&
                        cid && sub && !strcmp(sub, cid) && !json_object_get(claims, "act")) {
                        who->leak_reporter = true;
                        who->who = arena_strdup(r->arena, cid);
                    }
                }
                json_decref(claims);
            }
            tenant_release(t);
            if (ok)
                return true;
        }
    }
    admin_problem(r, 401, "the token is not valid for the admin API");
    resp_header(r, "WWW-Authenticate", "Bearer realm=\"authz-admin\", error=\"invalid_token\"");
    return false;
}

/* Loads the tenant named in the path if the caller may reach it. */
static struct tenant *reach_tenant(struct req *r, const struct caller *who, const char *slug)
{
    if (!who->root && strcmp(who->tenant_slug, slug) != 0) {
        admin_problem(r, 404, "no such tenant");
        return NULL;
    }
    if (who->not_admin) {
        admin_problem(r, 403, "the token does not carry the admin scope of a client acting as itself");
        resp_header(r, "WWW-Authenticate",
                    "Bearer realm=\"authz-admin\", error=\"insufficient_scope\", scope=\"admin\"");
        return NULL;
    }
    r->params[0] = slug;
    r->nparams = 1;
    r->log_tenant = slug;
    req_tenant(r);
    return r->tenant;
}

/* ---------------------------------------------------------------- */
/* routing                                                           */

/* The route table: every call of the API under /admin/v1/tenants/{t}, by
 * the path after it ("*" is one segment, handed to the handler as arg).
 * For a path the table knows, the methods of its rows make the Allow of a
 * 405 (in table order, HEAD after GET: the router runs HEAD as a GET). */
enum { AR_NO_BODY = 1 };
struct admin_route {
    enum method method;
    const char *path;
    unsigned flags;
    admin_handler fn;
};
static const struct admin_route ROUTES[] = {
    {M_GET, "", AR_NO_BODY, admin_tenant_get},
    {M_PATCH, "", 0, admin_tenant_patch},
    {M_POST, "keys/rotate", AR_NO_BODY, admin_keys_rotate},
    {M_GET, "resources", AR_NO_BODY, admin_resource_list},
    {M_POST, "resources", 0, admin_resource_create},
    {M_PATCH, "resources", 0, admin_resource_patch},
    {M_DELETE, "resources", AR_NO_BODY, admin_resource_delete},
    /* the tool catalog (admin/tools.c): the handler reads or refuses a body */
    {M_GET, "resources/tools", 0, admin_tools},
    {M_GET, "resources/tools/*", 0, admin_tools},
    {M_PUT, "resources/tools/*", 0, admin_tools},
    {M_DELETE, "resources/tools/*", 0, admin_tools},
    {M_GET, "clients/*/baseline", AR_NO_BODY, admin_baseline},
    {M_GET, "clients", AR_NO_BODY, admin_clients_list},
    {M_POST, "clients", 0, admin_client_create},
    {M_GET, "clients/*", AR_NO_BODY, admin_client_get},
    {M_PATCH, "clients/*", 0, admin_client_patch},
    {M_DELETE, "clients/*", AR_NO_BODY, admin_client_delete},
    {M_GET, "clients/*/secrets", AR_NO_BODY, admin_secret_list},
    {M_POST, "clients/*/secrets", 0, admin_secret_rotate},
    {M_DELETE, "clients/*/secrets/*", AR_NO_BODY, admin_secret_delete},
    {M_GET, "users", AR_NO_BODY, admin_users_list},
    {M_POST, "users", 0, admin_user_create},
    {M_GET, "users/*", AR_NO_BODY, admin_user_get},
    {M_PATCH, "users/*", 0, admin_user_patch},
    {M_DELETE, "users/*", AR_NO_BODY, admin_user_delete},
    {M_GET, "consents", AR_NO_BODY, admin_consents_list},
    {M_DELETE, "consents", AR_NO_BODY, admin_consents_withdraw},
    {M_GET, "sessions", AR_NO_BODY, admin_sessions_list},
    {M_POST, "sessions/*/revoke", AR_NO_BODY, admin_session_revoke},
    {M_GET, "audit", AR_NO_BODY, admin_audit_list},
    {M_GET, "trust-policies", AR_NO_BODY, admin_trust_list},
    /* a GET of a name that cannot be a policy is 404 before the body */
    {M_GET, "trust-policies/*", 0, admin_trust_get},
    {M_PUT, "trust-policies/*", 0, admin_trust_put},
    {M_DELETE, "trust-policies/*", AR_NO_BODY, admin_trust_delete},
};

/* Whether seg[0..n) is the route's path; arg[0] and arg[1] get its "*"
 * segments, in order. */
static bool route_matches(const char *path, char **seg, int n, const char *arg[2])
{
    int i = 0;
    const char *p = path;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (i == n)
            return false;
        if (l == 1 && *p == '*')
            arg[arg[0] ? 1 : 0] = seg[i];
        else if (strlen(seg[i]) != l || strncmp(seg[i], p, l) != 0)
            return false;
        i++;
        p += l + (e ? 1 : 0);
    }
    return i == n;
}

static const char *method_name(enum method m)
{
    switch (m) {
    case M_GET: return "GET";
    case M_POST: return "POST";
    case M_PUT: return "PUT";
    case M_PATCH: return "PATCH";
    case M_DELETE: return "DELETE";
    default: return "";
    }
}

static void method_not_allowed(struct req *r, const char *allow)
{
    admin_problem(r, 405, "method not allowed here");
    resp_header(r, "Allow", allow);
}

/* Runs the call seg[0..n) (the path after tenants/{t}) of c's tenant. */
static void route(struct req *r, struct admin_call *c, char **seg, int n)
{
    struct strbuf allow;
    sb_init(&allow);
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
        const struct admin_route *rt = &ROUTES[i];
        const char *arg[2] = {NULL, NULL};
        if (!route_matches(rt->path, seg, n, arg))
            continue;
        if (rt->method == r->method) {
            sb_free(&allow);
            c->arg = arg[0];
            c->arg2 = arg[1];
            if ((rt->flags & AR_NO_BODY) && !admin_no_body(r))
                return;
            rt->fn(r, c);
            return;
        }
        sb_printf(&allow, "%s%s%s", allow.len ? ", " : "", method_name(rt->method),
                  rt->method == M_GET ? ", HEAD" : "");
    }
    if (allow.len)
        method_not_allowed(r, allow.buf);
    else
        admin_problem(r, 404, "no such endpoint");
    sb_free(&allow);
}

enum hres h_admin(struct req *r)
{
    const char *prefix = "/admin/v1/";
    if (strncmp(r->path, prefix, strlen(prefix)) != 0) {
        admin_problem(r, 404, "no such endpoint");
        return H_DONE;
    }
    char *seg[8];
    int n = path_segments(r->arena, r->path + strlen(prefix), seg, 8, 0);
    if (n == 1 && !strcmp(seg[0], "leaks")) {
        struct caller lw;
        if (authenticate(r, &lw))
            admin_leaks(r, &lw);
        return H_DONE;
    }
    if (n < 1 || strcmp(seg[0], "tenants") != 0) {
        admin_problem(r, 404, "no such endpoint");
        return H_DONE;
    }
    struct caller who;
    if (!authenticate(r, &who))
        return H_DONE;
    struct admin_call c = {.who = &who};
    if (n == 1) {
        /* only the operator sees that /tenants exists */
        if (who.not_admin)
            admin_problem(r, 404, "no such endpoint");
        else if (r->method == M_POST)
            admin_tenant_create(r, &c);
        else if (!who.root)
            admin_problem(r, 404, "no such endpoint");
        else if (r->method == M_GET)
            admin_tenants_list(r, &who);
        else
            method_not_allowed(r, "GET, HEAD, POST");
        return H_DONE;
    }
    if (!(c.t = reach_tenant(r, &who, seg[1])))
        return H_DONE;
    route(r, &c, seg + 2, n - 2);
    return H_DONE;
}
